"""The runs stage: replications and their random streams, where work runs, the comparison with the
documents, and run directories (writing and reading them back).

Empty on purpose: importing a module of this stage loads only that module and what it imports, so
`convoysim run` does not pay for figures' or sweeps' helpers.
"""
