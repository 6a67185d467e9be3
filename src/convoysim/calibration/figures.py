"""Figures of a calibration: posterior marginals and pairs, and arrival fans before and after.

Figures are built on `matplotlib.figure.Figure` directly (no pyplot), so nothing here touches
global plotting state or needs a display. No model code: inputs are arrays and summaries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from matplotlib.dates import DateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from convoysim.calibration.abc import Population, UniformPrior, weighted_quantile
from convoysim.runs.durable import replaced
from convoysim.runs.quantilemarch import band_outline, quantile_march

FAN_COLOUR = "#2166ac"
WINDOW_COLOUR = "#e6550d"
"""The time-distance chart's simulated and documented colours, so the two figures read alike."""
WINDOW_KM = 8.0
ZOOM_AFTER_DAYS = 10.0
"""Documented windows reaching further than this from the start get a zoomed second row of fans."""


def _short(path: str) -> str:
    """A parameter path short enough for an axis label (keeping a scenario's `NAME:` prefix)."""
    scope, colon, path = path.rpartition(":")
    if colon:
        return f"{scope}:{_short(path)}"
    parts = path.split(".")
    keep = 3 + (len(parts) > 3 and parts[-3].isdigit())
    return ".".join(parts[-keep:])


def posterior_marginals(
    pop: Population, priors: Sequence[UniformPrior], base: dict[str, float] | None = None
) -> Figure:
    """One weighted histogram per parameter over its prior range, with the median, the 80 %
    credible interval and the base scenario's value."""
    k = len(priors)
    cols = min(k, 3)
    rows = math.ceil(k / cols)
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for i, prior in enumerate(priors):
        ax = axes[i]
        x = pop.particles[:, i]
        ax.hist(
            x, bins=20, range=(prior.low, prior.high), weights=pop.weights, density=True, color="tab:blue", alpha=0.6
        )
        ax.axhline(1.0 / prior.width, color="grey", lw=1, ls=":", label="prior")
        lo, med, hi = weighted_quantile(x, pop.weights, [0.1, 0.5, 0.9])
        ax.axvspan(lo, hi, color="tab:orange", alpha=0.15, label="80 % interval")
        ax.axvline(med, color="tab:orange", lw=2, label=f"median {med:.3g}")
        if base and prior.name in base and base[prior.name] is not None:
            ax.axvline(base[prior.name], color="black", lw=1, ls="--", label=f"base {base[prior.name]:.3g}")
        ax.set_xlim(prior.low, prior.high)
        ax.set_xlabel(_short(prior.name))
        ax.set_yticks([])
        # below the panel, not over the bars (a posterior piles up at either end of its range as often as not)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=2, frameon=False)
    for ax in axes[k:]:
        ax.set_visible(False)
    fig.suptitle(f"Posterior marginals (generation {pop.generation}, tolerance {pop.epsilon:.3g} h)")
    return fig


def posterior_pairs(pop: Population, priors: Sequence[UniformPrior]) -> Figure:
    """Scatter of every pair of parameters, dot area proportional to weight; histograms on the diagonal."""
    k = len(priors)
    fig = Figure(figsize=(2.6 * k + 1, 2.6 * k + 1), layout="constrained")
    axes = fig.subplots(k, k, squeeze=False)
    size = 8 + 200 * pop.weights / pop.weights.max()
    for r in range(k):
        for c in range(k):
            ax = axes[r, c]
            if r == c:
                ax.hist(
                    pop.particles[:, c],
                    bins=15,
                    range=(priors[c].low, priors[c].high),
                    weights=pop.weights,
                    color="tab:blue",
                    alpha=0.6,
                )
                ax.set_yticks([])
            elif r > c:
                ax.scatter(pop.particles[:, c], pop.particles[:, r], s=size, alpha=0.4, color="tab:blue", linewidths=0)
                ax.set_ylim(priors[r].low, priors[r].high)
            else:
                ax.set_visible(False)
                continue
            ax.set_xlim(priors[c].low, priors[c].high)
            if r == k - 1:
                ax.set_xlabel(_short(priors[c].name), fontsize=8)
            if c == 0 and r > 0:
                ax.set_ylabel(_short(priors[r].name), fontsize=8)
            ax.tick_params(labelsize=7)
    fig.suptitle("Posterior pairs (dot area: weight)")
    return fig


@dataclass(frozen=True)
class Fan:
    """Arrival times of one run to draw as a fan: replications x waypoints, hours (NaN: never)."""

    label: str
    arrivals_h: np.ndarray
    coverage: float
    mean_crps_h: float
    departures_h: np.ndarray | None = None
    """Same shape, leaving each waypoint: halts are drawn flat (without it, arrivals are joined)."""


def arrival_fans(
    fans: Sequence[Fan],
    start: datetime,
    names: Sequence[str],
    road_km: Sequence[float],
    windows: Sequence[tuple[str, float, float]],
    horizon_h: float,
) -> Figure:
    """Time-distance fans side by side (e.g. before and after calibration), drawn like the run's
    time-distance chart: date across, road km up, the simulated 10-90 % and 25-75 % bands and the
    median through each waypoint's arrival and departure quantiles (a hold is flat, not slow
    driving), and the documented windows as boxes at their waypoints.

    When the documented windows span more than ZOOM_AFTER_DAYS, a second row zooms on the first
    half of them, where a march of weeks otherwise squeezes the first days into a corner."""
    km = np.asarray(road_km, dtype=float)
    index = {n: i for i, n in enumerate(names)}
    early = sorted(windows, key=lambda w: w[1])[: max(1, len(windows) // 2)]
    zoom = bool(windows) and max(b for _, _, b in windows) > 24.0 * ZOOM_AFTER_DAYS
    rows = 2 if zoom else 1
    fig = Figure(figsize=(6.5 * len(fans), 5.0 * rows + 0.5), layout="constrained")
    grid = fig.subplots(rows, len(fans), squeeze=False)

    def when(hours: np.ndarray) -> list[datetime]:
        return [start + timedelta(hours=float(min(h, horizon_h))) for h in hours]

    for col, fan in enumerate(fans):
        for row in range(rows):
            ax = grid[row, col]
            for (low, high), alpha, text in (((0.1, 0.9), 0.25, "10-90 %"), ((0.25, 0.75), 0.4, "25-75 %")):
                t, y = band_outline(fan.arrivals_h, fan.departures_h, km, low, high, horizon_h)
                ax.fill(when(t), y, color=FAN_COLOUR, alpha=alpha, lw=0, label=text)
            t, y = quantile_march(fan.arrivals_h, fan.departures_h, km, 0.5)
            ax.plot(when(t), y, color=FAN_COLOUR, lw=2, label="median")[0].set_gid("median")
            for k, (name, a, b) in enumerate(windows):
                y0 = km[index[name]] - WINDOW_KM / 2
                x0, x1 = (date2num(d) for d in when(np.array([a, b])))
                ax.add_patch(
                    Rectangle(
                        (x0, y0),
                        max(x1 - x0, 0.04),
                        WINDOW_KM,
                        facecolor=WINDOW_COLOUR,
                        edgecolor="black",
                        lw=0.6,
                        alpha=0.9,
                        zorder=5,
                        label="documented window" if k == 0 else None,
                    )
                )
            ax.set_yticks(km, [f"{n}  {v:.0f}" for n, v in zip(names, km)], fontsize=7)
            ax.set_ylim(km[0] - 10, km[-1] + 15)
            ax.xaxis.set_major_formatter(DateFormatter("%d %b" if row == 0 else "%d %b %Hh"))
            ax.tick_params(axis="x", labelrotation=45, labelsize=8)
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(
                    f"{fan.label}\ncoverage {100 * fan.coverage:.0f} %, mean CRPS {fan.mean_crps_h:.1f} h", fontsize=10
                )
                ax.legend(fontsize=7, loc="lower right")
            else:
                last_km = max(km[index[name]] for name, _, _ in early)
                ax.set_xlim(when(np.array([0.0, max(b for _, _, b in early) + 24.0])))
                ax.set_ylim(-5.0, last_km + 0.1 * km[-1])
                ax.set_title("the first documented milestones, closer", fontsize=9)
        grid[0, 0].set_ylabel("road km")
    return fig


def save(fig: Figure, path: Path) -> Path:
    with replaced(path) as tmp:  # a full disk leaves no 0-byte figure
        fig.savefig(tmp, dpi=120)
    return path


def rank_histograms(table: Sequence[dict], title: str = "") -> Figure:
    """Simulation-based calibration: one rank histogram per parameter (rows of sbc.sbc_table),
    with the count a flat histogram expects and the band that holds 99 % of a flat histogram's bins."""
    from scipy import stats  # only this figure needs it

    k = len(table)
    cols = min(k, 3)
    rows = math.ceil(k / cols)
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, row in zip(axes, table):
        hist = np.asarray(row["rank_histogram"])
        bins, n = len(hist), int(hist.sum())
        low, high = stats.binom.ppf([0.005, 0.995], n, 1.0 / bins)
        ax.axhspan(low, high, color="grey", alpha=0.2, label="99 % of a flat histogram")
        ax.axhline(n / bins, color="grey", lw=1, label="flat")
        ax.bar(np.arange(bins), hist, width=0.9, color="tab:blue", alpha=0.7)
        ax.set_xticks([0, bins - 1], ["truth below\nthe posterior", "truth above\nthe posterior"])
        ax.set_title(
            f"{_short(row['parameter'])}\n80 % coverage {100 * row['coverage_ci80']:.0f} %, "
            f"flatness p = {row['rank_flatness_p']:.2f}",
            fontsize=9,
        )
        ax.set_ylabel("truths")
    for ax in axes[k:]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7, loc="upper center")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
