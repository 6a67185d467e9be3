"""The event list a class reads: the kernel's events in clock order, for the same replication as a run."""

from __future__ import annotations

import numpy as np
from conftest import threatened_data

from convoysim.model import compile_plan
from convoysim.runs.eventlog import RecordingEnvironment, event_list
from convoysim.runs.montecarlo import run_replications
from convoysim.scenario.loading import ScenarioSource, build_scenario


def test_the_event_list_is_the_replications_own_in_clock_order():
    plan = compile_plan(build_scenario(ScenarioSource(threatened_data())))
    listed = event_list(plan, seed=3, replication=2)
    (plain,) = run_replications(plan, 3, [2])
    np.testing.assert_array_equal(listed.record.arrival_h, plain.arrival_h)
    times = [e.t_h for e in listed.events]
    assert times == sorted(times) and times[0] == 0.0
    assert listed.events[0].kind == "Initialize"
    timeouts = [e for e in listed.events if e.kind == "Timeout"]
    assert len(timeouts) == plain.events, "one Timeout per booked activity"
    assert all(e.wakes for e in timeouts)
    lines = listed.lines()
    assert len(lines) == len(listed.events)
    assert any("head arrives at" in line for line in lines)


def test_a_recording_environment_notes_each_step_of_a_plain_simpy_model():
    env = RecordingEnvironment()

    def column(env):
        yield env.timeout(2.5)
        yield env.timeout(4.0)

    env.process(column(env))
    env.run()
    assert [(e.t_h, e.kind, e.delay_h) for e in env.log][:3] == [
        (0.0, "Initialize", None),
        (2.5, "Timeout", 2.5),
        (6.5, "Timeout", 4.0),
    ]
    assert env.log[1].wakes == ("test_a_recording_environment_notes_each_step_of_a_plain_simpy_model.<locals>.column",)
