"""Which vehicles an incident hits, what becomes of each, and the people aboard.

An IED strikes one target (the lead vehicle, any vehicle alike, or weighted to the front) and the
vehicles right behind it (a block of the drawn size, kept whole near the tail); an ambush engages the vehicles
inside its kill zone at that moment (or,
without a kill zone, a number drawn at random). Each vehicle hit is destroyed, damaged or unharmed
with its type's probabilities; wounded and killed are drawn per vehicle hit and never exceed the
people still unhurt aboard it.

Every number comes from the incident's own (`streams.IncidentNumbers`): which vehicle an IED
strikes, and for each vehicle whether it is engaged, its fate and its casualties, so a vehicle's
fate in one incident does not depend on what happened before or to the other vehicles.
"""

from __future__ import annotations

from dataclasses import dataclass

from convoysim.model.streams import IncidentNumbers, PerVehicle
from convoysim.model.vehicles import Fleet, VehicleState
from convoysim.scenario.distributions import Distribution


@dataclass
class HitResult:
    destroyed: int = 0
    damaged: list[int] | None = None
    wounded: int = 0
    killed: int = 0


def ied_targets(fleet: Fleet, target: str, count: int, u: float) -> list[int]:
    """The vehicles an IED strike hits: `count` moving vehicles in a row from its target backwards
    (from further ahead when the target is too near the tail to have `count - 1` behind it); the
    uniform `u` places the target."""
    moving = fleet.moving()
    if not moving or count <= 0:
        return []
    if target == "lead":
        k = 0
    elif target == "random":
        k = min(int(u * len(moving)), len(moving) - 1)
    else:  # front: weight falls linearly from n for the first vehicle to 1 for the last
        n = len(moving)
        # inverse of the cumulative weight sum_{i<k}(n - i) / (n(n+1)/2)
        total = n * (n + 1) / 2.0
        k, acc = 0, 0.0
        while k < n - 1 and acc + (n - k) <= u * total:
            acc += n - k
            k += 1
    k = max(0, min(k, len(moving) - count))
    return moving[k : k + count]


def random_vehicles(fleet: Fleet, count: int, numbers: IncidentNumbers) -> list[int]:
    """`count` distinct moving vehicles drawn alike (fewer if fewer are left): those with the smallest
    of their numbers for this incident, so a vehicle engaged in one plan stays engaged in another
    that engages as many."""
    if count <= 0:
        return []
    picks = numbers.picks()
    return sorted(sorted(fleet.moving(), key=picks.__getitem__)[:count])


def apply_hits(
    fleet: Fleet,
    vehicles: list[int],
    kind: str,
    cause: str,
    t: float,
    km: float,
    wounded: Distribution,
    killed: Distribution,
    numbers: IncidentNumbers,
    positions: dict[int, float] | None = None,
) -> HitResult:
    """Destroy or damage each vehicle hit as its type says and count the people hurt aboard it.

    `kind` is 'ied' or 'ambush' (which of the type's probabilities apply). Damaged vehicles are
    returned for recovery; they stay moving until the caller starts their recovery.
    """
    kinds, kind_of = fleet.roster.kinds, fleet.roster.kind
    out = HitResult(damaged=[])
    for v in vehicles:
        if fleet.state[v] != VehicleState.MOVING:
            continue
        k = kinds[kind_of[v]]
        p_destroyed, p_damaged = (
            (k.ied_destroyed, k.ied_damaged) if kind == "ied" else (k.ambush_destroyed, k.ambush_damaged)
        )
        u = numbers.vehicle(v, PerVehicle.FATE).u
        where = positions.get(v, km) if positions else km
        if u < p_destroyed:
            fleet.set(v, VehicleState.DESTROYED)
            fleet.fate(v, "destroyed", cause, t, where)
            out.destroyed += 1
        elif u < p_destroyed + p_damaged:
            fleet.fate(v, "damaged", cause, t, where)
            out.damaged.append(v)  # type: ignore[union-attr]
        else:
            continue
        aboard = fleet.people[v]
        dead = min(aboard, int(killed.draw(numbers.vehicle(v, PerVehicle.KILLED))))
        hurt = min(aboard - dead, int(wounded.draw(numbers.vehicle(v, PerVehicle.WOUNDED))))
        fleet.people[v] = aboard - dead - hurt
        out.killed += dead
        out.wounded += hurt
    return out
