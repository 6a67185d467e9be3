"""The march at a quantile: where a time-distance band or median runs, over every replication.

At each waypoint the q-quantile of the arrival time and of the departure time (a replication that
never got there is later than any date, as in the comparison), joined in route order: straight
moves between waypoints and flat halts at them, so a four-week hold looks like a hold, not like
slow driving. Each replication arrives before it leaves and leaves before it arrives further on,
so the quantiles keep that order and the line never runs backwards.
"""

from __future__ import annotations

import numpy as np

from convoysim.runs.compare import quantiles


def quantile_march(
    arrivals_h: np.ndarray, departures_h: np.ndarray | None, road_km: np.ndarray, q: float
) -> tuple[np.ndarray, np.ndarray]:
    """(t_h, km) vertices of the march at quantile `q`; it ends where the quantile becomes 'never'.

    Without departures (older run directories) the line joins arrivals only.
    """
    t: list[float] = []
    km: list[float] = []
    last = len(road_km) - 1
    for i, place_km in enumerate(road_km):
        columns = [arrivals_h[:, i]]
        if departures_h is not None and i < last:
            columns.append(departures_h[:, i])
        for column in columns:
            (value,) = quantiles(column, (q,))
            if not np.isfinite(value):
                return np.asarray(t), np.asarray(km)
            t.append(value)
            km.append(float(place_km))
    return np.asarray(t), np.asarray(km)


def band_outline(
    arrivals_h: np.ndarray,
    departures_h: np.ndarray | None,
    road_km: np.ndarray,
    low_q: float,
    high_q: float,
    end_h: float,
) -> tuple[np.ndarray, np.ndarray]:
    """A closed (t_h, km) polygon between the march at `low_q` (ahead) and at `high_q` (behind).

    Where the slow edge never arrives, it stays at its last place until `end_h`.
    """
    early_t, early_km = quantile_march(arrivals_h, departures_h, road_km, low_q)
    late_t, late_km = quantile_march(arrivals_h, departures_h, road_km, high_q)
    if len(late_t) < len(early_t):
        late_t = np.append(late_t, end_h)
        late_km = np.append(late_km, late_km[-1] if len(late_km) else road_km[0])
    return np.concatenate([early_t, late_t[::-1]]), np.concatenate([early_km, late_km[::-1]])
