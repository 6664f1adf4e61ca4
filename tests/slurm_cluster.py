"""A one-node Slurm cluster for the tests, started on this machine as root without systemd.

``SlurmCluster.start()`` runs Debian's daemons (packages ``munge``, ``slurmctld``, ``slurmd``,
``slurm-client``, ``slurmdbd`` and ``mariadb-server``, installed with apt-get when missing) in the
foreground of child processes, each with its own state in one temporary folder and on free ports of
127.0.0.1: munged, MariaDB (``--no-defaults``, its own datadir and socket), slurmdbd (accounting:
without it a cancelled task is invisible to ``sacct`` and to submitit), slurmctld and one slurmd. A
job sees the cluster through ``SLURM_CONF`` (set in ``environ``), so nothing of the machine's own
Slurm or MariaDB configuration is read or changed, and clusters of other sessions run beside it.
``stop()`` cancels the jobs left and ends every daemon by its PID. Every command has a timeout.

A cluster that cannot start raises ``ClusterUnavailable`` with the reason; ``python -m
tests.slurm_cluster`` starts one, prints how to use it, and stops it on Enter (a manual check).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = {
    "munged": "munge",
    "slurmctld": "slurmctld",
    "slurmd": "slurmd",
    "sbatch": "slurm-client",
    "slurmdbd": "slurmdbd",
    "mariadbd": "mariadb-server",
}
"""A program the cluster needs, and the Debian package that has it."""
SBIN = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")
INSTALL_TIMEOUT_S = 600
START_TIMEOUT_S = 90
COMMAND_TIMEOUT_S = 30
STOP_TIMEOUT_S = 20
PARTITION = "debug"


class ClusterUnavailable(RuntimeError):
    """The cluster cannot start here; the message says why."""


def which(program: str) -> str | None:
    """``program`` on PATH or in the system's sbin folders (root's PATH may lack them)."""
    return shutil.which(program) or shutil.which(program, path=os.pathsep.join(SBIN))


def missing_packages() -> list[str]:
    return [package for program, package in PACKAGES.items() if which(program) is None]


def install_packages(packages: Sequence[str]) -> None:
    """apt-get install ``packages`` (after ``apt-get update``), as ``.ci/run`` does; raises ClusterUnavailable."""
    if not packages:
        return
    if shutil.which("apt-get") is None:
        raise ClusterUnavailable(f"Debian packages {' '.join(packages)} are missing and there is no apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", *packages]):
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise ClusterUnavailable(f"{' '.join(command)} took over {INSTALL_TIMEOUT_S} s") from None
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
            raise ClusterUnavailable(f"{' '.join(command)} failed: {' '.join(tail)}")


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports of 127.0.0.1 that were free a moment ago."""
    probes = []
    try:
        for _ in range(count):
            probe = socket.socket()
            probe.bind(("127.0.0.1", 0))
            probes.append(probe)
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class SlurmCluster:
    """A running one-node cluster: its folder, the environment that reaches it, and its daemons."""

    folder: Path
    name: str
    environ: dict[str, str]
    """The caller's environment with ``SLURM_CONF`` pointing at this cluster (jobs inherit it)."""
    cpus: int
    daemons: dict[str, subprocess.Popen] = field(default_factory=dict)
    """By name, in start order; each a child process in the foreground, ended by its PID."""

    @property
    def conf(self) -> Path:
        return self.folder / "etc" / "slurm.conf"

    @classmethod
    def start(cls, folder: str | Path | None = None, install: bool = True) -> SlurmCluster:
        """Start the daemons, wait until the node is idle, and return the cluster (ClusterUnavailable if it
        cannot start: not root, packages missing and not installable, a daemon failing; its log is quoted)."""
        if os.name != "posix" or os.geteuid() != 0:
            raise ClusterUnavailable("a test cluster's slurmd runs jobs as root: run the tests as root")
        missing = missing_packages()
        if missing and install:
            install_packages(missing)
            missing = missing_packages()
        if missing:
            raise ClusterUnavailable(f"Debian packages missing: {' '.join(missing)} (apt-get install -y ...)")
        base = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="synthlib-slurm-"))
        base.mkdir(parents=True, exist_ok=True)
        base.chmod(0o755)  # munged and slurmd refuse a socket or spool folder others cannot traverse
        for sub in ("etc", "munge", "mysql", "state", "spool", "log", "run"):
            (base / sub).mkdir(exist_ok=True)
            (base / sub).chmod(0o755)
        cluster = cls(base, f"synthlib{secrets.token_hex(3)}", {}, os.cpu_count() or 1)
        cluster.environ = {**os.environ, "SLURM_CONF": str(cluster.conf)}
        try:
            cluster._start_daemons()
        except BaseException:
            cluster.stop(remove=False)
            raise
        return cluster

    # --- helpers ---------------------------------------------------------------------------------------

    def run(self, command: Sequence[str], timeout: float = COMMAND_TIMEOUT_S, check: bool = True) -> str:
        """A client command against this cluster (``SLURM_CONF`` set), its stdout; ClusterUnavailable on failure."""
        try:
            done = subprocess.run(
                list(command), env=self.environ, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise ClusterUnavailable(f"{' '.join(command)} took over {timeout} s") from None
        if check and done.returncode != 0:
            raise ClusterUnavailable(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def _daemon(self, name: str, command: Sequence[str]) -> subprocess.Popen:
        log = (self.folder / "log" / f"{name}.out").open("ab")
        process = subprocess.Popen(
            list(command),
            env=self.environ,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal reaches pytest, which stops them in order
        )
        log.close()
        self.daemons[name] = process
        return process

    def _log_tail(self, name: str) -> str:
        lines = []
        for path in sorted((self.folder / "log").glob(f"{name}*")):
            lines += path.read_text(errors="replace").strip().splitlines()[-8:]
        return " | ".join(lines[-8:])

    def _wait(self, what: str, ready, daemon: str, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.daemons[daemon]
            if process.poll() is not None:
                raise ClusterUnavailable(f"{daemon} exited ({process.returncode}): {self._log_tail(daemon)}")
            try:
                if ready():
                    return
            except ClusterUnavailable:
                pass
            time.sleep(0.3)
        raise ClusterUnavailable(f"{what} not ready within {timeout} s: {self._log_tail(daemon)}")

    # --- start -----------------------------------------------------------------------------------------

    def _start_daemons(self) -> None:
        ctld_port, slurmd_port, dbd_port, sql_port = free_ports(4)
        host = socket.gethostname().split(".")[0]
        munge_socket = self.folder / "munge" / "munge.socket"
        key = self.folder / "etc" / "munge.key"
        key.write_bytes(secrets.token_bytes(1024))
        key.chmod(0o400)
        self._daemon(
            "munged",
            [
                which("munged") or "munged",
                "--foreground",
                "--force",
                f"--socket={munge_socket}",
                f"--key-file={key}",
                f"--pid-file={self.folder / 'run' / 'munged.pid'}",
                f"--log-file={self.folder / 'log' / 'munged.log'}",
                f"--seed-file={self.folder / 'munge' / 'munged.seed'}",
            ],
        )
        self._wait("munged", munge_socket.exists, "munged")

        # MariaDB for slurmdbd: its own datadir, socket and port, no configuration file of the machine
        datadir = self.folder / "mysql" / "data"
        sql_socket = self.folder / "mysql" / "mysqld.sock"
        self.run(
            [
                which("mariadb-install-db") or which("mysql_install_db") or "mariadb-install-db",
                "--no-defaults",
                f"--datadir={datadir}",
                "--user=root",
                "--auth-root-authentication-method=socket",
                "--skip-test-db",
            ],
            timeout=120,
        )
        self._daemon(
            "mariadbd",
            [
                which("mariadbd") or "mariadbd",
                "--no-defaults",
                f"--datadir={datadir}",
                f"--socket={sql_socket}",
                f"--port={sql_port}",
                "--bind-address=127.0.0.1",
                f"--pid-file={self.folder / 'run' / 'mariadbd.pid'}",
                f"--log-error={self.folder / 'log' / 'mariadbd.err'}",
                "--user=root",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=32M",
                "--performance-schema=OFF",
            ],
        )
        self._wait("MariaDB", lambda: sql_socket.exists() and port_open(sql_port), "mariadbd")
        password = secrets.token_hex(12)
        client = which("mariadb") or which("mysql") or "mariadb"
        self.run(
            [
                client,
                "--no-defaults",
                f"--socket={sql_socket}",
                "-u",
                "root",
                "-e",
                f"CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '{password}'; "
                "GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';",
            ]
        )

        auth = f"AuthType=auth/munge\nAuthInfo=socket={munge_socket}\n"
        dbd_conf = self.folder / "etc" / "slurmdbd.conf"
        dbd_conf.write_text(
            auth
            + f"DbdHost={host}\nDbdAddr=127.0.0.1\nDbdPort={dbd_port}\nSlurmUser=root\n"
            + f"PidFile={self.folder / 'run' / 'slurmdbd.pid'}\nLogFile={self.folder / 'log' / 'slurmdbd.log'}\n"
            + "StorageType=accounting_storage/mysql\n"
            + f"StorageHost=127.0.0.1\nStoragePort={sql_port}\nStorageUser=slurm\nStoragePass={password}\n"
            + "StorageLoc=slurm_acct_db\n"
        )
        dbd_conf.chmod(0o600)
        self.conf.write_text(
            f"ClusterName={self.name}\n"
            f"SlurmctldHost={host}(127.0.0.1)\nSlurmctldPort={ctld_port}\nSlurmdPort={slurmd_port}\n"
            "SlurmUser=root\nSlurmdUser=root\n"
            + auth
            + f"StateSaveLocation={self.folder / 'state'}\nSlurmdSpoolDir={self.folder / 'spool'}\n"
            f"SlurmctldPidFile={self.folder / 'run' / 'slurmctld.pid'}\n"
            f"SlurmdPidFile={self.folder / 'run' / 'slurmd.pid'}\n"
            f"SlurmctldLogFile={self.folder / 'log' / 'slurmctld.log'}\n"
            f"SlurmdLogFile={self.folder / 'log' / 'slurmd.log'}\n"
            "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n"
            "SelectType=select/cons_tres\nSelectTypeParameters=CR_Core\n"
            "KillWait=5\n"  # submitit's task ignores SIGTERM: SIGKILL follows after 5 s
            "MailProg=/bin/true\nMpiDefault=none\nReturnToService=2\nSchedulerType=sched/backfill\n"
            "JobAcctGatherType=jobacct_gather/none\nJobCompType=jobcomp/none\n"
            "AccountingStorageType=accounting_storage/slurmdbd\n"
            f"AccountingStorageHost=127.0.0.1\nAccountingStoragePort={dbd_port}\n"
            f"AccountingStoragePass={munge_socket}\n"
            f"NodeName={host} NodeAddr=127.0.0.1 CPUs={self.cpus} State=UNKNOWN\n"
            f"PartitionName={PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP\n"
        )
        slurm_bin = {name: which(name) or name for name in ("slurmdbd", "slurmctld", "slurmd")}
        self._daemon("slurmdbd", [slurm_bin["slurmdbd"], "-D"])
        self._wait("slurmdbd", lambda: port_open(dbd_port), "slurmdbd")
        self.run(["sacctmgr", "-i", "add", "cluster", self.name])
        self._daemon("slurmctld", [slurm_bin["slurmctld"], "-D", "-f", str(self.conf)])
        self._wait("slurmctld", lambda: port_open(ctld_port), "slurmctld")
        self._daemon("slurmd", [slurm_bin["slurmd"], "-D", "-f", str(self.conf), "-N", host])
        self._wait("the node", lambda: "idle" in self.run(["sinfo", "-h", "-o", "%T"], timeout=10), "slurmd")

    # --- stop ------------------------------------------------------------------------------------------

    def jobs(self) -> list[str]:
        """The ids of this cluster's jobs still queued or running (array tasks one by one)."""
        try:
            return self.run(["squeue", "-h", "-r", "-o", "%i"], timeout=10).split()
        except ClusterUnavailable:
            return []

    def stop(self, remove: bool = True) -> None:
        """Cancel the jobs left, end every daemon by its PID (SIGTERM, then SIGKILL), remove the folder."""
        if "slurmctld" in self.daemons and self.daemons["slurmctld"].poll() is None:
            if self.jobs():
                try:
                    self.run(["scancel", *self.jobs()], timeout=10, check=False)
                except ClusterUnavailable:
                    pass
                deadline = time.monotonic() + STOP_TIMEOUT_S
                while self.jobs() and time.monotonic() < deadline:
                    time.sleep(0.5)
        for name in reversed(list(self.daemons)):
            process = self.daemons[name]
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    os.kill(process.pid, signal.SIGKILL)
                    process.wait(timeout=STOP_TIMEOUT_S)
        self.daemons.clear()
        if remove:
            shutil.rmtree(self.folder, ignore_errors=True)


def under_ci() -> bool:
    """CI sets ``CI`` (``CI=true``): there a cluster that cannot start is a failure, not a skip."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def cluster_for_tests() -> Iterator[SlurmCluster]:
    """The session fixture's body: start a cluster (or skip with the reason; under CI, fail), point this
    process's Slurm commands at it (``SLURM_CONF``), yield it, and stop every daemon at the end, whatever
    the tests did. ``SYNTHLIB_KEEP_SLURM=1`` keeps its folder (logs) for a look afterwards."""
    import pytest

    started = time.monotonic()
    try:
        cluster = SlurmCluster.start()
    except ClusterUnavailable as error:
        reason = f"the Slurm test cluster cannot start: {error}"
        if under_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    print(f"\nSlurm test cluster {cluster.name} idle after {time.monotonic() - started:.1f} s in {cluster.folder}")
    before = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(cluster.conf)
    # a SIGTERM (a CI job's time limit) becomes an interrupt, so that the daemons are still stopped
    handler = signal.getsignal(signal.SIGTERM)
    if handler == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield cluster
    finally:
        if handler == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if before is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = before
        cluster.stop(remove=os.environ.get("SYNTHLIB_KEEP_SLURM") != "1")


def main() -> int:
    started = time.monotonic()
    try:
        cluster = SlurmCluster.start()
    except ClusterUnavailable as error:
        print(f"the cluster cannot start: {error}", file=sys.stderr)
        return 1
    print(f"cluster {cluster.name} idle after {time.monotonic() - started:.1f} s; in another shell:")
    print(f"  export SLURM_CONF={cluster.conf}")
    try:
        input("press Enter to stop it ")
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
