"""Terminal tables (rich) for what a run prints at its end, laid out for the terminal's width.

At 120 columns and more every statistic is shown with its minute; below that the times are rounded
to the hour and the columns that need a reference to read (documented percentile, CRPS, RPS, the
coverage of each kind of window) are left to the CSV and JSON files, so that no row wraps on an
80-column terminal or a projected slide.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
from rich import box
from rich.table import Table

from convoysim.runs.compare import Comparison, quantiles
from convoysim.runs.timetext import day_time, duration_text, percent, window_text

if TYPE_CHECKING:
    from convoysim.calibration.validation import CorpusSummary
    from convoysim.runs.precision import Precision

WIDE = 120
"""Terminal width from which the full table, with minutes, is shown."""


def _table(title: str, wide: bool) -> Table:
    """Columns parted by one space (two when wide), a rule under the header, no frame."""
    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1, 0, 0) if wide else 0,
        caption_justify="left",
    )


def comparison_table(
    comparison: Comparison, start: datetime, title: str, width: int | None = None, details: str = "comparison.csv"
) -> Table:
    """Simulated quantiles against each documented window; `width` is the terminal's (None: wide),
    `details` the file a narrow table sends the reader to for what it leaves out."""
    wide = width is None or width >= WIDE
    table = _table(title, wide)
    columns = [
        ("waypoint", "left"),
        ("documented", "left"),
        ("p10", "left"),
        ("p50", "left"),
        ("p90", "left"),
        ("in window" if wide else "hit", "right"),
    ]
    if wide:
        columns += [("doc. pct", "right"), ("CRPS h", "right")]
    columns += [("meets", "center")]
    for name, justify in columns:  # only a long waypoint name may wrap
        table.add_column(name, justify=justify, no_wrap=name != "waypoint")  # type: ignore[arg-type]
    for m in comparison.milestones:
        row = [
            m.waypoint + ("*" if m.pinned else ""),
            window_text(start, m.earliest_h, m.latest_h, wide),
            *(day_time(start, h, wide) for h in (m.p10_h, m.p50_h, m.p90_h)),
            f"{100 * m.hit_rate:.0f}%",
        ]
        if wide:
            row += [f"{m.percentile:.0f}", f"{m.crps_h:.1f}"]
        row.append("yes" if m.window_meets_interval else "no")
        table.add_row(*row)
    pinned = len(comparison.milestones) - len(comparison.predicted)
    table.caption = (
        f"documented dates meeting the simulated 80% interval (p10-p90, 'meets'): "
        f"{percent(comparison.date_coverage)} (predicted only: {percent(comparison.predicted_date_coverage)}); "
        f"mean CRPS {_num(comparison.mean_crps_h, 1)} h (predicted only: "
        f"{_num(comparison.predicted_mean_crps_h, 1)} h); times UTC"
        + ("; * pinned: set by a fixed date in the scenario, not predicted" if pinned else "")
        + ("" if wide else f"; minutes, percentiles and CRPS of each window in {details}")
    )
    return table


def counts_table(comparison: Comparison, title: str, width: int | None = None, details: str = "counts.csv") -> Table:
    """The documented counts against the simulated ones: window, p10/p50/p90, share inside, and when
    wide the documented count's percentile and the RPS; `width` and `details` as in comparison_table."""
    wide = width is None or width >= WIDE
    table = _table(title, wide)
    columns = [
        ("count", "left"),
        ("where", "left"),
        ("documented", "left"),
        ("p10", "right"),
        ("p50", "right"),
        ("p90", "right"),
        ("in window" if wide else "hit", "right"),
    ]
    if wide:
        columns += [("doc. pct", "right"), ("RPS", "right")]
    columns += [("meets", "center")]
    for name, justify in columns:  # only the stretch of road may wrap
        table.add_column(name, justify=justify, no_wrap=name != "where")  # type: ignore[arg-type]
    for c in comparison.counts:
        row = [
            c.count,
            c.where,
            f"{c.low}" if c.low == c.high else f"{c.low} to {c.high}",
            str(c.p10),
            str(c.p50),
            str(c.p90),
            f"{100 * c.hit_rate:.0f}%",
        ]
        if wide:
            row += [f"{c.percentile:.0f}", f"{c.rps:.2f}"]
        row.append("yes" if c.window_meets_interval else "no")
        table.add_row(*row)
    table.caption = (
        f"documented counts meeting the simulated 80% interval ('meets'): {percent(comparison.count_coverage)}; "
        f"mean RPS {comparison.mean_rps:.2f}; overall coverage (dates and counts): {percent(comparison.coverage)}, "
        f"predicted only: {percent(comparison.predicted_coverage)}"
        + ("" if wide else f"; percentile and RPS of each count in {details}")
    )
    return table


def verdict_table(
    rows: list[tuple[str, Comparison, bool | None]],
    overall: Comparison,
    title: str,
    overall_row: bool = True,
    width: int | None = None,
) -> Table:
    """One row per scenario (name, comparison, passed or None) and, for several, an overall row over
    all their windows; below `WIDE` columns only the coverage, mean scores and verdict are shown."""
    wide = width is None or width >= WIDE
    table = _table(title, wide)
    headers = {
        "scenario": "scenario",
        "dates": "dates",
        "pinned": "pinned",
        "counts": "counts",
        "coverage": "coverage",
        "dates cov.": "dates\ncov.",
        "counts cov.": "counts\ncov.",
        "predicted cov.": "pred.\ncov.",
        "mean CRPS h": "mean\nCRPS h",
        "predicted CRPS h": "pred.\nCRPS h",
        "mean RPS": "mean\nRPS",
        "verdict": "verdict",
    }
    names = tuple(headers)
    shown = names if wide else ("scenario", "dates", "counts", "coverage", "mean CRPS h", "mean RPS", "verdict")
    for name in shown:  # only a long scenario name may wrap
        table.add_column(
            headers[name],
            justify="left" if name == "scenario" else "right",
            no_wrap=name != "scenario",
            min_width=12 if name == "scenario" else None,
        )

    def line(name: str, c: Comparison, passed: bool | None) -> list[str]:
        cells = dict(
            zip(
                names,
                [
                    name,
                    str(len(c.milestones)),
                    str(len(c.milestones) - len(c.predicted)),
                    str(len(c.counts)),
                    percent(c.coverage),
                    percent(c.date_coverage),
                    percent(c.count_coverage),
                    percent(c.predicted_coverage),
                    _num(c.mean_crps_h, 1),
                    _num(c.predicted_mean_crps_h, 1),
                    _num(c.mean_rps, 2),
                    {None: "", True: "PASS", False: "FAIL"}[passed],
                ],
            )
        )
        return [cells[k] for k in shown]

    for name, c, passed in rows:
        table.add_row(*line(name, c, passed))
    if overall_row and len(rows) > 1:
        table.add_section()
        table.add_row(*line("overall", overall, None))
    if not wide:
        table.caption = (
            "120 columns and more also show pinned dates, date and count coverage apart, and predicted-only scores"
        )
    return table


SUMMARY_TITLE = "mean over replications, per point (summary.csv has sd and p10/p50/p90, and the paths)"


def summary_tables(
    rows: list[dict], parameters: list[str], outputs: list[str], start: datetime | None = None, width: int | None = None
) -> list[Table]:
    """Each sweep point's parameter values and the mean of each output, headed in words (arrivals as
    dates when the start is known). Headers wrap, values never do: when the columns cannot all fit
    the terminal at the width of their values, the outputs go on in further tables, each repeating
    the point number."""
    from convoysim.figures.labels import (
        is_arrival,
        words,
    )  # the figures package loads matplotlib: only sweeps pay for it

    def cell(value: float, output: str | None = None) -> str:
        if output is not None and start is not None and is_arrival(output):
            return day_time(start, float(value), minutes=False)
        return f"{value:.4g}"

    columns = [("point", [str(row["point"]) for row in rows])]
    columns += [(words(p), [cell(row[p]) for row in rows]) for p in parameters]
    columns += [(words(o), [cell(row[f"{o}_mean"], o) for row in rows]) for o in outputs]

    def least(column: tuple[str, list[str]]) -> int:  # narrowest it can be: its widest value or header word
        header, values = column
        return max([len(v) for v in values] + [len(w) for w in header.split()])

    groups = [columns[: 1 + len(parameters)]]  # the point and the parameters head the first table
    used = sum(least(c) + 1 for c in groups[0])
    outputs_here = 0
    for column in columns[1 + len(parameters) :]:
        need = least(column) + 1
        if width is not None and outputs_here and used + need > width:  # go on in a new table, after the point
            groups.append(columns[:1])
            used, outputs_here = least(columns[0]) + 1, 0
        groups[-1].append(column)
        used += need
        outputs_here += 1
    tables = []
    for g, group in enumerate(groups):
        table = _table(SUMMARY_TITLE if g == 0 else "(continued)", wide=False)
        for header, values in group:
            table.add_column(header, justify="right", min_width=least((header, values)))
        for r in range(len(rows)):
            table.add_row(*(values[r] for _, values in group))
        tables.append(table)
    return tables


def sobol_table(rows: list[dict]) -> Table:
    """Total and first-order indices per output and parameter, most influential first."""
    table = _table("Sobol indices (ST: total, S1: first order; +- 95% half-width)", wide=False)
    for name, justify in [("output", "left"), ("parameter", "left"), ("ST", "right"), ("S1", "right")]:
        table.add_column(name, justify=justify, no_wrap=name in ("ST", "S1"))  # type: ignore[arg-type]
    for row in sorted(rows, key=lambda r: (r["output"], -r["ST"])):
        table.add_row(
            row["output"],
            row["parameter"],
            f"{row['ST']:.2f} +- {row['ST_conf']:.2f}",
            f"{row['S1']:.2f} +- {row['S1_conf']:.2f}",
        )
    return table


def _num(x: float, digits: int) -> str:
    return "n/a" if math.isnan(x) else f"{x:.{digits}f}"


def arrivals_table(
    arrivals_h: np.ndarray,
    waypoints: list[str] | tuple[str, ...],
    start: datetime,
    title: str,
    width: int | None = None,
) -> Table:
    """Simulated arrival quantiles at every waypoint, for scenarios with nothing documented."""
    wide = width is None or width >= WIDE
    table = _table(title, wide)
    for name in ("waypoint", "p10", "p50", "p90", "reached"):
        table.add_column(name, no_wrap=name != "waypoint")
    for k, name in enumerate(waypoints[1:], start=1):
        column = arrivals_h[:, k]
        p10, p50, p90 = quantiles(column)
        table.add_row(
            name, *(day_time(start, h, wide) for h in (p10, p50, p90)), f"{100 * np.mean(~np.isnan(column)):.0f}%"
        )
    table.caption = "Times UTC"
    return table


def precision_table(found: Precision, title: str) -> Table:
    """The 95 % interval of each estimate: ± half-widths of p10/p50/p90, the hit rate's range."""
    table = _table(title, False)
    for name in ("waypoint", "p10 ±", "p50 ±", "p90 ±", "in window"):
        table.add_column(name, justify="left" if name == "waypoint" else "right", no_wrap=name != "waypoint")
    for w in found.waypoints:
        hit = w.hit_rate
        table.add_row(
            w.waypoint,
            *(duration_text(iv.half_width) for iv in w.quantiles),
            f"{100 * hit.estimate:.0f}% [{100 * hit.low:.0f}-{100 * hit.high:.0f}%]" if hit else "",
        )
    for c in found.counts:  # in counts: the quantile and its interval
        hit = c.hit_rate
        table.add_row(
            c.label,
            *(f"{iv.estimate:g} [{iv.low:g}-{iv.high:g}]" for iv in c.quantiles),
            f"{100 * hit.estimate:.0f}% [{100 * hit.low:.0f}-{100 * hit.high:.0f}%]" if hit else "",
        )
    if found.coverage is not None:
        c = found.coverage
        table.caption = (
            f"{100 * found.confidence:.0f}% intervals over {found.replications} replications; coverage "
            f"{100 * c.estimate:.0f}% [{100 * c.low:.0f}-{100 * c.high:.0f}%]"
        )
    return table


def corpus_table(summary: CorpusSummary, title: str) -> Table:
    """One row per convoy of a corpus: documented duration, simulated 10/50/90 %, inside the 80 %
    interval or not, CRPS (hours and over the documented duration), PIT and the count scores; the
    caption holds the summary (coverage, median relative CRPS, PIT histogram)."""
    table = _table(title, False)
    for name in ("convoy", "documented", "p10", "p50", "p90", "in 80%", "CRPS h", "CRPS/doc", "PIT", "counts", "RPS"):
        table.add_column(name, justify="left" if name == "convoy" else "right", no_wrap=name != "convoy")
    for r in summary.rows:
        table.add_row(
            r.name + ("*" if r.pinned else ""),
            duration_text(r.documented_h),
            *(duration_text(h) for h in (r.p10_h, r.p50_h, r.p90_h)),
            "yes" if r.inside else "no",
            f"{r.crps_h:.1f}",
            _num(r.relative_crps, 2),
            f"{r.pit:.2f}",
            f"{r.counts_met}/{r.counts}" if r.counts else "",
            _num(r.mean_rps, 2) if r.counts else "",
        )
    histogram = summary.pit_histogram()
    width = len(histogram)
    bars = "  ".join(f"{k / width:.1f}-{(k + 1) / width:.1f}: {'#' * n}{n}" for k, n in enumerate(histogram))
    pinned = any(r.pinned for r in summary.rows)
    table.caption = (
        f"{len(summary.rows)} convoys; documented duration inside the simulated 80% interval: "
        f"{percent(summary.coverage)}; median CRPS / documented duration {_num(summary.median_relative_crps, 2)}; "
        f"counts meeting their 80% interval: {percent(summary.count_coverage)}\n"
        f"PIT histogram (share of simulated durations below the documented one; flat when calibrated): {bars}\n"
        "durations from each convoy's start to its documented arrival furthest along the route (the window's middle)"
        + ("; * pinned: a fixed date in the scenario sets that arrival" if pinned else "")
    )
    return table
