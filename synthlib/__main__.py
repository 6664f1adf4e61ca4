"""``python -m synthlib <command>``: the library's command line (``synthlib.cli``)."""

import sys

from synthlib.cli import main

sys.exit(main(sys.argv[1:]))
