"""Sobol sensitivity indices from a Saltelli design (estimated with SALib).

The model output at a design point is the mean over its replications; with common random numbers
the replications' noise is shared by all points, so it barely enters the differences the indices
are built from. An arrival that never happens is counted at the horizon (censored), as in the CRPS,
so that one column stopped by losses moves the index instead of making it undefined.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from convoysim.runs.extras import require
from convoysim.studies.designs import salib_problem
from convoysim.studies.experiments import Parameter

SOBOL_COLUMNS = ["output", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
CONFIDENCE = 0.95


def sobol_indices(
    parameters: Mapping[str, Parameter], point_means: np.ndarray, second_order: bool, bootstrap: int, seed: int
) -> dict[str, np.ndarray]:
    """First-order (S1) and total (ST) indices with bootstrap confidence half-widths, per parameter.

    `point_means` is the output at each point of the Saltelli design, in design order.
    """
    salib_sobol = require("SALib.analyze.sobol", "sobol", "Sobol indices")

    y = np.asarray(point_means, dtype=float)
    if not np.all(np.isfinite(y)):
        raise ValueError("Sobol indices need a finite output at every point")
    if np.ptp(y) == 0.0:
        zeros = np.zeros(len(parameters))
        return {"S1": zeros, "S1_conf": zeros, "ST": zeros, "ST_conf": zeros}
    found = salib_sobol.analyze(
        salib_problem(parameters),
        y,
        calc_second_order=second_order,
        num_resamples=bootstrap,
        conf_level=CONFIDENCE,
        seed=seed,
    )
    return {k: np.asarray(found[k], dtype=float) for k in ("S1", "S1_conf", "ST", "ST_conf")}


def sobol_rows(
    parameters: Mapping[str, Parameter],
    means_by_output: Mapping[str, Sequence[float]],
    second_order: bool,
    bootstrap: int,
    seed: int,
) -> list[dict[str, Any]]:
    """sobol.csv: one row per output and parameter."""
    rows = []
    for output, means in means_by_output.items():
        found = sobol_indices(parameters, np.asarray(means), second_order, bootstrap, seed)
        for j, name in enumerate(parameters):
            rows.append({"output": output, "parameter": name, **{k: float(found[k][j]) for k in SOBOL_COLUMNS[2:]}})
    return rows
