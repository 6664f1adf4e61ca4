#!/usr/bin/env bash
# The test command. Sets up .venv when needed, then runs in one pytest session:
#   - unit tests of synthlib (tests/test_*.py);
#   - nbval regression checks of every notebook (tests/notebooks/*.ipynb, reference copies
#     executed at a CI-sized configuration; volatile text masked by tests/notebooks/sanitize.cfg);
#   - the real-data tier, when $SYNTHLIB_DATA or ../shared/data holds mnist.npz and cifar10.npz
#     (skipped with the reason otherwise).
# Extra arguments go to pytest, e.g. ./run_tests.sh -k samplers
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
exec python -m pytest --nbval --nbval-sanitize-with tests/notebooks/sanitize.cfg \
    --nbval-kernel-name synthlib --nbval-cell-timeout 600 "$@"
