"""Terminal tables (rich) for what a run prints at its end."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
from rich.table import Table

from convoysim.calibration.validation import percent
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
                          ("window meets 80%", "center"), ("", "left")]:
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
            m.label,
        )
    table.caption = (f"documented dates meeting the simulated 80% interval: {percent(comparison.date_coverage)} "
                     f"(predicted only: {percent(comparison.predicted_date_coverage)})   mean CRPS: {_num(comparison.mean_crps_h, 1)} h "
                     f"(predicted only: {_num(comparison.predicted_mean_crps_h, 1)} h)   (times UTC; pinned: set by a fixed date "
                     "in the scenario, not predicted)")
    return table


def counts_table(comparison: Comparison, title: str) -> Table:
    """The documented counts against the simulated ones: window, p10/p50/p90, share inside, RPS."""
    table = Table(title=title, title_justify="left")
    for name, justify in [("count", "left"), ("where", "left"), ("documented", "left"), ("p10", "right"), ("p50", "right"),
                          ("p90", "right"), ("in window", "right"), ("doc. pct", "right"), ("RPS", "right"),
                          ("window meets 80%", "center")]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for c in comparison.counts:
        table.add_row(c.count, c.where, f"{c.low}" if c.low == c.high else f"{c.low} to {c.high}", str(c.p10), str(c.p50),
                      str(c.p90), f"{100 * c.hit_rate:.0f}%", f"{c.percentile:.0f}", f"{c.rps:.2f}",
                      "yes" if c.window_meets_interval else "no")
    table.caption = (f"counts meeting the simulated 80% interval: {percent(comparison.count_coverage)}   mean RPS: "
                     f"{comparison.mean_rps:.2f}   overall coverage (dates and counts): {percent(comparison.coverage)}, "
                     f"predicted only: {percent(comparison.predicted_coverage)}")
    return table


def verdict_table(rows: list[tuple[str, Comparison, bool | None]], overall: Comparison, title: str,
                  overall_row: bool = True) -> Table:
    """One row per scenario (name, comparison, passed or None) and, for several, an overall row over
    all their windows."""
    table = Table(title=title, title_justify="left")
    for name in ("scenario", "dates", "pinned", "counts", "coverage", "dates cov.", "counts cov.", "predicted cov.",
                 "mean CRPS h", "predicted CRPS h", "mean RPS", "verdict"):
        table.add_column(name, justify="left" if name == "scenario" else "right")
    def line(name: str, c: Comparison, passed: bool | None) -> list[str]:
        return [name, str(len(c.milestones)), str(len(c.milestones) - len(c.predicted)), str(len(c.counts)), percent(c.coverage),
                percent(c.date_coverage), percent(c.count_coverage), percent(c.predicted_coverage), _num(c.mean_crps_h, 1),
                _num(c.predicted_mean_crps_h, 1), _num(c.mean_rps, 2), {None: "", True: "PASS", False: "FAIL"}[passed]]
    for name, c, passed in rows:
        table.add_row(*line(name, c, passed))
    if overall_row and len(rows) > 1:
        table.add_section()
        table.add_row(*line("overall", overall, None))
    return table


def _num(x: float, digits: int) -> str:
    return "n/a" if math.isnan(x) else f"{x:.{digits}f}"


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
