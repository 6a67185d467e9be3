"""What ends the lead unit's next stretch of driving: pure functions, no SimPy, no state.

The head drives in segments. A segment ends at the nearest of seven horizons, the next thing that
can change what happens:

- on the road (compared in km): the next **waypoint**, the next **road incident** (an IED, a
  breakdown, a defended position), the next **ring edge** where drone cover may begin or end;
- in time (compared in hours): the **end of the march window**, a **cover change** (a base starts
  or stops flying, a drone arrives or leaves), a **threat change** (the ambush hazard changes by
  date), the next **rest halt**; and
- the **ambush**: the moment the ambush hazard accumulated while driving reaches the exposure
  drawn for the next ambush (a Poisson process in time with a piecewise constant rate: exact,
  because every change of the rate ends a segment).

Where each comes from: the waypoint is the leg's end, `incident_km` the next road incident,
`cover.Cover.edge_ahead_km` the ring edge; the march window's `DailyHours.state` says how long it
stays open, `cover.Cover.over` when cover may change, `threat_change_h` when the threat does; the
rest halt is counted down by the march, and `ambush_rate` gives the hazard that `ambush_cuts`
integrates. `on_road` and `in_time` pick the nearest; the first listed wins a tie. The march asks
`on_road` first because the cover of the stretch ahead (and so the ambush rate) depends on where
it ends.
"""

from __future__ import annotations

import math

from convoysim.model.schedule import DateFactor


class Horizon:
    """The seven reasons a segment of driving ends (threat and cover changes counted apart).

    Plain int codes, compared only for equality, in a class rather than an IntEnum: the march
    asks several times per segment, and an enum member costs 0.2 us a lookup in Python 3.11."""

    WAYPOINT = 0
    INCIDENT = 1
    RING_EDGE = 2
    WINDOW_END = 3
    COVER_CHANGE = 4
    THREAT_CHANGE = 5
    REST = 6
    AMBUSH = 7
    NAMES = ("waypoint", "incident", "ring_edge", "window_end", "cover_change", "threat_change", "rest", "ambush")
    """Each code's name, for printing: `Horizon.NAMES[code]`."""


def incident_km(road_km: list[float], j: int) -> float:
    """Road km of road incident j, the next the head meets (inf: none is left)."""
    return road_km[j] if j < len(road_km) else math.inf


def threat_change_h(hazard_per_h: float, by_date: DateFactor, now: float) -> float:
    """Hours until the ambush hazard changes by date (inf: it cannot, when the leg has no hazard
    or the schedule none)."""
    if hazard_per_h > 0.0 and not by_date.constant:
        return by_date.next_change_h(now) - now
    return math.inf


def ambush_rate(hazard_per_h: float, by_date: DateFactor, now: float, covered: bool, drone_factor: float) -> float:
    """Ambushes per hour of driving now: the leg's hazard, times the date's factor, times the
    drones' factor under cover."""
    hazard = hazard_per_h * by_date.at(now)
    return hazard * drone_factor if covered else hazard


def ambush_cuts(dt: float, exposure_left: float, rate_per_h: float) -> bool:
    """Whether driving `dt` hours at `rate_per_h` ambushes per hour uses up the exposure left before
    the next ambush (then it comes after `exposure_left / rate_per_h` hours)."""
    return rate_per_h > 0.0 and exposure_left < rate_per_h * dt


def on_road(waypoint_km: float, incident_km: float, edge_km: float) -> tuple[float, int]:
    """The nearest horizon on the road ahead: (its km, which). A road incident at the waypoint comes
    first; a ring edge at the same km as either comes after it."""
    if incident_km <= waypoint_km:
        at_km, what = incident_km, Horizon.INCIDENT
    else:
        at_km, what = waypoint_km, Horizon.WAYPOINT
    if edge_km < at_km:
        return edge_km, Horizon.RING_EDGE
    return at_km, what


def in_time(
    road_h: float,
    road: int,
    window_h: float,
    cover_change_h: float,
    threat_change_h: float,
    rest_h: float,
    exposure_left: float,
    rate_per_h: float,
) -> tuple[float, int]:
    """The nearest horizon in hours: (hours ahead, which), given `road_h` hours to the nearest one
    on the road. On a tie the earlier in this list wins: road, window end, cover change, threat
    change, rest; the ambush only when it comes strictly before all of them."""
    dt, what = road_h, road
    if window_h < dt:
        dt, what = window_h, Horizon.WINDOW_END
    if cover_change_h < dt:
        dt, what = cover_change_h, Horizon.COVER_CHANGE
    if threat_change_h < dt:
        dt, what = threat_change_h, Horizon.THREAT_CHANGE
    if rest_h < dt:
        dt, what = rest_h, Horizon.REST
    if ambush_cuts(dt, exposure_left, rate_per_h):
        dt, what = exposure_left / rate_per_h, Horizon.AMBUSH
    return dt, what
