#!/usr/bin/env bash
# The study in JupyterLab, from the project environment:
#
#   SYNTHLIB_DATA=../shared/data ./run_lab.sh
#
# Sets up .venv when needed (scripts/bootstrap.sh, as run_all.sh and run_tests.sh do), then starts
# JupyterLab on 127.0.0.1 with a token (the URL is printed) and the settings of
# jupyter/jupyter_lab_config.py: notebooks/*.py open as notebooks (jupytext; saving keeps the .py
# and .ipynb of a pair in sync), the kernel is `synthlib`, and this checkout's synthlib is imported.
# Data and results resolve as in ./run_all.sh: notebooks run inside notebooks/, $SYNTHLIB_DATA is
# made absolute (synthlib.data.data_root: default the repository's data/). Extra arguments go to
# `jupyter lab`, e.g. --port 8890.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh

export SYNTHLIB_DATA="$(python -c 'from synthlib.data import data_root; print(data_root())')"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
as_root=()
[ "$(id -u)" = 0 ] && as_root=(--allow-root)  # containers
exec jupyter lab --config "$PWD/jupyter/jupyter_lab_config.py" "${as_root[@]}" "$@"
