"""The `rxedge` command's entry point: Ctrl-C while Python still loads the command's modules
ends it as Ctrl-C does later (exit 130), not with Python's traceback of the import."""

from __future__ import annotations

import sys

INTERRUPTED = 130  # the shell's status for a command ended by SIGINT


def main() -> int:
    try:
        from edge.cli.main import main as run
    except KeyboardInterrupt:
        return INTERRUPTED
    return run()


if __name__ == "__main__":
    sys.exit(main())
