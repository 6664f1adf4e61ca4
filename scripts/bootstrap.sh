# Sourced by run_all.sh and run_tests.sh: makes sure the project environment exists, then puts it
# first on PATH. On a fresh machine with Python 3.11 it creates .venv, installs synthlib with its
# pinned dependencies (pyproject.toml; torch 2.14.1 / torchvision 0.29.1) and registers the
# Jupyter kernel "synthlib" inside the environment. A later call reuses it while pyproject.toml
# is unchanged. Override the interpreter with PYTHON=/path/to/python3.11, the place with SYNTHLIB_VENV.

synthlib_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
synthlib_venv="${SYNTHLIB_VENV:-$synthlib_root/.venv}"
synthlib_python="${PYTHON:-python3.11}"
synthlib_stamp="$synthlib_venv/.synthlib-installed"
synthlib_want="$(sha256sum "$synthlib_root/pyproject.toml" | cut -c1-64)"

if [ ! -x "$synthlib_venv/bin/python" ] || [ "$(cat "$synthlib_stamp" 2>/dev/null)" != "$synthlib_want" ]; then
    if ! command -v "$synthlib_python" >/dev/null 2>&1; then
        echo "error: $synthlib_python not found; synthlib needs Python 3.11 (install it, or set PYTHON=/path/to/python3.11)" >&2
        exit 1
    fi
    echo "setting up the environment in $synthlib_venv (first run: a few minutes; torch is ~5.5 GB)"
    "$synthlib_python" -m venv "$synthlib_venv" || exit 1
    synthlib_log="$synthlib_venv/install.log"
    if ! "$synthlib_venv/bin/python" -m pip install -e "$synthlib_root[test]" >"$synthlib_log" 2>&1; then
        grep -v "is ignored: it is neither a file nor a directory" "$synthlib_log" | tail -n 30 >&2
        echo "error: installing synthlib's dependencies failed; the full log is $synthlib_log" >&2
        exit 1
    fi
    "$synthlib_venv/bin/python" -m ipykernel install --sys-prefix --name synthlib --display-name "synthlib (Python 3.11)" >>"$synthlib_log" 2>&1 || exit 1
    # The kernel starts with CurveZMQ transport encryption (synthlib/kernel_transport.py), whoever starts it.
    "$synthlib_venv/bin/python" -m synthlib.kernel_transport "$synthlib_venv/share/jupyter/kernels/synthlib/kernel.json" >>"$synthlib_log" 2>&1 || exit 1
    echo "$synthlib_want" >"$synthlib_stamp"
fi
export PATH="$synthlib_venv/bin:$PATH"
# glibc's malloc gives freed blocks of several MiB back to the kernel (mmap above an adaptive threshold, and
# trimming the heap's top), so every training step's tensors of the same size (a CIFAR-10 minibatch's conv
# maps and their gradient: 16 MiB each) fault their pages in again and the kernel zeroes them. Keep freed
# blocks of up to 32 MiB (glibc's largest threshold) in the heap instead: the same arithmetic, bit for bit,
# with far fewer page faults (python -m benchmarks.allocator measures it; docs/speed.md). A value already
# set wins.
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-33554432}"
export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-4294967296}"
