"""The `convoysim` program's entry point: signals are handled before the first heavy import.

Importing numpy, scipy and pydantic takes seconds on a busy machine; Ctrl-C or SIGTERM in that
time would otherwise print an import traceback. Until the command group takes over (see
`common.GuardedGroup`), a signal ends the program quietly with 130: nothing has been written yet.
"""

from __future__ import annotations

import os
import signal
import sys


def _starting(signum: int, frame: object) -> None:
    os.write(2, b"error: interrupted while starting; nothing was written\n")
    os._exit(130)


def _quiet_until_started() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _starting)


_quiet_until_started()  # at import: the console script runs a little code of its own before main()


def main() -> None:
    from convoysim.commands.cli import main as cli


    cli(prog_name="convoysim")
