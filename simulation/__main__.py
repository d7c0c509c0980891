"""`python -m simulation ...` is the same command line as `run.py`."""

import sys

from simulation.cli import main

sys.exit(main())
