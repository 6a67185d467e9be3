"""A block of replications as a run directory stores it: CSV text, formatted where it was simulated.

A worker turns its block of records into a `RunChunk` (the lines of replications.csv,
milestones.csv and incidents.csv, and the arrival matrix the comparison needs) and sends that back
instead of the records: the text is about a tenth of the pickled records, the parent only appends
it to files, and the formatting runs in parallel. The text is byte for byte what
`files.csv_text` makes of the same rows (tests hold the two together); it is only built faster:
dates are computed for a whole column at once and cells are formatted without a csv.DictWriter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from convoysim.model import Plan, ReplicationRecord
from convoysim.runs.counts import CountWindow, count_matrix, counted_incidents
from convoysim.runs.files import cell
from convoysim.runs.timetext import iso_column

MILESTONE_COLUMNS = ["replication", "waypoint", "arrival_h", "arrival_time", "departure_h"]
INCIDENT_COLUMNS = ["replication", "kind", "t_h", "time", "km", "vehicles_lost"]
TRACK_COLUMNS = ["replication", "t_h", "km"]


@dataclass
class RunChunk:
    """Replications `first` to `first + count - 1`, ready to append to the run directory's files."""

    first: int
    count: int
    arrivals_h: np.ndarray
    """count x waypoints, NaN where never reached."""
    replications_csv: str
    milestones_csv: str
    incidents_csv: str
    vehicles_csv: str
    replication_columns: tuple[str, ...]
    arrived: int
    errors: int
    counts: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=int))
    """count x documented counts (`counts.count_matrix`), so the comparison needs no incidents."""
    first_error: str = ""
    """The block's first failed replication's error, '' when none failed."""


def replication_lines(rows: Sequence[dict[str, object]]) -> str:
    return "".join(",".join([cell(v) for v in row.values()]) + "\n" for row in rows)


def row_lines(rows: Sequence[Mapping[str, object]], columns: Sequence[str]) -> str:
    """The lines `csv_text(rows, columns)` writes after its header, '' for a column a row lacks."""
    return "".join(",".join([cell(row.get(c, "")) for c in columns]) + "\n" for row in rows)


def milestone_lines(plan: Plan, records: Sequence[ReplicationRecord], arrivals_h: np.ndarray) -> str:
    names = [cell(n) for n in plan.names]
    times = iso_column(plan.start, arrivals_h)
    width = len(names)
    lines = []
    for i, r in enumerate(records):
        rep = str(r.replication)
        at = times[i * width : (i + 1) * width]
        lines.extend(
            f"{rep},{name},{cell(h)},{when},{cell(d)}\n"
            for name, h, when, d in zip(names, r.arrival_h, at, r.departure_h)
        )
    return "".join(lines)


def incident_lines(plan: Plan, records: Sequence[ReplicationRecord]) -> str:
    incidents = [(r.replication, *incident) for r in records for incident in r.incidents]
    times = iso_column(plan.start, np.array([t for _, _, t, _, _ in incidents], dtype=float))
    return "".join(
        f"{rep},{cell(kind)},{cell(t)},{when},{cell(km)},{cell(lost)}\n"
        for (rep, kind, t, km, lost), when in zip(incidents, times)
    )


VEHICLE_COLUMNS = ["replication", "vehicle", "type", "march_unit", "fate", "cause", "km", "t_h", "time"]
UNIT_COLUMNS = ["replication", "unit", "march_unit", "t_h", "head_km", "tail_km"]


def vehicle_lines(plan: Plan, records: Sequence[ReplicationRecord]) -> str:
    """vehicles.csv: one line per replication and vehicle destroyed, damaged, abandoned or left behind
    (vehicles that arrive intact are counted in replications.csv, not listed)."""
    roster = plan.roster
    ids = [cell(i) for i in roster.ids]
    kinds = [cell(roster.kinds[k].name) for k in roster.kind]
    units = [cell(roster.units[u].name) for u in roster.unit]
    fates = [(r.replication, *fate) for r in records for fate in r.fates]
    times = iso_column(plan.start, np.array([t for *_, t, _ in fates], dtype=float))
    return "".join(
        f"{rep},{ids[v]},{kinds[v]},{units[v]},{cell(fate)},{cell(cause)},{cell(km)},{cell(t)},{when}\n"
        for (rep, v, fate, cause, t, km), when in zip(fates, times)
    )


def unit_lines(plan: Plan, tracks: Sequence[ReplicationRecord]) -> str:
    """units.csv: head and tail of every march unit at each change of its motion, tracked replications."""
    names = [cell(u.name) for u in plan.roster.units]
    return "".join(
        f"{r.replication},{u},{names[u]},{cell(t)},{cell(head)},{cell(tail)}\n"
        for r in tracks
        for u, t, head, tail in r.units
    )


def format_chunk(plan: Plan, records: Sequence[ReplicationRecord], windows: Sequence[CountWindow] = ()) -> RunChunk:
    """The records of one contiguous block as the run directory's lines (in replication order),
    with the block's counts for the documented `windows`."""
    rows = [r.as_row() for r in records]
    arrivals = np.array([r.arrival_h for r in records], dtype=float).reshape(len(records), len(plan.names))
    return RunChunk(
        first=records[0].replication if records else 0,
        count=len(records),
        arrivals_h=arrivals,
        replications_csv=replication_lines(rows),
        milestones_csv=milestone_lines(plan, records, arrivals),
        incidents_csv=incident_lines(plan, records),
        vehicles_csv=vehicle_lines(plan, records),
        replication_columns=tuple(rows[0]) if rows else (),
        arrived=sum(r.arrived for r in records),
        errors=sum(1 for r in records if r.error),
        counts=count_matrix([counted_incidents(r) for r in records], windows, plan.start),
        first_error=next((r.error for r in records if r.error), ""),
    )


def track_lines(tracks: Sequence[ReplicationRecord]) -> str:
    return "".join(f"{r.replication},{cell(t)},{cell(km)}\n" for r in tracks for t, km in (r.track or []))
