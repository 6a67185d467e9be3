"""Sweep figures: how a summarised output responds to one parameter, to two, and Sobol indices.

Built from a sweep directory's points.csv, summary.csv and sobol.csv (see docs/figures.md for the
columns). Every output is drawn with its spread, not only its mean.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from convoysim.figures.style import COLOURS, new_figure
from convoysim.runs.reading import SweepData


def label(path: str) -> str:
    """A parameter or output path as an axis label: the last parts, with units kept."""
    parts = path.split(".")
    return ".".join(parts[-2:]) if len(parts) > 1 else path


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
    columns = [sweep.points[p] for p in sweep.parameters]
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
    for row in axes:
        row[0].set_ylabel(f"{label(output)} (mean)", fontsize=11)
    fig.suptitle(f"{sweep.name}: mean {label(output)} at each of {len(mean)} sampled points, against each parameter",
                 fontsize=15, fontweight="bold")
    return fig


def response_curve(sweep: SweepData, parameter: str, output: str) -> Figure:
    """Mean, median and the 10-90 % band of `output` against one parameter, +-1 sd as error bars."""
    fig = new_figure()
    ax = fig.add_subplot()
    x = sweep.points[parameter]
    order = np.argsort(x)
    x = x[order]
    stat = {s: sweep.stat(output, s)[order] for s in ("mean", "sd", "p10", "p50", "p90") if f"{output}_{s}" in sweep.summary}
    if "p10" in stat and "p90" in stat:
        band = ax.fill_between(x, stat["p10"], stat["p90"], color=COLOURS["band"], alpha=0.6, lw=0,
                               label="10-90 % of replications")
        band.set_gid("band")
    if "p50" in stat:
        ax.plot(x, stat["p50"], color=COLOURS["simulated"], ls="--", lw=1.8, label="median")
    mean = ax.errorbar(x, stat["mean"], yerr=stat.get("sd"), color=COLOURS["simulated"], marker="o", lw=2.5,
                       capsize=4, label="mean ± 1 sd" if "sd" in stat else "mean")
    mean.lines[0].set_gid("mean")
    ax.set_xlabel(parameter)
    ax.set_ylabel(output)
    ax.set_title(f"{sweep.name}: {label(output)} against {label(parameter)}")
    ax.legend(loc="best")
    return fig


def heat_map(sweep: SweepData, x_param: str, y_param: str, output: str) -> Figure:
    """Mean (left) and spread p90 - p10 (right) of `output` over a two-parameter grid.

    A full grid is drawn as cells; scattered points (a random or Latin hypercube design) as
    coloured markers, so nothing is interpolated that was not simulated.
    """
    fig = new_figure()
    axes = fig.subplots(1, 2, sharey=True)
    x, y = sweep.points[x_param], sweep.points[y_param]
    spread = (sweep.stat(output, "p90") - sweep.stat(output, "p10")
              if f"{output}_p90" in sweep.summary and f"{output}_p10" in sweep.summary else sweep.stat(output, "sd"))
    spread_name = "p90 - p10" if f"{output}_p90" in sweep.summary else "sd"
    xs, ys = np.unique(x), np.unique(y)
    grid = len(xs) * len(ys) == len(x) and len({(a, b) for a, b in zip(x, y)}) == len(x)
    for ax, values, title, cmap in ((axes[0], sweep.stat(output, "mean"), "mean", "viridis"),
                                    (axes[1], spread, f"spread ({spread_name})", "magma")):
        if grid:
            z = np.full((len(ys), len(xs)), np.nan)
            for a, b, v in zip(x, y, values):
                z[np.searchsorted(ys, b), np.searchsorted(xs, a)] = v
            mesh = ax.pcolormesh(_edges(xs), _edges(ys), z, cmap=cmap, shading="flat")
            if z.size <= 64:
                for (i, j), v in np.ndenumerate(z):
                    ax.text(xs[j], ys[i], f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}", ha="center", va="center", fontsize=10,
                            color="white" if v < np.nanmean(z) else "black")
        else:
            mesh = ax.scatter(x, y, c=values, cmap=cmap, s=120, edgecolors="black")
        mesh.set_gid(f"heat:{title.split()[0]}")
        fig.colorbar(mesh, ax=ax, label=f"{label(output)} {title.split()[0]}")
        ax.set_title(title)
        ax.set_xlabel(x_param)
        ax.grid(False)
    axes[0].set_ylabel(y_param)
    fig.suptitle(f"{sweep.name}: {label(output)} over {label(x_param)} and {label(y_param)}", fontsize=16, fontweight="bold")
    return fig


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges halfway between grid values, so each cell is centred on its simulated point."""
    if len(centres) == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mids = 0.5 * (centres[1:] + centres[:-1])
    return np.concatenate([[2 * centres[0] - mids[0]], mids, [2 * centres[-1] - mids[-1]]])


def sobol_bars(sweep: SweepData, output: str) -> Figure:
    """First-order (S1) and total (ST) Sobol indices of `output` per parameter, with their confidence intervals."""
    rows = [r for r in sweep.sobol if r["output"] == output]
    rows.sort(key=lambda r: -r["ST"] if np.isfinite(r["ST"]) else 0.0)
    fig = new_figure()
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    h = 0.38
    for offset, key, colour, text in ((-h / 2, "S1", COLOURS["simulated"], "first order S1"),
                                      (h / 2, "ST", COLOURS["documented"], "total ST")):
        bars = ax.barh(y + offset, [r[key] for r in rows], height=h, xerr=[r[f"{key}_conf"] for r in rows],
                       color=colour, capsize=4, label=f"{text} (± confidence interval)")
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
