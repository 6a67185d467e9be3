"""What the corpus's marches need from the model, each against a case worked out by hand.

PLAIN (tests/conftest.py): A -> B (100 km) -> C (300 km), one unit of 11 vehicles 500 m apart,
20 km/h, moving 06:00-18:00 from a 06:00 start, a 2 h halt at B. Arrivals are the head's; a halt
at a place starts once the tail is in, a quarter of an hour after the head (5 km of column at
20 km/h).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_scenario

from convoysim.runs.montecarlo import run_monte_carlo


def arrivals(scenario, replications: int = 1, seed: int = 1) -> np.ndarray:
    return run_monte_carlo(scenario, replications=replications, seed=seed).arrivals()


def test_a_halt_of_uncertain_length_shifts_the_arrival_by_its_draw():
    """A blockade or a wait for an escort at B, uniform 2 to 6 h (corpus: the stop near Téra).
    Head at B at 11:00, tail in at 11:15; halt h; 200 km = 10 h of driving: 6.75 - h h until 18:00,
    the night, the rest from 06:00 next day: the head reaches C at 24 + 3.25 + h."""
    sc = make_scenario(
        halts={"at_waypoints": [{"waypoint": "B", "duration_h": {"dist": "uniform", "low": 2, "high": 6}}]}
    )
    c = arrivals(sc, 4000)[:, 2]
    assert c.min() >= 27.25 + 2.0 - 1e-9 and c.max() <= 27.25 + 6.0 + 1e-9
    assert np.quantile(c, [0.1, 0.5, 0.9]) == pytest.approx([27.25 + 2.4, 27.25 + 4.0, 27.25 + 5.6], abs=0.15)


def test_a_long_stay_until_a_documented_date_then_the_march_resumes():
    """A stay at B until a date (corpus: stopped at Kaya from 18 Nov until the night of 25 Nov):
    B at 5 h (its 2 h halt ends at 7.25 h), held until 07:00 on the third day (t = 49 h); 200 km =
    10 h from 07:00 to 17:00, so the head reaches C at 59 h."""
    sc = make_scenario(halts={"holds": [{"waypoint": "B", "until": "2023-10-04T07:00:00Z"}]})
    a = arrivals(sc)[0]
    assert a[1] == pytest.approx(5.0) and a[2] == pytest.approx(59.0)


def test_a_blockade_lifted_on_an_event_of_uncertain_date():
    """A blockade at B that ends with an event whose date is uncertain (not_before the start, plus
    1 to 2 days): the march resumes then, or at 06:00 if the event falls at night. With the event at
    the start + d days (d uniform 1-2), the head leaves B at 24 d h (from 06:00 on the second day
    when 24 d falls in the night), so C is never reached before 24 + 10 hours of driving."""
    sc = make_scenario(
        events={
            "lifted": {"not_before": "2023-10-02T06:00:00Z", "delay_days": {"dist": "uniform", "low": 1, "high": 2}}
        },
        halts={"holds": [{"waypoint": "B", "after": "lifted"}]},
    )
    c = arrivals(sc, 400)[:, 2]
    # leaving B at 24 (06:00, day 2) at the earliest: 10 h of driving ends at 34; at the latest it
    # leaves at 48 (06:00, day 3) and arrives at 58 (the event then falls at or before dawn)
    assert c.min() >= 34.0 - 1e-9 and c.max() <= 58.0 + 1e-9
    # by hand, with the event at t uniform on [24, 48]: t in [24, 26] arrives at t + 10 (2/24 of the
    # draws), t in (26, 36) drives 36 - t h that day and the rest from 48, arriving at t + 22 (10/24),
    # t at or after 18:00 (36) waits for 06:00 and arrives at 58 (12/24)
    assert np.mean(c <= 36.0 + 1e-9) == pytest.approx(2 / 24, abs=0.04)
    assert np.mean((c > 48.0) & (c < 58.0 - 1e-9)) == pytest.approx(10 / 24, abs=0.07)
    assert np.mean(np.isclose(c, 58.0)) == pytest.approx(12 / 24, abs=0.07)
    assert len(np.unique(np.round(c, 6))) > 50  # the date is uncertain, and so is the arrival
