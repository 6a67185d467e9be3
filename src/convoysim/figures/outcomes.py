"""What the march cost: arrival at the destination, vehicles lost by cause, incidents, hours by activity."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from convoysim.figures.style import ACTIVITY_COLOURS, COLOURS, count_axis, date_axis, date_numbers, new_figure
from convoysim.model import ACTIVITIES, LOSS_CAUSES
from convoysim.runs.reading import RunData

INCIDENT_KINDS = ("ied_strike", "ied_found", "ambush", "harassment", "breakdown")


def destination_arrival(run: RunData) -> Figure:
    """Histogram of the head's arrival at the last waypoint, with its documented window if any."""
    fig = new_figure()
    ax = fig.add_subplot()
    name = run.waypoints[-1]
    hours = run.arrivals_h[:, -1]
    arrived = hours[np.isfinite(hours)]
    window = next((w for w in run.windows if w.waypoint == name), None)
    if window:
        span = ax.axvspan(
            *date_numbers(run.start, np.array([window.earliest_h, window.latest_h])),
            color=COLOURS["documented"],
            alpha=0.3,
            lw=0,
            label=f"documented window ({100 * window.hit_rate:.0f} % of replications inside)",
        )
        span.set_gid(f"window:{name}")
    if len(arrived):
        ax.hist(
            date_numbers(run.start, arrived),
            bins=40,
            color=COLOURS["simulated"],
            alpha=0.85,
            label=f"simulated ({len(arrived)} of {len(hours)} replications arrived)",
        )
        p10, p50, p90 = np.quantile(arrived, (0.1, 0.5, 0.9))
        for q, style, label in ((p10, ":", "10 % / 90 %"), (p50, "-", "median"), (p90, ":", None)):
            ax.axvline(date_numbers(run.start, q), color="black", ls=style, lw=1.5, label=label)
        lo, hi = float(arrived.min()), float(arrived.max())
    else:
        note = ax.text(
            0.5,
            0.6,
            f"0 of {len(hours)} replications reached {name}\nwithin the horizon ({run.horizon_h / 24.0:g} days)",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=16,
            fontweight="bold",
            color="#a50f15",
            bbox={"boxstyle": "round", "fc": "white", "ec": "#a50f15"},
        )
        note.set_gid("no-arrivals")
        lo, hi = 0.0, run.horizon_h
        ax.set_yticks([])
    if window:
        lo, hi = min(lo, window.earliest_h), max(hi, window.latest_h)
    pad = max(2.0, 0.04 * (hi - lo))
    ax.set_xlim(*date_numbers(run.start, np.array([lo - pad, hi + pad])))
    ax.xaxis_date()
    date_axis(ax.xaxis, (hi - lo + 2 * pad) / 24.0)
    ax.set_xlabel(f"arrival at {name} (UTC)")
    ax.set_ylabel("replications")
    count_axis(ax.yaxis)
    ax.set_title(f"{run.name}: when the column reaches {name}")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right")
    return fig


def count_histograms(series: dict[str, np.ndarray], xlabel: str, title: str) -> Figure:
    """Step histograms of integer counts per replication, one per series (colour by name).

    All-zero series are named in the corner instead of drawn, so they do not flatten the others.
    """
    fig = new_figure()
    ax = fig.add_subplot()
    zero = [name for name, v in series.items() if len(v) and not np.any(v)]
    drawn = {name: v for name, v in series.items() if name not in zero and len(v)}
    if zero:
        ax.text(0.98, 0.35, "none at all: " + ", ".join(zero), transform=ax.transAxes, ha="right", fontsize=12)
    top = max((int(np.nanmax(v)) for v in drawn.values()), default=0)
    bins = np.arange(-0.5, top + 1.5, 1.0)
    for name, values in drawn.items():
        _, _, patches = ax.hist(
            values,
            bins=bins,
            histtype="step",
            lw=2.5,
            color=COLOURS.get(name, "black"),
            label=f"{name.replace('_', ' ')}: mean {np.mean(values):.2f}",
        )
        for patch in patches:
            patch.set_gid(f"hist:{name}")
    ax.set_xlim(-0.6, top + 0.6)
    if top <= 20:
        ax.set_xticks(range(0, top + 1, 1 if top <= 10 else 2))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("replications")
    count_axis(ax.yaxis)
    ax.set_title(title)
    if drawn:  # all zero: the corner note says so, and an empty legend would only warn
        ax.legend(loc="upper right")
    return fig


def losses_by_cause(run: RunData) -> Figure:
    """How many vehicles each cause destroyed or left behind, replication by replication."""
    series = {c: run.replications[f"lost_{c}"] for c in LOSS_CAUSES if f"lost_{c}" in run.replications}
    fig = count_histograms(series, "vehicles lost in one replication (count)", f"{run.name}: vehicles lost, by cause")
    total = run.replications.get("vehicles_lost")
    start = run.replications.get("vehicles_start")
    if total is not None and start is not None and len(total):
        fig.axes[0].text(
            0.98,
            0.6,
            f"all causes: mean {np.mean(total):.1f} of {int(start[0])} vehicles\n"
            f"10-90 %: {np.quantile(total, 0.1):.0f}-{np.quantile(total, 0.9):.0f}",
            transform=fig.axes[0].transAxes,
            ha="right",
            va="top",
            fontsize=12,
            bbox={"boxstyle": "round", "fc": "white", "ec": "#999999"},
        )
    return fig


def incidents_per_replication(run: RunData) -> Figure:
    """How many incidents of each kind a march meets."""
    n = len(run.arrivals_h)
    inc = run.incidents
    present = set(inc.kind.tolist())
    kinds = [k for k in INCIDENT_KINDS if k in present] + sorted(present - set(INCIDENT_KINDS))
    series = {k: np.bincount(inc.replication[inc.kind == k], minlength=n)[:n] for k in kinds}
    return count_histograms(series, "incidents in one replication (count)", f"{run.name}: incidents per march, by kind")


def activity_hours(run: RunData) -> Figure:
    """Where the hours go: mean hours per activity for all replications, the fastest and slowest tenth."""
    fig = new_figure()
    ax = fig.add_subplot()
    end = run.replications["end_h"]
    order = np.argsort(end)
    tenth = max(1, len(end) // 10)
    groups = {
        f"fastest 10 %\n({tenth} runs)": order[:tenth],
        f"all {len(end)}\nreplications": order,
        f"slowest 10 %\n({tenth} runs)": order[-tenth:],
    }
    y = np.arange(len(groups))
    left = np.zeros(len(groups))
    for activity in ACTIVITIES:
        col = run.replications.get(f"hours_{activity}")
        if col is None:
            continue
        widths = np.array([col[idx].mean() / 24.0 for idx in groups.values()])
        bars = ax.barh(
            y, widths, left=left, color=ACTIVITY_COLOURS[activity], edgecolor="white", label=activity.replace("_", " ")
        )
        for bar in bars:
            bar.set_gid(f"activity:{activity}")
        for yi, (x0, w) in enumerate(zip(left, widths)):
            if w >= 3.0:
                dark = activity not in ("scheduled_halt", "operational_pause")
                ax.text(
                    x0 + w / 2,
                    yi,
                    f"{w:.1f} d",
                    ha="center",
                    va="center",
                    color="white" if dark else "black",
                    fontsize=12,
                    fontweight="bold",
                )
        left += widths
    ax.set_yticks(y, list(groups))
    ax.invert_yaxis()
    ax.set_xlabel("days from departure (mean days per activity, stacked)")
    ax.set_title(f"{run.name}: how the column's time is spent")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=len(ACTIVITIES))
    ax.grid(False, axis="y")
    return fig
