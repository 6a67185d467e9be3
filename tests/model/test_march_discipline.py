"""The march discipline and pace the corpus needs (issue 19, section 2), each against a hand-worked case:
route clearance as the pace of a leg, every march unit laagering at dusk, groups travelling apart.

Scenarios are PLAIN's (tests/conftest.py): a fixed 20 km/h, moving 06:00-18:00 UTC from a 06:00 start.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_scenario

from convoysim.model.march import march_replication
from convoysim.model.plan import compile_plan
from convoysim.runs.montecarlo import run_monte_carlo

WINDOW = (0.0, 12.0)
"""The march window on the model clock, each day: 06:00-18:00 UTC from a 06:00 start."""


def route(*legs: tuple[str, float, dict]) -> dict:
    waypoints = [{"name": "A", "lat": 16.0, "lon": 0.0, "road_km": 0}]
    waypoints += [{"name": name, "road_km": km, **extra} for name, km, extra in legs]
    waypoints[-1].update(lat=18.0, lon=1.0)
    return {"waypoints": waypoints}


def test_route_clearance_sets_the_pace_of_a_leg_not_a_speed_factor():
    """20 km a day of clearance over a 12 h march window: 20/12 km/h while moving. The 100 km to B
    take 60 h of movement, five march days: the head reaches B at 18:00 on the fifth day, 4 x 24 + 12 h."""
    paced = make_scenario(
        route=route(("B", 100, {"clearance_km_per_day": 20}), ("C", 300, {})), halts={"at_waypoints": []}
    )
    a = run_monte_carlo(paced, replications=1, seed=1).arrivals()[0]
    assert a[1] == pytest.approx(108.0)
    # the pace is a cap: a column slower than it keeps its own speed (B at 5 h, as without it)
    fast = make_scenario(
        route=route(("B", 100, {"clearance_km_per_day": 1000}), ("C", 300, {})), halts={"at_waypoints": []}
    )
    assert run_monte_carlo(fast, replications=1, seed=1).arrivals()[0][1] == pytest.approx(5.0)
    # ... and it does not scale the speed drawn: a lognormal speed around 20 km/h gives the same pace
    spread = make_scenario(
        route=route(("B", 100, {"clearance_km_per_day": 20}), ("C", 300, {})),
        halts={"at_waypoints": []},
        convoy={"speed_kmh": {"dist": "lognormal", "median": 20, "sigma": 0.2}},
    )
    assert run_monte_carlo(spread, replications=5, seed=1).arrivals()[:, 1] == pytest.approx([108.0] * 5)


def two_units(keep: bool, **convoy) -> dict:
    return {
        "vehicles": 40,
        "interval_m": 500,
        "unit_gap_min": 60,
        "catchup_speed_factor": 1.0,
        "every_unit_keeps_window": keep,
        **convoy,
    }


def test_every_unit_laagers_at_dusk_when_asked():
    """230 km, two units of 20 one hour apart. The head arrives at 11.5 h (17:30); the second unit
    passes the destination an hour after the first unit's tail (L1 km behind its head): at
    11.5 + L1/20 + 1 h, after 18:00 (12 h). Closing up on the head, it drives on past dusk; laagering
    where it stands at 18:00, it finishes the same road from 06:00 next day: 12 h later."""
    sc = make_scenario(route=route(("C", 230, {})), halts={"at_waypoints": []}, convoy=two_units(False))
    first, second = compile_plan(sc).roster.units
    late = run_monte_carlo(sc, replications=1, seed=1).records[0].tail_arrival_h
    expected = 11.5 + first.length_km / 20 + 1.0 + second.length_km / 20
    assert expected > 12.0 and late == pytest.approx(expected)
    kept = (
        run_monte_carlo(
            make_scenario(route=route(("C", 230, {})), halts={"at_waypoints": []}, convoy=two_units(True)),
            replications=1,
            seed=1,
        )
        .records[0]
        .tail_arrival_h
    )
    assert kept == pytest.approx(expected + 12.0)


def test_no_unit_moves_outside_the_march_window():
    sc = make_scenario(route=route(("C", 600, {})), halts={"at_waypoints": []}, convoy=two_units(True, vehicles=60))
    rec = march_replication(compile_plan(sc), np.random.default_rng(0), track=True)
    by_unit: dict[int, list[tuple[float, float]]] = {}
    for u, t, head, _ in rec.units:
        by_unit.setdefault(u, []).append((t, head))
    assert len(by_unit) == 3
    for points in by_unit.values():
        for (t0, x0), (t1, x1) in zip(points, points[1:]):
            if x1 > x0 + 1e-9:  # moving from t0 to t1: inside one day's window
                day = t0 // 24.0
                assert WINDOW[0] - 1e-9 <= t0 - 24 * day and t1 - 24 * day <= WINDOW[1] + 1e-9, (t0, t1)


def test_a_second_group_keeps_its_start_delay_all_the_way():
    """Moving day and night, 300 km: the second unit leaving 24 h later (a second group) reaches the
    destination 24 h later than it would one gap behind the first."""
    together = make_scenario(
        route=route(("C", 300, {})),
        halts={"at_waypoints": []},
        convoy={**two_units(False), "march_windows": [{"from_h": 0, "to_h": 24}]},
    )
    units = [
        {"name": "group 1", "vehicles": {"vehicle": 20}},
        {"name": "group 2", "vehicles": {"vehicle": 20}, "departs_after_h": 24},
    ]
    apart = make_scenario(
        route=route(("C", 300, {})),
        halts={"at_waypoints": []},
        convoy={
            **two_units(False),
            "march_windows": [{"from_h": 0, "to_h": 24}],
            "vehicles": None,
            "march_units": units,
        },
    )
    t_together = run_monte_carlo(together, replications=1, seed=1).records[0].tail_arrival_h
    t_apart = run_monte_carlo(apart, replications=1, seed=1).records[0].tail_arrival_h
    assert t_apart == pytest.approx(t_together + 24.0)
