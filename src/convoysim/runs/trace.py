"""The event log of one replication in plain language, dated, for a class to read along.

It tells the story of the lead march unit (which decides halts and fights), of every other march
unit (when it leaves, waits for its own recoveries, and arrives), and of every drone of a fleet
(take-off, on station, leaving), then sums up people, drone cover and vehicles. Long durations
read in days and hours ('31 d 19 h', not '762.5 h'), counts agree with their noun ('1 vehicle'),
and with fixed rings (no fleet) and the replication's track the log also says where the head
enters and leaves drone cover, which the model itself does not log as events.
"""

from __future__ import annotations

import math
import re

import numpy as np

from convoysim.model import ReplicationRecord
from convoysim.model.plan import Plan
from convoysim.runs.timetext import day_time, duration_text, plural

_HOURS = re.compile(r"(\d+(?:\.\d+)?) h\b")
_ONE = re.compile(r"\b1 (vehicle|ambush|IED|attack)s\b")


def plain(text: str) -> str:
    """Model wording made readable: durations in days past 24 h, '1 vehicle' not '1 vehicles'."""
    text = _HOURS.sub(lambda m: duration_text(float(m.group(1))) if float(m.group(1)) >= 24 else m.group(0), text)
    return _ONE.sub(lambda m: f"1 {m.group(1)}", text)


def cover_changes(record: ReplicationRecord, plan: Plan) -> list[tuple[float, str]]:
    """(t_h, sentence) each time the head enters or leaves an active drone ring, from its track."""
    coverage = plan.coverage
    if not record.track or not coverage.rings or plan.fleets:  # with fleets the drones tell their own story
        return []

    def rings_over(km: float, t: float) -> tuple[str, ...]:
        return tuple(r.name.capitalize() for r in coverage.rings if r.active(t) and r.covers(km))

    out: list[tuple[float, str]] = []
    t_prev, km_prev = record.track[0]
    inside = rings_over(km_prev, t_prev)
    if inside:
        out.append((t_prev, f"the column starts under drone cover ({', '.join(inside)} ring)"))
    for t, km in record.track[1:]:
        for s in np.linspace(0.0, 1.0, 41)[1:] if km != km_prev or t != t_prev else ():
            tt, kk = t_prev + s * (t - t_prev), km_prev + s * (km - km_prev)
            now = rings_over(kk, tt)
            if now != inside:
                left, entered = set(inside) - set(now), set(now) - set(inside)
                if left:
                    rest = " (still under " + ", ".join(now) + ")" if now else ""
                    out.append((tt, f"the column leaves drone cover of the {', '.join(sorted(left))} ring at km {kk:.0f}{rest}"))
                if entered:
                    out.append((tt, f"the column comes under drone cover of the {', '.join(sorted(entered))} ring at km {kk:.0f}"))
                inside = now
        t_prev, km_prev = t, km
    return out


def format_trace(record: ReplicationRecord, plan: Plan) -> str:
    if record.trace is None:
        raise ValueError("this replication was run without trace=True")
    start = plan.start
    events = sorted([*((t, plain(text)) for t, text in record.trace), *cover_changes(record, plan)], key=lambda e: e[0])
    units = plan.roster.units
    names = ", ".join(f"{u.name} ({u.count})" for u in units)
    lines = [f"replication {record.replication}; times UTC",
             f"{day_time(start, 0.0)}  the column of {plural(plan.vehicles, 'vehicle')} leaves {plan.names[0]}: "
             f"{record.people_start} people in {plural(len(units), 'march unit')}, {names}; {units[0].name} leads"]
    lines += [f"{day_time(start, t)}  {text}" for t, text in events]
    if record.arrived:
        ending = f"arrived at {plan.names[-1]} with {plural(record.vehicles_end, 'vehicle')}"
        if not math.isnan(record.tail_arrival_h):
            ending += f", its tail {record.tail_arrival_h - record.end_h:.1f} h after the head"
    elif record.end_reason == "horizon":
        ending = f"had not arrived when the horizon passed (head at km {record.end_km:.0f})"
    else:
        ending = f"stopped, {record.end_reason.replace('_', ' ')}, at km {record.end_km:.0f}"
    lost = sum(record.lost.values())
    lines.append(f"{'':20}  people: {sum(record.wounded.values())} wounded, {sum(record.killed.values())} killed; "
                 f"{record.casevacs_air} evacuations by air, {record.casevacs_ground} by road")
    lines.append(f"{'':20}  drones: {record.drone_cover_h:.0f} h of cover, {plural(record.sorties, 'sortie')}; "
                 f"{record.ambushes} ambush{'' if record.ambushes == 1 else 'es'}, {record.ambushes_covered} with a drone overhead")
    causes = ", ".join(f"{n} {c}" for c, n in record.lost.items() if n)
    lines.append(f"{day_time(start, record.end_h)}  the column {ending}; {record.damaged} damaged, {record.left_behind} "
                 f"left behind, {plural(lost, 'vehicle')} lost{f' ({causes})' if causes else ''} "
                 f"after {duration_text(record.end_h)} on the road")
    return "\n".join(lines) + "\n"
