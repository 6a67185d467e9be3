"""A theatre: what many convoys of one region share, resolved into each convoy's scenario at load time.

A theatre file names road classes (speed, breakdowns), threat levels (IEDs, detection, ambushes,
harassment, route clearance), kinds of convoy (march discipline, incident handling), a vehicle
catalogue, the effects of strikes and ambushes, and air cover. A convoy scenario says
`theatre: theatres/sahel.yaml`, its convoy's `kind:`, and each leg's `road:` and `threat:`; the
resolution below turns those names into the model's existing parameters, so the model knows
nothing of theatres. Anything the scenario states itself wins over the theatre (say why in a
comment); a leg's own `terrain_factor`, `ied_factor` and `ambush_factor` multiply its level's. A leg
written without `road` and `threat` keeps its own factors, as without a theatre (the start's names,
if a reversed route carries them, are ignored: no leg arrives there).

How names become model parameters (`resolve_theatre`):
- a leg's speed factor is its road's `speed_factor` times, on contested legs when the kind clears
  the route, its level's clearance factor over the scenario's reference level's;
- on contested legs where the kind clears the route, a level's `clearance_km_per_day` becomes the
  leg's pace (`clearance_km_per_day`, a cap on the column's speed);
- the kind's `every_unit_keeps_window` says whether every march unit laagers at dusk;
- the scenario-wide IED density, ambush hazard, harassment, detection and clearance factor are
  those of the **reference level**: the highest contested level on the route (by IED density,
  then ambush hazard); the other contested legs carry their level's ratio to it as `ied_factor`
  and `ambush_factor`, and uncontested legs likewise against the highest uncontested level. A route
  with one contested level (most) thus reads as before: `threats.ied.per_100km` is its density.
  The model applies one detection probability and one harassment rate to every contested leg: a
  route mixing contested levels takes them from the reference level.
- breakdowns: the kind's distance between failures over the route's length-weighted
  `breakdown_factor` (the expected number over the march is the road classes'; where they happen
  is spread evenly);
- vehicle types: the catalogue's entries that the march units name, in catalogue order (a type's own
  distance between failures is weighted by the roads as the kind's is).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from convoysim.scenario.distributions import CountDistribution, Distribution, Fixed
from convoysim.scenario.schema import Breakdowns, MarchWindow, Night, Probability, Recovery, RestHalts, VehicleType
from convoysim.scenario.strictmodel import StrictModel, closest

THEATRES_FOLDER = "theatres"
"""Folder of the shipped theatre files, inside the shipped scenarios folder."""


class RoadClass(StrictModel):
    """A kind of road: how fast a column moves on it relative to a desert track, and how hard it is on vehicles."""

    speed_factor: float = Field(gt=0.0, le=20.0)
    """Multiplies the convoy kind's march speed (which is for a track: factor 1)."""
    breakdown_factor: float = Field(default=1.0, ge=0.0, le=100.0)
    """Multiplies the rate of breakdowns per vehicle-km."""
    note: str = ""


class ThreatLevel(StrictModel):
    """What the enemy does on a leg: IEDs, ambushes, night harassment, and how route clearance fares."""

    contested: bool
    """Whether the model's contested-leg processes (ambush, harassment, route clearance) apply."""
    ied_per_100km: float = Field(default=0.0, ge=0.0, le=1000.0)
    detection_prob: Probability = 0.0
    """Chance that route clearance leading the column finds an IED before it strikes."""
    detection_prob_no_clearance: Probability = 0.0
    """The same for a column with no route clearance at its head (its escort's eyes only)."""
    clearance_speed_factor: float = Field(default=1.0, gt=0.0, le=1.0)
    """Multiplies the march speed on this level's contested legs when route clearance leads."""
    clearance_km_per_day: float | None = Field(default=None, gt=0.0, le=10_000.0)
    """When route clearance leads, the pace at which it opens this level's contested legs (km per
    day of march windows): a cap on the column's speed there. Omit for no such pace."""
    ambush_per_h: float = Field(default=0.0, ge=0.0, le=100.0)
    """Ambushes per hour of movement (contested legs only)."""
    harassment_per_night: float = Field(default=0.0, ge=0.0, le=1000.0)
    note: str = ""


class ConvoyKind(StrictModel):
    """A kind of convoy and its march discipline: when it drives, how it halts, how it handles incidents."""

    speed_kmh: Distribution
    """March speed on a track (road speed_factor 1), drawn once per leg."""
    march_windows: list[MarchWindow] = Field(default=[MarchWindow(from_h=0.0, to_h=24.0)], max_length=48)
    night: Night = Night()
    move_by_night: bool = False
    every_unit_keeps_window: bool = False
    """Whether every march unit laagers where it is when the window closes (else only the head)."""
    rest_halts: RestHalts | None = None
    interval_m: float = Field(default=50.0, ge=0.0, le=10_000.0)
    unit_gap_min: float = Field(default=2.0, ge=0.0, le=600.0)
    catchup_speed_factor: float = Field(default=1.1, ge=1.0, le=3.0)
    ied_target: Literal["lead", "random", "front"] = "random"
    breakdowns: Breakdowns = Breakdowns()
    recovery: Recovery = Recovery()
    clears_route: bool = False
    """Whether route clearance leads (threat levels' detection_prob and clearance_speed_factor apply)."""
    ied_delay_h: Distribution = Fixed(value=0.0)
    """Halt after an IED strike, securing the site (evacuation is casevac)."""
    ambush_halt_prob: Probability = 0.0
    regroup_h: Distribution = Fixed(value=0.0)
    casevac_ground_h: Distribution = Fixed(value=0.0)
    note: str = ""


class IedEffects(StrictModel):
    vehicles_destroyed: CountDistribution = Fixed(value=1.0)
    clearance_delay_h: Distribution = Fixed(value=0.0)
    wounded_per_vehicle_hit: CountDistribution = Fixed(value=0.0)
    killed_per_vehicle_hit: CountDistribution = Fixed(value=0.0)


class AmbushEffects(StrictModel):
    engagement_h: Distribution = Fixed(value=0.0)
    vehicles_lost: CountDistribution = Fixed(value=0.0)
    kill_zone_m: float | None = Field(default=None, gt=0.0, le=50000.0)
    wounded_per_vehicle_hit: CountDistribution = Fixed(value=0.0)
    killed_per_vehicle_hit: CountDistribution = Fixed(value=0.0)


class HarassmentEffects(StrictModel):
    delay_h: Distribution = Fixed(value=0.0)
    vehicles_lost: CountDistribution = Fixed(value=0.0)


class Effects(StrictModel):
    """What a strike, an ambush or a night's harassment does, whoever the convoy."""

    ied: IedEffects = IedEffects()
    ambush: AmbushEffects = AmbushEffects()
    harassment: HarassmentEffects = HarassmentEffects()


class AirCover(StrictModel):
    """What armed drones overhead and helicopters do; where the bases are is each scenario's fact."""

    drone_hazard_factor: float = Field(default=1.0, ge=0.0)
    drone_engagement_factor: float = Field(default=1.0, ge=0.0)
    casevac_air_h: Distribution = Fixed(value=0.0)


class Theatre(StrictModel):
    name: str = Field(min_length=1)
    description: str = ""
    roads: dict[str, RoadClass] = Field(min_length=1)
    threats: dict[str, ThreatLevel] = Field(min_length=1)
    kinds: dict[str, ConvoyKind] = Field(min_length=1)
    vehicles: list[VehicleType] = []
    effects: Effects = Effects()
    air: AirCover = AirCover()


class TheatreProblem(ValueError):
    """A scenario that names the theatre wrongly: where in the merged data (loc) and why."""

    def __init__(self, loc: tuple[Any, ...], reason: str):
        self.loc, self.reason = loc, reason
        super().__init__(reason)


def _pick(table: dict[str, Any], name: Any, what: str, loc: tuple[Any, ...]) -> Any:
    if not isinstance(name, str) or name not in table:
        guess = closest(str(name), list(table))
        hint = f"did you mean '{guess}'?" if guess else f"the theatre has {', '.join(table)}"
        raise TheatreProblem(loc, f"unknown {what} '{name}' ({hint})")
    return table[name]


def _dump(model: Any) -> Any:
    return model.model_dump(mode="python", by_alias=True) if model is not None else None


def _ratio(level: float, reference: float) -> float:
    return level / reference if reference > 0.0 else 1.0


def uses_theatre_names(data: dict[str, Any]) -> tuple[Any, ...] | None:
    """Where a scenario without a theatre uses a theatre's names (kind, road, threat), if anywhere."""
    convoy = data.get("convoy")
    if isinstance(convoy, dict) and convoy.get("kind") is not None:
        return ("convoy", "kind")
    waypoints = (data.get("route") or {}).get("waypoints") if isinstance(data.get("route"), dict) else None
    for i, wp in enumerate(waypoints if isinstance(waypoints, list) else []):
        for key in ("road", "threat"):
            if isinstance(wp, dict) and wp.get(key) is not None:  # a resolved dump writes null
                return ("route", "waypoints", i, key)
    return None


def theatre_defaults(data: dict[str, Any], theatre: Theatre) -> tuple[dict[str, Any], list[Any]]:
    """What the theatre gives a scenario (a partial scenario mapping, which the scenario's own values
    then override) and the route's waypoints with each leg's road and threat turned into factors.

    `data` is the merged scenario; it is not changed. Raises TheatreProblem for a missing or
    unknown kind, road class or threat level.
    """
    convoy = data.get("convoy") if isinstance(data.get("convoy"), dict) else {}
    if convoy.get("kind") is None:
        raise TheatreProblem(
            ("convoy",),
            f"a scenario on a theatre names its convoy's kind (convoy.kind: one of {', '.join(theatre.kinds)})",
        )
    kind: ConvoyKind = _pick(theatre.kinds, convoy["kind"], "convoy kind", ("convoy", "kind"))
    route = data.get("route") if isinstance(data.get("route"), dict) else {}
    waypoints = route.get("waypoints") if isinstance(route.get("waypoints"), list) else []
    legs: list[tuple[RoadClass, ThreatLevel] | None] = []
    for i, wp in enumerate(waypoints):
        if not isinstance(wp, dict):
            legs.append(None)
            continue
        if i == 0 or (wp.get("road") is None and wp.get("threat") is None):
            legs.append(None)  # the start (no leg arrives there), or a leg written with its own factors
            continue
        for key, table in (("road", theatre.roads), ("threat", theatre.threats)):
            if wp.get(key) is None:
                raise TheatreProblem(
                    ("route", "waypoints", i),
                    f"the leg to '{wp.get('name', i)}' names a "
                    f"{'threat level' if key == 'road' else 'road class'} but no {key} "
                    f"({'road class' if key == 'road' else 'threat level'}: one of {', '.join(table)})",
                )
        legs.append(
            (
                _pick(theatre.roads, wp["road"], "road class", ("route", "waypoints", i, "road")),
                _pick(theatre.threats, wp["threat"], "threat level", ("route", "waypoints", i, "threat")),
            )
        )

    def contested(wp: dict[str, Any], level: ThreatLevel) -> bool:
        return wp.get("contested", level.contested) is True

    on_route = [(wp, leg) for wp, leg in zip(waypoints, legs) if leg is not None]
    hot = [level for wp, (_, level) in on_route if contested(wp, level)]
    cold = [level for wp, (_, level) in on_route if not contested(wp, level)]
    reference = max(hot, key=lambda lv: (lv.ied_per_100km, lv.ambush_per_h), default=ThreatLevel(contested=True))
    quiet = max(cold, key=lambda lv: lv.ied_per_100km, default=ThreatLevel(contested=False))

    resolved: list[Any] = []
    for wp, leg in zip(waypoints, legs):
        if leg is None:
            resolved.append(wp)
            continue
        road, level = leg
        out = dict(wp)
        speed = road.speed_factor
        if contested(wp, level):
            if kind.clears_route:
                speed *= _ratio(level.clearance_speed_factor, reference.clearance_speed_factor)
            ied = _ratio(level.ied_per_100km, reference.ied_per_100km)
            if kind.clears_route and level.clearance_km_per_day is not None and wp.get("clearance_km_per_day") is None:
                out["clearance_km_per_day"] = level.clearance_km_per_day
            out["ambush_factor"] = _times(_ratio(level.ambush_per_h, reference.ambush_per_h), wp, "ambush_factor")
        else:
            ied = _ratio(level.ied_per_100km, quiet.ied_per_100km)
        out["terrain_factor"] = _times(speed, wp, "terrain_factor")
        out["ied_factor"] = _times(ied, wp, "ied_factor")
        out["contested"] = wp.get("contested", level.contested)
        resolved.append(out)

    breakdowns = _dump(kind.breakdowns)
    lengths = _leg_lengths(waypoints)
    weighted = None
    if lengths and len(lengths) == len(on_route) and sum(lengths) > 0:
        weighted = sum(km * road.breakdown_factor for km, (_, (road, _)) in zip(lengths, on_route)) / sum(lengths)
    if breakdowns.get("mean_km_between_failures") and weighted is not None:
        breakdowns["mean_km_between_failures"] = (
            breakdowns["mean_km_between_failures"] / weighted if weighted > 0 else None
        )
    used = {
        name
        for unit in convoy.get("march_units") or []
        if isinstance(unit, dict)
        for name in (unit.get("vehicles") or {})
    }
    weighted_types = []
    for vehicle in theatre.vehicles:
        if vehicle.name in used:
            dumped = _dump(vehicle)
            if dumped.get("mean_km_between_failures") and weighted is not None and weighted > 0:
                dumped["mean_km_between_failures"] = dumped["mean_km_between_failures"] / weighted
            weighted_types.append(dumped)
    effects, air = theatre.effects, theatre.air
    defaults: dict[str, Any] = {
        "convoy": {
            "speed_kmh": _dump(kind.speed_kmh),
            "march_windows": [_dump(w) for w in kind.march_windows],
            "night": _dump(kind.night),
            "move_by_night": kind.move_by_night,
            "every_unit_keeps_window": kind.every_unit_keeps_window,
            **({"rest_halts": _dump(kind.rest_halts)} if kind.rest_halts is not None else {}),
            "interval_m": kind.interval_m,
            "unit_gap_min": kind.unit_gap_min,
            "catchup_speed_factor": kind.catchup_speed_factor,
            "ied_target": kind.ied_target,
            "breakdowns": breakdowns,
            "recovery": _dump(kind.recovery),
            **({"vehicle_types": weighted_types} if used else {}),
        },
        "threats": {
            "ied": {
                "per_100km": reference.ied_per_100km,
                "uncontested_per_100km": quiet.ied_per_100km,
                "detection_prob": reference.detection_prob
                if kind.clears_route
                else reference.detection_prob_no_clearance,
                "clearance_speed_factor": reference.clearance_speed_factor if kind.clears_route else 1.0,
                "clearance_delay_h": _dump(effects.ied.clearance_delay_h),
                "vehicles_destroyed": _dump(effects.ied.vehicles_destroyed),
                "delay_h": _dump(kind.ied_delay_h),
                "wounded_per_vehicle_hit": _dump(effects.ied.wounded_per_vehicle_hit),
                "killed_per_vehicle_hit": _dump(effects.ied.killed_per_vehicle_hit),
            },
            "ambush": {
                "hazard_per_h": reference.ambush_per_h,
                "engagement_h": _dump(effects.ambush.engagement_h),
                "vehicles_lost": _dump(effects.ambush.vehicles_lost),
                **({"kill_zone_m": effects.ambush.kill_zone_m} if effects.ambush.kill_zone_m is not None else {}),
                "wounded_per_vehicle_hit": _dump(effects.ambush.wounded_per_vehicle_hit),
                "killed_per_vehicle_hit": _dump(effects.ambush.killed_per_vehicle_hit),
                "halt_prob": kind.ambush_halt_prob,
                "regroup_h": _dump(kind.regroup_h),
            },
            "harassment": {
                "per_night": reference.harassment_per_night,
                "delay_h": _dump(effects.harassment.delay_h),
                "vehicles_lost": _dump(effects.harassment.vehicles_lost),
            },
        },
        "drones": {"hazard_factor": air.drone_hazard_factor, "engagement_factor": air.drone_engagement_factor},
        "casevac": {"ground_h": _dump(kind.casevac_ground_h), "air_h": _dump(air.casevac_air_h)},
    }
    return defaults, resolved


def _times(factor: float, wp: dict[str, Any], key: str) -> Any:
    """The theatre's factor times the leg's own; a leg's value that is not a number is left for the
    schema to refuse (True is not 1)."""
    own = wp.get(key, 1.0)
    if isinstance(own, bool) or not isinstance(own, (int, float)):
        return own
    return factor * own


def _leg_lengths(waypoints: list[Any]) -> list[float]:
    """Each leg's road km, when every waypoint gives road_km (else empty: breakdowns are then not weighted)."""
    km = [wp.get("road_km") if isinstance(wp, dict) else None for wp in waypoints]
    if not km or any(not isinstance(k, (int, float)) or isinstance(k, bool) for k in km):
        return []
    return [max(b - a, 0.0) for a, b in zip(km, km[1:])]
