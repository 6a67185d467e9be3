"""Recovery as a SimPy Resource: queues, limits, and what happens at the limit."""

import math

import numpy as np
import pytest
import simpy
from conftest import make_scenario

from convoysim import compile_plan
from convoysim.model.recovery import RecoveryService
from convoysim.model.vehicles import Fleet, VehicleState


def _service(policy: str, limit_h: float, recovery_vehicles: int = 1, trucks: int = 5):
    types = [{"name": "truck"}, {"name": "wrecker", "recovers": True}]
    vehicles = {"truck": trucks, "wrecker": recovery_vehicles} if recovery_vehicles else {"truck": trucks}
    sc = make_scenario(
        convoy={
            "vehicles": trucks + recovery_vehicles,
            "vehicle_types": types,
            "march_units": [{"name": "only", "vehicles": vehicles}],
        }
    )
    env = simpy.Environment()
    fleet = Fleet(compile_plan(sc).roster)
    return env, fleet, RecoveryService(env, fleet, 0, limit_h, policy == "leave_behind")


def _breakdown(env, service, v, at_h, repair_h, released_at):
    def go():
        yield env.timeout(at_h)
        released = env.event()
        env.process(service.recover(v, repair_h, "breakdown", 0.0, released))
        yield released
        released_at[v] = env.now

    env.process(go())


def test_one_recovery_vehicle_leave_behind_hand_computed():
    # Limit 1 h, repairs of 5 h, breakdowns at 0 h and 1 h, one recovery vehicle.
    # Vehicle 0: recovery vehicle from 0 h; at 1 h its unit leaves it behind; repaired (rejoins) at 5 h.
    # Vehicle 1: queues from 1 h; at 2 h its unit leaves it behind; the recovery vehicle is free at 5 h,
    # so it is repaired at 10 h.
    env, fleet, service = _service("leave_behind", 1.0)
    released: dict[int, float] = {}
    _breakdown(env, service, 0, 0.0, 5.0, released)
    _breakdown(env, service, 1, 1.0, 5.0, released)
    env.run(until=4.9)
    assert released == {0: 1.0, 1: 2.0}
    assert fleet.state[0] == VehicleState.LEFT_BEHIND and fleet.state[1] == VehicleState.LEFT_BEHIND
    env.run(until=9.9)
    assert fleet.state[0] == VehicleState.MOVING and fleet.state[1] == VehicleState.LEFT_BEHIND
    env.run(until=10.1)
    assert fleet.state[1] == VehicleState.MOVING
    assert service.waits_h == [0.0, 4.0]  # vehicle 1 waited from 1 h to 5 h for the recovery vehicle
    assert [f[1] for f in fleet.fates] == ["left_behind", "left_behind"]


def test_one_recovery_vehicle_abandon_frees_it_at_the_limit():
    # Limit 3 h, repairs of 5 h and 1 h: vehicle 0 is abandoned at 3 h, which frees the recovery
    # vehicle for vehicle 1 (queued since 1 h), repaired at 4 h: its unit waited 3 h.
    env, fleet, service = _service("abandon", 3.0)
    released: dict[int, float] = {}
    _breakdown(env, service, 0, 0.0, 5.0, released)
    _breakdown(env, service, 1, 1.0, 1.0, released)
    env.run()
    assert released == {0: 3.0, 1: 4.0}
    assert fleet.state[0] == VehicleState.ABANDONED and fleet.state[1] == VehicleState.MOVING
    assert fleet.with_column == 5


def test_no_recovery_vehicles_means_repair_in_place_without_a_queue():
    env, fleet, service = _service("abandon", math.inf, recovery_vehicles=0)
    released: dict[int, float] = {}
    for v in range(3):
        _breakdown(env, service, v, 0.0, 2.0, released)
    env.run()
    assert released == {0: 2.0, 1: 2.0, 2: 2.0}


def test_queue_wait_of_one_recovery_vehicle_matches_mm1():
    # Poisson breakdowns (rate lam) served by one recovery vehicle with exponential repairs (mean s):
    # the mean wait in queue of an M/M/1 queue is rho * s / (1 - rho).
    lam, s = 0.25, 2.0
    rng = np.random.default_rng(7)
    env, fleet, service = _service("leave_behind", 0.0, trucks=1000)
    released: dict[int, float] = {}
    t = 0.0
    for k in range(20000):
        t += rng.exponential(1 / lam)
        _breakdown(env, service, k % 1000, t, rng.exponential(s), released)
    env.run()
    rho = lam * s
    assert np.mean(service.waits_h) == pytest.approx(rho * s / (1 - rho), rel=0.1)
