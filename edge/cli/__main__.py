"""`python -m edge.cli`: the same as the `rxedge` command."""

import sys

from edge.cli.entry import main

sys.exit(main())
