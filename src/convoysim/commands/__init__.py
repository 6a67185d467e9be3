"""Sub-commands of the `convoysim` command line, one module each, registered at the end of cli.py."""
