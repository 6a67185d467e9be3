"""The scenario file's schema as typed, validated objects.

Every number the model uses is a field here, with its unit in the name and its default (if any)
in this file only. Loading from YAML, with file:line errors, lives in `convoysim.scenario.loading`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from convoysim.geo import KM_PER_MILE
from convoysim.scenario.distributions import CountDistribution, Distribution, Fixed
from convoysim.scenario.errors import ScenarioError, field_path, first_problem
from convoysim.scenario.pathtree import full_tree
from convoysim.scenario.pathtree import with_values as set_paths
from convoysim.scenario.strictmodel import StrictModel, closest


def _date_is_midnight(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value


EARLIEST_YEAR, LATEST_YEAR = 1900, 2199
MAX_HORIZON_DAYS = 3_650.0
"""Dates a scenario may give: a year outside these is a typo, and one near 9999 cannot have the
horizon (or a documented window's hours) added to it."""


def _as_utc(value: datetime) -> datetime:
    """Times without a zone are read as UTC: Mali keeps UTC+0 all year."""
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"the year {value.year} is outside {EARLIEST_YEAR} to {LATEST_YEAR}")
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def at_most(limit: float, reason: str) -> AfterValidator:
    """An upper bound that says why: numbers that drive work or memory stop at what is meaningful."""

    def check(value: Any) -> Any:
        if value is not None and value > limit:
            raise ValueError(f"{value:g} is above the limit of {limit:g}: {reason}")
        return value

    return AfterValidator(check)


MAX_ROAD_KM = 20_000.0
ROAD_KM_LIMIT = at_most(MAX_ROAD_KM, "longer than any road march (half the Earth's circumference is 20,037 km)")
MAX_VEHICLES = 10_000
VEHICLES_LIMIT = at_most(MAX_VEHICLES, "more vehicles than any road convoy (a whole division moves about 3,000)")
PER_100KM_LIMIT = at_most(1_000.0, "ten IEDs on every kilometre is a minefield, not a route")
MAX_WAYPOINTS = 1_000

UtcDateTime = Annotated[datetime, BeforeValidator(_date_is_midnight), AfterValidator(_as_utc)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
HourOfDay = Annotated[float, Field(ge=0.0, le=24.0)]


class Waypoint(StrictModel):
    """A named place on the route, and the leg that arrives at it from the previous waypoint."""

    name: str = Field(min_length=1)
    lat: float | None = Field(default=None, ge=-90.0, le=90.0)
    lon: float | None = Field(default=None, ge=-180.0, le=180.0)
    road_km: Annotated[float | None, ROAD_KM_LIMIT] = Field(default=None, ge=0.0)
    """Road distance from the first waypoint; omit on every waypoint to derive it from coordinates."""
    terrain_factor: float = Field(default=1.0, gt=0.0)
    """Multiplies the march speed on the leg arriving here."""
    contested: bool = False
    """Whether ambushes, harassment and the contested IED density apply on the leg arriving here."""
    ied_factor: float = Field(default=1.0, ge=0.0)
    ambush_factor: float = Field(default=1.0, ge=0.0)
    clearance_km_per_day: float | None = Field(default=None, gt=0.0, le=10_000.0)
    """Route clearance sets the pace on the leg arriving here: the column moves no faster than the
    road is opened, this many km per day of its march windows (a cap on its speed, not a factor).
    Omit for no such pace."""
    road: str | None = None
    """The theatre's road class of the leg arriving here (only with a theatre; it sets terrain_factor)."""
    threat: str | None = None
    """The theatre's threat level of the leg arriving here (only with a theatre; it sets contested,
    ied_factor, ambush_factor and the scenario's threat rates; see convoysim.scenario.theatre)."""

    @model_validator(mode="after")
    def _both_coordinates(self) -> "Waypoint":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class Route(StrictModel):
    winding_factor: Annotated[
        float, at_most(10.0, "a road ten times longer than the straight line between its ends is a typo")
    ] = Field(default=1.0, ge=1.0)
    """Road distance over great-circle distance; used only where road_km is omitted."""
    waypoints: list[Waypoint] = Field(max_length=MAX_WAYPOINTS)

    @model_validator(mode="after")
    def _consistent(self) -> "Route":
        wps = self.waypoints
        if len(wps) < 2:
            raise ValueError(f"a route needs at least two waypoints, got {len(wps)}")
        names = [w.name for w in wps]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"waypoint name '{name}' is used twice; names must be unique")
        given = [w.road_km is not None for w in wps]
        if any(given) and not all(given):
            missing = [w.name for w in wps if w.road_km is None]
            raise ValueError(
                f"road_km is given on some waypoints but not on {', '.join(missing)}; give it on all or none"
            )
        if all(given):
            if wps[0].road_km != 0:
                raise ValueError(f"the first waypoint's road_km must be 0, got {wps[0].road_km}")
            for a, b in zip(wps, wps[1:]):
                if b.road_km <= a.road_km:  # type: ignore[operator]
                    raise ValueError(
                        f"road_km must increase along the route: {a.name} {a.road_km} km, {b.name} {b.road_km} km"
                    )
        elif all(w.lat is not None for w in wps):
            from convoysim.geo import great_circle_km

            length = self.winding_factor * sum(
                great_circle_km(a.lat, a.lon, b.lat, b.lon) for a, b in zip(wps, wps[1:])
            )  # type: ignore[arg-type]
            if length > MAX_ROAD_KM:
                raise ValueError(
                    f"the route is {length:,.0f} km long by its coordinates, above the limit of {MAX_ROAD_KM:,.0f} km"
                )
            for end in (wps[0], wps[-1]):
                if end.lat is None:
                    raise ValueError(
                        f"the route's end '{end.name}' needs lat and lon so that places between can be placed"
                    )
        else:
            for w in wps:
                if w.lat is None:
                    raise ValueError(f"waypoint '{w.name}' needs lat and lon when road_km is not given")
        return self


class MarchWindow(StrictModel):
    """Hours of the day (UTC) during which the column may move; may wrap past midnight."""

    from_h: HourOfDay
    to_h: HourOfDay


class Night(StrictModel):
    """Hours of darkness (UTC); wraps past midnight."""

    from_h: HourOfDay = 18.0
    to_h: HourOfDay = 6.0


class Breakdowns(StrictModel):
    mean_km_between_failures: float | None = Field(default=None, ge=1.0)
    """Per vehicle; omit for no breakdowns."""
    repair_h: Distribution = Fixed(value=0.0)
    abandon_after_h: float = Field(default=float("inf"), ge=0.0, allow_inf_nan=True)
    """The column waits this long at most; a vehicle not repaired by then is abandoned."""


class IncidentEffect(StrictModel):
    """What a strike or an ambush does to one vehicle it hits; the rest of the probability is unharmed."""

    destroyed_prob: Probability = 1.0
    damaged_prob: Probability = 0.0
    """Damaged vehicles can be repaired, but need recovery first."""

    @model_validator(mode="after")
    def _at_most_one(self) -> "IncidentEffect":
        if self.destroyed_prob + self.damaged_prob > 1.0 + 1e-12:
            raise ValueError(
                f"destroyed_prob + damaged_prob is {self.destroyed_prob + self.damaged_prob}; it cannot exceed 1"
            )
        return self


class VehicleType(StrictModel):
    """A kind of vehicle in the column: who rides in it and how it fares."""

    name: str = Field(min_length=1)
    crew: int = Field(default=2, ge=0, le=100)
    passengers: int = Field(default=0, ge=0, le=100)
    ied: IncidentEffect = IncidentEffect()
    ambush: IncidentEffect = IncidentEffect()
    mean_km_between_failures: float | None = Field(default=None, ge=1.0)
    """Omit to use convoy.breakdowns.mean_km_between_failures."""
    repair_h: Distribution | None = None
    """Repair time after a breakdown; omit to use convoy.breakdowns.repair_h."""
    damage_repair_h: Distribution | None = None
    """Repair time of a vehicle damaged by an IED or an ambush; omit to use repair_h."""
    recovers: bool = False
    """Whether it is a recovery vehicle, able to tow or repair the others of its march unit."""


class MarchUnit(StrictModel):
    """A serial of the column, moving as one under its own commander."""

    name: str = Field(min_length=1)
    vehicles: dict[str, Annotated[int, Field(ge=0, le=1000)]]
    """Vehicles by type name."""
    departs_after_h: float = Field(default=0.0, ge=0.0, le=8760.0)
    """Extra time before this unit follows the one ahead, in hours: the head of a second group
    travelling apart (it keeps this much more behind, all the way)."""


class Recovery(StrictModel):
    section_vehicles: int = Field(default=0, ge=0, le=100)
    """Recovery vehicles of the column's own recovery section, shared by march units that have none."""
    after_limit: Literal["abandon", "leave_behind"] = "abandon"
    """When a repair is not done by breakdowns.abandon_after_h: abandon the vehicle, or leave it
    with its recovery team (the team stays busy) to rejoin once repaired."""


class RestHalts(StrictModel):
    """Short halts while marching: one after the first hour of each day's march, then one every few hours."""

    first_after_h: float = Field(default=1.0, gt=0.0, le=24.0)
    first_min: float = Field(default=15.0, ge=0.0, le=240.0)
    every_h: float = Field(default=2.0, gt=0.0, le=24.0)
    each_min: float = Field(default=10.0, ge=0.0, le=240.0)


class Convoy(StrictModel):
    kind: str | None = None
    """The theatre's kind of convoy (only with a theatre): its march discipline and incident handling."""
    vehicles: Annotated[int | None, VEHICLES_LIMIT] = Field(default=None, gt=0)
    """Vehicles at departure; may be omitted when march_units list them."""
    vehicle_types: list[VehicleType] = []
    """Omit for one default type (named 'vehicle') with the defaults below."""
    march_units: list[MarchUnit] = []
    """The column's serials, head first; omit to split `vehicles` of the first type into units of
    at most max_unit_vehicles."""
    max_unit_vehicles: int = Field(default=20, ge=1, le=1000)
    unit_gap_min: float = Field(default=2.0, ge=0.0, le=600.0)
    """Time gap between the tail of one march unit and the head of the next, in minutes."""
    catchup_speed_factor: float = Field(default=1.1, ge=1.0, le=3.0)
    """Catch-up speed over march speed, for a unit that has fallen behind its gap."""
    ied_target: Literal["lead", "random", "front"] = "random"
    """Which vehicle an IED strikes: the first vehicle, any vehicle alike, or weighted to the front
    (weight falling linearly from the first vehicle to the last)."""
    recovery: Recovery = Recovery()
    rest_halts: RestHalts | None = None
    """Omit for none; `{}` gives the doctrinal 15 min after the first hour, then 10 min every 2 h."""
    interval_m: Annotated[float, at_most(10_000.0, "vehicles 10 km apart are separate convoys")] = Field(
        default=50.0, ge=0.0
    )
    """Distance between consecutive vehicles; with the vehicle count it sets the column's length."""
    min_vehicles: int = Field(default=1, ge=0)
    """Below this many vehicles the column stops as combat-ineffective."""
    speed_kmh: Distribution
    """March speed of the column, drawn once per leg and multiplied by the leg's terrain factor."""
    march_windows: list[MarchWindow] = Field(default=[MarchWindow(from_h=0.0, to_h=24.0)], max_length=48)
    night: Night = Night()
    move_by_night: bool = True
    """When false, night hours are cut out of the march windows."""
    every_unit_keeps_window: bool = False
    """When true, every march unit stops where it is when the march window closes (a night laager
    for each) and moves on when it opens; when false, only the head does and the units behind close
    up on it."""
    breakdowns: Breakdowns = Breakdowns()

    @model_validator(mode="after")
    def _sane(self) -> "Convoy":
        names = [t.name for t in self.vehicle_types] or ["vehicle"]
        if len(set(names)) < len(names):
            raise ValueError("vehicle type names must be unique")
        if self.march_units:
            for unit in self.march_units:
                for name in unit.vehicles:
                    if name not in names:
                        raise ValueError(
                            f"march unit '{unit.name}' lists unknown vehicle type '{name}' (types: {', '.join(names)})"
                        )
                if sum(unit.vehicles.values()) == 0:
                    raise ValueError(f"march unit '{unit.name}' has no vehicles")
            listed = sum(sum(u.vehicles.values()) for u in self.march_units)
            if self.vehicles is None:
                object.__setattr__(self, "vehicles", listed)
            elif self.vehicles != listed:
                raise ValueError(
                    f"vehicles is {self.vehicles} but the march units list {listed}; "
                    "list the units anew, or set march_units: null to split the vehicles evenly"
                )
        elif self.vehicles is None:
            raise ValueError("give vehicles, or march_units listing them")
        if self.min_vehicles > self.vehicles:
            raise ValueError(f"min_vehicles ({self.min_vehicles}) exceeds vehicles ({self.vehicles})")
        if self.speed_kmh.lowest() <= 0.0 and getattr(self.speed_kmh, "dist", "") in ("fixed", "uniform", "triangular"):
            raise ValueError("speed_kmh must be strictly positive: a column at 0 km/h never arrives")
        if not self.march_windows:
            raise ValueError("march_windows is empty: the column could never move")
        from convoysim.timewindows import DailyHours

        march = DailyHours([(w.from_h, w.to_h) for w in self.march_windows], 0.0)
        if not self.move_by_night:
            march = march.minus(DailyHours([(self.night.from_h, self.night.to_h)], 0.0))
        if march.hours_per_day < MIN_MARCH_H_PER_DAY:
            what = "the march windows" + ("" if self.move_by_night else " without the night (move_by_night is false)")
            raise ValueError(
                f"{what} leave {march.hours_per_day * 60:.0f} minutes a day to move: the column could never arrive"
            )
        return self


MIN_MARCH_H_PER_DAY = 0.25
"""Fewer moving hours a day than this (a quarter of an hour) is a mistake, not a march plan."""


class WaypointHalt(StrictModel):
    waypoint: str
    duration_h: Distribution
    reason: str = ""


def exactly_one(model: Any, first: str, second: str) -> Any:
    """Refuse a model that sets both or neither of two alternative fields (named by their first word)."""
    if (getattr(model, first.split()[0]) is None) == (getattr(model, second.split()[0]) is None):
        raise ValueError(f"give exactly one of {first} and {second}")
    return model


class Hold(StrictModel):
    """The column waits at a waypoint until a date, or until an external event plus a delay."""

    waypoint: str
    until: UtcDateTime | None = None
    after: str | None = None
    """Name of an entry of `events`; the hold ends `delay_h` after it."""
    delay_h: Distribution = Fixed(value=0.0)
    reason: str = ""

    @model_validator(mode="after")
    def _one_end(self) -> "Hold":
        return exactly_one(self, "until (a date)", "after (an event)")


class ExternalEvent(StrictModel):
    """Something outside the column whose date is uncertain: not_before plus a random delay,
    or another event plus a random delay."""

    not_before: UtcDateTime | None = None
    after: str | None = None
    delay_days: Distribution = Fixed(value=0.0)

    @model_validator(mode="after")
    def _one_anchor(self) -> "ExternalEvent":
        return exactly_one(self, "not_before (a date)", "after (another event)")


class Halts(StrictModel):
    at_waypoints: list[WaypointHalt] = []
    """Short scheduled halts (rest, refuelling)."""
    pauses: list[WaypointHalt] = []
    """Operational pauses of days or weeks."""
    holds: list[Hold] = []


class ThreatPeriod(StrictModel):
    """A period in which a threat is `factor` times its usual level (overlapping periods multiply)."""

    from_date: UtcDateTime | None = None
    until_date: UtcDateTime | None = None
    factor: float = Field(ge=0.0, le=1000.0)

    @model_validator(mode="after")
    def _ordered(self) -> "ThreatPeriod":
        if self.from_date and self.until_date and self.until_date <= self.from_date:
            raise ValueError("until_date must be after from_date")
        return self


class IedThreat(StrictModel):
    per_100km: Annotated[float, PER_100KM_LIMIT] = Field(default=0.0, ge=0.0)
    """IEDs laid per 100 km of contested leg, times the leg's ied_factor."""
    uncontested_per_100km: Annotated[float, PER_100KM_LIMIT] = Field(default=0.0, ge=0.0)
    detection_prob: Probability = 0.0
    """Chance that route clearance finds an IED before it strikes."""
    clearance_speed_factor: float = Field(default=1.0, gt=0.0)
    """Multiplies the march speed on contested legs, where clearance teams lead."""
    clearance_delay_h: Distribution = Fixed(value=0.0)
    """Time to neutralise an IED that was found."""
    vehicles_destroyed: CountDistribution = Fixed(value=1.0)
    """Vehicles struck per strike (the target and those behind it); each is then destroyed,
    damaged or unharmed as its type says (the default type: destroyed)."""
    delay_h: Distribution = Fixed(value=0.0)
    wounded_per_vehicle_hit: CountDistribution = Fixed(value=0.0)
    killed_per_vehicle_hit: CountDistribution = Fixed(value=0.0)
    schedule: list[ThreatPeriod] = []
    """Periods in which IEDs are denser or sparser, by the date the column meets them."""


class AmbushThreat(StrictModel):
    hazard_per_h: Annotated[
        float, at_most(100.0, "more than 100 ambushes an hour is continuous combat, not a march")
    ] = Field(default=0.0, ge=0.0)
    """Ambushes per hour of movement on contested legs, times the leg's ambush_factor."""
    engagement_h: Distribution = Fixed(value=0.0)
    vehicles_lost: CountDistribution = Fixed(value=0.0)
    halt_prob: Probability = 0.0
    """Chance that the column must halt and regroup after the engagement."""
    regroup_h: Distribution = Fixed(value=0.0)
    kill_zone_m: float | None = Field(default=None, gt=0.0, le=50000.0)
    """Length of road the ambush engages; the vehicles inside it are hit, each as its type says.
    Omit to lose `vehicles_lost` vehicles drawn at random instead."""
    wounded_per_vehicle_hit: CountDistribution = Fixed(value=0.0)
    killed_per_vehicle_hit: CountDistribution = Fixed(value=0.0)
    schedule: list[ThreatPeriod] = []
    """Periods in which the ambush hazard is higher or lower."""


class DefendedPosition(StrictModel):
    """A line the opponent holds across the road: breached in a fight, or bypassed by a detour."""

    name: str = Field(min_length=1)
    road_km: float = Field(ge=0.0)
    """Where on the road, from the first waypoint."""
    held_from: UtcDateTime | None = None
    held_until: UtcDateTime | None = None
    """When the line is held; a column passing outside these dates passes freely."""
    bypass_prob: Probability = 0.0
    bypass_km: float = Field(default=0.0, ge=0.0, le=1000.0)
    """Extra road the detour adds, driven at march speed."""
    bypass_h: Distribution = Fixed(value=0.0)
    """Extra time the detour costs beyond driving it (finding the way, crossing wadis)."""
    breach_h: Distribution = Fixed(value=0.0)
    """Length of the fight to breach the line."""
    vehicles_hit: CountDistribution = Fixed(value=0.0)
    """Vehicles at the head of the column hit in the breach, each as its type says for an ambush."""
    wounded_per_vehicle_hit: CountDistribution = Fixed(value=0.0)
    killed_per_vehicle_hit: CountDistribution = Fixed(value=0.0)


class Harassment(StrictModel):
    per_night: Annotated[float, at_most(1_000.0, "more than 1,000 attacks a night is a battle, not harassment")] = (
        Field(default=0.0, ge=0.0)
    )
    """Harassing attacks per night of halt on a contested leg (pro rata for part of a night)."""
    delay_h: Distribution = Fixed(value=0.0)
    vehicles_lost: CountDistribution = Fixed(value=0.0)


class AirEvacuation(StrictModel):
    """When and where a helicopter can evacuate casualties."""

    from_date: UtcDateTime | None = None
    until_date: UtcDateTime | None = None
    up_to_km: float = Field(default=float("inf"), ge=0.0, allow_inf_nan=True)
    """Road km from the start up to which the helicopter reaches."""


class Casevac(StrictModel):
    """The column's halt to evacuate its wounded after a strike or an ambush."""

    ground_h: Distribution = Fixed(value=0.0)
    air_h: Distribution = Fixed(value=0.0)
    air: list[AirEvacuation] = []


class Threats(StrictModel):
    ied: IedThreat = IedThreat()
    ambush: AmbushThreat = AmbushThreat()
    harassment: Harassment = Harassment()
    positions: list[DefendedPosition] = []


class DroneFleet(StrictModel):
    """The airframes of a base, each flying sorties to the column (see convoysim.model.drones)."""

    airframes: int = Field(default=1, ge=1, le=100)
    cruise_kmh: float | None = Field(default=None, gt=0.0, le=2000.0)
    """Transit speed to and from the column; omit for no transit (the drone is there at once)."""
    endurance_h: float | None = Field(default=None, gt=0.0, le=1000.0)
    """Flight time per sortie, transits included; omit for unlimited."""
    turnaround_h: float = Field(default=0.0, ge=0.0, le=240.0)
    """Time on the ground between two sorties of one airframe."""
    unflyable_day_prob: Probability = 0.0
    """Chance that a day (UTC) is unflyable at the base (weather, runway, orders)."""
    airframe_down_prob: Probability = 0.0
    """Chance that an airframe is unserviceable for a given day."""
    call_on_ambush: bool = True
    """Whether an ambush outside cover gets the drone factors once a drone already on its way arrives."""


class DroneBase(StrictModel):
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)
    radius_km: Annotated[float | None, at_most(20_037.0, "no point on Earth is farther away")] = Field(
        default=None, ge=0.0
    )
    radius_mi: Annotated[float | None, at_most(12_450.0, "no point on Earth is farther away")] = Field(
        default=None, ge=0.0
    )
    active_from: UtcDateTime | None = None
    active_until: UtcDateTime | None = None
    fleet: DroneFleet | None = None
    """Omit for a fixed coverage ring (cover whenever the column is inside it and the base active);
    beside bases with fleets, a ring flies as the limiting case (one airframe, no transit, no limit)."""

    @model_validator(mode="after")
    def _one_radius(self) -> "DroneBase":
        if (self.radius_km is None) == (self.radius_mi is None):
            raise ValueError("give exactly one of radius_km and radius_mi")
        if self.active_from and self.active_until and self.active_until <= self.active_from:
            raise ValueError("active_until must be after active_from")
        return self

    @property
    def coverage_radius_km(self) -> float:
        return self.radius_km if self.radius_km is not None else self.radius_mi * KM_PER_MILE  # type: ignore[operator]


class Drones(StrictModel):
    hazard_factor: float = Field(default=1.0, ge=0.0)
    """Multiplies the ambush hazard while the column head is inside an active coverage ring."""
    engagement_factor: float = Field(default=1.0, ge=0.0)
    """Multiplies engagement durations inside an active coverage ring."""
    bases: dict[str, DroneBase] = {}


class Milestone(StrictModel):
    """A documented arrival, as a window because reports are imprecise and sometimes conflict."""

    waypoint: str
    earliest: UtcDateTime
    latest: UtcDateTime
    note: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> "Milestone":
        if self.latest < self.earliest:
            raise ValueError("latest is before earliest")
        return self


COUNT_KINDS = (
    "ied_strikes",
    "ieds_found",
    "ambushes",
    "harassments",
    "harassed_nights",
    "breakdowns",
    "vehicles_lost",
    "lost_ied",
    "lost_ambush",
    "lost_breakdown",
    "lost_harassment",
    "wounded",
    "killed",
)
"""What a documented count may count; `convoysim.runs.counts` reads each from a replication's record."""


class DocumentedCount(StrictModel):
    """A documented number of events (IED strikes, vehicles lost by cause, ...) as a window, over the
    whole march or over a stretch of it (between two places and/or two dates)."""

    count: str
    """One of COUNT_KINDS."""
    low: int = Field(ge=0)
    high: int = Field(ge=0)
    from_place: str | None = None
    """Count only what happens at or beyond this waypoint's road km (default: the start)."""
    to_place: str | None = None
    """... and before this waypoint's road km (default: the end of the road)."""
    from_time: UtcDateTime | None = None
    to_time: UtcDateTime | None = None
    note: str = ""
    source: str = ""
    """Where the figure comes from: `ref: ...` (the reference facts) or `planning: <topic>`."""

    @field_validator("count")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in COUNT_KINDS:
            guess = closest(value, list(COUNT_KINDS))
            hint = f"did you mean '{guess}'?" if guess else f"use one of {', '.join(COUNT_KINDS)}"
            raise ValueError(f"unknown count kind '{value}'; {hint}")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> "DocumentedCount":
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) is below low ({self.low})")
        if self.from_time and self.to_time and self.to_time <= self.from_time:
            raise ValueError("to_time must be after from_time")
        return self


def _documented_kind(value: Any) -> str:
    """A `documented:` entry with a `count` key is a count window; any other is an arrival window.
    (The tags contain a space so they can never be mistaken for a key of the data in error paths.)"""
    if isinstance(value, dict):
        return "count window" if "count" in value else "date window"
    return "count window" if isinstance(value, DocumentedCount) else "date window"


Documented = Annotated[
    Union[Annotated[Milestone, Tag("date window")], Annotated[DocumentedCount, Tag("count window")]],
    Discriminator(_documented_kind),
]


class MonteCarlo(StrictModel):
    replications: Annotated[
        int, at_most(10_000_000, "ten million replications already pin percentiles far below a minute")
    ] = Field(default=1000, gt=0)
    seed: Annotated[int, at_most(2**63 - 1, "seeds are 64-bit")] = Field(default=0, ge=0)


class Scenario(StrictModel):
    name: str = Field(min_length=1)
    description: str = ""
    start: UtcDateTime
    horizon_days: Annotated[float, at_most(MAX_HORIZON_DAYS, "ten years is not a march")] = Field(gt=0.0)
    """Simulated time after which a column that has not arrived is recorded as not arrived."""
    route: Route
    convoy: Convoy
    halts: Halts = Halts()
    threats: Threats = Threats()
    drones: Drones = Drones()
    events: dict[str, ExternalEvent] = {}
    casevac: Casevac = Casevac()
    documented: list[Documented] = []
    montecarlo: MonteCarlo = MonteCarlo()
    theatre: dict[str, Any] | None = None
    """The theatre the scenario was resolved on (convoysim.scenario.theatre), every value shown, so that
    sweeps and calibrations reach them by path (`theatre.threats.high.ied_per_100km`)."""

    def hours(self, when: datetime) -> float:
        """Model clock: hours since the column's start."""
        return (when - self.start).total_seconds() / 3600.0

    @property
    def waypoint_names(self) -> list[str]:
        return [w.name for w in self.route.waypoints]

    @property
    def documented_dates(self) -> list[Milestone]:
        """The documented arrival windows, in the order written."""
        return [m for m in self.documented if isinstance(m, Milestone)]

    @property
    def documented_counts(self) -> list[DocumentedCount]:
        """The documented count windows, in the order written."""
        return [m for m in self.documented if isinstance(m, DocumentedCount)]

    def with_values(self, values: Mapping[str, Any]) -> "Scenario":
        """A validated copy with parameters set by path (`{"convoy.vehicles": 60}`).

        Raises the CLI's errors: ParameterPathError for a wrong path (with the closest valid one),
        ScenarioError naming the field and reason for a value the schema refuses.
        """
        theatre = next((path for path in values if path.split(".")[0] == "theatre"), None)
        if theatre is not None and self.theatre is not None:
            raise ScenarioError(
                f"{self.name} (with_values)",
                "a theatre value reaches a scenario when it is loaded from its "
                "file: use apply_values(read_source(FILE), {...}) (convoysim.scenario.paths), as sweeps and "
                "calibrations do",
                theatre,
            )
        full = full_tree(self)
        data = set_paths(full, full, values)
        return validated(data, lambda loc: (f"{self.name} (with_values)", field_path(data, loc)[1], None))


def validated(data: Mapping[str, Any], where: Callable[[tuple[Any, ...]], tuple[str, str, int | None]]) -> Scenario:
    """Data validated into a Scenario, cross-field references included.

    The first problem is raised as a ScenarioError placed by `where(location)` -> (file, field
    path, line): the loader points it at the line of the file it came from, `with_values` (which has
    no file) names the scenario and the field.
    """
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        loc, reason = first_problem(err)
    else:
        problems = reference_problems(scenario)
        if not problems:
            return scenario
        loc, reason = problems[0]
    file, path, line = where(loc)
    raise ScenarioError(file, reason, path=path, line=line)


def reference_problems(scenario: Scenario) -> list[tuple[tuple[Any, ...], str]]:
    """Cross-field mistakes the field types cannot see: (field path, reason) pairs."""
    names = scenario.waypoint_names
    problems: list[tuple[tuple[Any, ...], str]] = []

    def unknown(name: str) -> str:
        guess = closest(name, names)
        hint = f" (did you mean '{guess}'?)" if guess else f" (waypoints: {', '.join(names)})"
        return f"unknown waypoint '{name}'{hint}"

    for kind in ("at_waypoints", "pauses", "holds"):
        for i, halt in enumerate(getattr(scenario.halts, kind)):
            if halt.waypoint not in names:
                problems.append((("halts", kind, i, "waypoint"), unknown(halt.waypoint)))
            elif halt.waypoint == names[-1]:
                problems.append(
                    (
                        ("halts", kind, i, "waypoint"),
                        f"'{halt.waypoint}' is the destination; a halt there never delays arrival",
                    )
                )
    for i, hold in enumerate(scenario.halts.holds):
        if hold.until is not None and hold.until <= scenario.start:
            problems.append((("halts", "holds", i, "until"), "the hold ends before the scenario starts"))
        if hold.after is not None and hold.after not in scenario.events:
            problems.append(
                (
                    ("halts", "holds", i, "after"),
                    f"unknown event '{hold.after}' (events: {', '.join(scenario.events) or 'none'})",
                )
            )
    for name, event in scenario.events.items():
        seen = {name}
        follow = event.after
        while follow is not None:
            if follow not in scenario.events:
                problems.append((("events", name, "after"), f"unknown event '{follow}'"))
                break
            if follow in seen:
                problems.append((("events", name, "after"), f"events wait on each other in a loop through '{follow}'"))
                break
            seen.add(follow)
            follow = scenario.events[follow].after
    total = scenario.route.waypoints[-1].road_km
    for i, position in enumerate(scenario.threats.positions):
        if total is not None and position.road_km >= total:
            problems.append(
                (
                    ("threats", "positions", i, "road_km"),
                    f"{position.road_km} km is not before the destination ({total} km)",
                )
            )
    for i, entry in enumerate(scenario.documented):
        if isinstance(entry, DocumentedCount):
            problems.extend(_count_problems(i, entry, names, unknown))
            continue
        milestone = entry
        if milestone.waypoint not in names:
            problems.append((("documented", i, "waypoint"), unknown(milestone.waypoint)))
        elif milestone.waypoint == names[0]:
            problems.append(
                (("documented", i, "waypoint"), "the first waypoint is the start; it has no arrival to compare")
            )
    return problems


def _count_problems(
    i: int, entry: DocumentedCount, names: list[str], unknown: Any
) -> list[tuple[tuple[Any, ...], str]]:
    """A count window's places must be on the route, in the order of the route."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    for key in ("from_place", "to_place"):
        place = getattr(entry, key)
        if place is not None and place not in names:
            problems.append((("documented", i, key), unknown(place)))
    if (
        not problems
        and entry.from_place
        and entry.to_place
        and names.index(entry.to_place) <= names.index(entry.from_place)
    ):
        problems.append(
            (("documented", i, "to_place"), f"'{entry.to_place}' is not after '{entry.from_place}' on the route")
        )
    return problems
