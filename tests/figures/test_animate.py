"""The march animation: frame times, what a frame shows, and the GIF that is written."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from convoysim import geo
from convoysim.figures.animate import (
    FLASH_H,
    column_activities,
    doing_now,
    frame_times,
    march_animation,
    write_animation,
)
from convoysim.runs.reading import load_run


@st.composite
def head_paths(draw):
    """(t_h, km) paths as the model records them: time and distance never decrease."""
    n = draw(st.integers(2, 12))
    dt = draw(st.lists(st.floats(0.0, 200.0), min_size=n - 1, max_size=n - 1))
    moves = draw(st.lists(st.booleans(), min_size=n - 1, max_size=n - 1))
    dk = [draw(st.floats(0.5, 60.0)) if m else 0.0 for m in moves]
    return np.concatenate([[0.0], np.cumsum(dt)]), np.concatenate([[0.0], np.cumsum(dk)])


@given(head_paths(), st.integers(1, 10))
@settings(max_examples=80, deadline=None)
def test_frame_times_never_run_backwards_and_end_at_the_path_end(path, max_halt):
    t, km = path
    times = frame_times(t, km, moving_step_h=1.0, max_halt_frames=max_halt)
    assert times[0] == t[0] and times[-1] == pytest.approx(t[-1])
    assert np.all(np.diff(times) >= 0)
    for t0, t1, k0, k1 in zip(t[:-1], t[1:], km[:-1], km[1:]):
        inside = np.sum((times > t0) & (times <= t1))
        if t1 > t0 and k0 == k1:
            assert inside <= max_halt + 1, "a halt is fast-forwarded"
        elif t1 > t0:
            assert inside >= min(np.floor(t1 - t0), 1), "movement is shown hour by hour"


@pytest.fixture(scope="module")
def run(baseline_dir):
    return load_run(baseline_dir)


pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted without rendering")


def test_a_frame_shows_the_head_where_the_track_puts_it(run):
    built = march_animation(run, replication=0)
    t, km = run.tracks[0]
    assert set(frame_times(t, km)) <= set(built.times_h)
    k = built.frames // 3
    head, _, _, clock, _ = built.draw(k)
    pos = float(np.interp(built.times_h[k], t, km))
    lat, lon = geo.position_at(run.plan.road_km, run.plan.lats, run.plan.lons, pos)
    assert head.get_xdata()[0] == pytest.approx(lon) and head.get_ydata()[0] == pytest.approx(lat)
    assert f"{run.date(built.times_h[k]):%d %b %Y %H:%M}" in clock.get_text()
    assert f"km {pos:.0f}" in clock.get_text()


def test_incidents_flash_when_they_happen_and_not_before(run):
    inc = run.incidents
    hostile = np.isin(inc.kind, ["ied_strike", "ied_found", "ambush", "harassment"])
    rep = next(r for r in sorted(run.tracks) if np.any(hostile & (inc.replication == r)))
    built = march_animation(run, replication=rep)
    mine = hostile & (inc.replication == rep)
    first = float(np.min(inc.t_h[mine]))
    k = int(np.searchsorted(built.times_h, first))
    assert built.times_h[k] == first, "an incident has a frame of its own"
    _, _, marks, clock, flash = built.draw(k)
    assert np.max(marks.get_sizes()) > 500.0
    assert flash.get_visible() and flash.get_text().startswith("! ")
    assert flash.get_text().split()[1] in ("ambush", "IED", "route", "the"), (
        "the incident box names it, the status does not"
    )
    _, _, marks, clock, flash = built.draw(k - 1)
    assert np.max(marks.get_sizes()) == 0.0
    late = int(np.searchsorted(built.times_h, first + 2 * FLASH_H))
    if late < built.frames:
        _, _, marks, _, _ = built.draw(late)
        assert 0.0 < np.min(marks.get_sizes()[inc.t_h[mine] <= first]) <= 60.0, "a past incident stays as a small mark"


def test_gif_is_slide_sized_and_ends_on_the_arrival_held_on_screen(run, tmp_path):
    out = write_animation(run, tmp_path / "march.gif", replication=1, moving_step_h=48.0, max_halt_frames=1, fps=2)
    built = march_animation(run, replication=1, moving_step_h=48.0, max_halt_frames=1, fps=2)
    distinct = len(np.unique(built.times_h))
    with Image.open(out) as im:
        assert im.format == "GIF" and im.size == (1280, 720)
        # Pillow merges consecutive identical images: the held arrival becomes one long frame
        assert distinct - 3 <= im.n_frames <= distinct
        im.seek(im.n_frames - 1)
        assert im.info["duration"] >= 2500, "the arrival stays on screen"
    assert not list(tmp_path.glob(".*partial*"))


def test_frames_name_the_activity_the_vehicles_and_drone_cover(run):
    built = march_animation(run, replication=2)
    texts = [built.draw(k)[3].get_text() for k in range(built.frames)]
    assert all(re.search(r"\d+ of 115 vehicles left", t) for t in texts)
    assert any("drone cover: Gao" in t for t in texts) and any("no drone cover" in t for t in texts)
    assert any("waiting for orders at Techanaght" in t for t in texts)
    assert any("night halt" in t for t in texts) and any("moving toward" in t for t in texts)
    assert not any(line.strip() == "halted" for t in texts for line in t.splitlines()), "every stop is named"
    record = built.record
    last = texts[-1]
    assert ("arrived at Kidal" in last) if record.arrived else ("stopped" in last or "horizon" in last)
    assert f"{record.vehicles_end} of 115 vehicles left" in last
    assert len({len(line) for t in texts for line in t.splitlines()}) == 1, "the box keeps one width"
    assert len({t.count("\n") for t in texts}) == 1, "... and one height"


def test_the_replayed_replication_is_the_tracked_one(run):
    built = march_animation(run, replication=4)
    t, km = run.tracks[4]
    replay_t, replay_km = np.array(built.record.track).T
    np.testing.assert_allclose(replay_t, t, rtol=1e-9)
    np.testing.assert_allclose(replay_km, km, rtol=1e-9)


def test_the_progress_bar_fills_as_the_march_goes(run):
    built = march_animation(run, replication=0, moving_step_h=6.0)
    first, last = (built.draw(k)[3].get_text().splitlines()[-1] for k in (0, built.frames - 1))
    assert first.startswith("march ") and "  0%" in first and "█" not in first
    assert "100%" in last and "░" not in last


def _inside(times: np.ndarray, t0: float, t1: float) -> int:
    """A frame strictly inside (t0, t1)."""
    k = int(np.searchsorted(times, t0, side="right"))
    assert k < len(times) and times[k] < t1, f"no frame between {t0} and {t1}"
    return k


def _doing(built, k: int) -> str:
    """The status box's 'what the column is doing' lines, joined."""
    lines = [line.strip() for line in built.draw(k)[3].get_text().splitlines()]
    return " ".join(line for line in lines[4:6] if line)


def test_the_status_says_what_the_column_is_doing_at_that_instant_as_the_trace_tells_it(run):
    """The status at chosen instants of a replication, against its event log: a waypoint halt and
    its reason, a night halt, an ambush's fighting, waiting for orders, moving."""
    rep = next(
        r
        for r in sorted(run.tracks)
        if any(text.startswith("ambush at") for _, text in (march_animation(run, r).record.trace or []))
    )
    built = march_animation(run, rep)
    trace = built.record.trace
    times = built.times_h

    def first(prefix: str) -> tuple[float, str]:
        return next((t, text) for t, text in trace if text.startswith(prefix))

    t, text = first("halts at Anefis for ")
    hours = float(text.split(" for ")[1].split(" h")[0])
    assert _doing(built, _inside(times, t, t + hours)) == "halt at Anefis: receiving reinforcements"
    t, text = first("night halt at km ")
    hours = float(text.split(" for ")[1].split(" h")[0])
    assert _doing(built, _inside(times, t, t + hours)) == f"night halt at km {text.split()[4]}"
    t, text = first("ambush at km ")
    k = int(np.searchsorted(times, t))  # the ambush's own frame: the fighting starts
    assert times[k] == t and _doing(built, k) == f"fighting: ambush at km {text.split()[3]}"
    t, text = first("waits at Techanaght for decision to resume")
    decided = float(text.split("in this replication at ")[1].split(" h")[0])
    assert _doing(built, _inside(times, t + 1, decided)).startswith("waiting for orders at Techanaght")
    more = float(text.split(" and ")[-1].split(" h more")[0])
    activities = column_activities(built.record, *np.array(built.record.track).T, run.plan.roster.units[0].name)
    if more >= 1:  # after the decision, the pause's last hours: no frame need fall in them, so asked directly
        assert doing_now(activities, decided + 0.5, False, None).startswith("halt at Techanaght: operational pause")
    t_h, km = np.array(built.record.track).T
    moving = next(i for i in range(1, len(t_h)) if km[i] > 130 and km[i] > km[i - 1] and t_h[i] - t_h[i - 1] > 1.5)
    k = _inside(times, t_h[moving - 1], t_h[moving])
    ahead = next(n for n, road in zip(run.plan.names, run.plan.road_km) if road > km[moving - 1])
    assert _doing(built, k) == f"moving toward {ahead}"


@pytest.mark.parametrize("size", ["720p", "1080p"])
def test_the_boxes_cover_neither_the_road_nor_the_names_nor_the_legend(run, size):
    from convoysim.figures.animate import SIZES, frame_images

    built = march_animation(run, replication=0, moving_step_h=24.0, max_halt_frames=1)
    next(frame_images(built, SIZES[size]))
    fig = built.figure
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    boxes = [t for t in ax.texts if t.get_gid() in ("status", "incident")]
    assert len(boxes) == 2
    for box in boxes:  # at their fullest, and drawn with the figure (frame_images animates them)
        box.set_text("\n".join(["x" * 34] * 7) if box.get_gid() == "status" else "\n".join(["x" * 34] * 3))
        box.set_visible(True)
        box.set_animated(False)
    fig.canvas.draw()
    extents = [b.get_bbox_patch().get_window_extent(renderer) for b in boxes]
    others = [t.get_window_extent(renderer) for t in ax.texts if t not in boxes and t.get_text()]
    others.append(ax.get_legend().get_window_extent(renderer))
    road = ax.transData.transform(np.column_stack([run.plan.lons, run.plan.lats]))
    frame = ax.get_window_extent()
    for e in extents:
        assert not any(e.overlaps(o) for o in others), "a box covers a place name or the legend"
        assert not np.any((road[:, 0] >= e.x0) & (road[:, 0] <= e.x1) & (road[:, 1] >= e.y0) & (road[:, 1] <= e.y1))
        assert frame.x0 <= e.x0 and e.x1 <= frame.x1 + 1 and frame.y0 <= e.y0 and e.y1 <= frame.y1 + 1, "inside the map"
    assert not extents[0].overlaps(extents[1])


def test_a_replication_outside_the_run_is_a_clean_error(baseline_dir):
    result = run_cli(["animate", str(baseline_dir), "--replication", "999"])
    assert result.exit_code == 2
    assert "replication 999 is not in the run" in result.output


def test_mp4_is_refused_cleanly_or_written_at_slide_size(run, baseline_dir, tmp_path):
    from convoysim.figures.animate import ffmpeg_available

    if ffmpeg_available():
        out = write_animation(run, tmp_path / "m.mp4", replication=1, moving_step_h=48.0, max_halt_frames=1, fps=2)
        assert out.stat().st_size > 10_000 and out.read_bytes()[4:8] == b"ftyp"
    else:
        result = run_cli(["animate", str(baseline_dir), "--out", str(tmp_path / "m.mp4")])
        assert result.exit_code == 2 and "convoysim[video]" in result.output
        assert not (tmp_path / "m.mp4").exists()


def test_fast_frames_look_like_the_whole_figure_drawn_again(run):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from convoysim.figures.animate import frame_images

    built = march_animation(run, replication=0, moving_step_h=24.0, max_halt_frames=1)
    k = built.frames // 2
    fast = [img for i, img in enumerate(frame_images(built, 1280)) if i == k][0]
    assert fast.shape == (720, 1280, 3)
    for artist in built.moving_parts:
        artist.set_animated(False)
    built.draw(k)
    canvas = (
        FigureCanvasAgg(built.figure) if not isinstance(built.figure.canvas, FigureCanvasAgg) else built.figure.canvas
    )
    canvas.draw()
    full = np.asarray(canvas.buffer_rgba())[..., :3]
    assert np.mean(np.abs(fast.astype(int) - full.astype(int))) < 2.0, "the background plus moving parts is the frame"
