"""`python -m edge.cli.main`: the same as the `rxedge` command."""

import sys

from edge.cli.main.main import main

sys.exit(main())
