"""The event list of one replication, as the SimPy kernel processes it, for a class on DES.

A `RecordingEnvironment` is a plain `simpy.Environment` that notes every event it takes off its
queue: the clock value, the kind of event (a Timeout of so many hours, a process starting or
ending ...) and the process it wakes. `event_list` runs one replication in it (the same numbers as
in any run: same seed, same replication) and joins the model's own plain-language trace, so a
student sees the clock jump from event to event and what each jump stands for.
"""

from __future__ import annotations

from dataclasses import dataclass

import simpy

from convoysim.model import Plan, ReplicationRecord, replicate
from convoysim.runs.montecarlo import replication_stream


@dataclass(frozen=True)
class KernelEvent:
    t_h: float
    """Clock when the kernel processed the event (hours since the start)."""
    kind: str
    """'Timeout', 'Initialize' (a process starts), 'Process' (a process ended) ..."""
    delay_h: float | None
    """For a Timeout: the delay it was scheduled with."""
    wakes: tuple[str, ...]
    """Names of the processes the event resumes (their generator functions)."""


def _process_name(process: simpy.Process) -> str:
    """'ColumnMarch.run': the generator function behind a SimPy process."""
    generator = getattr(process, "_generator", None)
    return getattr(generator, "__qualname__", None) or process.name


class RecordingEnvironment(simpy.Environment):
    """A SimPy environment that keeps a list of the events it processes, in order."""

    def __init__(self, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        self.log: list[KernelEvent] = []

    def step(self) -> None:
        if self._queue:
            t, _, _, event = self._queue[0]
            woken = tuple(
                _process_name(cb.__self__)
                for cb in (event.callbacks or [])
                if isinstance(getattr(cb, "__self__", None), simpy.Process)
            )
            delay = getattr(event, "_delay", None)
            self.log.append(KernelEvent(float(t), type(event).__name__, None if delay is None else float(delay), woken))
        super().step()


@dataclass(frozen=True)
class EventList:
    record: ReplicationRecord
    events: list[KernelEvent]

    def lines(self, limit: int | None = None, width: int = 150) -> list[str]:
        """'  12.56 h  (+0.52 h)  Timeout 0.52 h -> travel   | head arrives at Tarkint ...' per event."""
        notes: dict[float, list[str]] = {}
        for t, text in self.record.trace or []:
            notes.setdefault(round(t, 9), []).append(text)
        out, previous = [], 0.0
        for e in self.events[:limit]:
            what = e.kind + (f" {e.delay_h:.2f} h" if e.delay_h is not None else "")
            wakes = ", ".join(e.wakes) or "-"
            said = "; ".join(notes.pop(round(e.t_h, 9), []))
            line = f"{e.t_h:9.2f} h  (+{e.t_h - previous:7.2f} h)  {what:<16} wakes {wakes:<16} {said}".rstrip()
            out.append(line if len(line) <= width else line[: width - 4] + " ...")
            previous = e.t_h
        return out


def event_list(plan: Plan, seed: int, replication: int = 0) -> EventList:
    """Replay one replication of a run in a recording environment, with its trace."""
    env = RecordingEnvironment()
    record = replicate(plan, replication_stream(seed, replication), replication, trace=True, env=env)
    return EventList(record, env.log)
