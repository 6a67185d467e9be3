"""Sub-commands of the `convoysim` command line, one module per family, registered at the end of cli.py."""
