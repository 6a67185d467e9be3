"""Figures for run and sweep directories, drawn from the directory's files only (no model code).

    from convoysim.runs.reading import load_run
    from convoysim.figures import run_figures
    figures = run_figures(load_run("results/baseline/..."))   # name -> matplotlib Figure

`plot_directory` does what `convoysim plot` does: every figure of a run or sweep, saved to files.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from matplotlib.figure import Figure

from convoysim.figures.arrivals import arrival_panels
from convoysim.figures.outcomes import activity_hours, destination_arrival, incidents_per_replication, losses_by_cause
from convoysim.figures.precision import convergence_chart
from convoysim.figures.routemap import route_map
from convoysim.figures.style import FORMATS, save, slide_style
from convoysim.figures.sweep import heat_map, is_grid, response_curve, scatter_panels, sobol_bars, tied_to
from convoysim.figures.timedistance import first_days_h, time_distance_chart
from convoysim.runs.reading import RunData, SweepData, is_sweep, load_run, load_sweep

__all__ = [
    "FORMATS",
    "activity_hours",
    "arrival_panels",
    "convergence_chart",
    "destination_arrival",
    "heat_map",
    "incidents_per_replication",
    "is_grid",
    "losses_by_cause",
    "plot_directory",
    "response_curve",
    "route_map",
    "run_figures",
    "scatter_panels",
    "sobol_bars",
    "sweep_figures",
    "time_distance_chart",
]

RUN_FIGURES: dict[str, tuple[str, Callable[[RunData], Figure]]] = {
    "time_distance": (
        "The march graph: road distance against date, halts are flat stretches; "
        "orange boxes are the documented arrival windows.",
        time_distance_chart,
    ),
    "time_distance_first_days": (
        "The same chart, zoomed on the march before the long pause.",
        lambda run: time_distance_chart(
            run, until_h=first_days_h(run), title=f"{run.name}: the first days of the march"
        ),
    ),
    "arrivals": ("Simulated arrival per waypoint (histogram) against the documented window (shaded).", arrival_panels),
    "route_map": ("The route, each drone base's true coverage ring, and where incidents happened.", route_map),
    "destination_arrival": ("When the column reaches its destination.", destination_arrival),
    "losses": ("Vehicles lost per replication, by cause.", losses_by_cause),
    "incidents": ("Incidents per replication, by kind.", incidents_per_replication),
    "activity_hours": (
        "How the column's time is spent, for all replications and the fastest and slowest tenth.",
        activity_hours,
    ),
    "convergence": (
        "How many replications are enough: the destination's p10, p50 and p90 and their 95 % "
        "confidence intervals as replications are added.",
        convergence_chart,
    ),
}
"""Figure name -> (caption, builder); the order is the order of a report."""


def run_figures(run: RunData) -> dict[str, Figure]:
    """Every run figure, by name, in the slide style."""
    with slide_style():
        return {name: build(run) for name, (_, build) in RUN_FIGURES.items()}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def sweep_figures(sweep: SweepData) -> dict[str, Figure]:
    """The figures of a sweep, chosen by the shape of its design.

    A grid over one parameter, or over more than two, gives a response curve per parameter and
    output; a grid over two parameters a heat map per output. A sampled design (Latin hypercube,
    Sobol, Saltelli: scattered points, see `is_grid`) gives one panel figure of scatters per output,
    since a line through random points means nothing. Sobol bars come whenever sobol.csv exists.
    """
    figures: dict[str, Figure] = {}
    grid = is_grid(sweep)
    axes = list(tied_to(sweep))  # parameters set together (an `also` list) share one axis
    with slide_style():
        for output in sweep.outputs:
            if not grid:
                figures[f"scatter_{_slug(output)}"] = scatter_panels(sweep, output)
            elif len(axes) == 2:
                figures[f"heatmap_{_slug(output)}"] = heat_map(sweep, *axes, output)
            else:
                for p in axes:
                    figures[f"response_{_slug(p)}_{_slug(output)}"] = response_curve(sweep, p, output)
        for output in dict.fromkeys(r["output"] for r in sweep.sobol):
            figures[f"sobol_{_slug(output)}"] = sobol_bars(sweep, output)
    return figures


def figure_caption(name: str) -> str:
    if name in RUN_FIGURES:
        return RUN_FIGURES[name][0]
    kind = name.split("_", 1)[0]
    return {
        "response": "Response of a summarised output to one parameter: mean ± sd, median and 10-90 % band.",
        "heatmap": "Mean and spread of an output over two parameters.",
        "scatter": "Mean of an output at each sampled point against each parameter (scattered design: "
        "the other parameters vary too, so the points are not joined).",
        "sobol": "Sobol sensitivity indices with confidence intervals.",
    }.get(kind, "")


def directory_figures(path: Path | str) -> dict[str, Figure]:
    """The figures of a run or a sweep directory, told apart by the manifest's kind."""
    path = Path(path)
    return sweep_figures(load_sweep(path)) if is_sweep(path) else run_figures(load_run(path))


def plot_directory(path: Path | str, out: Path | str | None = None, fmt: str = "png") -> list[Path]:
    """Save every figure of a run or sweep directory to `out` (default: <dir>/figures) as `fmt` files."""
    path = Path(path)
    out = Path(out) if out is not None else path / "figures"
    written = []
    for name, fig in directory_figures(path).items():
        written.append(save(fig, out / name, fmt))
    return written
