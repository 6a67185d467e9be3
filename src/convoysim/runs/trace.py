"""The event log of one replication in plain language, dated, for a class to read along."""

from __future__ import annotations

from convoysim.model import ReplicationRecord
from convoysim.model.plan import Plan
from convoysim.runs.writing import iso


def format_trace(record: ReplicationRecord, plan: Plan) -> str:
    if record.trace is None:
        raise ValueError("this replication was run without trace=True")
    lines = [f"{iso(plan.start, 0.0)}  the column of {plan.vehicles} vehicles leaves {plan.names[0]}"]
    lines += [f"{iso(plan.start, t)}  {text}" for t, text in record.trace]
    if record.arrived:
        ending = f"arrived at {plan.names[-1]} with {record.vehicles_end} vehicles"
    elif record.end_reason == "horizon":
        ending = f"had not arrived when the horizon passed (head at km {record.end_km:.0f})"
    else:
        ending = f"stopped, {record.end_reason.replace('_', ' ')}, at km {record.end_km:.0f}"
    lines.append(f"{iso(plan.start, record.end_h)}  the column {ending}; {sum(record.lost.values())} vehicles lost")
    return "\n".join(lines) + "\n"
