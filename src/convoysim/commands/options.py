"""Options several commands share, each written once: replications, seed and output folder.

Each takes the help text's own part (what the default is, what the folder holds), so that every
command says what its option means for it, while the flag, its short name and its type stay the same
everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])


def replications_option(help: str, at_least: int = 1) -> Callable[[F], F]:
    """`--replications/-n`, a whole number of at least `at_least`."""
    return click.option("--replications", "-n", type=click.IntRange(min=at_least), help=help)


def seed_option(default: str) -> Callable[[F], F]:
    """`--seed/-s`, a whole number of at least 0; `default` says where the seed comes from without it."""
    return click.option("--seed", "-s", type=click.IntRange(min=0), help=f"Seed (default: {default}).")


def out_option(help: str) -> Callable[[F], F]:
    """`--out/-o`, a folder (never a file)."""
    return click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), help=help)
