"""The studies stage: experiment files (what to vary), designs (how points are drawn), sweeps (where
they are evaluated) and sensitivity indices.

Empty on purpose: importing a module of this stage loads only that module and what it imports.
"""
