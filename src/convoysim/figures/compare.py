"""Figures of a plan comparison: risk and error drawn apart, paired differences, time against losses.

- **Risk and error** (a SMORE plot, after Nelson's "Simulation Model Output Risk Evaluation"): per
  plan, the spread of outcomes (p10 to p90, the *risk*: what a march may bring) as a bar, and the
  p10, median, p90 and mean each with its 95 % confidence interval (the *error*: how well the
  replications pin that number down) as a small box around its marker.
- **Differences**: each plan's paired difference from the reference, with its 95 % interval and
  zero marked: an interval that misses zero is a real difference.
- **Time against losses**: mean duration against mean vehicles lost, both with intervals; the
  plans no other plan beats on both (non-dominated) are marked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from convoysim.figures.labels import words
from convoysim.figures.style import COLOURS, date_numbers, new_figure
from convoysim.studies.paired import PlanComparison, is_time

STAT_STYLE = {
    "p10": ("v", "#6baed6"),
    "p50": ("D", COLOURS["simulated"]),
    "p90": ("^", "#08306b"),
    "mean": ("o", COLOURS["documented"]),
}


def _label(output: str) -> str:
    if output == "duration_h":
        return "march duration (h, from its own departure)"
    return words(output)


def _stat(result: PlanComparison, plan: str, output: str, statistic: str) -> tuple[float, float, float]:
    row = next(r for r in result.summary if r["plan"] == plan and r["output"] == output and r["statistic"] == statistic)
    return float(row["estimate"]), float(row["low"]), float(row["high"])


def _finite(x: float, fallback: float) -> float:
    return x if math.isfinite(x) else fallback


def risk_and_error(result: PlanComparison, output: str) -> Figure:
    """One row per plan: the p10-p90 spread (risk) and each estimate's 95 % interval (error)."""
    fig = new_figure()
    ax = fig.add_subplot()
    names = [p.name for p in result.plans]
    dates = output.startswith("arrival_h.")
    convert = (lambda h: date_numbers(result.reference.scenario.start, h)) if dates else (lambda h: np.asarray(h))
    top = max(
        (v for n in names for st in STAT_STYLE for v in _stat(result, n, output, st) if math.isfinite(v)), default=0.0
    )  # where a p90 that is "never" ends its bar
    for y, name in enumerate(names):
        p10, p90 = _stat(result, name, output, "p10")[0], _stat(result, name, output, "p90")[0]
        if math.isfinite(p10):
            right = p90 if math.isfinite(p90) else top
            ax.barh(
                y,
                convert(right) - convert(p10),
                left=convert(p10),
                height=0.16,
                color="#bdbdbd",
                alpha=0.9,
                label="10-90 % of replications (risk)" if y == 0 else None,
                gid=f"risk:{name}",
            )
            if not math.isfinite(p90):
                ax.annotate("p90: never", (convert(right), y), xytext=(6, -4), textcoords="offset points", fontsize=10)
        for statistic in ("p10", "p50", "p90", "mean"):
            est, low, high = _stat(result, name, output, statistic)
            if not math.isfinite(est):
                continue
            marker, colour = STAT_STYLE[statistic]
            lo, hi = convert(_finite(low, est)), convert(_finite(high, est))
            ax.add_patch(_box(lo, hi, y, colour))
            ax.plot(
                convert(est),
                y,
                marker=marker,
                color=colour,
                ms=9,
                ls="none",
                gid=f"stat:{name}:{statistic}",
                label=f"{'median' if statistic == 'p50' else statistic} with its 95 % interval (error)"
                if y == 0
                else None,
            )
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_ylim(len(names) - 0.4, -0.9)
    if dates:
        ax.xaxis_date()
        ax.set_xlabel(f"{_label(output)} (UTC)")
    else:
        ax.set_xlabel(_label(output))
    ax.grid(False, axis="y")
    ax.set_title(f"Risk and error: {_label(output)}, {result.replications} replications per plan")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=3, fontsize=10, frameon=False)
    return fig


def _box(low: float, high: float, y: float, colour: str):
    from matplotlib.patches import Rectangle

    width = max(float(high - low), 0.0)
    return Rectangle((float(low), y - 0.24), width, 0.48, facecolor=colour, alpha=0.22, edgecolor=colour, lw=1.2)


def difference_plot(result: PlanComparison, outputs: Sequence[str] | None = None) -> Figure:
    """Each plan's paired difference from the reference, one panel per output, zero marked."""
    same_start = len({p.scenario.start for p in result.plans}) == 1  # then duration is the destination's arrival
    chosen = [o for o in (outputs or result.shown) if not (same_start and o == "duration_h")][:6]
    fig = new_figure()
    cols = min(3, len(chosen)) or 1
    rows = math.ceil(len(chosen) / cols)
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    names = [p.name for p in result.plans[1:]]
    for ax, output in zip(axes.flat, chosen):
        for y, name in enumerate(names):
            d = result.difference(name, output)
            est, low, high = d.interval.estimate, d.interval.low, d.interval.high
            clear = math.isfinite(low) and (low > 0 or high < 0)
            colour = COLOURS["documented"] if clear else COLOURS["inactive"]
            if math.isfinite(est):
                ax.errorbar(
                    est,
                    y,
                    xerr=[[est - _finite(low, est)], [_finite(high, est) - est]],
                    fmt="o",
                    color=colour,
                    capsize=5,
                    ms=8,
                    lw=2.2,
                    gid=f"difference:{name}:{output}",
                )
        ax.axvline(0, color="black", lw=1.2, gid="zero")
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.set_xlabel(f"{_label(output)}" + (" (h)" if is_time(output) and output != "duration_h" else ""), fontsize=11)
        ax.set_yticks(range(len(names)), names)
        ax.set_ylim(len(names) - 0.5, -0.5)
        ax.grid(False, axis="y")
    for ax in axes.flat[len(chosen) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"Difference from {result.reference.name}: paired on common random numbers, 95 % intervals\n"
        f"(orange: the interval misses zero, a real difference; grey: it may be none)",
        fontsize=14,
        fontweight="bold",
    )
    return fig


def non_dominated(points: Sequence[tuple[float, float]]) -> list[bool]:
    """Which points no other point beats on both coordinates (lower is better for both)."""
    out = []
    for i, (x, y) in enumerate(points):
        beaten = any(a <= x and b <= y and (a < x or b < y) for j, (a, b) in enumerate(points) if j != i)
        out.append(not beaten and math.isfinite(x) and math.isfinite(y))
    return out


def time_versus_losses(
    result: PlanComparison, time_output: str = "duration_h", loss_output: str = "vehicles_lost"
) -> Figure:
    """Each plan's mean time against its mean losses with 95 % intervals; non-dominated plans filled."""
    fig = new_figure()
    ax = fig.add_subplot()
    names = [p.name for p in result.plans]
    xs = [_stat(result, n, time_output, "mean") for n in names]
    ys = [_stat(result, n, loss_output, "mean") for n in names]
    best = non_dominated([(x[0], y[0]) for x, y in zip(xs, ys)])
    for k, (name, (x, xl, xh), (y, yl, yh), front) in enumerate(zip(names, xs, ys, best)):
        colour = COLOURS["documented"] if front else COLOURS["simulated"]
        ax.errorbar(
            x,
            y,
            xerr=[[x - xl], [xh - x]],
            yerr=[[y - yl], [yh - y]],
            fmt="o",
            ms=11,
            capsize=5,
            lw=2,
            color=colour,
            mfc=colour if front else "white",
            mew=2,
            gid=f"plan:{name}",
        )
        ax.annotate(
            name, (x, y), xytext=(8, 8 if k % 2 == 0 else -22), textcoords="offset points", fontsize=12
        )  # neighbours alternate
    front = sorted((x[0], y[0]) for (x, y, f) in zip(xs, ys, best) if f)
    if len(front) > 1:
        ax.plot(*zip(*front), color=COLOURS["documented"], lw=1, ls="--", gid="front")
    ax.plot([], [], "o", color=COLOURS["documented"], ms=10, label="not beaten on both (non-dominated)")
    ax.plot([], [], "o", color=COLOURS["simulated"], mfc="white", mew=2, ms=10, label="beaten on both by another plan")
    ax.set_xlabel(f"mean {_label(time_output)}")
    ax.set_ylabel(f"mean {_label(loss_output)}")
    ax.set_title(f"Time against losses, {result.replications} replications per plan (95 % intervals)")
    ax.legend(loc="best")
    ax.text(
        0.0,
        -0.13,
        "Each bar is one plan's own 95 % interval; the paired differences (difference plot) are "
        "much narrower, because the plans share their random numbers.",
        transform=ax.transAxes,
        fontsize=10,
        color="#555555",
    )
    return fig


def compare_figures(result: PlanComparison) -> dict[str, Figure]:
    """Every figure of a comparison, by file name (without extension)."""
    from convoysim.figures.style import slide_style

    with slide_style():
        figures = {f"risk-{o.replace('.', '-').replace(' ', '_')}": risk_and_error(result, o) for o in result.shown[:3]}
        figures["differences"] = difference_plot(result)
        if "duration_h" in result.outputs and "vehicles_lost" in result.outputs:
            figures["time-vs-losses"] = time_versus_losses(result)
    return figures
