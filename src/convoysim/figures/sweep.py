"""Sweep figures: how a summarised output responds to one parameter, to two, and Sobol indices.

Built from a sweep directory's points.csv, summary.csv and sobol.csv (see docs/figures.md for the
columns). Every output is drawn with its spread, not only its mean.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from convoysim.figures.labels import is_arrival, is_count, words
from convoysim.figures.style import COLOURS, clock_axis, count_axis, new_figure
from convoysim.runs.reading import SweepData
from convoysim.runs.timetext import day_time


def label(path: str) -> str:
    """A parameter or output path as an axis label, in words."""
    return words(path)


def tied_to(sweep: SweepData) -> dict[str, list[str]]:
    """Each grid axis and the parameters set together with it (an experiment's `also` list).

    A parameter whose values follow another's one for one (in every point) is not an axis of its
    own: `detection_prob` and the `clearance_speed_factor` that comes with it form one axis.
    """
    declared = sweep.manifest.get("parameters")
    if isinstance(declared, dict) and any(isinstance(v, dict) and v.get("also") for v in declared.values()):
        also = {p: list((declared.get(p) or {}).get("also") or {}) for p in declared}
        tied = {t for ts in also.values() for t in ts}
        return {p: [t for t in also.get(p, []) if t in sweep.points] for p in sweep.parameters if p not in tied}
    axes: dict[str, list[str]] = {}
    for p in sweep.parameters:
        x = sweep.points[p]
        repeated = len(set(x.tolist())) < len(x)  # scattered samples never repeat: they are never tied
        owner = next((a for a in axes if repeated and _one_to_one(sweep.points[a], x)), None)
        if owner is None:
            axes[p] = []
        else:
            axes[owner].append(p)
    return axes


def _one_to_one(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def axis_label(sweep: SweepData, axis: str) -> str:
    """An axis in words, naming what is set with it: 'chance ... (with speed factor ...)'."""
    tied = tied_to(sweep).get(axis, [])
    return words(axis) + "".join(f"\n(with {words(t)}: {_levels(sweep, axis, t)})" for t in tied)


def _levels(sweep: SweepData, axis: str, tied: str) -> str:
    order = np.argsort(sweep.points[axis])
    values = dict.fromkeys(sweep.points[tied][order].tolist())
    return ", ".join(f"{v:g}" for v in values)


def value_text(sweep: SweepData, output: str, value: float, spread: bool = False) -> str:
    """A cell's value: dates for arrival outputs (a spread in hours, the colour bar's unit), else 3 digits."""
    if is_arrival(output) and sweep.start is not None and np.isfinite(value):
        if spread:
            return f"{value:.0f} h"
        day, hour = day_time(sweep.start, value, minutes=False).rsplit(" ", 1)
        return f"{day}\n{hour}"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _dated(sweep: SweepData, output: str) -> bool:
    """Whether `output` is an arrival (model hours) of a sweep that knows its start: dated axes."""
    return is_arrival(output) and sweep.start is not None


SPREAD_SE_PER_SD = 2.4
"""Standard error of p90 - p10 over n replications, in sd / sqrt(n), for a normal distribution:
each of the two quantiles has 1.71 sd / sqrt(n) (sqrt(0.09) / phi(1.28)), the difference about
sqrt(2) times that."""


def spread_noise(sweep: SweepData, output: str) -> float:
    """Half-width of a 95 % band of Monte Carlo noise on a point's p90 - p10 (same unit), NaN when
    the sweep does not say its replications or the output's sd."""
    n = (
        float(np.nanmedian(sweep.summary["replications"]))
        if "replications" in sweep.summary
        else sweep.manifest.get("replications")
    )
    if not n or f"{output}_sd" not in sweep.summary:
        return math.nan
    sd = float(np.nanmedian(sweep.stat(output, "sd")))
    return 1.96 * SPREAD_SE_PER_SD * sd / math.sqrt(float(n))


SAMPLED_DESIGNS = ("latin_hypercube", "sobol", "saltelli")
"""Design kinds whose points are scattered samples, not a grid: no line may join them."""


def is_grid(sweep: SweepData) -> bool:
    """Whether the points form a full grid over the parameters.

    The manifest's design kind decides when it names one; otherwise the points themselves: every
    combination of the distinct values of each parameter appears exactly once.
    """
    design = sweep.manifest.get("design")
    kind = design.get("kind") if isinstance(design, dict) else None
    if kind in SAMPLED_DESIGNS:
        return False
    columns = [sweep.points[p] for p in tied_to(sweep)]  # a tied parameter is not an axis of its own
    n = len(columns[0]) if columns else 0
    distinct = {tuple(row) for row in zip(*columns)}
    return n > 0 and len(distinct) == n and math.prod(len(np.unique(c)) for c in columns) == n


def scatter_panels(sweep: SweepData, output: str) -> Figure:
    """The mean of `output` at each sampled point against each parameter, one panel per parameter.

    For scattered designs (Latin hypercube, Sobol, Saltelli) the other parameters vary too, so the
    points are drawn as they are, unjoined: a trend in a panel is that parameter's marginal effect.
    """
    fig = new_figure()
    k = len(sweep.parameters)
    cols = min(4, k) or 1
    axes = fig.subplots(max(1, math.ceil(k / cols)), cols, squeeze=False, sharey=True)
    for ax in axes.flat[k:]:
        ax.set_visible(False)
    mean = sweep.stat(output, "mean")
    for ax, p in zip(axes.flat, sweep.parameters):
        dots = ax.scatter(sweep.points[p], mean, s=14, color=COLOURS["simulated"], alpha=0.6, lw=0)
        dots.set_gid(f"scatter:{p}")
        ax.set_xlabel(label(p), fontsize=11)
        ax.tick_params(labelsize=10)
    dates = _dated(sweep, output)
    for row in axes:
        row[0].set_ylabel(f"{label(output)} (mean" + (", UTC)" if dates else ")"), fontsize=11)
        if dates:
            clock_axis(row[0].yaxis, sweep.start, max_ticks=5)
        elif is_count(output):
            count_axis(row[0].yaxis)
    fig.suptitle(
        f"{sweep.name}: mean {label(output)} at each of {len(mean)} sampled points, against each parameter",
        fontsize=15,
        fontweight="bold",
    )
    return fig


def response_curve(sweep: SweepData, parameter: str, output: str) -> Figure:
    """Mean, median and the 10-90 % band of `output` against one parameter.

    The band is the spread of outcomes (risk); the error bars are the 95 % interval of the mean
    (error), not +-1 sd, which is a spread too and would hide real differences between points."""
    fig = new_figure()
    ax = fig.add_subplot()
    x = sweep.points[parameter]
    order = np.argsort(x)
    x = x[order]
    stat = {
        s: sweep.stat(output, s)[order] for s in ("mean", "sd", "p10", "p50", "p90") if f"{output}_{s}" in sweep.summary
    }
    if "p10" in stat and "p90" in stat:
        band = ax.fill_between(
            x, stat["p10"], stat["p90"], color=COLOURS["band"], alpha=0.6, lw=0, label="10-90 % of replications"
        )
        band.set_gid("band")
    if "p50" in stat:
        ax.plot(x, stat["p50"], color=COLOURS["simulated"], ls="--", lw=1.8, label="median")
    error = _mean_interval(sweep, output, stat.get("sd"), order)
    mean = ax.errorbar(
        x,
        stat["mean"],
        yerr=error,
        color=COLOURS["simulated"],
        marker="o",
        lw=2.5,
        capsize=4,
        label="mean with its 95 % interval (error of the estimate)" if error is not None else "mean",
    )
    mean.lines[0].set_gid("mean")
    ax.set_xlabel(axis_label(sweep, parameter))
    ax.set_ylabel(label(output) + (" (UTC)" if _dated(sweep, output) else ""))
    if _dated(sweep, output):
        clock_axis(ax.yaxis, sweep.start)
    elif is_count(output):
        count_axis(ax.yaxis)
    ax.set_title(f"{sweep.name}: {label(output)} against {label(parameter)}")
    ax.legend(loc="best")
    return fig


def _mean_interval(sweep: SweepData, output: str, sd: np.ndarray | None, order: np.ndarray) -> np.ndarray | None:
    """Half-width of the 95 % interval of each point's mean: t sd / sqrt(n), n the replications kept."""
    if sd is None or "replications" not in sweep.summary:
        return None
    from scipy import stats

    n = sweep.summary["replications"][order].astype(float)
    if f"{output}_reached" in sweep.summary:
        n = n * sweep.summary[f"{output}_reached"][order]
    n = np.where(n >= 2, n, np.nan)
    return stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)


def heat_map(sweep: SweepData, x_param: str, y_param: str, output: str) -> Figure:
    """Mean (left) and spread p90 - p10 (right) of `output` over a two-parameter grid.

    A full grid is drawn as cells; scattered points (a random or Latin hypercube design) as
    coloured markers, so nothing is interpolated that was not simulated.
    """
    fig = new_figure()
    axes = fig.subplots(1, 2, sharey=True)
    x, y = sweep.points[x_param], sweep.points[y_param]
    spread = (
        sweep.stat(output, "p90") - sweep.stat(output, "p10")
        if f"{output}_p90" in sweep.summary and f"{output}_p10" in sweep.summary
        else sweep.stat(output, "sd")
    )
    spread_name = "p90 - p10" if f"{output}_p90" in sweep.summary else "sd"
    noise = spread_noise(sweep, output) if spread_name == "p90 - p10" else math.nan
    xs, ys = np.unique(x), np.unique(y)
    grid = len(xs) * len(ys) == len(x) and len({(a, b) for a, b in zip(x, y)}) == len(x)
    for ax, values, title, cmap in (
        (axes[0], sweep.stat(output, "mean"), "mean", "viridis"),
        (axes[1], spread, f"spread ({spread_name})", "magma"),
    ):
        norm = None
        if values is spread and np.isfinite(noise):
            # colours span at least the 95 % noise band: a difference smaller than that is luck, not the parameters
            centre = float(np.nanmean(values))
            half = max(float(np.nanmax(values) - np.nanmin(values)) / 2, noise)
            norm = Normalize(centre - half, centre + half)
            title += f"\nless than ±{noise:.0f}{' h' if is_arrival(output) else ''} apart is Monte Carlo noise"
        if grid:
            z = np.full((len(ys), len(xs)), np.nan)
            for a, b, v in zip(x, y, values):
                z[np.searchsorted(ys, b), np.searchsorted(xs, a)] = v
            # one equal cell per level (levels such as 0.5, 1, 2, 4 would otherwise give slivers)
            mesh = ax.pcolormesh(
                np.arange(len(xs) + 1) - 0.5, np.arange(len(ys) + 1) - 0.5, z, cmap=cmap, shading="flat", norm=norm
            )
            if z.size <= 64:
                middle = 0.5 * (norm.vmin + norm.vmax) if norm is not None else np.nanmean(z)
                for (i, j), v in np.ndenumerate(z):
                    ax.text(
                        j,
                        i,
                        value_text(sweep, output, v, spread=values is spread),
                        ha="center",
                        va="center",
                        fontsize=12,
                        color="white" if v < middle else "black",
                    )
            ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs])
            ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys])
        else:
            mesh = ax.scatter(x, y, c=values, cmap=cmap, s=120, edgecolors="black", norm=norm)
        mesh.set_gid(f"heat:{title.split()[0]}")
        bar = fig.colorbar(
            mesh,
            ax=ax,
            label=f"{label(output)} {title.split()[0]}" + (" (h)" if is_arrival(output) and values is spread else ""),
        )
        if values is not spread and _dated(sweep, output):
            clock_axis(bar, sweep.start, max_ticks=6)
        ax.set_title(title, fontsize=12 if "\n" in title else None)
        ax.set_xlabel(axis_label(sweep, x_param))
        ax.grid(False)
    axes[0].set_ylabel(axis_label(sweep, y_param))
    fig.suptitle(f"{sweep.name}: {label(output)}", fontsize=16, fontweight="bold")
    return fig


def sobol_bars(sweep: SweepData, output: str) -> Figure:
    """First-order (S1) and total (ST) Sobol indices of `output` per parameter, with their confidence intervals."""
    rows = [r for r in sweep.sobol if r["output"] == output]
    rows.sort(key=lambda r: -r["ST"] if np.isfinite(r["ST"]) else 0.0)
    fig = new_figure()
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    h = 0.38
    for offset, key, colour, text in (
        (-h / 2, "S1", COLOURS["simulated"], "first order S1"),
        (h / 2, "ST", COLOURS["documented"], "total ST"),
    ):
        bars = ax.barh(
            y + offset,
            [r[key] for r in rows],
            height=h,
            xerr=[r[f"{key}_conf"] for r in rows],
            color=colour,
            capsize=4,
            label=f"{text} (± confidence interval)",
        )
        for bar in bars:
            bar.set_gid(f"sobol:{key}")
    ax.set_yticks(y, [r["parameter"] for r in rows])
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("Sobol index (share of the output's variance)")
    ax.set_title(f"{sweep.name}: what drives {label(output)}")
    ax.legend(loc="lower right")
    ax.grid(False, axis="y")
    return fig
