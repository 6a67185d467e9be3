"""The `convoysim` program's entry point: signals are handled before the first heavy import.

Importing numpy, scipy and pydantic takes seconds on a busy machine; Ctrl-C or SIGTERM in that
time would otherwise print an import traceback. Until the command group takes over (see
`common.GuardedGroup`), a signal ends the program quietly with 130: nothing has been written yet.
This module and the packages above it import only what the interpreter has already loaded (and
`signal`), so the only moments left uncovered are the interpreter's own start-up and the
`import re` of the launcher script pip writes, a few milliseconds before this module runs.
"""

from __future__ import annotations

import os
import signal

EXIT_INTERRUPTED = 130
"""As `common.EXIT_INTERRUPTED` (not imported from there: that module imports click and rich)."""

_said = b"error: interrupted while starting; nothing was written\n"


def _stopped(signum: int, frame: object) -> None:
    os.write(2, _said)
    os._exit(EXIT_INTERRUPTED)


def _quiet(message: bytes) -> None:
    """From now on, a signal prints `message` and ends the program with 130, whatever it was doing."""
    global _said
    _said = message
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stopped)


def _child_of_a_spawn() -> bool:
    """This import is a worker process re-running the console script as `__mp_main__` (Dask's
    workers are spawned so)."""
    import sys

    return "__mp_main__" in sys.modules


if _child_of_a_spawn():
    # Ctrl-C and a hang-up reach the whole process group: the command's own process handles them
    # and closes its workers, which would otherwise each print a traceback, or this module's
    # message, untrue of them. A worker still ends on SIGTERM, as its cluster stops it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
else:
    _quiet(_said)  # at import: the console script runs a little code of its own before main()


def _leave_now(code: int) -> None:
    """End at once, skipping the interpreter's exit hooks: after an interrupt the command has
    written and said what it kept, and an abandoned process pool's hooks (concurrent.futures joins
    its threads) could block on a half-written pipe or print a traceback about a closed one."""
    import sys

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def main() -> None:
    from convoysim.commands.cli import main as cli

    try:
        cli(prog_name="convoysim")
    except SystemExit as stop:
        if stop.code == EXIT_INTERRUPTED:
            _leave_now(EXIT_INTERRUPTED)
        raise
    finally:  # the command has cleaned up and said what it left; a late signal only ends the exit
        _quiet(b"error: interrupted\n")
