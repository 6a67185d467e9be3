"""The calibration stage: ABC-SMC fitting, its directory store and workflow, out-of-sample
validation, and the calibration's own figures.

Empty on purpose: importing a module of this stage loads only that module and what it imports.
"""
