"""What every command shares: exit codes, the error line, the progress bar."""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70
"""A bug in convoysim (EX_SOFTWARE): one line, and the traceback with CONVOYSIM_DEBUG=1."""

err_console = Console(stderr=True)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    """One clear line on stderr and the exit code; never a traceback. The message is shown as
    written: brackets in it (`convoysim[video]`, a YAML list) are text, not rich markup."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(code)


def out_console() -> Console:
    """Standard output for tables: the terminal's width, or $COLUMNS (else 160) when piped to a file."""
    console = Console()
    return console if console.is_terminal else Console(width=int(os.environ.get("COLUMNS") or 160))


def progress_bar(total: int, label: str) -> Progress:
    """A progress bar on a terminal; silent when output is piped or in CI."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err_console,
        disable=not err_console.is_terminal,
        transient=True,
    )


@contextmanager
def progress_steps(label: str, total: int, done: int = 0) -> Iterator[Callable[[int], None]]:
    """A progress bar as the `progress(k)` callback library functions take; a library PhaseProgress.
    It starts at `done` (a resumed run's kept replications)."""
    with progress_bar(total, label) as bar:
        task = bar.add_task(label, total=total, completed=done)
        yield lambda k: bar.advance(task, k)


class Terminated(KeyboardInterrupt):
    """SIGTERM (or SIGHUP), raised where the program is, so it unwinds exactly as Ctrl-C does:
    partial folders are removed, checkpoints kept, and the command says what it left behind."""


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated(signum)


class GuardedGroup(click.Group):
    """The command group every command runs under: one error path for every command.

    Ctrl-C and SIGTERM exit 130 with one line (click would print "Aborted!" and exit 1); an I/O
    failure (read-only or full disk, a folder that vanished) exits 2 with the file and the reason;
    an unexpected exception is a bug, shown as one line (exit 70) unless CONVOYSIM_DEBUG is set.
    """

    def invoke(self, ctx: click.Context) -> Any:
        if threading.current_thread() is not threading.main_thread():  # signals can only be set there
            return self._guarded(ctx)
        previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, _terminate)
        try:
            return self._guarded(ctx)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _guarded(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as err:
            where = err.ctx.command_path if err.ctx is not None else ctx.command_path
            fail(f"{where}: {err.format_message()} (see {where} --help)")
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            fail("interrupted; nothing incomplete was left behind", EXIT_INTERRUPTED)
        except OSError as err:
            fail(io_problem(err))
        except MemoryError:
            fail("out of memory; run fewer replications or a smaller design")
        except Exception as err:  # noqa: BLE001 - the last line of defence against a traceback
            if os.environ.get("CONVOYSIM_DEBUG"):
                raise
            fail(
                f"internal error (a bug in convoysim, please report it with the command): {type(err).__name__}: {err}",
                EXIT_INTERNAL,
            )


def io_problem(err: OSError) -> str:
    """An OSError as one line: the file and the system's reason (no errno, no Python repr)."""
    where = err.filename or ""
    return f"{where}: cannot read or write: {io_reason(err)}" if where else f"cannot read or write: {io_reason(err)}"


def io_reason(err: OSError) -> str:
    """The system's reason for an OSError, with a hint where the words alone mislead."""
    reason = err.strerror or str(err)
    if err.errno in (errno.EEXIST, errno.ENOTDIR):
        reason += " (a file stands where a folder is needed)"
    return reason


def work_limit_options(command: Callable) -> Callable:
    """`--max-events` and `--max-memory-mb`: the work guard's limits, raised only on purpose."""
    from convoysim.runs.budget import DEFAULT_MAX_EVENTS, DEFAULT_MAX_MEMORY_MB

    command = click.option(
        "--max-memory-mb",
        type=click.IntRange(min=1),
        default=DEFAULT_MAX_MEMORY_MB,
        show_default=True,
        help="Refuse a run whose records (a streamed run: its arrival and count matrices) would take more memory than "
        "this.",
    )(command)
    return click.option(
        "--max-events",
        type=click.IntRange(min=1),
        default=DEFAULT_MAX_EVENTS,
        show_default=True,
        help="Refuse a run whose replications would each book more events than this (estimated first).",
    )(command)


def check_work(
    file: str,
    scenarios: Iterable[Any],
    replications: int,
    max_events: int | None = None,
    max_memory_mb: int | None = None,
    tracked: int = 0,
    streamed: bool = False,
) -> None:
    """Fail (exit 2) before any work when a scenario's replications would hang or exhaust memory;
    a `streamed` run keeps only its arrival hours and documented counts, not its records."""
    from convoysim.model import compile_plan
    from convoysim.runs import budget

    for scenario in scenarios:
        plan = compile_plan(scenario)
        columns = len(plan.names) + len(scenario.documented_counts) if streamed else None
        try:
            budget.check_work(
                plan,
                replications,
                max_events or budget.DEFAULT_MAX_EVENTS,
                max_memory_mb or budget.DEFAULT_MAX_MEMORY_MB,
                tracked,
                columns,
            )
        except budget.WorkLimitError as err:
            fail(f"{file}: {err}")
