"""Arrival dates per waypoint: the simulated distribution beside the documented window.

One panel per waypoint with its own date range (the first stop and Kidal are six weeks apart, so a
shared axis would flatten them): a histogram of the head's arrival, its 10/50/90 % marks, and the
documented window shaded, with the share of replications inside it in the panel's title.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from convoysim.figures.style import COLOURS, count_axis, date_axis, date_numbers, new_figure
from convoysim.runs.reading import RunData


def arrival_panels(run: RunData, documented_only: bool = False) -> Figure:
    """Small multiples of arrival dates, one per waypoint after the start."""
    windows = {w.waypoint: w for w in run.windows}
    indices = [i for i, name in enumerate(run.waypoints) if i > 0 and (not documented_only or name in windows)]
    cols = min(4, len(indices)) or 1
    rows = max(1, math.ceil(len(indices) / cols))
    fig = new_figure()
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(indices) :]:
        ax.set_visible(False)
    for ax, i in zip(axes.flat, indices):
        name = run.waypoints[i]
        hours = run.arrivals_h[:, i]
        arrived = hours[np.isfinite(hours)]
        never = len(hours) - len(arrived)
        window = windows.get(name)
        lo_h = min([*arrived, window.earliest_h if window else math.inf], default=0.0)
        hi_h = max([*arrived, window.latest_h if window else -math.inf], default=1.0)
        pad = max(2.0, 0.08 * (hi_h - lo_h))
        if window:
            span = ax.axvspan(
                *date_numbers(run.start, np.array([window.earliest_h, window.latest_h])),
                color=COLOURS["documented"],
                alpha=0.3,
                lw=0,
                label="documented window",
            )
            span.set_gid(f"window:{name}")
        if len(arrived):
            bins = np.linspace(lo_h - pad, hi_h + pad, 31)
            ax.hist(
                date_numbers(run.start, arrived),
                bins=date_numbers(run.start, bins),
                color=COLOURS["simulated"],
                alpha=0.85,
                label="simulated arrivals",
            )
            for q, style, text in zip(
                np.quantile(arrived, (0.1, 0.5, 0.9)), (":", "-", ":"), ("10 % / 90 %", "median", None)
            ):
                ax.axvline(date_numbers(run.start, q), color="black", ls=style, lw=1.2, label=text)
        else:
            note = ax.text(
                0.5,
                0.5,
                f"none of {len(hours)}\narrived",
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontsize=13,
                fontweight="bold",
                color="#a50f15",
                bbox={"boxstyle": "round", "fc": "white", "ec": "#a50f15"},
            )
            note.set_gid(f"no-arrivals:{name}")
        ax.set_xlim(*date_numbers(run.start, np.array([lo_h - pad, hi_h + pad])))
        ax.xaxis_date()
        date_axis(ax.xaxis, (hi_h - lo_h + 2 * pad) / 24.0, max_ticks=4)
        ax.tick_params(axis="x", labelsize=10)
        share = (
            f"{100 * window.hit_rate:.0f} % in window"
            if window and np.isfinite(window.hit_rate)
            else "no documented date"
        )
        ax.set_title(f"{name}\n{share}" + (f", {never} never" if never else ""), fontsize=12)
        ax.set_yticks([])
        ax.grid(False, axis="y")
    axes.flat[0].set_ylabel("replications")
    for ax in axes.flat:
        count_axis(ax.yaxis)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    for ax in axes.flat[1:]:
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels))
    fig.suptitle(
        f"{run.name}: when the column's head reaches each waypoint (UTC), simulated vs documented",
        fontsize=16,
        fontweight="bold",
    )
    return fig
