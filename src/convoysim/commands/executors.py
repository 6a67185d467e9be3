"""The `--executor` and `--scheduler` options that `run`, `sweep` and `calibrate` share."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])


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
