"""A corpus of convoys at a glance: simulated against documented march durations, one point per convoy.

Log scales on both axes, so that a two-day and a forty-day march are read alike; the diagonal is a
perfect forecast. Each point is the simulated median with its 80 % interval (p10-p90) as a vertical
bar and the documented window as a horizontal one; a point whose bars do not meet the diagonal's
neighbourhood is a convoy the model misses.
"""

from __future__ import annotations

import math

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator

from convoysim.calibration.validation import CorpusSummary
from convoysim.figures.style import COLOURS, new_figure

HOURS_PER_DAY = 24.0


def corpus_durations(summary: CorpusSummary, title: str = "Simulated against documented march durations") -> Figure:
    """One point per convoy: documented duration (x, days) against the simulated median (y, days),
    80 % interval as error bars; convoys outside it in the documented colour."""
    fig = new_figure()
    ax = fig.add_subplot()
    finite = [
        v for r in summary.rows for v in (r.earliest_h, r.latest_h, r.p10_h, r.p90_h) if math.isfinite(v) and v > 0
    ]
    low = min(finite, default=1.0) / HOURS_PER_DAY / 1.5
    high = max(finite, default=24.0) / HOURS_PER_DAY * 1.5
    ax.plot([low, high], [low, high], color=COLOURS["road"], lw=1, ls="--", label="simulated = documented")
    for r in summary.rows:
        x = r.documented_h / HOURS_PER_DAY
        p10, p50 = r.p10_h / HOURS_PER_DAY, r.p50_h / HOURS_PER_DAY
        p90 = r.p90_h / HOURS_PER_DAY if math.isfinite(r.p90_h) else high
        colour = COLOURS["simulated"] if r.inside else COLOURS["documented"]
        y = p50 if math.isfinite(p50) else high
        ax.errorbar(
            [x],
            [y],
            yerr=[[max(y - p10, 0.0)], [max(p90 - y, 0.0)]],
            xerr=[[x - r.earliest_h / HOURS_PER_DAY], [r.latest_h / HOURS_PER_DAY - x]],
            fmt="o",
            color=colour,
            ecolor=colour,
            elinewidth=1.5,
            capsize=3,
            ms=5,
        )
        ax.annotate(r.name, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=8, color=colour)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    for axis in (ax.xaxis, ax.yaxis):  # 0.5, 1, 2, 5, 10, 20 ... days rather than powers of ten
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    ax.set_xlabel("documented duration (days; bar: the documented window)")
    ax.set_ylabel("simulated duration (days; median, bar: 80 % interval)")
    ax.set_title(title)
    ax.plot([], [], "o", color=COLOURS["simulated"], label="documented inside the 80 % interval")
    ax.plot([], [], "o", color=COLOURS["documented"], label="outside")
    ax.legend(loc="upper left")
    ax.text(
        0.99,
        0.01,
        f"coverage {summary.coverage:.0%}, median CRPS / documented {summary.median_relative_crps:.2f}",
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=10,
    )
    return fig
