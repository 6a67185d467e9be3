"""One replication's march as an animation on the route map, to play in class.

The replication is re-run from the run's seed with its event log, so each frame can say what the
column is doing: moving, which halt (night halt, the pause at Techanaght and its reason), which
incident; with the date, the distance, the vehicles left and whether drone cover is on. Long
halts are fast-forwarded so that a six-week march fits in well under a minute; incidents flash
where and when they happen and stay as small marks; each drone ring is bright while its base is
active; a bar along the bottom edge shows how much of the march has passed; the last frame, the
arrival, stays on screen. Slide sizes 1280x720 (default) or 1920x1080. GIF is written with Pillow;
MP4 with ffmpeg (the system's, or the imageio-ffmpeg wheel of the `video` extra).
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
from PIL import Image
from matplotlib.animation import FuncAnimation
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from convoysim import geo
from convoysim.figures.routemap import INCIDENT_MARKERS, route_map
from convoysim.figures.style import COLOURS, slide_style
from convoysim.figures.timedistance import position_km
from convoysim.model import ReplicationRecord
from convoysim.runs.montecarlo import run_replications
from convoysim.runs.reading import RunData, RunDirError
from convoysim.runs.timetext import plural

FLASH_H = 3.0
"""Model hours an incident stays highlighted after it happens."""
ANIMATION_FORMATS = ("gif", "mp4")


def frame_times(t_h: np.ndarray, km: np.ndarray, moving_step_h: float = 1.0, max_halt_frames: int = 8) -> np.ndarray:
    """Model times of the frames: one per `moving_step_h` while moving, at most `max_halt_frames` per halt.

    Time never runs backwards and the last frame is the path's end, so the column is always shown
    arriving (or stopping) where it did.
    """
    times: list[float] = [float(t_h[0])]
    for t0, t1, k0, k1 in zip(t_h[:-1], t_h[1:], km[:-1], km[1:]):
        if t1 <= t0:
            continue
        step = moving_step_h if k1 != k0 else max(moving_step_h, (t1 - t0) / max_halt_frames)
        n = max(1, int(np.ceil((t1 - t0) / step)))
        times.extend(np.linspace(t0, t1, n + 1)[1:].tolist())
    return np.asarray(times)


@dataclass
class MarchAnimation:
    animation: FuncAnimation
    times_h: np.ndarray
    """Model time of each frame (the last one repeated: the arrival stays on screen)."""
    replication: int
    draw: Callable[[int], tuple]
    """Draws frame i and returns its changing artists (head, trail, incident marks, status)."""
    record: ReplicationRecord
    """The replication, re-run with its event log: what the frames narrate."""
    figure: Figure
    moving_parts: tuple
    """The artists `draw` changes; everything else is drawn once, as the background of every frame."""

    @property
    def frames(self) -> int:
        return len(self.times_h)


def replay(run: RunData, replication: int) -> ReplicationRecord:
    """Re-run one replication of the run with its event log and path (the same numbers: same seed)."""
    n = len(run.arrivals_h)
    if not 0 <= replication < n:
        raise RunDirError(run.path / "manifest.json", f"replication {replication} is not in the run (0-{n - 1})")
    seed = int(run.manifest.get("seed", 0))
    (record,) = run_replications(run.plan, seed, [replication], trace=True, track=True)
    return record


ACTIVITY_WORDS = (
    ("night halt", "night halt"),
    ("halts at", None),
    ("to regroup", "regrouping after the ambush"),
    ("ambush at", "ambush: fighting"),
    ("IED strikes", "IED strike: recovering"),
    ("finds an IED", "clearing an IED found on the road"),
    ("breaks down", "breakdown: repair"),
    ("harass", "harassed: late start"),
    ("head arrives at", None),
)
"""What a halt is, from the event that started it (None: worded from the event itself)."""


def activity_label(event: str) -> str:
    """The activity an event starts, in a few words: 'halt at Techanaght: operational pause ...'."""
    for key, label in ACTIVITY_WORDS:
        if key in event:
            if label is not None:
                return label
            if key == "halts at":
                place, _, why = event[len("halts at "):].partition(" for ")
                reason = why.partition(": ")[2]
                return f"halt at {place}: {reason}" if reason else f"halt at {place}"
            return "closing up at " + event[len("head arrives at "):].split(" (")[0]
    return event


def _status(run: RunData, record: ReplicationRecord, t: float, pos: float, moving: bool, flashing: list[str]) -> tuple[str, bool]:
    """The status box's lines at model time t, and whether drone cover is on."""
    plan = run.plan
    lost = sum(n for _, ti, _, n in record.incidents if ti <= t)
    vehicles = plan.vehicles - lost
    cover = [r.name.capitalize() for r in plan.coverage.rings if r.active(t) and r.covers(pos)]
    now = run.start + timedelta(hours=float(t))
    if t >= record.end_h:
        what = (f"arrived at {plan.names[-1]}" if record.arrived else
                "still on the road at the horizon" if record.end_reason == "horizon" else
                f"stopped: {record.end_reason.replace('_', ' ')}")
    elif flashing:
        what = "incident: " + ", ".join(flashing)
    elif moving:
        what = "moving"
    else:
        started = [text for ti, text in record.trace or [] if ti <= t]
        what = activity_label(started[-1]) if started else "waiting to leave"
    day = int(t // 24) + 1
    lines = [f"{now:%a %d %b %Y %H:%M} UTC   day {day}",
             f"km {pos:.0f} of {plan.road_km[-1]:.0f}   {plural(vehicles, 'vehicle')} of {plan.vehicles}",
             ("under drone cover (" + ", ".join(cover) + ")") if cover else "no drone cover",
             textwrap.shorten(what, 70, placeholder=" ...")]
    return "\n".join(lines), bool(cover)


def march_animation(run: RunData, replication: int | None = None, moving_step_h: float = 1.0,
                    max_halt_frames: int = 8, fps: int = 10, hold_s: float = 3.0) -> MarchAnimation:
    """Build the animation of one replication (default: the first tracked one), re-run with its log.

    The last frame, the arrival (or where the column stopped), stays on screen `hold_s` seconds.
    """
    rep = (min(run.tracks) if run.tracks else 0) if replication is None else replication
    record = replay(run, rep)
    track = np.asarray(record.track or [(0.0, 0.0)], dtype=float)
    t_h, km = track[:, 0], track[:, 1]
    hostile = [(t, k, kind) for kind, t, k, _ in record.incidents if kind in INCIDENT_MARKERS]
    inc_t = np.array([t for t, _, _ in hostile], dtype=float)
    inc_km = np.array([k for _, k, _ in hostile], dtype=float)
    inc_kind = [kind for _, _, kind in hostile]
    # every incident gets a frame of its own, so none happens unseen between two frames
    flashes = np.concatenate([inc_t, inc_t + FLASH_H / 2])
    times = np.unique(np.concatenate([frame_times(t_h, km, moving_step_h, max_halt_frames),
                                      flashes[flashes <= t_h[-1]]]))
    times = np.concatenate([times, np.full(max(0, int(round(hold_s * fps))), times[-1])])
    plan = run.plan
    with slide_style():
        fig = route_map(run, incidents=False)
        ax = fig.axes[0]
        ax.set_title(f"{run.name}: replication {rep} (convoysim run --trace {rep} tells it in words)")
        rings = [(line, run.scenario.drones.bases[line.get_gid().split(":", 1)[1]]) for line in ax.get_lines()
                 if (line.get_gid() or "").startswith(("ring:", "inactive-ring:"))]
        head, = ax.plot([], [], marker="o", ms=18, color=COLOURS["simulated"], mec="white", mew=2, zorder=10,
                        label="column head")
        trail, = ax.plot([], [], color=COLOURS["simulated"], lw=6, alpha=0.7, zorder=9)
        for artist in [*ax.lines, *ax.texts]:  # the status box takes the scale bar's corner
            if artist.get_gid() in ("scale-bar", "north-arrow"):
                artist.remove()
        for text in [t for t in ax.texts if t.get_text() == "100 km"]:
            text.remove()
        ax.set_xlabel("")
        status = ax.text(0.015, 0.975, "", transform=ax.transAxes, va="top", ha="left", fontsize=17,
                         linespacing=1.35, family="DejaVu Sans Mono",
                         bbox={"boxstyle": "round,pad=0.5", "fc": "white", "ec": "#555555", "alpha": 0.95}, zorder=11)
        status.set_gid("status")
        inc_pos = np.array([geo.position_at(plan.road_km, plan.lats, plan.lons, k)[::-1] for k in inc_km]).reshape(-1, 2)
        marks = ax.scatter(inc_pos[:, 0] if len(inc_pos) else [], inc_pos[:, 1] if len(inc_pos) else [],
                           s=0, marker="*", color=COLOURS["ied"], edgecolors="black", zorder=12)
        timeline = fig.add_axes((0.0, 0.0, 1.0, 0.012))
        timeline.set_axis_off()
        timeline.set_xlim(0.0, 1.0)
        timeline.set_ylim(0.0, 1.0)
        elapsed = Rectangle((0.0, 0.0), 0.0, 1.0, color=COLOURS["simulated"])
        timeline.add_patch(elapsed)
        elapsed.set_gid("timeline")
        road_km, road_lons, road_lats = _road_points(run)
        end_h = float(t_h[-1]) or 1.0

        def draw(i: int):
            t = times[i]
            pos = float(position_km(np.array([t]), t_h, km)[0])
            lat, lon = geo.position_at(plan.road_km, plan.lats, plan.lons, pos)
            head.set_data([lon], [lat])
            upto = road_km <= pos
            trail.set_data([*road_lons[upto], lon], [*road_lats[upto], lat])
            age = t - inc_t
            sizes = np.where(age < 0, 0.0, np.where(age < FLASH_H, 900.0 * (1 - age / FLASH_H) + 60.0, 40.0))
            marks.set_sizes(sizes)
            now = run.start + timedelta(hours=float(t))
            for line, base in rings:
                active = (base.active_from is None or base.active_from <= now) and (base.active_until is None or now <= base.active_until)
                line.set_alpha(1.0 if active else 0.25)
            flashing = [str(k).replace("_", " ").replace("ied", "IED") for k, a in zip(inc_kind, age) if 0 <= a < FLASH_H]
            text, covered = _status(run, record, t, pos, _moving(t, t_h, km), flashing)
            status.set_text(text)
            status.get_bbox_patch().set_edgecolor(COLOURS["ring"] if covered else "#555555")
            elapsed.set_width(min(1.0, t / end_h))
            return head, trail, marks, status

        fig.canvas.draw()
        fig.set_layout_engine("none")  # the layout is fixed: recomputing it on every frame would triple the time
        anim = FuncAnimation(fig, draw, frames=len(times), interval=1000 / fps, blit=False)
    changing_rings = () if plan.coverage.always_active else tuple(line for line, _ in rings)
    return MarchAnimation(anim, times, rep, draw, record, fig, (trail, head, marks, status, elapsed, *changing_rings))


def _road_points(run: RunData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The road sampled every km as (km, lon, lat), for the trail behind the head."""
    plan = run.plan
    kms = np.arange(0.0, plan.road_km[-1] + 1.0, 1.0)
    pts = np.array([geo.position_at(plan.road_km, plan.lats, plan.lons, k) for k in kms])
    return kms, pts[:, 1], pts[:, 0]


def _moving(t: float, t_h: np.ndarray, km: np.ndarray) -> bool:
    i = int(np.searchsorted(t_h, t, side="right"))
    return 0 < i < len(t_h) and km[i] != km[i - 1]


def ffmpeg_path() -> str | None:
    """An ffmpeg executable: the system's, else the one the imageio-ffmpeg wheel ships (the `video` extra)."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_available() -> bool:
    return ffmpeg_path() is not None


SIZES = {"720p": 1280, "1080p": 1920}
"""Slide sizes by name -> width in pixels (16:9)."""


def frame_images(built: MarchAnimation, width_px: int,
                 progress: Callable[[int, int], None] | None = None) -> Iterator[np.ndarray]:
    """Every frame as an RGB array (height x width x 3), `width_px` wide.

    The map, rings, names and legend are drawn once and kept as a background; each frame restores
    it and draws only the moving parts on top (text is most of the drawing time, and most text never
    changes), several times faster than drawing the whole figure for every frame.
    """
    fig = built.figure
    fig.set_dpi(width_px / fig.get_size_inches()[0])
    canvas = FigureCanvasAgg(fig) if not isinstance(fig.canvas, FigureCanvasAgg) else fig.canvas
    for artist in built.moving_parts:
        artist.set_animated(True)
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)
    for i in range(built.frames):
        built.draw(i)
        canvas.restore_region(background)
        for artist in built.moving_parts:
            fig.draw_artist(artist)
        yield np.asarray(canvas.buffer_rgba())[..., :3].copy()
        if progress:
            progress(i, built.frames)


def _write_gif(path: Path, frames: Iterator[np.ndarray], fps: int) -> None:
    """Pillow, one adaptive palette per frame; identical consecutive frames merge into a longer one."""
    images = [Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE) for rgb in frames]
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=int(round(1000 / fps)),
                   loop=0)


def _write_mp4(path: Path, frames: Iterator[np.ndarray], fps: int, ffmpeg: str) -> None:
    """Raw RGB frames piped to ffmpeg, encoded as H.264 in yuv420p (plays in browsers and slides)."""
    first = next(frames)
    height, width = first.shape[:2]
    command = [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
               "-r", str(fps), "-i", "-", "-vcodec", "libx264", "-pix_fmt", "yuv420p", "-f", "mp4", str(path)]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdin is not None
        try:
            proc.stdin.write(first.tobytes())
            for rgb in frames:
                proc.stdin.write(rgb.tobytes())
        finally:
            proc.stdin.close()
        error = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode:
        raise RuntimeError(f"ffmpeg failed ({proc.returncode}): {error.strip()[-300:]}")


def write_animation(run: RunData, out: Path | str, replication: int | None = None, fps: int = 10,
                    moving_step_h: float = 1.0, max_halt_frames: int = 8, size: str = "720p",
                    progress: Callable[[int, int], None] | None = None) -> Path:
    """Write a GIF (or an MP4, when `out` ends in .mp4 and ffmpeg exists) at a slide size and return its
    path; `progress(frame, frames)` is called as frames are written."""
    out = Path(out)
    fmt = out.suffix.lstrip(".").lower()
    if fmt not in ANIMATION_FORMATS:
        raise ValueError(f"{out}: the animation must be a .gif or .mp4 file")
    if fmt == "mp4" and not ffmpeg_available():
        raise RuntimeError("MP4 needs ffmpeg, which is not installed here: pip install 'convoysim[video]' "
                           "(imageio-ffmpeg) or write a .gif")
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, not {size}")
    built = march_animation(run, replication, moving_step_h=moving_step_h, max_halt_frames=max_halt_frames, fps=fps)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.partial.{fmt}")
    frames = frame_images(built, SIZES[size], progress)
    try:
        if fmt == "gif":
            _write_gif(tmp, frames, fps)
        else:
            _write_mp4(tmp, frames, fps, ffmpeg_path() or "ffmpeg")
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
