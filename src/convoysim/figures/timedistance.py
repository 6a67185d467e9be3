"""The time-distance chart (the march graph of movement planning).

Road distance from the start against the date: the tracked replications' head paths (halts are the
flat stretches), the 10-90 % band and median of the march over every replication, the first tracked
replication's whole column from the head of its first march unit to the tail of its last (the march
graph's band: its width is the pass time), and each documented milestone as a window at its
waypoint's distance. Place names label the distance axis.

The band and median are drawn through the quantiles of the arrival and departure times at each
waypoint over all replications (the same quantiles as the run's table, so the median line passes
through the table's p50), joined by straight moves between waypoints and flat halts at them.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from convoysim.figures.style import COLOURS, date_axis, date_numbers, new_figure
from convoysim.runs.quantilemarch import band_outline, quantile_march
from convoysim.runs.reading import RunData

SAMPLE_PATHS = 20
"""Replication paths drawn individually; more only blur into the band."""
WINDOW_HEIGHT_KM = 8.0


def position_km(t_grid: np.ndarray, t_h: np.ndarray, km: np.ndarray) -> np.ndarray:
    """The head's road position at each grid time, by linear interpolation of its path.

    Before the path starts the head is at its first point, after it ends at its last: a column that
    stopped short of the destination stays where it stopped.
    """
    return np.interp(t_grid, t_h, km, left=km[0], right=km[-1])


def position_bands(run: RunData, t_grid: np.ndarray, qs: tuple[float, ...] = (0.1, 0.5, 0.9)) -> np.ndarray:
    """Quantiles (rows) of the head's position across the tracked replications at each grid time."""
    paths = np.array([position_km(t_grid, t, km) for t, km in run.tracks.values()])
    return np.quantile(paths, qs, axis=0)


def _draw_bands(ax, run: RunData, t_grid: np.ndarray) -> None:
    """10-90 % band and median over all replications (from the waypoint times), or over the tracked
    paths for a run directory written before departures were kept."""
    if run.departures_h is not None and len(run.arrivals_h):
        middle = quantile_march(run.arrivals_h, run.departures_h, run.road_km, 0.5)
        outline_t, outline_km = band_outline(run.arrivals_h, run.departures_h, run.road_km, 0.1, 0.9, t_grid[-1])
        (band,) = ax.fill(
            date_numbers(run.start, outline_t),
            outline_km,
            color=COLOURS["band"],
            alpha=0.5,
            lw=0,
            label=f"10-90 % of all {len(run.arrivals_h)} replications",
        )
        (median,) = ax.plot(
            date_numbers(run.start, middle[0]),
            middle[1],
            color=COLOURS["simulated"],
            lw=2.5,
            label="median (the table's p50 at each waypoint)",
        )
    elif run.tracks:
        p10, p50, p90 = position_bands(run, t_grid)
        x = date_numbers(run.start, t_grid)
        band = ax.fill_between(
            x, p10, p90, color=COLOURS["band"], alpha=0.5, lw=0, label=f"10-90 % of {len(run.tracks)} replications"
        )
        (median,) = ax.plot(x, p50, color=COLOURS["simulated"], lw=2.5, label="median position")
    else:
        return
    band.set_gid("band")
    median.set_gid("median")


def time_distance_chart(run: RunData, until_h: float | None = None, title: str | None = None) -> Figure:
    """The march graph; `until_h` zooms onto the first hours (e.g. the first week)."""
    fig = new_figure()
    ax = fig.add_subplot()
    end_h = until_h if until_h is not None else _last_time(run)
    t_grid = np.linspace(0.0, end_h, 800)

    for k, (t, km) in enumerate(list(run.tracks.values())[:SAMPLE_PATHS]):
        (line,) = ax.plot(
            date_numbers(run.start, t),
            km,
            color=COLOURS["simulated"],
            alpha=0.35,
            lw=1.0,
            drawstyle="default",
            label="a replication's head" if k == 0 else None,
        )
        line.set_gid("path")
    _draw_bands(ax, run, t_grid)

    if run.columns:
        t, head, tail = run.columns[min(run.columns)]
        column = ax.fill_between(
            date_numbers(run.start, t),
            tail,
            head,
            color=COLOURS["column"],
            alpha=0.6,
            lw=0,
            label=f"replication {min(run.columns)}: the column, head to tail",
        )
        column.set_gid("column")

    km_of = dict(zip(run.waypoints, run.road_km))
    for k, w in enumerate(run.windows):
        if w.waypoint not in km_of:
            continue
        x0, x1 = date_numbers(run.start, np.array([w.earliest_h, w.latest_h]))
        rect = Rectangle(
            (x0, km_of[w.waypoint] - WINDOW_HEIGHT_KM / 2),
            max(x1 - x0, 0.04),
            WINDOW_HEIGHT_KM,
            facecolor=COLOURS["documented"],
            edgecolor="black",
            lw=0.8,
            alpha=0.85,
            zorder=5,
            label="documented arrival window" if k == 0 else None,
        )
        rect.set_gid(f"window:{w.waypoint}")
        ax.add_patch(rect)

    ax.set_yticks(run.road_km, [f"{name}  {km:.0f}" for name, km in zip(run.waypoints, run.road_km)])
    ax.set_ylabel("road distance from start (km)")
    ax.set_ylim(run.road_km[0] - 10, run.road_km[-1] + 15)
    ax.set_xlim(date_numbers(run.start, 0.0), date_numbers(run.start, end_h))
    ax.xaxis_date()
    date_axis(ax.xaxis, end_h / 24.0)
    ax.set_xlabel("date (UTC)")
    ax.grid(True, axis="y", alpha=0.4)
    ax.set_title(title or f"{run.name}: time-distance chart of the march")
    ax.legend(loc="lower right")
    return fig


def _last_time(run: RunData) -> float:
    """When the slowest tracked head stops, or the latest documented window, plus a margin."""
    ends = [t[-1] for t, _ in run.tracks.values()] + [w.latest_h for w in run.windows]
    finite = [e for e in ends if np.isfinite(e)]
    return min(run.horizon_h, (max(finite) if finite else run.horizon_h) * 1.03 + 12.0)


def median_arrivals_h(run: RunData) -> np.ndarray:
    """Median arrival per waypoint over the replications that got there; NaN where none did.

    Computed column by column so a waypoint nobody reached gives NaN without numpy's All-NaN warning.
    """
    out = np.full(run.arrivals_h.shape[1], np.nan)
    for i, column in enumerate(run.arrivals_h.T):
        arrived = column[np.isfinite(column)]
        if len(arrived):
            out[i] = np.median(arrived)
    return out


def first_days_h(run: RunData) -> float:
    """Hours until the median column reaches the waypoint before the longest halt, for the zoomed chart."""
    arrivals = median_arrivals_h(run)
    gaps = np.diff(arrivals)
    if len(gaps) == 0 or not np.isfinite(gaps).any():
        return min(run.horizon_h, 7 * 24.0)
    longest = int(np.nanargmax(gaps))
    before = set(run.waypoints[: longest + 1])
    windows = [w.latest_h for w in run.windows if w.waypoint in before]
    return float(min(run.horizon_h, max([arrivals[longest] * 1.4, 48.0] + [h + 12.0 for h in windows])))
