"""What every command shares: exit codes, the error line, the progress bar."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

err_console = Console(stderr=True)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    """One clear line on stderr and the exit code; never a traceback."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    sys.exit(code)


def out_console() -> Console:
    """Standard output for tables: the terminal's width, or $COLUMNS (else 160) when piped to a file."""
    console = Console()
    return console if console.is_terminal else Console(width=int(os.environ.get("COLUMNS") or 160))


def progress_bar(total: int, label: str) -> Progress:
    """A progress bar on a terminal; silent when output is piped or in CI."""
    return Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("eta"),
        TimeRemainingColumn(), console=err_console, disable=not err_console.is_terminal, transient=True,
    )


@contextmanager
def progress_steps(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar as the `progress(k)` callback library functions take; a library PhaseProgress."""
    with progress_bar(total, label) as bar:
        task = bar.add_task(label, total=total)
        yield lambda k: bar.advance(task, k)
