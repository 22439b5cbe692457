"""``python -m swrules``: the command line."""

import sys

from swrules.cli import main

sys.exit(main())
