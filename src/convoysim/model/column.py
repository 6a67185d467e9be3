"""One column in one replication: its state, and what every incident does to it.

`Column` holds the vehicles (`vehicles.Fleet`), the march units behind the lead
(`units.Follower`), the recovery service, the drone cover (`cover.Cover`) and the lead unit's
ledger (`ledger.Ledger`), and offers the few things every incident needs: halt, wait for an event,
hit vehicles, start their recovery, evacuate casualties. `incidents` says what each incident does
with them; `march.ColumnMarch` is the lead unit's process.

Clock: hours since the scenario's start. Distances: km of road from the first waypoint.
"""

from __future__ import annotations

import math
from collections.abc import Generator

import simpy
from simpy.events import Timeout

from convoysim.model.cover import Cover, RingCover
from convoysim.model.drones import SortieCover
from convoysim.model.hits import HitResult, apply_hits
from convoysim.model.ledger import Ledger
from convoysim.model.plan import Plan
from convoysim.model.record import Activity, ReplicationRecord
from convoysim.model.recovery import RecoveryService
from convoysim.model.road import RoadIncidents
from convoysim.model.streams import IncidentKind, IncidentNumbers, Number, NumbersByKey, ReplicationStreams
from convoysim.model.units import Follower, Hold, UnitPath, clamp
from convoysim.model.vehicles import Fleet
from convoysim.scenario.distributions import Distribution

REPAIRS_PER_ROW = 2
"""Repairs of a vehicle whose numbers come in one table (more from the vehicle's own generator)."""
THRESHOLD_ROWS = 16
"""Ambushes and harassed nights whose thresholds come in one table (more from their own generator)."""


class ColumnDestroyed(Exception):
    """The column fell below its minimum vehicle count and stops where it is."""


def exposure_threshold(u: float) -> float:
    """Unit-exponential hazard to accumulate before the next event of a hazard process (ambush,
    night harassment), from a uniform: the events of a Poisson process with a varying rate."""
    return -math.log1p(-u)


def make_cover(
    env: simpy.Environment, plan: Plan, streams: ReplicationStreams, trace: list[tuple[float, str]] | None
) -> Cover:
    """The sortie fleets when the bases have fleets, otherwise the fixed rings (perhaps none)."""
    if plan.fleets:
        return SortieCover(env, plan.fleets, plan.fleet_names, streams, trace, plan.coverage)
    return RingCover(plan.coverage)


class Column:
    """State of one column in one replication and the services incidents use (see the module)."""

    def __init__(
        self,
        env: simpy.Environment,
        plan: Plan,
        streams: ReplicationStreams,
        road: RoadIncidents,
        record: ReplicationRecord,
    ):
        self.env, self.plan, self.streams, self.road, self.rec = env, plan, streams, road, record
        self.trace = record.trace
        self.km = 0.0
        """Road km of the lead unit's head."""
        self.speed = 0.0
        """The lead unit's speed on the current leg, km/h."""
        self.fleet = Fleet(plan.roster)
        self.recovery = RecoveryService(
            env,
            self.fleet,
            plan.recovery_section,
            plan.abandon_after_h,
            plan.after_limit == "leave_behind",
            record.trace,
        )
        self.path = UnitPath(env)
        self.followers: list[Follower] = []
        ahead = self.path
        units, window = plan.roster.units, plan.march if plan.units_keep_window else None
        for unit, behind in zip(units, units[1:]):
            follower = Follower(
                env, ahead, unit.length_km, plan.unit_gap_h + behind.departs_after_h, plan.catchup_factor, window
            )
            self.followers.append(follower)
            ahead = follower.path
        self.cover = make_cover(env, plan, streams, record.trace)
        self.ledger = Ledger(env, self.path, self.cover)
        self.repair_numbers = NumbersByKey(streams, "recovery", plan.roster.size, REPAIRS_PER_ROW)
        """Each vehicle's n-th repair time draws its n-th number (docs/streams.md)."""
        self.thresholds = NumbersByKey(streams, "thresholds", THRESHOLD_ROWS, 2)
        """Row k: the hazard to accumulate before the k-th ambush, and before the k-th harassment
        (docs/streams.md: an extra ambush moves no other ambush's threshold)."""
        self.ambush_left = self.threshold(IncidentKind.AMBUSH, 0)
        """Ambush hazard still to accumulate before the next ambush."""
        self.harass_left = self.threshold(IncidentKind.HARASSMENT, 0)
        """Harassment exposure still to accumulate before the next harassed night."""

    def threshold(self, kind: IncidentKind, k: int) -> float:
        """The exposure to accumulate before the k-th ambush or harassment (counted from 0)."""
        return exposure_threshold(self.thresholds.row(k, 2)[kind])

    def incident_numbers(self, kind: IncidentKind, *key: int) -> IncidentNumbers:
        """The numbers of one incident: its own, and one row per vehicle of the column."""
        return IncidentNumbers(self.streams, kind, key, self.plan.roster.size)

    @property
    def vehicles(self) -> int:
        """Vehicles still with the column (moving, queued or under recovery)."""
        return self.fleet.with_column

    def note(self, text: str) -> None:
        """Add a line to the replication's trace (callers check `trace` first, to skip formatting)."""
        if self.trace is not None:
            self.trace.append((self.env.now, text))

    def incident(self, kind: str, lost: int) -> None:
        """Record an incident where and when the head is."""
        self.rec.incidents.append((kind, self.env.now, self.km, lost))

    # -- standing still ----------------------------------------------------------------------

    def halt(self, dt: float, activity: Activity) -> Timeout:
        """A stop of known length where the head stands (booked now; yield the timeout returned)."""
        return self.ledger.halt(dt, activity, self.km)

    def wait_for(self, event: simpy.Event, activity: Activity) -> Generator[simpy.Event, None, None]:
        """Stand still until `event` fires: its length is not known in advance (a recovery)."""
        self.ledger.start_wait(activity, self.km)
        yield event
        self.ledger.end_wait()

    def after_incident(
        self, delay_h: float, casevac_h: float, holds: list[simpy.Event]
    ) -> Generator[simpy.Event, None, None]:
        """After an incident: halt, then wait for the recoveries that hold the lead unit.

        The halt lasts the longer of the incident's delay and the casualty evacuation; `holds` are
        the recoveries of the lead unit's vehicles the incident damaged."""
        wait = max(delay_h, casevac_h)
        if wait > 0:
            yield self.halt(wait, Activity.INCIDENT_DELAY)
        pending = [e for e in holds if not e.processed]
        if pending:
            yield from self.wait_for(self.env.all_of(pending), Activity.INCIDENT_DELAY)

    def check_strength(self) -> None:
        """Raise ColumnDestroyed when too few vehicles are left to go on."""
        if self.vehicles < self.plan.min_vehicles:
            if self.trace is not None:
                self.note(
                    f"only {self.vehicles} vehicles left, below the minimum of {self.plan.min_vehicles}: the column "
                    "stops"
                )
            raise ColumnDestroyed

    # -- vehicles hit, recovered, evacuated ---------------------------------------------------

    def hit(
        self,
        vehicles: list[int],
        kind: str,
        cause: str,
        wounded: Distribution,
        killed: Distribution,
        numbers: IncidentNumbers,
        positions: dict[int, float] | None = None,
    ) -> HitResult:
        """Apply an incident to the vehicles it hits and count the people hurt (`hits.apply_hits`).
        The damaged vehicles are returned; `recover` starts their recovery."""
        result = apply_hits(
            self.fleet, vehicles, kind, cause, self.env.now, self.km, wounded, killed, numbers, positions
        )
        rec = self.rec
        rec.wounded[cause] += result.wounded
        rec.killed[cause] += result.killed
        if result.wounded or result.killed:
            rec.casualties.append((cause, self.env.now, self.km, result.wounded, result.killed))
        rec.damaged += len(result.damaged)  # type: ignore[arg-type]
        return result

    def recover(self, damaged: list[int] | None, cause: str) -> list[simpy.Event]:
        """Start the recovery of each damaged vehicle; returns the events the lead unit must wait for."""
        holds = [self.start_recovery(v, cause, damage=True) for v in damaged or ()]
        return [e for e in holds if e is not None]

    def start_recovery(self, v: int, cause: str, damage: bool = False) -> simpy.Event | None:
        """Start a vehicle's recovery; returns the event the lead unit must wait for, if it is in it.

        A vehicle of another march unit holds that unit instead (an interrupt carrying a `Hold`)."""
        plan = self.plan
        kind = plan.roster.kinds[plan.roster.kind[v]]
        repair = (kind.damage_repair_h if damage else kind.repair_h).draw(self.repair_numbers.next(v))
        released = self.env.event()
        unit = plan.roster.unit[v]
        self.env.process(self.recovery.recover(v, repair, cause, self.vehicle_km(v), released))
        if unit == 0:
            return released
        follower = self.followers[unit - 1]
        if follower.process.is_alive:
            follower.process.interrupt(Hold(released))
        if self.trace is not None:
            self.note(
                f"{plan.roster.units[unit].name}: vehicle {plan.roster.ids[v]} ({kind.name}) needs recovery; the unit "
                "waits for it"
            )
        return None

    def vehicle_km(self, v: int) -> float:
        """Road km of vehicle v now: its unit head's position less its place in the unit."""
        plan = self.plan
        unit = plan.roster.unit[v]
        head = self.km if unit == 0 else self.followers[unit - 1].at(self.env.now)
        return clamp(head - plan.roster.position[v] * plan.interval_km, plan.total_km)

    def casevac(self, wounded: int, number: Number) -> float:
        """Hours the column halts to evacuate its wounded: by air where and when a helicopter can come
        (`number`: the incident's own, for the evacuation's length)."""
        if wounded <= 0:
            return 0.0
        cv, now = self.plan.casevac, self.env.now
        for window in self.plan.casevac_air:
            if window.from_h <= now < window.until_h and self.km <= window.up_to_km:
                self.rec.casevacs_air += 1
                return cv.air_h.draw(number)
        self.rec.casevacs_ground += 1
        return cv.ground_h.draw(number)
