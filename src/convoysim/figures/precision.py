"""How many replications are enough: an estimate and its confidence interval as replications grow.

One panel per quantile (p10, p50, p90) of one waypoint's arrival: the estimate after the first n
replications and its 95 % interval (order statistics, `convoysim.runs.precision`), on a log scale of
n, dated on the vertical axis. The interval narrows roughly as 1/sqrt(n): four times the
replications for half the width.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from convoysim.figures.style import COLOURS, clock_axis, new_figure
from convoysim.runs.compare import QUANTILES
from convoysim.runs.precision import convergence
from convoysim.runs.reading import RunData
from convoysim.runs.timetext import duration_text


def convergence_chart(run: RunData, waypoint: str | None = None) -> Figure:
    """The arrival quantiles at `waypoint` (default: the destination) against the replications used."""
    name = waypoint or run.waypoints[-1]
    column = run.arrivals_h[:, run.waypoints.index(name)]
    fig = new_figure()
    axes = fig.subplots(1, len(QUANTILES), sharex=True)
    for ax, q in zip(axes, QUANTILES):
        points = convergence(column, q)
        n = np.array([p.replications for p in points])
        est = np.array([p.estimate for p in points])
        low = np.array([p.low for p in points])
        high = np.array([p.high for p in points])
        finite = np.isfinite(low) & np.isfinite(high)
        band = ax.fill_between(
            n[finite],
            low[finite],
            high[finite],
            color=COLOURS["band"],
            alpha=0.7,
            lw=0,
            label="95 % confidence interval",
        )
        band.set_gid(f"interval:p{round(100 * q)}")
        (line,) = ax.plot(
            n,
            np.where(np.isfinite(est), est, np.nan),
            color=COLOURS["simulated"],
            lw=2,
            marker="o",
            ms=4,
            label="estimate",
        )
        line.set_gid(f"estimate:p{round(100 * q)}")
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))  # 20, 50, 1,000: not 2x10^1
        ax.xaxis.set_minor_formatter(NullFormatter())
        clock_axis(ax.yaxis, run.start, max_ticks=6)
        last = points[-1]
        width = duration_text(0.5 * (last.high - last.low)) if np.isfinite(last.high - last.low) else "open"
        ax.set_title(f"p{round(100 * q)}: ±{width} at n = {last.replications}", fontsize=14)
        ax.set_xlabel("replications used")
    axes[0].set_ylabel(f"arrival at {name} (UTC)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2)  # below the panels: clear of the data
    fig.suptitle(f"{run.name}: how the estimates settle as replications are added", fontsize=16, fontweight="bold")
    return fig
