"""The lead unit's ledger (model/ledger.py): hours, cover and path booked in one call."""

from __future__ import annotations

import math

import simpy
from hypothesis import given
from hypothesis import strategies as st

from convoysim.model.cover import RingCover
from convoysim.model.coverage import Coverage, RingOnRoad
from convoysim.model.ledger import Ledger
from convoysim.model.record import Activity
from convoysim.model.units import UnitPath


def ledger_with_ring(intervals=((10.0, 30.0),), active=(-math.inf, math.inf)) -> tuple[simpy.Environment, Ledger]:
    env = simpy.Environment()
    cover = RingCover(Coverage([RingOnRoad("base", intervals, *active)], horizon_h=100.0))
    return env, Ledger(env, UnitPath(env), cover)


def run(env: simpy.Environment, steps, until: float | None = None) -> None:
    def process():
        for step in steps:
            yield step()

    env.process(process())
    env.run(until=until)


def test_a_move_and_a_halt_book_hours_cover_and_path_together():
    env, ledger = ledger_with_ring()
    run(
        env,
        [
            lambda: ledger.move(2.0, Activity.MOVING, 0.0, 10.0, False),
            lambda: ledger.halt(3.0, Activity.SCHEDULED_HALT, 20.0),
        ],
    )
    assert ledger.hours[Activity.MOVING] == 2.0 and ledger.hours[Activity.SCHEDULED_HALT] == 3.0
    assert ledger.cover.hours_until(env.now) == 3.0  # the halt at km 20 is inside the ring, the drive was not covered
    assert list(zip(ledger.path.t, ledger.path.km)) == [(0.0, 0.0), (2.0, 20.0), (5.0, 20.0)]
    assert ledger.events == 2


def test_the_horizon_cuts_back_the_booking_in_progress():
    env, ledger = ledger_with_ring()
    run(
        env,
        [
            lambda: ledger.move(2.0, Activity.MOVING, 0.0, 10.0, True),
            lambda: ledger.move(3.0, Activity.MOVING, 20.0, 5.0, True),
        ],
        until=4.0,
    )
    assert ledger.close(4.0) == 30.0  # 2 h of the second drive kept, at 5 km/h from km 20
    assert ledger.hours[Activity.MOVING] == 4.0
    assert ledger.cover.hours_until(4.0) == 4.0


def test_a_wait_of_unknown_length_is_booked_when_it_ends_or_at_the_horizon():
    env, ledger = ledger_with_ring()
    released = env.timeout(6.0)

    def process():
        ledger.start_wait(Activity.INCIDENT_DELAY, 15.0)
        yield released
        ledger.end_wait()

    env.process(process())
    env.run()
    assert ledger.hours[Activity.INCIDENT_DELAY] == 6.0 and ledger.cover.hours_until(6.0) == 6.0


def test_a_wait_cut_by_the_horizon_is_booked_up_to_it():
    env, ledger = ledger_with_ring()

    def process():
        ledger.start_wait(Activity.INCIDENT_DELAY, 40.0)
        yield env.timeout(9.0)
        ledger.end_wait()

    env.process(process())
    env.run(until=5.0)
    assert ledger.close(5.0) == 40.0
    assert ledger.hours[Activity.INCIDENT_DELAY] == 5.0 and ledger.cover.hours_until(5.0) == 0.0  # km 40: outside


def test_cover_during_a_halt_follows_the_base_hours():
    env, ledger = ledger_with_ring(active=(1.0, 3.0))
    run(env, [lambda: ledger.halt(5.0, Activity.NIGHT_HALT, 20.0)])
    assert ledger.cover.hours_until(5.0) == 2.0


@given(
    st.lists(st.tuples(st.floats(min_value=0.0, max_value=5.0), st.booleans()), min_size=1, max_size=12),
    st.floats(min_value=0.0, max_value=30.0),
)
def test_hours_add_up_to_the_clock_and_cover_never_exceeds_them(bookings, horizon):
    env, ledger = ledger_with_ring()
    steps = [
        (
            lambda dt=dt, moving=moving: (
                ledger.move(dt, Activity.MOVING, 0.0, 1.0, True)
                if moving
                else ledger.halt(dt, Activity.SCHEDULED_HALT, 0.0)
            )
        )
        for dt, moving in bookings
    ]
    run(env, steps, until=horizon if horizon > 0 else None)
    total = sum(dt for dt, _ in bookings)
    if horizon > 0 and horizon < total:
        ledger.close(horizon)
        assert math.isclose(sum(ledger.hours), horizon, rel_tol=1e-9, abs_tol=1e-9)
    else:
        assert math.isclose(sum(ledger.hours), total, rel_tol=1e-9, abs_tol=1e-9)
    assert ledger.cover.hours_until(env.now) <= sum(ledger.hours) + 1e-9
