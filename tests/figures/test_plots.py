"""Each figure is built from a small real run (or a synthetic sweep) and checked for what it must show."""

from __future__ import annotations

import math

import matplotlib.dates as mdates
import numpy as np
import pytest
from conftest import make_sweep, run_cli
from matplotlib.path import Path as MplPath
from PIL import Image

from convoysim import geo
from convoysim.figures import (
    activity_hours,
    arrival_panels,
    destination_arrival,
    directory_figures,
    heat_map,
    is_grid,
    losses_by_cause,
    plot_directory,
    response_curve,
    route_map,
    run_figures,
    scatter_panels,
    sobol_bars,
    time_distance_chart,
)
from convoysim.figures.style import SLIDE_SIZE_IN, date_numbers, slide_style
from convoysim.figures.timedistance import first_days_h, position_km
from convoysim.model import ACTIVITIES
from convoysim.runs.reading import RunDirError, is_sweep, load_run, load_sweep, parse_time


def by_gid(fig, prefix: str) -> list:
    return [a for a in fig.findobj(lambda a: (a.get_gid() or "").startswith(prefix))]


@pytest.fixture(scope="module")
def run(baseline_dir):
    return load_run(baseline_dir)


@pytest.fixture(scope="module")
def variant(variant_dir):
    return load_run(variant_dir)


# --- the run directory reader -------------------------------------------------------------------


def test_reader_matches_the_files(run, baseline_dir):
    assert run.waypoints[0] == "Gao" and run.waypoints[-1] == "Kidal"
    assert run.arrivals_h.shape == (120, len(run.waypoints))
    assert np.all(run.arrivals_h[:, 0] == 0.0)
    assert len(run.tracks) == 50
    assert len(run.windows) == len(run.scenario.documented_dates)
    assert run.sources and "# ref:" in run.sources[0][1]
    assert not is_sweep(baseline_dir)


def test_resolved_scenario_validates(run):
    assert run.scenario.name == "baseline"
    assert run.plan.names == tuple(run.waypoints)


# --- the time-distance chart --------------------------------------------------------------------


def test_time_distance_has_one_window_per_milestone_at_its_place_and_date(run):
    with slide_style():
        fig = time_distance_chart(run)
    ax = fig.axes[0]
    windows = by_gid(fig, "window:")
    assert sorted(w.get_gid()[7:] for w in windows) == sorted(w.waypoint for w in run.windows)
    km = dict(zip(run.waypoints, run.road_km))
    for rect in windows:
        doc = next(w for w in run.windows if w.waypoint == rect.get_gid()[7:])
        assert rect.get_y() + rect.get_height() / 2 == pytest.approx(km[doc.waypoint])
        assert mdates.num2date(rect.get_x()) == run.date(doc.earliest_h)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert all(any(name in label for label in labels) for name in run.waypoints)
    assert "km" in ax.get_ylabel() and "date" in ax.get_xlabel()
    assert isinstance(ax.xaxis.get_major_formatter(), mdates.DateFormatter)


def test_time_distance_paths_show_halts_as_flat_segments(run):
    with slide_style():
        fig = time_distance_chart(run)
    paths = by_gid(fig, "path")
    assert 0 < len(paths) <= len(run.tracks)
    flat = 0
    for line in paths:
        x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
        assert np.all(np.diff(x) >= 0), "time never runs backwards"
        flat += int(np.sum((np.diff(y) == 0) & (np.diff(x) > 1.0)))  # halts of more than a day
    assert flat > 0
    assert by_gid(fig, "band") and by_gid(fig, "median")


def test_position_interpolation_holds_at_the_ends():
    t, km = np.array([0.0, 2.0, 5.0, 7.0]), np.array([0.0, 20.0, 20.0, 50.0])
    got = position_km(np.array([-1.0, 1.0, 3.0, 6.0, 99.0]), t, km)
    assert got.tolist() == [0.0, 10.0, 20.0, 35.0, 50.0]


def test_zoomed_chart_stops_before_the_long_pause_ends(run):
    until = first_days_h(run)
    with slide_style():
        fig = time_distance_chart(run, until_h=until)
    lo, hi = fig.axes[0].get_xlim()
    assert (hi - lo) * 24 == pytest.approx(until)
    # the pause ends on an event, not a date: the chart stops before any replication moves on after it
    after_hold = run.waypoints.index(run.scenario.halts.holds[0].waypoint) + 1
    assert until < np.nanmin(run.arrivals_h[:, after_hold])


# --- arrivals -----------------------------------------------------------------------------------


def test_arrival_panels_mark_each_documented_window_and_its_hit_rate(run):
    with slide_style():
        fig = arrival_panels(run)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == len(run.waypoints) - 1
    windows = by_gid(fig, "window:")
    assert sorted(w.get_gid()[7:] for w in windows) == sorted(w.waypoint for w in run.windows)
    titles = {ax.get_title().split("\n")[0]: ax.get_title() for ax in visible}
    for w in run.windows:
        assert f"{100 * w.hit_rate:.0f} % in window" in titles[w.waypoint]


def test_destination_arrival_shows_the_kidal_window(run):
    with slide_style():
        fig = destination_arrival(run)
    assert [w.get_gid() for w in by_gid(fig, "window:")] == ["window:Kidal"]
    assert "Kidal" in fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel() == "replications"


# --- route map ----------------------------------------------------------------------------------


def test_route_map_ring_is_a_true_great_circle_and_kidal_is_outside(run):
    with slide_style():
        fig = route_map(run)
    ax = fig.axes[0]
    rings = by_gid(fig, "ring:")
    assert [r.get_gid() for r in rings] == ["ring:gao"]
    base = run.scenario.drones.bases["gao"]
    lons, lats = rings[0].get_xdata(), rings[0].get_ydata()
    radius = 150 * geo.KM_PER_MILE
    for lat, lon in zip(lats[::20], lons[::20]):
        assert geo.great_circle_km(base.lat, base.lon, lat, lon) == pytest.approx(radius, rel=1e-6)
    ring = MplPath(np.column_stack([lons, lats]))
    kidal = (run.plan.lons[-1], run.plan.lats[-1])
    tarkint = (run.plan.lons[2], run.plan.lats[2])
    assert not ring.contains_point(kidal)
    assert ring.contains_point(tarkint)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    assert x0 < kidal[0] < x1 and y0 < kidal[1] < y1, "Kidal must be on the map"
    assert ax.get_aspect() == pytest.approx(1 / math.cos(math.radians(0.5 * (y0 + y1))), rel=0.05)
    assert "longitude" in ax.get_xlabel() and "latitude" in ax.get_ylabel()
    # The note on the destination sits in the legend, which covers no waypoint; no two place names overlap.
    [note] = by_gid(fig, "destination-reach")
    assert "Kidal is" in note.get_text() and "outside" in note.get_text()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend_box = ax.get_legend().get_window_extent(renderer)
    note_box = note.get_window_extent(renderer)
    assert legend_box.x0 <= note_box.x0 and note_box.x1 <= legend_box.x1 and legend_box.y0 <= note_box.y0
    places = ax.transData.transform(np.column_stack([run.plan.lons, run.plan.lats]))
    assert not any(legend_box.contains(x, y) for x, y in places)
    labels = [t.get_window_extent(renderer) for t in by_gid(fig, "waypoint-label:")]
    assert len(labels) == len(run.plan.names)
    assert not any(a.overlaps(b) for i, a in enumerate(labels) for b in labels[i + 1 :]), "place names overlap"


def test_route_map_fills_the_slide_and_has_a_scale_bar(run):
    with slide_style():
        fig = route_map(run)
    ax = fig.axes[0]
    fig.canvas.draw()
    box = ax.get_window_extent(fig.canvas.get_renderer())
    assert box.width * box.height >= 0.75 * fig.bbox.width * fig.bbox.height, "the map leaves most of the slide empty"
    [bar] = by_gid(fig, "scale-bar")
    (x0, x1), (y, _) = bar.get_xdata(), bar.get_ydata()
    assert geo.great_circle_km(y, x0, y, x1) == pytest.approx(100, rel=0.02)
    assert by_gid(fig, "north-arrow")


def test_route_map_draws_hostile_incidents_but_not_breakdowns(run):
    with slide_style():
        fig = route_map(run)
    kinds = {a.get_gid().split(":")[1] for a in by_gid(fig, "incidents:")}
    present = set(run.incidents.kind.tolist())
    assert "breakdown" in present and "breakdown" not in kinds
    assert kinds == present & {"ied_strike", "ied_found", "ambush", "harassment"}


def test_route_map_draws_one_ring_per_active_base(variant):
    with slide_style():
        fig = route_map(variant)
    assert sorted(r.get_gid() for r in by_gid(fig, "ring:")) == ["ring:gao", "ring:tessalit"]
    assert [r.get_gid() for r in by_gid(fig, "inactive-ring:")] == ["inactive-ring:later"]
    tessalit = by_gid(fig, "ring:tessalit")[0]
    d = [geo.great_circle_km(20.2011, 1.0125, la, lo) for lo, la in zip(tessalit.get_xdata(), tessalit.get_ydata())]
    assert np.allclose(d, 200.0, rtol=1e-6)


# --- outcomes -----------------------------------------------------------------------------------


def test_activity_bars_add_up_to_the_march_duration(run):
    with slide_style():
        fig = activity_hours(run)
    bars = by_gid(fig, "activity:")
    assert {b.get_gid()[9:] for b in bars} <= set(ACTIVITIES)
    everyone = [b for b in bars if round(b.get_y() + b.get_height() / 2) == 1]
    total_days = sum(b.get_width() for b in everyone)
    assert total_days == pytest.approx(np.mean(run.replications["end_h"]) / 24.0, rel=1e-6)
    assert "days" in fig.axes[0].get_xlabel()


def test_losses_histograms_count_every_replication(run):
    with slide_style():
        fig = losses_by_cause(run)
    for cause in ("ied", "ambush"):
        patches = by_gid(fig, f"hist:{cause}")
        assert patches, cause
    assert "vehicles lost" in fig.axes[0].get_xlabel() and "count" in fig.axes[0].get_xlabel()


# --- files and the command line -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_plot_directory_writes_every_figure(baseline_dir, tmp_path, fmt):
    written = plot_directory(baseline_dir, tmp_path, fmt)
    assert {p.stem for p in written} >= {"time_distance", "arrivals", "route_map", "activity_hours", "losses"}
    assert all(p.suffix == f".{fmt}" and p.stat().st_size > 1000 for p in written)
    if fmt == "png":
        with Image.open(written[0]) as im:
            assert im.size == (round(SLIDE_SIZE_IN[0] * 150), round(SLIDE_SIZE_IN[1] * 150))


def test_plot_command_and_run_plot_flag(baseline_dir, tmp_path):
    result = run_cli(["plot", str(baseline_dir), "--out", str(tmp_path / "f"), "--format", "svg"])
    assert result.exit_code == 0
    assert (tmp_path / "f" / "route_map.svg").is_file()
    result = run_cli(["run", "baseline", "-n", "20", "--out", str(tmp_path / "r"), "--plot"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r" / "figures" / "time_distance.png").is_file()


def test_plot_bad_directory_is_a_one_line_error(tmp_path):
    result = run_cli(["plot", str(tmp_path)])
    assert result.exit_code == 2
    assert "manifest.json" in result.output and "Traceback" not in result.output
    result = run_cli(["plot", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "not a directory" in result.output


def test_missing_file_in_run_dir_is_named(baseline_dir, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(baseline_dir, copy)
    (copy / "tracks.csv").unlink()
    result = run_cli(["plot", str(copy)])
    assert result.exit_code == 2
    assert "tracks.csv: missing" in result.output


def test_invalid_resolved_scenario_is_reported(baseline_dir, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(baseline_dir, copy)
    text = (copy / "scenario.resolved.yaml").read_text().replace("vehicles: 115", "vehicles: -3")
    (copy / "scenario.resolved.yaml").write_text(text)
    result = run_cli(["plot", str(copy)])
    assert result.exit_code == 2
    assert "scenario.resolved.yaml: does not validate" in result.output


# --- sweeps -------------------------------------------------------------------------------------


def test_response_curve_follows_the_summary(tmp_path):
    radius = [100.0, 300.0, 200.0, 400.0]
    folder = make_sweep(
        tmp_path / "one", {"drones.bases.gao.radius_km": radius}, {"kidal_arrival_h": lambda r: 1000 - r / 10}
    )
    sweep = load_sweep(folder)
    assert is_sweep(folder) and sweep.parameters == ["drones.bases.gao.radius_km"]
    with slide_style():
        fig = response_curve(sweep, "drones.bases.gao.radius_km", "kidal_arrival_h")
    mean = by_gid(fig, "mean")[0]
    assert list(mean.get_xdata()) == sorted(radius)
    assert np.allclose(mean.get_ydata(), [1000 - r / 10 for r in sorted(radius)])
    assert by_gid(fig, "band")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "drone radius from Gao (km)" and ax.get_ylabel() == "kidal arrival (hours)"
    figs = directory_figures(folder)
    assert list(figs) == ["response_drones.bases.gao.radius_km_kidal_arrival_h"]


def test_sweep_figures_get_one_file_each(tmp_path):
    folder = make_sweep(
        tmp_path / "one",
        {"drones.bases.gao.radius_km": [100.0, 200.0]},
        {"kidal_arrival_h": lambda r: r, "vehicles_lost": lambda r: r / 10},
    )
    written = plot_directory(folder, tmp_path / "figs", "svg")
    assert len(written) == len(set(written)) == 2
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == sorted(
        f"response_drones.bases.gao.radius_km_{o}.svg" for o in ("kidal_arrival_h", "vehicles_lost")
    )


def test_heat_map_puts_each_point_in_its_cell(tmp_path):
    folder = make_sweep(
        tmp_path / "two", {"a": [1.0, 2.0, 3.0], "b": [10.0, 20.0]}, {"lost": lambda a, b: a * 100 + b}, shuffle=True
    )
    sweep = load_sweep(folder)
    with slide_style():
        fig = heat_map(sweep, "a", "b", "lost")
    mesh = by_gid(fig, "heat:mean")[0]
    z = np.asarray(mesh.get_array()).reshape(2, 3)
    assert np.allclose(z, [[a * 100 + b for a in (1, 2, 3)] for b in (10, 20)])
    spread = np.asarray(by_gid(fig, "heat:spread")[0].get_array()).reshape(2, 3)
    assert np.allclose(spread, 2 * 1.28 * z / 10)
    assert fig.axes[0].get_xlabel() == "a" and fig.axes[0].get_ylabel() == "b"
    assert list(directory_figures(folder)) == ["heatmap_lost"]


def test_heat_map_of_scattered_points_does_not_invent_a_grid(tmp_path):
    folder = make_sweep(tmp_path / "lhs", {"a": [1.0, 2.0], "b": [5.0, 6.0]}, {"y": lambda a, b: a + b})
    pts = (folder / "points.csv").read_text().splitlines()
    (folder / "points.csv").write_text("\n".join([pts[0], "0,1.0,5.0", "1,1.5,6.0", "2,2.0,5.5", "3,1.2,5.2"]) + "\n")
    with slide_style():
        fig = heat_map(load_sweep(folder), "a", "b", "y")
        panels = scatter_panels(load_sweep(folder), "y")
    assert len(by_gid(fig, "heat:mean")[0].get_offsets()) == 4
    # Not a grid, so `convoysim plot` draws the scatter panels (one per parameter), not a heat map.
    assert len(by_gid(panels, "scatter:")) == 2
    assert list(directory_figures(folder)) == ["scatter_y"]


def test_sobol_bars_carry_their_confidence_intervals(tmp_path):
    sobol = [
        ["speed", "kidal_arrival_h", 0.6, 0.05, 0.7, 0.06],
        ["radius", "kidal_arrival_h", 0.1, 0.02, 0.15, 0.03],
        ["speed", "lost", 0.2, 0.04, 0.3, 0.05],
        ["radius", "lost", 0.5, 0.05, 0.6, 0.07],
    ]
    folder = make_sweep(
        tmp_path / "sob",
        {"speed": [10.0, 14.0], "radius": [100.0, 300.0], "x": [1.0]},
        {"kidal_arrival_h": lambda s, r, x: 1000 - s, "lost": lambda s, r, x: r / 50},
        sobol=sobol,
    )
    sweep = load_sweep(folder)
    with slide_style():
        fig = sobol_bars(sweep, "lost")
    s1 = sorted(b.get_width() for b in by_gid(fig, "sobol:S1"))
    st = sorted(b.get_width() for b in by_gid(fig, "sobol:ST"))
    assert s1 == [0.2, 0.5] and st == [0.3, 0.6]
    errors = sorted(
        round(float(np.diff(seg[:, 0])[0]) / 2, 6) for coll in fig.axes[0].collections for seg in coll.get_segments()
    )
    assert errors == sorted([0.04, 0.05, 0.05, 0.07])
    figs = directory_figures(folder)
    assert {"sobol_kidal_arrival_h", "sobol_lost"} <= set(figs)
    assert sum(k.startswith("response_") for k in figs) == 3 * 2


def test_plot_command_on_a_sweep(tmp_path):
    folder = make_sweep(tmp_path / "one", {"p": [1.0, 2.0, 3.0]}, {"y": lambda p: p * 2})
    result = run_cli(["plot", str(folder)])
    assert result.exit_code == 0
    assert (folder / "figures" / "response_p_y.png").is_file()


# --- a run in which nobody arrives ---------------------------------------------------------------


@pytest.fixture(scope="module")
def stalled_dir(tmp_path_factory):
    """A one-day horizon: no replication reaches Kidal (nor most waypoints)."""
    folder = tmp_path_factory.mktemp("stalled")
    (folder / "short.yaml").write_text("extends: baseline\nhorizon_days: 1\n")
    out = folder / "run"
    result = run_cli(["run", str(folder / "short.yaml"), "-n", "12", "--seed", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_destination_arrival_with_no_arrival_says_so_on_a_date_axis(stalled_dir):
    run = load_run(stalled_dir)
    assert not np.isfinite(run.arrivals_h[:, -1]).any()
    with slide_style():
        fig = destination_arrival(run)
    ax = fig.axes[0]
    [note] = by_gid(fig, "no-arrivals")
    assert "0 of 12 replications reached Kidal" in note.get_text()
    assert isinstance(ax.xaxis.get_major_formatter(), mdates.DateFormatter)
    window = next(w for w in run.windows if w.waypoint == "Kidal")
    lo, hi = ax.get_xlim()
    start = mdates.date2num(run.start)
    assert lo <= start <= start + window.earliest_h / 24 < start + window.latest_h / 24 <= hi
    with slide_style():
        panels = arrival_panels(run)
    never = [name for i, name in enumerate(run.waypoints) if i > 0 and not np.isfinite(run.arrivals_h[:, i]).any()]
    assert never and sorted(t.get_gid() for t in by_gid(panels, "no-arrivals:")) == sorted(
        f"no-arrivals:{n}" for n in never
    )


def test_every_figure_of_a_run_without_arrivals_draws_without_warnings(stalled_dir, tmp_path):
    import warnings

    from convoysim.figures.animate import write_animation
    from convoysim.figures.report import write_report

    run = load_run(stalled_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figures = run_figures(run)
        for fig in figures.values():
            fig.canvas.draw()
        write_report(stalled_dir, tmp_path / "report.html")
        write_animation(run, tmp_path / "march.gif", fps=5)
    assert (tmp_path / "report.html").stat().st_size > 0 and (tmp_path / "march.gif").stat().st_size > 0


# --- truncated tables ----------------------------------------------------------------------------


@pytest.mark.parametrize(("file", "command"), [("replications.csv", "plot"), ("milestones.csv", "report")])
def test_truncated_table_is_an_error_naming_the_file_and_counts(baseline_dir, tmp_path, file, command):
    import json
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(baseline_dir, copy)
    text = (copy / file).read_bytes()
    (copy / file).write_bytes(text[:500])
    n = json.loads((copy / "manifest.json").read_text())["replications"]
    expected = n if file == "replications.csv" else n * len(load_run(baseline_dir).waypoints)
    with pytest.raises(RunDirError, match=f"has \\d+ rows .* {expected} rows"):
        load_run(copy)
    result = run_cli([command, str(copy)])
    assert result.exit_code == 2
    assert file in result.output and str(expected) in result.output and "Traceback" not in result.output


# --- sampled (scattered) sweep designs -----------------------------------------------------------


def sampled_sweep(folder, kind: str | None = "latin_hypercube", n: int = 60):
    """A sweep of `n` random points over three parameters (y = 2a + b, c does nothing)."""
    import csv
    import json

    rng = np.random.default_rng(4)
    values = rng.uniform(0.0, 1.0, size=(n, 3))
    folder.mkdir(parents=True)
    with (folder / "points.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["point", "a", "b", "c"])
        w.writerows([k, *row] for k, row in enumerate(values))
    with (folder / "summary.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["point", *(f"{o}_{s}" for o in ("y", "z") for s in ("mean", "sd", "p10", "p50", "p90"))])
        for k, (a, b, _c) in enumerate(values):
            y, z = 2 * a + b, a
            w.writerow([k, y, 0.1, y - 0.1, y, y + 0.1, z, 0.1, z - 0.1, z, z + 0.1])
    manifest = {"kind": "sweep", "experiment": folder.name, "scenario": "baseline"}  # as convoysim sweep writes it
    if kind:
        manifest["design"] = {"kind": kind}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.mark.parametrize("kind", ["latin_hypercube", "saltelli", None])
def test_sampled_designs_get_one_scatter_figure_per_output(tmp_path, kind):
    folder = sampled_sweep(tmp_path / "lhs", kind)
    sweep = load_sweep(folder)
    assert not is_grid(sweep)
    figures = directory_figures(folder)
    assert list(figures) == ["scatter_y", "scatter_z"]
    fig = figures["scatter_y"]
    for p in ("a", "b", "c"):
        [dots] = by_gid(fig, f"scatter:{p}")
        assert np.allclose(np.asarray(dots.get_offsets())[:, 0], sweep.points[p])
        assert np.allclose(np.asarray(dots.get_offsets())[:, 1], sweep.stat("y", "mean"))
    assert not any(ax.lines for ax in fig.axes), "scattered points must not be joined by lines"
    assert fig.get_suptitle().startswith("lhs:")  # the experiment's name, not its scenario's


def test_grids_are_recognised_without_a_design_kind(tmp_path):
    grid = make_sweep(tmp_path / "grid", {"a": [1.0, 2.0, 3.0], "b": [5.0, 6.0]}, {"y": lambda a, b: a + b})
    assert is_grid(load_sweep(grid))
    assert list(directory_figures(grid)) == ["heatmap_y"]


def test_time_distance_median_passes_through_the_tables_p50_at_every_documented_waypoint(run):
    """The median is drawn over every replication, not the 50 tracked ones, so it agrees with the table."""
    fig = time_distance_chart(run)
    (median,) = by_gid(fig, "median")
    x, km = median.get_data()
    km_of = dict(zip(run.waypoints, run.road_km))
    for row in run.comparison:
        p50 = (parse_time(row["p50"]) - run.start).total_seconds() / 3600
        at = np.flatnonzero(np.isclose(km, km_of[row["waypoint"]]))
        arrival_x = date_numbers(run.start, p50)
        assert len(at) and np.isclose(x[at[0]], arrival_x, atol=1 / 1440), row["waypoint"]
    assert f"all {len(run.arrivals_h)} replications" in by_gid(fig, "band")[0].get_label()


def test_a_grid_with_a_tied_parameter_is_a_heat_map_in_dates_and_words(tmp_path):
    """ied-clearance: detection_prob comes with clearance_speed_factor (`also`): two axes, not three."""
    import itertools
    import json

    density, effort, speed = [0.5, 1.0, 2.0, 4.0], [0.0, 0.5, 0.9], [1.0, 0.5, 0.25]
    folder = make_sweep(
        tmp_path / "ied",
        {"threats.ied.per_100km": density, "threats.ied.detection_prob": effort},
        {"arrival_h.Kidal": lambda d, e: 960 + 10 * d + 100 * e},
    )
    rows = [[k, d, e, speed[effort.index(e)]] for k, (d, e) in enumerate(itertools.product(density, effort))]
    from conftest import write_csv

    write_csv(
        folder / "points.csv",
        ["point", "threats.ied.per_100km", "threats.ied.detection_prob", "threats.ied.clearance_speed_factor"],
        rows,
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(
        start="2023-10-02T07:00:00Z",
        parameters={
            "threats.ied.per_100km": {"levels": density},
            "threats.ied.detection_prob": {"levels": effort, "also": {"threats.ied.clearance_speed_factor": speed}},
        },
    )
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert list(directory_figures(folder)) == ["heatmap_arrival_h.Kidal"]
    sweep = load_sweep(folder)
    with slide_style():
        fig = heat_map(sweep, "threats.ied.per_100km", "threats.ied.detection_prob", "arrival_h.Kidal")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "IEDs per 100 km of contested road"
    assert (
        "chance route clearance finds an IED" in ax.get_ylabel()
        and "speed factor under route clearance: 1, 0.5, 0.25" in ax.get_ylabel()
    )
    cells = [t.get_text() for t in ax.texts]
    assert "11 Nov\n12h" in cells, cells  # 965 h after 2 Oct 07:00 (0.5 IEDs, no clearance: 960 + 5 h)
    assert not any(text.replace(".", "").isdigit() for text in cells), "arrivals are dates, not hours"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.5", "1", "2", "4"]


def test_sweep_table_is_headed_in_words_with_dates():
    from rich.console import Console

    from convoysim.commands.tables import summary_tables

    rows = [{"point": 0, "threats.ied.per_100km": 1.0, "arrival_h.Kidal_mean": 1022.0}]
    console = Console(width=120, record=True)
    for table in summary_tables(
        rows, ["threats.ied.per_100km"], ["arrival_h.Kidal"], parse_time("2023-10-02T07:00:00Z"), 120
    ):
        console.print(table)
    text = console.export_text()
    assert "IEDs per 100 km" in text and "arrival at Kidal" in text and "13 Nov 21h" in text and "1022" not in text


def test_convergence_chart_ends_on_the_runs_estimate_with_a_narrower_interval(run):
    from convoysim.figures import convergence_chart
    from convoysim.runs.compare import quantiles

    with slide_style():
        fig = convergence_chart(run)
    (p50,) = by_gid(fig, "estimate:p50")
    n, est = p50.get_data()
    assert n[-1] == len(run.arrivals_h)
    assert est[-1] == pytest.approx(quantiles(run.arrivals_h[:, -1], (0.5,))[0])
    (band,) = by_gid(fig, "interval:p50")
    verts = band.get_paths()[0].vertices
    first_x, last_x = verts[:, 0].min(), verts[:, 0].max()
    width = lambda x: np.ptp(verts[np.isclose(verts[:, 0], x), 1])  # noqa: E731
    assert width(last_x) < width(first_x)


def test_all_zero_counts_are_named_without_an_empty_legend():
    import warnings

    from convoysim.figures.outcomes import count_histograms

    with slide_style(), warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns about a legend with nothing in it
        fig = count_histograms({"ied": np.zeros(5), "ambush": np.zeros(5)}, "vehicles lost", "all zero")
    ax = fig.axes[0]
    assert ax.get_legend() is None
    assert any("none at all: ied, ambush" in t.get_text() for t in ax.texts)
