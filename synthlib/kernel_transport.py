"""How Jupyter starts the ``synthlib`` kernel: over TCP with CurveZMQ transport encryption.

jupyter_client (8.10) provisions CurveZMQ keys for a kernel only when its kernel manager's
``transport_encryption`` policy is ``"auto"`` or ``"required"``; the default is ``"disabled"``,
and ipykernel (7.4) then warns on every start that the kernel "is running over TCP without
encryption". papermill, nbval and JupyterLab each build their own kernel manager and none reads a
shared setting, so the policy is set where all of them look: the kernel's provisioner.

``EncryptedLocalProvisioner`` is jupyter_client's ``LocalProvisioner`` with the policy ``"auto"``
(keys are provisioned because the kernelspec declares ``supported_encryption: ["curve"]``, as
ipykernel's does). It is registered as the entry point ``synthlib-encrypted`` (pyproject.toml)
and named in the kernelspec's ``metadata.kernel_provisioner`` by ``scripts/bootstrap.sh``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import zmq
from jupyter_client.provisioning import LocalProvisioner

PROVISIONER_NAME = "synthlib-encrypted"
"""The entry-point name of ``EncryptedLocalProvisioner`` (group ``jupyter_client.kernel_provisioners``)."""


def transport_encryption_policy() -> str:
    """``"auto"`` when pyzmq can do CurveZMQ, else ``"disabled"`` (and ipykernel's warning is then true)."""
    return "auto" if zmq.has("curve") else "disabled"


class EncryptedLocalProvisioner(LocalProvisioner):  # type: ignore[misc]
    """A local kernel whose channels are encrypted with CurveZMQ keys made by its manager."""

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        """The local provisioner's launch, with transport encryption unless the caller chose otherwise."""
        kwargs.setdefault("transport_encryption", transport_encryption_policy())
        return await super().pre_launch(**kwargs)


def with_encrypted_provisioner(kernelspec: dict[str, Any]) -> dict[str, Any]:
    """A copy of a kernelspec (kernel.json) whose kernel is started by ``EncryptedLocalProvisioner``."""
    metadata = {**kernelspec.get("metadata", {}), "kernel_provisioner": {"provisioner_name": PROVISIONER_NAME}}
    return {**kernelspec, "metadata": metadata}


def main(argv: list[str]) -> int:
    """``python -m synthlib.kernel_transport KERNEL_JSON``: name the provisioner in that kernelspec."""
    if len(argv) != 1:
        print(main.__doc__, file=sys.stderr)
        return 2
    path = Path(argv[0])
    path.write_text(json.dumps(with_encrypted_provisioner(json.loads(path.read_text())), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
