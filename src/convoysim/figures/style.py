"""One look for every figure: slide-sized (16:9), large type, the same colours for the same things.

Figures are built as `matplotlib.figure.Figure` objects with an Agg canvas, never through pyplot's
global state, so building figures in a server, a test or a worker process changes nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, Locator, MaxNLocator

from convoysim.runs.durable import replaced

SLIDE_SIZE_IN = (12.0, 6.75)
"""16:9 at 12 inches wide: 1800 x 1012 pixels at the default 150 dpi, sharp on a projector."""
DPI = 150

RC = {
    "font.size": 13,
    "axes.titlesize": 16,
    "axes.titleweight": "bold",
    "axes.labelsize": 14,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "legend.fontsize": 11,
    "legend.framealpha": 0.9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.constrained_layout.use": True,
    "svg.fonttype": "none",
    "date.autoformatter.day": "%d %b",
}

COLOURS = {
    "simulated": "#1f5fa8",
    "band": "#9ecae1",
    "documented": "#e6550d",
    "road": "#444444",
    "ring": "#31a354",
    "inactive": "#999999",
    "ied": "#d62728",
    "ied_strike": "#d62728",
    "ied_found": "#e377c2",
    "ambush": "#9467bd",
    "harassment": "#ff7f0e",
    "breakdown": "#7f7f7f",
    "breach": "#8c564b",
    "bypass": "#bcbd22",
    "column": "#b0b0b0",
}
ACTIVITY_COLOURS = {
    "moving": "#1f5fa8",
    "night_halt": "#3b3b6d",
    "scheduled_halt": "#9ecae1",
    "operational_pause": "#bdbdbd",
    "incident_delay": "#d62728",
    "engagement": "#9467bd",
}
FORMATS = ("png", "svg", "pdf")


@contextmanager
def slide_style() -> Iterator[None]:
    """Apply the slide style while figures are built (text sizes are fixed at creation)."""
    with mpl.rc_context(RC):
        yield


def new_figure(size: tuple[float, float] = SLIDE_SIZE_IN) -> Figure:
    """A figure with an Agg canvas (drawable and savable without pyplot)."""
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def date_numbers(start: datetime, hours: np.ndarray | float) -> np.ndarray:
    """Model hours as matplotlib date numbers (days), for date axes without a datetime per point."""
    return mdates.date2num(start) + np.asarray(hours, dtype=float) / 24.0


def date_axis(axis, span_days: float, max_ticks: int = 10) -> None:
    """Readable date ticks for a march of a day or of two months, at most about `max_ticks` of them."""
    if span_days * 4 <= max_ticks:
        axis.set_major_locator(mdates.HourLocator(byhour=range(0, 24, 6)))
        axis.set_major_formatter(mdates.DateFormatter("%d %b\n%H:%M"))
    elif span_days * 2 <= max_ticks:
        axis.set_major_locator(mdates.HourLocator(byhour=(0, 12)))
        axis.set_major_formatter(mdates.DateFormatter("%d %b\n%H:%M"))
    else:
        axis.set_major_locator(mdates.DayLocator(interval=max(1, math.ceil(span_days / max_ticks))))
        axis.set_major_formatter(mdates.DateFormatter("%d %b"))


CLOCK_STEPS_H = (1, 2, 3, 6, 12, 24, 48, 72, 96, 168, 336, 672)
"""Tick spacings of a model-hour axis: whole hours, quarter- and half-days, days, weeks."""


class ClockLocator(Locator):
    """Ticks on an axis of model hours (hours since `start`) where the UTC clock reads a whole hour,
    00:00/12:00 or midnight, at most about `max_ticks` of them: not every 20 or 46 hours from the
    start, which puts ticks at 03:00 one day and 01:00 the next."""

    def __init__(self, start: datetime, max_ticks: int = 7) -> None:
        self.start = start
        self.max_ticks = max_ticks

    def step_h(self, vmin: float, vmax: float) -> float:
        span = abs(vmax - vmin)
        return next(
            (s for s in CLOCK_STEPS_H if span / s <= self.max_ticks), 168.0 * math.ceil(span / self.max_ticks / 168.0)
        )

    def __call__(self) -> np.ndarray:
        return self.tick_values(*self.axis.get_view_interval())

    def tick_values(self, vmin: float, vmax: float) -> np.ndarray:
        lo, hi = sorted((float(vmin), float(vmax)))
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return np.array([])
        step = self.step_h(lo, hi)
        since_midnight = self.start.hour + self.start.minute / 60 + self.start.second / 3600
        first = math.ceil((lo + since_midnight) / step - 1e-9) * step - since_midnight
        return np.arange(first, hi + 1e-9, step)


def clock_axis(axis, start: datetime, max_ticks: int = 7) -> ClockLocator:
    """Date ticks on an axis (or colour bar) of model hours: at whole hours, half-days or days of
    the UTC clock, labelled '14 Nov' at midnight and '14 Nov 12:00' otherwise."""
    locator = ClockLocator(start, max_ticks)

    def text(h: float, _pos: int | None = None) -> str:
        when = start + timedelta(hours=float(h))
        return f"{when:%d %b}" if when.hour == 0 and when.minute == 0 else f"{when:%d %b %H:%M}"

    if hasattr(axis, "set_major_locator"):
        axis.set_major_locator(locator)
        axis.set_major_formatter(FuncFormatter(text))
    else:  # a colour bar
        axis.locator = locator
        axis.formatter = FuncFormatter(text)
        axis.update_ticks()
    return locator


def count_axis(axis) -> None:
    """Whole-number ticks on an axis of counts (vehicles, strikes, replications): no 2.5 or 7.5."""
    axis.set_major_locator(MaxNLocator(integer=True))


def save(fig: Figure, path: Path, fmt: str) -> Path:
    """Write one figure to `path` plus the format's suffix (names may contain dots); fmt is one of FORMATS."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    out = path.with_name(f"{path.name}.{fmt}")
    with replaced(out) as tmp:  # a full disk leaves no cut figure
        fig.savefig(tmp, format=fmt, dpi=DPI, metadata={"Software": None} if fmt == "png" else None)
    return out
