"""Shrinkage: how much the documents narrowed each parameter's prior.

shrinkage = posterior sd / prior sd, with the uniform prior's sd = (high - low) / sqrt(12). Near 0
the documents pin the parameter down; near 1 the posterior is the prior again, and its "posterior
median" is only the middle of the prior range, not a fitted value. Above NOT_IDENTIFIED the
parameter is flagged as not identified by the documents, wherever the posterior is shown.

(The measure is the ratio of standard deviations, not 1 minus the ratio of variances that some
texts call shrinkage: a ratio of 0.5 reads directly as "the documents halved the spread".)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

NOT_IDENTIFIED = 0.9
"""Shrinkage above which the documents are said not to identify a parameter."""


def prior_sd(low: float, high: float) -> float:
    """The standard deviation of a uniform prior on [low, high]."""
    return (high - low) / math.sqrt(12.0)


def shrinkage(posterior_sd: float, low: float, high: float) -> float:
    """Posterior sd / prior sd (NaN for a degenerate prior)."""
    sd = prior_sd(low, high)
    return posterior_sd / sd if sd > 0 else math.nan


def identified(ratio: float) -> bool:
    """Whether a parameter with this shrinkage was narrowed enough to be called fitted."""
    return not math.isnan(ratio) and ratio <= NOT_IDENTIFIED


def with_shrinkage(summary: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """posterior_summary rows (prior_low, prior_high, sd) with `prior_sd`, `shrinkage` and
    `identified` added."""
    rows = []
    for row in summary:
        ratio = shrinkage(row["sd"], row["prior_low"], row["prior_high"])
        rows.append(
            {
                **row,
                "prior_sd": prior_sd(row["prior_low"], row["prior_high"]),
                "shrinkage": ratio,
                "identified": identified(ratio),
            }
        )
    return rows


def not_identified(summary: Sequence[Mapping[str, Any]]) -> list[str]:
    """The parameters of rows from with_shrinkage that the documents do not identify."""
    return [row["parameter"] for row in summary if not row["identified"]]


def identification_warnings(summary: Sequence[Mapping[str, Any]]) -> list[str]:
    """What a summary of a calibration must say about its unidentified parameters, one line each;
    with none identified, a last line saying the posterior is the prior."""
    lost = not_identified(summary)
    lines = [
        f"{name}: not identified by the documents (posterior sd / prior sd "
        f"{next(r['shrinkage'] for r in summary if r['parameter'] == name):.2f} > {NOT_IDENTIFIED}); its median is "
        "close to the prior's middle, not a fitted value"
        for name in lost
    ]
    if summary and len(lost) == len(summary):
        lines.append(
            "no parameter was identified: the posterior equals the prior for every one, so this calibration "
            "fitted nothing; the documents do not constrain these parameters (or the budget was too small "
            "for the tolerance to shrink)"
        )
    return lines


def shrinkage_cell(row: Mapping[str, Any]) -> str:
    """A table cell for a summary row: the shrinkage, flagged when not identified (empty for a
    summary written before shrinkage was reported)."""
    if "shrinkage" not in row:
        return ""
    ratio = float(row["shrinkage"])
    return f"{ratio:.2f}" + ("" if identified(ratio) else " not identified")
