"""The event log of one replication in plain language, dated, for a class to read along.

It tells the story of the lead march unit (which decides halts and fights), of every other march
unit (when it leaves, waits for its own recoveries, and arrives), and of the evacuation of each
incident's wounded (by air or by road, as the scenario's air windows allow), then sums up people,
drone cover and vehicles. Drones fly dozens of sorties in a march: by default the log says only
when the column gains and loses drone cover, and sums up each day's sorties and hours of cover;
`sorties=True` shows every take-off, arrival on station and departure instead. Every instant is a
date and time (UTC), never a model hour ('14 Oct 12:30', not '38 d 15 h'); durations read in days
and hours ('31 d 19 h', not '762.5 h'), counts agree with their noun ('1 vehicle'), and with fixed
rings (no fleet) and the replication's track the log also says where the head enters and leaves
drone cover, which the model itself does not log as events.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

import numpy as np

from convoysim.model import ReplicationRecord
from convoysim.model.plan import Plan
from convoysim.runs.timetext import day_time, duration_text, plural

_HOURS = re.compile(r"(\d+(?:\.\d+)?) h\b")
_ONE = re.compile(r"\b1 (vehicle|ambush|IED|attack)s\b")
_INSTANT = re.compile(r"\b(at|until|from) (?:hour )?(\d+(?:\.\d+)?) h\)")
"""A model-clock instant the model writes into a sentence ('(in this replication at 926 h)')."""
_SORTIE = re.compile(r"^(drone \S+) (takes off|on station over the column|leaves the column)$")
_FIGHT = re.compile(r"(\d+(?:\.\d+)?) h of fighting")


def plain(text: str, start: datetime | None = None) -> str:
    """Model wording made readable: instants as dates (with `start`), durations in days past 24 h,
    '1 vehicle' not '1 vehicles'."""
    if start is not None:
        text = _INSTANT.sub(
            lambda m: f"{'on' if m.group(1) == 'at' else m.group(1)} {day_time(start, float(m.group(2)))})", text
        )
    text = _HOURS.sub(lambda m: duration_text(float(m.group(1))) if float(m.group(1)) >= 24 else m.group(0), text)
    return _ONE.sub(lambda m: f"1 {m.group(1)}", text)


def evacuations(record: ReplicationRecord, plan: Plan) -> list[tuple[float, str]]:
    """(t_h, sentence) for each incident that wounded someone: how they are evacuated. The record
    keeps the incidents' casualties and the totals by air and by road; the mode of each follows the
    scenario's air windows (a date range and the farthest road km a helicopter reaches), as the
    model decides it. When those do not add up to the record's totals the mode is left unsaid."""
    wounded = [(cause, t, km, n) for cause, t, km, n, _ in record.casualties if n > 0]
    windows = [
        (
            (w.from_date - plan.start).total_seconds() / 3600 if w.from_date else -math.inf,
            (w.until_date - plan.start).total_seconds() / 3600 if w.until_date else math.inf,
            w.up_to_km,
        )
        for w in plan.casevac.air
    ]
    by_air = [any(lo <= t < hi and km <= up_to for lo, hi, up_to in windows) for _, t, km, _ in wounded]
    known = sum(by_air) == record.casevacs_air and len(by_air) - sum(by_air) == record.casevacs_ground
    out = []
    for (cause, t, km, n), air in zip(wounded, by_air):
        mode, wait = (
            (
                (" by air", ", the column waiting for the helicopter")
                if air
                else (" by road", ", the column waiting while they are taken back")
            )
            if known
            else (" (by air or by road)", "")
        )
        after = " once the fighting ends" if cause in ("ambush", "breach") else ""
        what = {"ied": "IED strike"}.get(cause, cause)
        who = "the wounded soldier" if n == 1 else f"the {n} wounded"
        out.append((t, f"{who} of the {what} at km {km:.0f} {'is' if n == 1 else 'are'} evacuated{mode}{after}{wait}"))
    return out


def drone_cover(events: list[tuple[float, str]]) -> tuple[list[float], list[tuple[float, float]]]:
    """Take-off times, and the stretches (from_h, to_h) with at least one drone over the column, from
    the log's sortie lines. A hand-over (one drone leaves as the next comes on station at the same
    instant) does not break a stretch; one still open at the last event ends there."""
    take_offs: list[float] = []
    stretches: list[tuple[float, float]] = []
    overhead: set[str] = set()
    since = math.nan
    sortie_lines = [(t, *m.groups()) for t, text in events if (m := _SORTIE.match(text))]
    for k, (t, drone, what) in enumerate(sortie_lines):
        if what == "takes off":
            take_offs.append(t)
        elif what.startswith("on station"):
            if not overhead and math.isnan(since):
                since = t
            overhead.add(drone)
        else:
            overhead.discard(drone)
            coming = any(w.startswith("on station") for tt, _, w in sortie_lines[k + 1 :] if tt == t)
            if not overhead and not coming and not math.isnan(since):
                stretches.append((since, t))
                since = math.nan
    if not math.isnan(since):
        stretches.append((since, max(t for t, _ in events)))
    return take_offs, stretches


def drone_story(
    events: list[tuple[float, str]], start: datetime, quiet_days: set[object], end_h: float = math.inf
) -> list[tuple[float, str]]:
    """The drones' part of the log, one line per stretch of days: sorties flown and the hours of
    cover over the column, with the hours when it had cover for a single day ('cover 01:36-22:09').
    A day in `quiet_days` (nothing else logged) joins the line of the day before it; each line comes
    at its last day's end, or at `end_h` (the end of the march) if that comes first."""
    take_offs, stretches = drone_cover(events)
    if not take_offs and not stretches:
        return []

    def day_of(t: float):
        return (start + timedelta(hours=t)).date()

    def midnight_after(day) -> float:
        return (
            datetime.combine(day, datetime.min.time(), start.tzinfo) + timedelta(days=1) - start
        ).total_seconds() / 3600

    first = day_of(min([*take_offs, *(a for a, _ in stretches)]))
    last_t = max([*take_offs, *(b for _, b in stretches)])

    def clock(t: float) -> str:
        return f"{start + timedelta(hours=t, seconds=30):%H:%M}"  # to the nearest minute, as day_time

    spans: list[list] = []  # [first day, last day]
    day = first
    while day <= day_of(last_t):
        if spans and day in quiet_days:
            spans[-1][1] = day
        else:
            spans.append([day, day])
        day += timedelta(days=1)
    out = []
    for a, b in spans:
        lo, hi = midnight_after(a) - 24.0, midnight_after(b)
        flown = sum(lo <= t < hi for t in take_offs)
        pieces = [(max(s, lo), min(e, hi)) for s, e in stretches if e > lo and s < hi]
        hours = sum(e - s for s, e in pieces)
        when = f"{a:%d %b}" if a == b else f"{a:%d}-{b:%d %b}" if a.month == b.month else f"{a:%d %b}-{b:%d %b}"
        cover = "no cover over the column" if not hours else f"{duration_text(hours)} of cover over the column"
        if a == b and pieces:
            cover += " (" + ", ".join(f"{clock(s)}-{clock(e)}".replace("-00:00", "-24:00") for s, e in pieces) + ")"
        elif a != b and hours:
            cover += f" in {duration_text(hi - lo)}"
        out.append((min(hi - 1 / 60, end_h), f"drones {when}: {plural(flown, 'sortie')}, {cover}"))
    return out


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
                    out.append(
                        (
                            tt,
                            f"the column leaves drone cover of the {', '.join(sorted(left))} ring at km {kk:.0f}{rest}",
                        )
                    )
                if entered:
                    out.append(
                        (
                            tt,
                            f"the column comes under drone cover of the {', '.join(sorted(entered))} ring at km "
                            f"{kk:.0f}",
                        )
                    )
                inside = now
        t_prev, km_prev = t, km
    return out


def _days(start: datetime, events: list[tuple[float, str]]) -> set[object]:
    """Every calendar day from the first event to the last."""
    if not events:
        return set()
    first, last = ((start + timedelta(hours=t)).date() for t in (events[0][0], events[-1][0]))
    return {first + timedelta(days=k) for k in range((last - first).days + 1)}


def format_trace(record: ReplicationRecord, plan: Plan, sorties: bool = False) -> str:
    """The replication's log in plain language, one dated line per event (see the module's
    docstring); `sorties=True` lists every drone sortie instead of the cover and the daily sums."""
    if record.trace is None:
        raise ValueError("this replication was run without trace=True")
    start = plan.start
    told = [(t, plain(text, start)) for t, text in record.trace]
    story = [e for e in told if sorties or not _SORTIE.match(e[1])]
    busy = {(start + timedelta(hours=t)).date() for t, text in told if not _SORTIE.match(text)}
    quiet = {(start + timedelta(hours=t)).date() for t, _ in told} - busy
    quiet |= {d for d in _days(start, told) if d not in busy}
    events = sorted(
        [
            *story,
            *drone_story(told, start, quiet, record.end_h),
            *evacuations(record, plan),
            *cover_changes(record, plan),
        ],
        key=lambda e: e[0],
    )
    units = plan.roster.units
    names = ", ".join(f"{u.name} ({u.count})" for u in units)
    lines = [
        f"replication {record.replication}; times UTC",
        f"{day_time(start, 0.0)}  the column of {plural(plan.vehicles, 'vehicle')} leaves {plan.names[0]}: "
        f"{record.people_start} people in {plural(len(units), 'march unit')}, {names}; {units[0].name} leads",
    ]
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
    lines.append(
        f"{'':20}  people: {sum(record.wounded.values())} wounded, {sum(record.killed.values())} killed; "
        f"{record.casevacs_air} evacuations by air, {record.casevacs_ground} by road"
    )
    lines.append(
        f"{'':20}  drones: {record.drone_cover_h:.0f} h of cover, {plural(record.sorties, 'sortie')}; "
        f"{record.ambushes} ambush{'' if record.ambushes == 1 else 'es'}, {record.ambushes_covered} with a drone "
        "overhead"
    )
    causes = ", ".join(f"{n} {c}" for c, n in record.lost.items() if n)
    lines.append(
        f"{day_time(start, record.end_h)}  the column {ending}; {record.damaged} damaged, {record.left_behind} "
        f"left behind, {plural(lost, 'vehicle')} lost{f' ({causes})' if causes else ''} "
        f"after {duration_text(record.end_h)} on the road"
    )
    return "\n".join(lines) + "\n"
