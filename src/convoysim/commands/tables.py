"""Terminal tables (rich) for what a run prints at its end."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
from rich.table import Table

from convoysim.runs.compare import Comparison, quantiles
from convoysim.runs.writing import iso


def _day(start: datetime, hours: float) -> str:
    """'02 Oct 13:09' (UTC, to the nearest minute): no day/month order to misread."""
    if not math.isfinite(hours):
        return iso(start, hours)
    return (start + timedelta(minutes=round(hours * 60))).strftime("%d %b %H:%M")


def comparison_table(comparison: Comparison, start: datetime, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for name, justify in [("waypoint", "left"), ("documented window", "left"), ("p10", "left"), ("p50", "left"),
                          ("p90", "left"), ("in window", "right"), ("doc. pct", "right"), ("CRPS h", "right"),
                          ("window meets 80%", "center")]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for m in comparison.milestones:
        table.add_row(
            m.waypoint,
            f"{_day(start, m.earliest_h)} to {_day(start, m.latest_h)}",
            _day(start, m.p10_h),
            _day(start, m.p50_h),
            _day(start, m.p90_h),
            f"{100 * m.hit_rate:.0f}%",
            f"{m.percentile:.0f}",
            f"{m.crps_h:.1f}",
            "yes" if m.window_meets_interval else "no",
        )
    table.caption = (f"documented windows meeting the simulated 80% interval: {100 * comparison.coverage:.0f}%   "
                     f"mean CRPS: {comparison.mean_crps_h:.1f} h   (times UTC)")
    return table


def arrivals_table(arrivals_h: np.ndarray, waypoints: list[str] | tuple[str, ...], start: datetime, title: str) -> Table:
    """Simulated arrival quantiles at every waypoint, for scenarios with nothing documented."""
    table = Table(title=title, title_justify="left")
    for name in ("waypoint", "p10", "p50", "p90", "reached"):
        table.add_column(name)
    for k, name in enumerate(waypoints[1:], start=1):
        column = arrivals_h[:, k]
        p10, p50, p90 = quantiles(column)
        table.add_row(name, _day(start, p10), _day(start, p50), _day(start, p90), f"{100 * np.mean(~np.isnan(column)):.0f}%")
    table.caption = "(times UTC)"
    return table
