"""The scenario stage: the YAML schema as typed, validated objects (`schema`), loading with file:line
errors (`loading`), distributions, and parameters named by path (`paths`).

Empty on purpose: importing a module of this stage (`convoysim.scenario.loading`) loads only that
module and what it imports, so the command line starts fast.
"""
