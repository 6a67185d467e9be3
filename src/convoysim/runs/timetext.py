"""Model hours as text: ISO date-times for files (`iso`, `iso_column`), and text a person reads at a
glance: dates, documented windows and durations.

Dates are written '02 Oct 13:09' (day and month name, UTC): no day/month order to misread. A
window drops what is implied: a whole day is '13 Oct', a window inside one day '02 Oct 07:00-23:59'.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np

_US_PER_H = 3_600_000_000.0
_SAFE_H = 1e5
"""Up to this many hours (about 11 years) a float holds microseconds to within 0.05 µs, so the
column computation below is exact; beyond, dates are left to `datetime` one by one."""


def iso(start: datetime, hours: float) -> str:
    """A model time as an ISO date-time in UTC; empty for never, 'never' for +inf."""
    if math.isnan(hours):
        return ""
    if math.isinf(hours):
        return "never"
    return (start + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_column(start: datetime, hours: np.ndarray) -> list[str]:
    """`iso(start, h)` for every h, computed for the whole column at once.

    numpy rounds hours to microseconds as `timedelta` does, except perhaps in the last microsecond;
    a time within 2 microseconds of a whole second, where that could change the printed second,
    is formatted one by one by `iso` itself, so the result is always identical.
    """
    h = np.asarray(hours, dtype=float).ravel()
    out = np.full(h.shape, "", dtype=object)
    finite = np.isfinite(h) & (np.abs(h) < _SAFE_H)
    us = np.round(h[finite] * _US_PER_H)
    base = np.datetime64(start.replace(tzinfo=None), "us")
    stamps = np.datetime_as_string(base + us.astype("timedelta64[us]"), unit="s")
    out[finite] = np.char.add(stamps, "Z")
    frac = np.mod(us, 1e6)
    edge = np.flatnonzero(finite)[(frac < 2.0) | (frac > 1e6 - 3.0)]
    for k in (*edge, *np.flatnonzero(~finite)):
        out[k] = iso(start, float(h[k]))
    return out.tolist()


DAY_END = timedelta(hours=23, minutes=59)
"""Documented 'latest' times written as 23:59 mean 'by the end of that day'."""


def _when(start: datetime, hours: float) -> datetime:
    return start + timedelta(minutes=round(hours * 60))


def day_time(start: datetime, hours: float, minutes: bool = True) -> str:
    """'02 Oct 13:09', or '02 Oct 13h' (to the nearest hour) when `minutes` is false; 'never' for +inf."""
    if not math.isfinite(hours):
        return iso(start, hours)
    when = _when(start, hours)
    if minutes:
        return when.strftime("%d %b %H:%M")
    return (when + timedelta(minutes=30)).replace(minute=0).strftime("%d %b %Hh")


def window_text(start: datetime, earliest_h: float, latest_h: float, minutes: bool = True) -> str:
    """A documented window, complete and short: '13 Oct', '05 Oct-07 Oct 12:00', '02 Oct 07:00-23:59'."""
    a, b = _when(start, earliest_h), _when(start, latest_h)
    whole_from = a.hour == 0 and a.minute == 0
    whole_to = b - b.replace(hour=0, minute=0) >= DAY_END
    day = "%d %b"
    clock = "%H:%M" if minutes else "%Hh"
    if a.date() == b.date():
        if whole_from and whole_to:
            return a.strftime(day)
        return f"{a.strftime(day)} {a.strftime(clock)}-{b.strftime(clock)}"
    left = a.strftime(day) if whole_from else a.strftime(f"{day} {clock}")
    right = b.strftime(day) if whole_to else b.strftime(f"{day} {clock}")
    return f"{left}-{right}"


def duration_text(hours: float) -> str:
    """'45 min', '7.5 h', '2 d 6 h', '31 d 19 h': hours below a day, days and whole hours above."""
    if not math.isfinite(hours):
        return "never"
    if hours < 1:
        return f"{round(hours * 60)} min"
    if hours < 24:
        return f"{hours:.1f} h"
    days, rest = divmod(round(hours), 24)
    return f"{days} d {rest} h" if rest else f"{days} d"


def plural(n: int, word: str) -> str:
    """'1 vehicle', '3 vehicles', '0 vehicles'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def percent(share: float) -> str:
    """A share as '83%', or 'n/a' when there is nothing to share (no windows of that kind)."""
    return "n/a" if math.isnan(share) else f"{100 * share:.0f}%"
