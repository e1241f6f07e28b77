"""The `rxedge` command's entry point: Ctrl-C while Python still loads the command's modules
ends it as Ctrl-C does later (exit 130), not with Python's traceback of the import; and output
whose reader went away (`rxedge history A-01 | head`) ends it quietly, as it ends the shell's
own commands (exit 141), not with a traceback and an exit status a command gives another
meaning."""

from __future__ import annotations

import os
import signal
import sys

INTERRUPTED = 130  # the shell's status for a command ended by SIGINT
READER_GONE = 128 + signal.SIGPIPE  # the shell's status for a command whose pipe was closed


def main() -> int:
    try:
        from edge.cli.main import main as run
    except KeyboardInterrupt:
        return INTERRUPTED
    try:
        status = run()
        sys.stdout.flush()  # what is still buffered meets a reader gone here, not at exit
    except BrokenPipeError:
        _drop_output()
        return READER_GONE
    return status


def _drop_output() -> None:
    """Point stdout and stderr at /dev/null: what Python still holds for them (flushed at exit)
    would meet the closed pipe again and print a warning after all."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            os.dup2(devnull, fd)
    finally:
        os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
