"""``python -m tsfilm``: the command line (also ``torchrun --nproc-per-node N -m tsfilm train``)."""

import sys

from tsfilm.cli import main

if __name__ == "__main__":
    sys.exit(main())
