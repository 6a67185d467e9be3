"""`python -m convoysim` is the `convoysim` command."""

from convoysim.commands.cli import main

main(prog_name="convoysim")
