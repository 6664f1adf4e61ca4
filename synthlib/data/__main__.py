"""``python -m synthlib.data NAME [ROOT]``: load (downloading if needed) and verify one dataset.

Exit status 0 when it is usable, 3 when it is unavailable or corrupt (the reason on stderr).
"""

from __future__ import annotations

import sys

from synthlib.data.store import DatasetError, load_dataset


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        data = load_dataset(argv[0], argv[1] if len(argv) == 2 else None)
    except DatasetError as error:
        print(error, file=sys.stderr)
        return 3
    print(f"{data.name}: train {data.x_train.shape}, test {data.x_test.shape}, {data.n_classes} classes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
