"""What one replication yields: a flat record that becomes one row of replications.csv."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Activity(IntEnum):
    """How the column's hours are spent; each simulated hour falls into exactly one."""

    MOVING = 0
    NIGHT_HALT = 1
    SCHEDULED_HALT = 2
    OPERATIONAL_PAUSE = 3
    INCIDENT_DELAY = 4
    ENGAGEMENT = 5


ACTIVITIES = tuple(activity.name.lower() for activity in Activity)
"""The activities' names as records and tables write them ('moving', 'night_halt', ...)."""

LOSS_CAUSES = ("ied", "ambush", "breakdown", "harassment", "breach")

END_REASONS = ("arrived", "horizon", "combat_ineffective")


@dataclass
class ReplicationRecord:
    replication: int
    waypoints: tuple[str, ...]
    vehicles_start: int
    arrival_h: list[float]
    """Head's arrival at each waypoint (0 for the start), NaN where it never arrived."""
    departure_h: list[float]
    """Head's departure from each waypoint, NaN where it never left (and for the destination)."""
    end_reason: str = "horizon"
    end_h: float = float("nan")
    end_km: float = 0.0
    vehicles_end: int = 0
    lost: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LOSS_CAUSES, 0))
    ied_strikes: int = 0
    ieds_found: int = 0
    ambushes: int = 0
    harassments: int = 0
    breakdowns: int = 0
    hours: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ACTIVITIES, 0.0))
    people_start: int = 0
    wounded: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LOSS_CAUSES, 0))
    killed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LOSS_CAUSES, 0))
    damaged: int = 0
    """Vehicles damaged (and sent to recovery) by IEDs and ambushes."""
    left_behind: int = 0
    """Vehicles still left behind with their recovery team at the end."""
    casevacs_air: int = 0
    casevacs_ground: int = 0
    ambushes_covered: int = 0
    """Ambushes fought with a drone on station over the column."""
    breaches: int = 0
    """Defended positions breached in a fight."""
    bypasses: int = 0
    """Defended positions bypassed by a detour."""
    ambushes_drone_called: int = 0
    """Ambushes outside cover that a drone already on its way reached before the fight ended."""
    sorties: int = 0
    tail_arrival_h: float = float("nan")
    """When the tail of the last march unit reached the destination (NaN if it did not)."""
    units_held_h: float = 0.0
    """Hours the march units behind the lead stood still for their own recoveries, summed."""
    recovery_wait_h: float = 0.0
    """Hours vehicles waited for a recovery vehicle (queueing), summed."""
    fates: list[tuple[int, str, str, float, float]] = field(default_factory=list)
    """(vehicle, fate, cause, t_h, km): every vehicle destroyed, damaged, abandoned or left behind."""
    units: list[tuple[int, float, float, float]] = field(default_factory=list)
    """(unit, t_h, head km, tail km) at every change of motion of every unit, when tracking."""
    drone_cover_h: float = 0.0
    events: int = 0
    """SimPy events the replication processed; the benchmark's unit of work."""
    incidents: list[tuple[str, float, float, int]] = field(default_factory=list)
    """(kind, t_h, km, vehicles lost) of every IED, ambush, harassment and breakdown."""
    casualties: list[tuple[str, float, float, int, int]] = field(default_factory=list)
    """(cause, t_h, km, wounded, killed) of every incident that hurt people, so counts can be placed."""
    track: list[tuple[float, float]] | None = None
    """(t_h, km) of the head at every change of motion, when asked for (time-distance charts)."""
    trace: list[tuple[float, str]] | None = None
    error: str | None = None
    """Set, with nothing else trusted, when the replication raised instead of finishing."""

    @property
    def arrived(self) -> bool:
        return self.end_reason == "arrived"

    def as_row(self) -> dict[str, object]:
        """One tidy row: plain scalars only, so that csv and pandas take it as it is.

        Longer than 40 lines: one line per output column, in the order of replications.csv."""
        row: dict[str, object] = {
            "replication": self.replication,
            "arrived": self.arrived,
            "end_reason": self.end_reason,
            "end_h": self.end_h,
            "end_km": self.end_km,
            "vehicles_start": self.vehicles_start,
            "vehicles_end": self.vehicles_end,
            "vehicles_lost": sum(self.lost.values()),
        }
        row.update({f"lost_{cause}": n for cause, n in self.lost.items()})
        row.update(
            ied_strikes=self.ied_strikes,
            ieds_found=self.ieds_found,
            ambushes=self.ambushes,
            harassments=self.harassments,
            breakdowns=self.breakdowns,
            breaches=self.breaches,
            bypasses=self.bypasses,
        )
        row.update({f"hours_{name}": h for name, h in self.hours.items()})
        row["hours_drone_cover"] = self.drone_cover_h
        row["sorties"] = self.sorties
        row["ambushes_covered"] = self.ambushes_covered
        row["ambushes_drone_called"] = self.ambushes_drone_called
        row["vehicles_damaged"] = self.damaged
        row["vehicles_left_behind"] = self.left_behind
        row["people_start"] = self.people_start
        row["wounded"] = sum(self.wounded.values())
        row["killed"] = sum(self.killed.values())
        row.update({f"wounded_{cause}": n for cause, n in self.wounded.items()})
        row.update({f"killed_{cause}": n for cause, n in self.killed.items()})
        row["casevacs_air"] = self.casevacs_air
        row["casevacs_ground"] = self.casevacs_ground
        tail = self.tail_arrival_h
        row["tail_arrival_h"] = float("inf") if tail != tail else tail  # never arrived: 'inf', as the readers take it
        row["units_held_h"] = self.units_held_h
        row["recovery_wait_h"] = self.recovery_wait_h
        row["events"] = self.events
        row["error"] = self.error or ""
        return row
