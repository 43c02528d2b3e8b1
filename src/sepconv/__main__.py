"""``python -m sepconv``: see :mod:`sepconv.cli`."""

import sys

from sepconv.cli import main

if __name__ == "__main__":
    sys.exit(main())
