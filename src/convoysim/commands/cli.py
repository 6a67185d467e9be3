"""The command line. Thin: each command parses options, calls the library, and shows what comes back.

Commands are imported when they run, not when the command line starts: `convoysim run` does not
import the sweep's or the calibration's modules, and `convoysim --help` lists every command from
the summaries below without importing any of them (a test holds each summary to its command).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from importlib import import_module

import click

from convoysim.commands.common import GuardedGroup

COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": (
        "convoysim.commands.run",
        "run",
        "Run SCENARIO (a YAML file, or a shipped scenario's name such as `baseline`).",
    ),
    "sweep": (
        "convoysim.commands.sweep",
        "sweep",
        "Run EXPERIMENT (a YAML file, or the name of a shipped experiment, e.g. drone-radius).",
    ),
    "compare": (
        "convoysim.commands.compare",
        "compare",
        "Compare PLANS (scenarios by name or file, or plans of --experiment) on common random numbers.",
    ),
    "calibrate": (
        "convoysim.commands.calibrate",
        "calibrate",
        "Fit parameters of one SCENARIO, or of several at once, to their documented dates and counts by ABC-SMC.",
    ),
    "validate": (
        "convoysim.commands.calibrate",
        "validate_command",
        "Run each SCENARIO and score it against its documented dates and counts.",
    ),
    "plot": (
        "convoysim.commands.plot",
        "plot",
        "Draw every figure of a run or sweep DIRECTORY (time-distance chart, arrivals, route map, ...).",
    ),
    "report": (
        "convoysim.commands.plot",
        "report",
        "Write one self-contained HTML report of a run or sweep DIRECTORY (opens offline in any browser).",
    ),
    "animate": (
        "convoysim.commands.plot",
        "animate",
        "Animate one replication's march on the route map, as a GIF (or MP4 with ffmpeg).",
    ),
}
"""name: (module, attribute, the first paragraph of the command's help)."""


class LazyCommands(MutableMapping[str, click.Command]):
    """The group's commands by name, each imported from its module the first time it is looked up."""

    def __init__(self, table: dict[str, tuple[str, str, str]]):
        self.table = table
        self.loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self.loaded:
            module, attribute, _ = self.table[name]
            self.loaded[name] = getattr(import_module(module), attribute)
        return self.loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self.loaded[name] = command

    def __delitem__(self, name: str) -> None:
        self.loaded.pop(name, None)
        self.table.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self.table, *self.loaded]))

    def __contains__(self, name: object) -> bool:
        return name in self.table or name in self.loaded

    def __len__(self) -> int:
        return len(set(self.table) | set(self.loaded))

    def summary(self, name: str) -> click.Command:
        """The command if loaded, else a stand-in carrying its summary, for the list in --help."""
        if name in self.loaded or name not in self.table:
            return self[name]
        return click.Command(name, help=self.table[name][2])


class ConvoysimGroup(GuardedGroup):
    """The guarded group (one error path for every command) whose --help lists the commands
    without importing them."""

    commands: LazyCommands
    _listing = False

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if self._listing:
            return self.commands.summary(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._listing = False


@click.group(
    cls=ConvoysimGroup, commands=LazyCommands(dict(COMMANDS)), context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(package_name="convoysim")
def main() -> None:
    """convoysim: Monte Carlo simulation of road convoys.

    The reference case is the 2023 Gao-Kidal convoy: try `convoysim run baseline`.
    """


if __name__ == "__main__":  # pragma: no cover
    main()
