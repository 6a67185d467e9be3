"""The column's vehicles: who they are (compiled once per scenario) and what became of them (per replication).

Vehicles are numbered in column order, head first: vehicle 0 leads march unit 0, the last one
closes the last unit. A vehicle's state is one of `STATES`; every state change that matters to a
reader (destroyed, damaged, abandoned, left behind) is written to the record as a fate row.
"""

from __future__ import annotations

import math
from bisect import insort
from dataclasses import dataclass
from enum import IntEnum

from convoysim.scenario.distributions import Distribution
from convoysim.scenario.schema import Breakdowns, Convoy, VehicleType


class VehicleState(IntEnum):
    """A vehicle is moving with its unit, queued for a recovery vehicle, under recovery, or gone."""

    MOVING = 0
    QUEUED = 1
    UNDER_RECOVERY = 2
    DESTROYED = 3
    ABANDONED = 4
    LEFT_BEHIND = 5


STATES = tuple(state.name.lower() for state in VehicleState)
"""The states' names as tables write them ('moving', 'queued', ...)."""
WITH_COLUMN = (VehicleState.MOVING, VehicleState.QUEUED, VehicleState.UNDER_RECOVERY)

DEFAULT_TYPE = "vehicle"


@dataclass(frozen=True)
class VehicleKind:
    """A vehicle type as the model uses it: probabilities and rates, no names looked up per event."""

    name: str
    people: int
    ied_destroyed: float
    ied_damaged: float
    ambush_destroyed: float
    ambush_damaged: float
    failures_per_km: float
    repair_h: Distribution
    damage_repair_h: Distribution
    recovers: bool


@dataclass(frozen=True)
class UnitPlan:
    """One march unit: its vehicles are `first .. first + count - 1` in column order."""

    name: str
    first: int
    count: int
    length_km: float
    recovery_vehicles: int
    departs_after_h: float = 0.0
    """Extra time behind the unit ahead (a second group travelling apart)."""


@dataclass(frozen=True)
class Roster:
    kinds: tuple[VehicleKind, ...]
    units: tuple[UnitPlan, ...]
    kind: tuple[int, ...]
    """Vehicle type index of each vehicle."""
    unit: tuple[int, ...]
    position: tuple[int, ...]
    """Position of each vehicle in its unit, 0 for the unit's first vehicle."""
    ids: tuple[str, ...]
    failures_per_km: tuple[float, ...] = ()
    """Each vehicle's failure rate, and below their sum and the people aboard: worked out once per
    scenario, not once per replication."""
    failures_total_per_km: float = 0.0
    people: tuple[int, ...] = ()
    people_total: int = 0

    @property
    def size(self) -> int:
        return len(self.kind)


def _kind(t: VehicleType, breakdowns: Breakdowns) -> VehicleKind:
    mkbf = t.mean_km_between_failures or breakdowns.mean_km_between_failures
    repair = t.repair_h or breakdowns.repair_h
    return VehicleKind(
        name=t.name,
        people=t.crew + t.passengers,
        ied_destroyed=t.ied.destroyed_prob,
        ied_damaged=t.ied.damaged_prob,
        ambush_destroyed=t.ambush.destroyed_prob,
        ambush_damaged=t.ambush.damaged_prob,
        failures_per_km=1.0 / mkbf if mkbf else 0.0,
        repair_h=repair,
        damage_repair_h=t.damage_repair_h or repair,
        recovers=t.recovers,
    )


def build_roster(convoy: Convoy) -> Roster:
    """The column's vehicles in order; `vehicles: N` alone becomes units of at most max_unit_vehicles."""
    types = convoy.vehicle_types or [VehicleType(name=DEFAULT_TYPE)]
    kinds = tuple(_kind(t, convoy.breakdowns) for t in types)
    index = {k.name: i for i, k in enumerate(kinds)}
    if convoy.march_units:
        layout = [(u.name, [(index[name], n) for name, n in u.vehicles.items()]) for u in convoy.march_units]
        delays = [u.departs_after_h for u in convoy.march_units]
    else:
        total = convoy.vehicles or 0
        n_units = math.ceil(total / convoy.max_unit_vehicles)
        base, extra = divmod(total, n_units)
        layout = [(f"unit {u + 1}", [(0, base + (1 if u < extra else 0))]) for u in range(n_units)]
        delays = [0.0] * n_units
    interval_km = convoy.interval_m / 1000.0
    kind, unit, position, ids, units = [], [], [], [], []
    for u, (name, groups) in enumerate(layout):
        first = len(kind)
        p = 0
        for k, n in groups:
            for _ in range(n):
                kind.append(k)
                unit.append(u)
                position.append(p)
                ids.append(f"{u + 1}-{p + 1:02d}")
                p += 1
        recovery = sum(n for k, n in groups if kinds[k].recovers)
        units.append(UnitPlan(name, first, p, max(0, p - 1) * interval_km, recovery, delays[u]))
    rates = tuple(kinds[k].failures_per_km for k in kind)
    people = tuple(kinds[k].people for k in kind)
    return Roster(
        kinds,
        tuple(units),
        tuple(kind),
        tuple(unit),
        tuple(position),
        tuple(ids),
        rates,
        sum(rates),
        people,
        sum(people),
    )


class Fleet:
    """The vehicles of one replication: state, people aboard, and the fate rows written so far."""

    __slots__ = ("roster", "state", "people", "with_column", "fates", "_moving")

    def __init__(self, roster: Roster):
        self.roster = roster
        self.state = [VehicleState.MOVING] * roster.size
        """Each vehicle's state; changed only by `set`."""
        self.people = list(roster.people)
        self.with_column = roster.size
        self._moving = list(range(roster.size))
        """The moving vehicles in column order, kept by `set` (every incident asks for them)."""
        self.fates: list[tuple[int, str, str, float, float]] = []
        """(vehicle, fate, cause, t_h, km) for every vehicle destroyed, damaged, abandoned or left behind."""

    def moving(self) -> list[int]:
        """Vehicles moving with their units, in column order (a new list: callers may change it)."""
        return self._moving.copy()

    def set(self, v: int, new: VehicleState) -> None:
        """Change vehicle v's state."""
        was = self.state[v]
        self.state[v] = new
        self.with_column += (new in WITH_COLUMN) - (was in WITH_COLUMN)
        moving = VehicleState.MOVING
        if was == moving and new != moving:
            self._moving.remove(v)
        elif new == moving and was != moving:
            insort(self._moving, v)

    def fate(self, v: int, fate: str, cause: str, t: float, km: float) -> None:
        self.fates.append((v, fate, cause, t, km))

    def counts(self) -> dict[str, int]:
        """How many vehicles are in each state; they always add up to the column's start."""
        out = dict.fromkeys(STATES, 0)
        for s in self.state:
            out[STATES[s]] += 1
        return out
