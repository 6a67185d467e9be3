"""`python -m convoysim` is the `convoysim` command."""

from convoysim.commands.entry import main

main()
