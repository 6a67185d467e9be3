"""The event log of one replication in plain language, dated, for a class to read along.

It tells the story of the lead march unit (which decides halts and fights), of every other march
unit (when it leaves, waits for its own recoveries, and arrives), and of every drone (take-off, on
station, leaving), then sums up people, drone cover and vehicles.
"""

from __future__ import annotations

import math

from convoysim.model import ReplicationRecord
from convoysim.model.plan import Plan
from convoysim.runs.writing import iso


def format_trace(record: ReplicationRecord, plan: Plan) -> str:
    if record.trace is None:
        raise ValueError("this replication was run without trace=True")
    units = plan.roster.units
    names = ", ".join(f"{u.name} ({u.count})" for u in units)
    lines = [f"{iso(plan.start, 0.0)}  the column of {plan.vehicles} vehicles leaves {plan.names[0]}: "
             f"{record.people_start} people in {len(units)} march unit{'s' if len(units) > 1 else ''}, {names}; {units[0].name} leads"]
    lines += [f"{iso(plan.start, t)}  {text}" for t, text in record.trace]
    if record.arrived:
        ending = f"arrived at {plan.names[-1]} with {record.vehicles_end} vehicles"
        if not math.isnan(record.tail_arrival_h):
            ending += f"; its tail {record.tail_arrival_h - record.end_h:.1f} h after the head"
    elif record.end_reason == "horizon":
        ending = f"had not arrived when the horizon passed (head at km {record.end_km:.0f})"
    else:
        ending = f"stopped, {record.end_reason.replace('_', ' ')}, at km {record.end_km:.0f}"
    lines.append(f"{'':20}  people: {sum(record.wounded.values())} wounded, {sum(record.killed.values())} killed; "
                 f"{record.casevacs_air} evacuations by air, {record.casevacs_ground} by road")
    lines.append(f"{'':20}  drones: {record.drone_cover_h:.0f} h of cover, {record.sorties} sorties; "
                 f"{record.ambushes} ambushes, {record.ambushes_covered} with a drone overhead")
    lines.append(f"{iso(plan.start, record.end_h)}  the column {ending}; {record.damaged} damaged, "
                 f"{record.left_behind} left behind, {sum(record.lost.values())} vehicles lost "
                 f"({', '.join(f'{n} {c}' for c, n in record.lost.items() if n) or 'none'})")
    return "\n".join(lines) + "\n"
