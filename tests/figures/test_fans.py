"""The calibration's arrival fans are drawn like the time-distance chart: a hold is flat."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
from matplotlib.dates import date2num

from convoysim.calibration.figures import Fan, arrival_fans

START = datetime(2023, 10, 2, tzinfo=timezone.utc)


def test_a_four_week_hold_is_a_flat_stretch_not_slow_driving():
    rng = np.random.default_rng(1)
    n = 200
    reach_b = 10 + rng.uniform(0, 4, n)
    leave_b = 700 + rng.uniform(0, 10, n)  # four weeks held at B
    arrivals = np.column_stack([np.zeros(n), reach_b, leave_b + 20])
    departures = np.column_stack([rng.uniform(0, 1, n), leave_b, np.full(n, np.nan)])
    fan = Fan("before", arrivals, 1.0, 3.0, departures)
    fig = arrival_fans([fan], START, ["A", "B", "C"], [0.0, 100.0, 150.0], [("B", 8.0, 16.0)], 2000.0)
    ax = fig.axes[0]
    (median,) = [line for line in ax.get_lines() if line.get_gid() == "median"]
    x, km = median.get_data()
    x = date2num(x)
    at_b = np.flatnonzero(np.asarray(km) == 100.0)
    assert len(at_b) == 2, "the median arrives at B and leaves it later, at the same km"
    held_days = x[at_b[1]] - x[at_b[0]]
    assert 28 <= held_days <= 30
    windows = [
        p for p in ax.patches if p.get_facecolor()[:3] != (1.0, 1.0, 1.0) and p.get_label() == "documented window"
    ]
    assert windows, "the documented window is a box at its waypoint"
