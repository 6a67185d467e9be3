"""Click commands added to `convoysim` by later issues, one module per family of commands."""
