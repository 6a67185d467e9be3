"""The command line. Thin: each command parses options, calls the library, and shows what comes back."""

from __future__ import annotations

import click

from convoysim.commands.calibrate import calibrate, validate_command
from convoysim.commands.common import GuardedGroup
from convoysim.commands.plot import animate, plot, report
from convoysim.commands.run import run
from convoysim.commands.sweep import sweep


@click.group(cls=GuardedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="convoysim")
def main() -> None:
    """convoysim: Monte Carlo simulation of road convoys.

    The reference case is the 2023 Gao-Kidal convoy: try `convoysim run baseline`.
    """


for _command in (run, sweep, calibrate, validate_command, plot, report, animate):
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    main()
