"""Scenario paths and sweep outputs in words, for axes, legends and tables a student reads.

`threats.ied.per_100km` becomes 'IEDs per 100 km of contested road', `arrival_h.Kidal` 'arrival at
Kidal'. Paths not listed are turned into words from their last part and its unit suffix, so a new
parameter still reads sensibly; the exact path stays available in the files.
"""

from __future__ import annotations

import re

WORDS = {
    "threats.ied.per_100km": "IEDs per 100 km of contested road",
    "threats.ied.uncontested_per_100km": "IEDs per 100 km of other road",
    "threats.ied.detection_prob": "chance route clearance finds an IED",
    "threats.ied.clearance_speed_factor": "speed factor under route clearance",
    "threats.ied.clearance_delay_h": "hours to clear a found IED",
    "threats.ambush.hazard_per_h": "ambushes per hour on the move",
    "threats.ambush.halt_prob": "chance of a regroup halt after an ambush",
    "threats.harassment.per_night": "harassing attacks per night",
    "drones.hazard_factor": "ambush hazard factor under drone cover",
    "drones.engagement_factor": "fight duration factor under drone cover",
    "convoy.vehicles": "vehicles at departure",
    "convoy.interval_m": "metres between vehicles",
    "convoy.speed_kmh.median": "median march speed (km/h)",
    "convoy.move_by_night": "moves by night",
    "vehicles_lost": "vehicles lost",
    "vehicles_end": "vehicles at the end",
    "lost_ied": "vehicles lost to IEDs",
    "lost_ambush": "vehicles lost in ambushes",
    "lost_breakdown": "vehicles abandoned after breakdowns",
    "lost_harassment": "vehicles lost to harassment",
    "ied_strikes": "IED strikes",
    "ieds_found": "IEDs found",
    "ambushes": "ambushes",
    "harassments": "harassing attacks",
    "breakdowns": "breakdowns",
    "hours_drone_cover": "hours under drone cover",
    "end_h": "hours on the road",
}

UNITS = (
    ("_per_100km", " per 100 km"),
    ("_per_h", " per hour"),
    ("_kmh", " (km/h)"),
    ("_km", " (km)"),
    ("_mi", " (miles)"),
    ("_prob", " (probability)"),
    ("_factor", " factor"),
    ("_days", " (days)"),
    ("_h", " (hours)"),
    ("_m", " (m)"),
)

ARRIVAL = "arrival_h."
"""Sweep outputs `arrival_h.<waypoint>`: hours since the start, shown as dates."""


def is_arrival(output: str) -> bool:
    return output.startswith(ARRIVAL)


COUNT_PREFIXES = (
    "vehicles_",
    "lost_",
    "wounded",
    "killed",
    "ied_strikes",
    "ieds_found",
    "ambushes",
    "harassments",
    "breakdowns",
    "breaches",
    "bypasses",
    "sorties",
    "casevacs_",
    "people_",
    "events",
)
"""Outputs that count whole things (replications.csv's integer columns): their axes get whole-number ticks."""


def is_count(output: str) -> bool:
    return output.startswith(COUNT_PREFIXES)


def words(path: str) -> str:
    """A parameter path or output name in words."""
    if path in WORDS:
        return WORDS[path]
    if is_arrival(path):
        return f"arrival at {path[len(ARRIVAL) :]}"
    parts = path.split(".")
    radius = re.fullmatch(r"drones\.bases\.([^.]+)\.radius_(km|mi)", path)
    if radius:
        return f"drone radius from {radius.group(1).capitalize()} ({'km' if radius.group(2) == 'km' else 'miles'})"
    if parts[0] == "route" and len(parts) == 4:
        return f"{parts[3].replace('_', ' ')} at {parts[2]}"
    if path.startswith("hours_"):
        return "hours " + path[len("hours_") :].replace("_", " ")
    last = parts[-1]
    if last in ("median", "mean", "low", "high", "mode", "value") and len(parts) > 1:
        return f"{last} {words(parts[-2])}"
    for suffix, unit in UNITS:
        if last.endswith(suffix):
            return last[: -len(suffix)].replace("_", " ") + unit
    return last.replace("_", " ")
