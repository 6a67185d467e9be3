"""The scenario file's schema as typed, validated objects.

Every number the model uses is a field here, with its unit in the name and its default (if any)
in this file only. Loading from YAML, with file:line errors, lives in `convoysim.scenario.loading`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timezone
from typing import Annotated, Any, Union

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, Tag, field_validator, model_validator

from convoysim.scenario.distributions import CountDistribution, Distribution, Fixed
from convoysim.geo import KM_PER_MILE
from convoysim.scenario.strictmodel import StrictModel, closest


def _date_is_midnight(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value


def _as_utc(value: datetime) -> datetime:
    """Times without a zone are read as UTC: Mali keeps UTC+0 all year."""
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

    @model_validator(mode="after")
    def _both_coordinates(self) -> "Waypoint":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class Route(StrictModel):
    winding_factor: Annotated[float, at_most(10.0, "a road ten times longer than the straight line between its ends is a typo")] = Field(default=1.0, ge=1.0)
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
            raise ValueError(f"road_km is given on some waypoints but not on {', '.join(missing)}; give it on all or none")
        if all(given):
            if wps[0].road_km != 0:
                raise ValueError(f"the first waypoint's road_km must be 0, got {wps[0].road_km}")
            for a, b in zip(wps, wps[1:]):
                if b.road_km <= a.road_km:  # type: ignore[operator]
                    raise ValueError(f"road_km must increase along the route: {a.name} {a.road_km} km, {b.name} {b.road_km} km")
        elif all(w.lat is not None for w in wps):
            from convoysim.geo import great_circle_km

            length = self.winding_factor * sum(great_circle_km(a.lat, a.lon, b.lat, b.lon) for a, b in zip(wps, wps[1:]))  # type: ignore[arg-type]
            if length > MAX_ROAD_KM:
                raise ValueError(f"the route is {length:,.0f} km long by its coordinates, above the limit of {MAX_ROAD_KM:,.0f} km")
            for end in (wps[0], wps[-1]):
                if end.lat is None:
                    raise ValueError(f"the route's end '{end.name}' needs lat and lon so that places between can be placed")
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


class Convoy(StrictModel):
    vehicles: Annotated[int, VEHICLES_LIMIT] = Field(gt=0)
    interval_m: Annotated[float, at_most(10_000.0, "vehicles 10 km apart are separate convoys")] = Field(default=50.0, ge=0.0)
    """Distance between consecutive vehicles; with the vehicle count it sets the column's length."""
    min_vehicles: int = Field(default=1, ge=0)
    """Below this many vehicles the column stops as combat-ineffective."""
    speed_kmh: Distribution
    """March speed of the column, drawn once per leg and multiplied by the leg's terrain factor."""
    march_windows: list[MarchWindow] = Field(default=[MarchWindow(from_h=0.0, to_h=24.0)], max_length=48)
    night: Night = Night()
    move_by_night: bool = True
    """When false, night hours are cut out of the march windows."""
    breakdowns: Breakdowns = Breakdowns()

    @model_validator(mode="after")
    def _sane(self) -> "Convoy":
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
            raise ValueError(f"{what} leave {march.hours_per_day * 60:.0f} minutes a day to move: the column could never arrive")
        return self


MIN_MARCH_H_PER_DAY = 0.25
"""Fewer moving hours a day than this (a quarter of an hour) is a mistake, not a march plan."""


class WaypointHalt(StrictModel):
    waypoint: str
    duration_h: Distribution
    reason: str = ""


class Hold(StrictModel):
    """The column waits at a waypoint until a date, e.g. for a political or logistic decision."""

    waypoint: str
    until: UtcDateTime
    reason: str = ""


class Halts(StrictModel):
    at_waypoints: list[WaypointHalt] = []
    """Short scheduled halts (rest, refuelling)."""
    pauses: list[WaypointHalt] = []
    """Operational pauses of days or weeks."""
    holds: list[Hold] = []


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
    delay_h: Distribution = Fixed(value=0.0)


class AmbushThreat(StrictModel):
    hazard_per_h: Annotated[float, at_most(100.0, "more than 100 ambushes an hour is continuous combat, not a march")] = Field(default=0.0, ge=0.0)
    """Ambushes per hour of movement on contested legs, times the leg's ambush_factor."""
    engagement_h: Distribution = Fixed(value=0.0)
    vehicles_lost: CountDistribution = Fixed(value=0.0)
    halt_prob: Probability = 0.0
    """Chance that the column must halt and regroup after the engagement."""
    regroup_h: Distribution = Fixed(value=0.0)


class Harassment(StrictModel):
    per_night: Annotated[float, at_most(1_000.0, "more than 1,000 attacks a night is a battle, not harassment")] = Field(default=0.0, ge=0.0)
    """Harassing attacks per night of halt on a contested leg (pro rata for part of a night)."""
    delay_h: Distribution = Fixed(value=0.0)
    vehicles_lost: CountDistribution = Fixed(value=0.0)


class Threats(StrictModel):
    ied: IedThreat = IedThreat()
    ambush: AmbushThreat = AmbushThreat()
    harassment: Harassment = Harassment()


class DroneBase(StrictModel):
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)
    radius_km: Annotated[float | None, at_most(20_037.0, "no point on Earth is farther away")] = Field(default=None, ge=0.0)
    radius_mi: Annotated[float | None, at_most(12_450.0, "no point on Earth is farther away")] = Field(default=None, ge=0.0)
    active_from: UtcDateTime | None = None
    active_until: UtcDateTime | None = None

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
    "ied_strikes", "ieds_found", "ambushes", "harassments", "harassed_nights", "breakdowns",
    "vehicles_lost", "lost_ied", "lost_ambush", "lost_breakdown", "lost_harassment",
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
    replications: Annotated[int, at_most(10_000_000, "ten million replications already pin percentiles far below a minute")] = Field(default=1000, gt=0)
    seed: Annotated[int, at_most(2**63 - 1, "seeds are 64-bit")] = Field(default=0, ge=0)


class Scenario(StrictModel):
    name: str = Field(min_length=1)
    description: str = ""
    start: UtcDateTime
    horizon_days: Annotated[float, at_most(3_650.0, "ten years is not a march")] = Field(gt=0.0)
    """Simulated time after which a column that has not arrived is recorded as not arrived."""
    route: Route
    convoy: Convoy
    halts: Halts = Halts()
    threats: Threats = Threats()
    drones: Drones = Drones()
    documented: list[Documented] = []
    montecarlo: MonteCarlo = MonteCarlo()

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
        from convoysim.scenario.paths import scenario_with_values

        return scenario_with_values(self, values)


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
                problems.append((("halts", kind, i, "waypoint"), f"'{halt.waypoint}' is the destination; a halt there never delays arrival"))
    for i, hold in enumerate(scenario.halts.holds):
        if hold.until <= scenario.start:
            problems.append((("halts", "holds", i, "until"), "the hold ends before the scenario starts"))
    for i, entry in enumerate(scenario.documented):
        if isinstance(entry, DocumentedCount):
            problems.extend(_count_problems(i, entry, names, unknown))
            continue
        milestone = entry
        if milestone.waypoint not in names:
            problems.append((("documented", i, "waypoint"), unknown(milestone.waypoint)))
        elif milestone.waypoint == names[0]:
            problems.append((("documented", i, "waypoint"), "the first waypoint is the start; it has no arrival to compare"))
    return problems


def _count_problems(i: int, entry: DocumentedCount, names: list[str], unknown: Any) -> list[tuple[tuple[Any, ...], str]]:
    """A count window's places must be on the route, in the order of the route."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    for key in ("from_place", "to_place"):
        place = getattr(entry, key)
        if place is not None and place not in names:
            problems.append((("documented", i, key), unknown(place)))
    if not problems and entry.from_place and entry.to_place and names.index(entry.to_place) <= names.index(entry.from_place):
        problems.append((("documented", i, "to_place"), f"'{entry.to_place}' is not after '{entry.from_place}' on the route"))
    return problems
