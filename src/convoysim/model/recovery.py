"""Recovery of broken-down and damaged vehicles, with recovery vehicles as a SimPy Resource.

A vehicle that needs recovery requests a recovery vehicle of its march unit (or of the column's
recovery section when its unit has none); with few of them, requests queue. Its unit waits for it
up to `abandon_after_h`; then the vehicle is abandoned, or left behind with its recovery team (the
team stays busy until the repair is done and the vehicle rejoins), as the scenario says. A column
with no recovery vehicles at all repairs in place, without a queue (the crews do it), and so does a recovery
vehicle that breaks down (the unit's recovery capacity is not reduced meanwhile: a simplification).
"""

from __future__ import annotations

import math
from collections.abc import Generator

import simpy

from convoysim.model.vehicles import Fleet, VehicleState


class RecoveryService:
    """The recovery resources of one replication, made on first use."""

    def __init__(
        self,
        env: simpy.Environment,
        fleet: Fleet,
        section: int,
        limit_h: float,
        leave_behind: bool,
        trace: list[tuple[float, str]] | None = None,
    ):
        self.env, self.fleet, self.trace = env, fleet, trace
        self.limit_h = limit_h
        self.leave_behind = leave_behind
        self.section = section
        self._resources: dict[int, simpy.Resource | None] = {}
        self.waits_h: list[float] = []
        """Time each recovery waited for a recovery vehicle (queueing only; until abandoned if never served)."""

    def resource(self, unit: int) -> simpy.Resource | None:
        """The recovery vehicles serving `unit`: its own, else the section's, else none (self-repair)."""
        if unit not in self._resources:
            own = self.fleet.roster.units[unit].recovery_vehicles
            if own:
                self._resources[unit] = simpy.Resource(self.env, capacity=own)
            elif self.section:
                if -1 not in self._resources:
                    self._resources[-1] = simpy.Resource(self.env, capacity=self.section)
                self._resources[unit] = self._resources[-1]
            else:
                self._resources[unit] = None
        return self._resources[unit]

    def _note(self, v: int, what: str) -> None:
        if self.trace is not None:
            roster = self.fleet.roster
            self.trace.append((self.env.now, f"{roster.units[roster.unit[v]].name}: vehicle {roster.ids[v]} {what}"))

    def recover(
        self, v: int, repair_h: float, cause: str, km: float, released: simpy.Event
    ) -> Generator[simpy.Event, None, None]:
        """One vehicle's recovery as a SimPy process; `released` fires when its unit may move on.

        It waits for a recovery vehicle of its unit (a Resource request, for at most the unit's
        waiting limit), then for the repair (a timeout); past the limit the vehicle is abandoned
        or left behind with its team (`_over_limit`). A recovery vehicle repairs itself."""
        env, fleet = self.env, self.fleet
        start = env.now
        limit = self.limit_h
        roster = fleet.roster
        # a recovery vehicle is repaired by its own crew: it does not queue for itself
        resource = None if roster.kinds[roster.kind[v]].recovers else self.resource(roster.unit[v])
        request = None
        if resource is not None:
            fleet.set(v, VehicleState.QUEUED)
            request = resource.request()
            if request.triggered:
                pass  # a recovery vehicle is free: no wait, no event
            elif math.isfinite(limit):
                yield request | env.timeout(limit)
            else:
                yield request
            if not request.triggered:
                yield from self._over_limit(v, cause, km, released, request, resource, repair_h, start)
                return
            self.waits_h.append(env.now - start)
        fleet.set(v, VehicleState.UNDER_RECOVERY)
        left = limit - (env.now - start)
        if repair_h <= left:
            yield env.timeout(repair_h)
            self._done(v, request, resource)
            released.succeed()
            return
        yield env.timeout(left)
        yield from self._over_limit(v, cause, km, released, request, resource, repair_h - left, start)

    def _over_limit(
        self, v: int, cause: str, km: float, released: simpy.Event, request, resource, repair_h: float, start: float
    ) -> Generator[simpy.Event, None, None]:
        """The unit waited as long as it may: abandon the vehicle or leave it behind.

        Left behind, its team waits for its recovery vehicle and finishes the repair; then the
        vehicle rejoins."""
        env, fleet = self.env, self.fleet
        if not self.leave_behind:
            if request is not None:
                if request.triggered:
                    resource.release(request)
                else:
                    request.cancel()
                    self.waits_h.append(env.now - start)
            fleet.set(v, VehicleState.ABANDONED)
            fleet.fate(v, "abandoned", cause, env.now, km)
            self._note(v, "is abandoned; the unit moves on")
            released.succeed()
            return
        fleet.set(v, VehicleState.LEFT_BEHIND)
        fleet.fate(v, "left_behind", cause, env.now, km)
        self._note(v, "is left behind with its recovery team; the unit moves on")
        released.succeed()
        if request is not None and not request.triggered:
            yield request
            self.waits_h.append(env.now - start)
        yield env.timeout(repair_h)
        self._done(v, request, resource)

    def _done(self, v: int, request, resource) -> None:
        """The repair is done: free the recovery vehicle; the vehicle moves with its unit again."""
        if request is not None:
            resource.release(request)
        rejoins = self.fleet.state[v] == VehicleState.LEFT_BEHIND
        self.fleet.set(v, VehicleState.MOVING)
        self._note(v, "is repaired and rejoins its unit" if rejoins else "is repaired; the unit moves on")
