"""The options that say where work runs (`--workers`, `--executor`, `--scheduler`), shared by the
commands that fan work out."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])


WORKERS_HELP = "Worker processes (local) or LocalCluster workers (dask); results do not depend on it."


def workers_option(help: str = WORKERS_HELP) -> Callable[[F], F]:
    """`--workers/-w`, at least 1, default 1."""
    return click.option("--workers", "-w", type=click.IntRange(min=1), default=1, show_default=True, help=help)


def executor_options(what: str) -> Callable[[F], F]:
    """`--executor local|dask` and `--scheduler ADDRESS`, in that order, for a command that runs `what`."""

    def decorate(command: F) -> F:
        command = click.option(
            "--scheduler",
            metavar="ADDRESS",
            help="Dask scheduler address (tcp://host:8786); without it, --executor dask starts a LocalCluster.",
        )(command)
        return click.option(
            "--executor",
            "-e",
            type=click.Choice(["local", "dask"]),
            default="local",
            show_default=True,
            help=f"Where {what} run. local: this machine's processes; dask: a Dask distributed cluster.",
        )(command)

    return decorate


def scheduler_misplaced(executor: str, scheduler: str | None) -> str | None:
    """The error line for a --scheduler given without --executor dask, else None."""
    return "--scheduler goes with --executor dask" if scheduler and executor != "dask" else None
