"""Figure details a class notices: date ticks on the clock's whole hours, whole-number ticks on
counts, labels and legends clear of what they describe, a spread coloured no finer than its noise."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from conftest import make_sweep
from matplotlib.backends.backend_agg import FigureCanvasAgg

from convoysim.calibration.abc import Population, UniformPrior
from convoysim.calibration.figures import posterior_marginals
from convoysim.figures import convergence_chart, heat_map, response_curve, route_map
from convoysim.figures.style import ClockLocator, slide_style
from convoysim.runs.reading import load_run, load_sweep

START = datetime(2023, 10, 2, 7, 0, tzinfo=timezone.utc)


def _on_the_clock(start: datetime, ticks, step_h: float) -> bool:
    """Every tick at a multiple of `step_h` hours after a UTC midnight."""
    hours = [(start + timedelta(hours=float(t))) for t in ticks]
    return all((h.hour * 60 + h.minute) % (60 * min(step_h, 24)) == 0 for h in hours)


@pytest.mark.parametrize("span_h", [5.0, 30.0, 130.0, 900.0])
def test_clock_ticks_fall_on_whole_hours_half_days_or_days(span_h):
    locator = ClockLocator(START, max_ticks=7)
    ticks = locator.tick_values(3.3, 3.3 + span_h)
    step = locator.step_h(3.3, 3.3 + span_h)
    assert 2 <= len(ticks) <= 8 and step in (1, 2, 3, 6, 12, 24, 48, 72, 96, 168)
    assert _on_the_clock(START, ticks, step)
    assert np.allclose(np.diff(ticks), step)


@pytest.fixture(scope="module")
def run(baseline_dir):
    return load_run(baseline_dir)


def test_convergence_dates_are_on_the_clock_and_its_legend_is_off_the_data(run):
    with slide_style():
        fig = convergence_chart(run)
    fig.canvas.draw()
    for ax in fig.axes:
        ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
        assert ticks and all((run.start + timedelta(hours=float(t))).minute == 0 for t in ticks)
        assert (run.start + timedelta(hours=float(ticks[0]))).hour % 6 == 0, "whole quarter-days at least"
        assert ax.get_legend() is None
    renderer = fig.canvas.get_renderer()
    (legend,) = fig.legends
    box = legend.get_window_extent(renderer)
    assert not any(box.overlaps(ax.get_window_extent(renderer)) for ax in fig.axes)


def test_the_drone_base_label_is_clear_of_its_marker(run):
    with slide_style():
        fig = route_map(run)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    (label,) = [t for t in ax.texts if t.get_gid() == "base-label:gao"]
    base = run.scenario.drones.bases["gao"]
    x, y = ax.transData.transform((base.lon, base.lat))
    marker_px = 14 * fig.dpi / 72 / 2  # ms=14 points, half of it each side
    box = label.get_window_extent(renderer)
    assert box.x0 > x + marker_px or box.y1 < y - marker_px, "the label starts past the marker's edge"
    names = [t.get_window_extent(renderer) for t in ax.texts if (t.get_gid() or "").startswith("waypoint-label:")]
    assert not any(box.overlaps(n) for n in names)


def test_count_outputs_get_whole_number_ticks(tmp_path):
    folder = make_sweep(tmp_path / "s", {"r": [0.0, 1.0, 2.0]}, {"vehicles_lost": lambda r: 2.5 + 3.1 * r})
    with slide_style():
        fig = response_curve(load_sweep(folder), "r", "vehicles_lost")
    fig.canvas.draw()
    ticks = fig.axes[0].get_yticks()
    assert np.allclose(ticks, np.round(ticks)), ticks


def test_the_spread_heat_map_colours_no_finer_than_the_noise_and_says_hours(tmp_path):
    folder = make_sweep(
        tmp_path / "h", {"a": [1.0, 2.0], "b": [10.0, 20.0]}, {"arrival_h.Kidal": lambda a, b: 900 + a + b / 10}
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(
        json.dumps({**manifest, "replications": 100, "start": "2023-10-02T07:00:00Z"})
    )
    sweep = load_sweep(folder)
    with slide_style():
        fig = heat_map(sweep, "a", "b", "arrival_h.Kidal")
    (spread,) = [c for ax in fig.axes for c in ax.collections if c.get_gid() == "heat:spread"]
    values = np.asarray(spread.get_array())
    noise = 1.96 * 2.4 * np.median(sweep.stat("arrival_h.Kidal", "sd")) / 10
    assert spread.norm.vmax - spread.norm.vmin >= 2 * noise - 1e-6 > values.max() - values.min()
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert texts and all(t.endswith(" h") and "d" not in t for t in texts), "cells in the colour bar's unit"
    assert "Monte Carlo noise" in fig.axes[1].get_title()


def test_the_marginals_legends_sit_under_their_panels_not_on_the_bars():
    rng = np.random.default_rng(1)
    priors = [UniformPrior("convoy.speed_kmh.median", 3, 30), UniformPrior("threats.ied.per_100km", 0, 4)]
    particles = np.column_stack([rng.uniform(20, 30, 100), rng.uniform(3, 4, 100)])  # piled up at the right end
    pop = Population(2, 10.0, particles, np.full(100, 0.01), np.zeros(100), 500)
    fig = posterior_marginals(pop, priors, {"convoy.speed_kmh.median": 14.0})
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    for ax in fig.axes[:2]:
        legend = ax.get_legend().get_window_extent(renderer)
        assert legend.y1 <= ax.get_window_extent(renderer).y0 + 1
