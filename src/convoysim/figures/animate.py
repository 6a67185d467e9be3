"""One replication's march as an animation on the route map, to play in class.

The column's head moves along the road; halts are shown as such (and long ones are fast-forwarded
so that a six-week march fits in well under a minute); incidents flash where and when they happen
and stay as small marks; each drone ring is drawn bright while its base is active. GIF is written
with Pillow; MP4 only when an ffmpeg executable is on the PATH.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
from matplotlib.animation import FFMpegWriter, FuncAnimation, PillowWriter

from convoysim import geo
from convoysim.figures.routemap import INCIDENT_MARKERS, route_map
from convoysim.figures.style import COLOURS, slide_style
from convoysim.figures.timedistance import position_km
from convoysim.runs.reading import RunData, RunDirError

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
    """Model time of each frame."""
    replication: int
    draw: Callable[[int], tuple]
    """Draws frame i and returns its changing artists (head, trail, incident marks, clock)."""

    @property
    def frames(self) -> int:
        return len(self.times_h)


def march_animation(run: RunData, replication: int | None = None, moving_step_h: float = 1.0,
                    max_halt_frames: int = 8, fps: int = 10) -> MarchAnimation:
    """Build the animation of one tracked replication (default: the first one in tracks.csv)."""
    if not run.tracks:
        raise RunDirError(run.path / "tracks.csv", "holds no tracked replication to animate")
    rep = min(run.tracks) if replication is None else replication
    if rep not in run.tracks:
        raise RunDirError(run.path / "tracks.csv", f"replication {rep} is not tracked (tracked: {min(run.tracks)}-{max(run.tracks)})")
    t_h, km = run.tracks[rep]
    inc = run.incidents
    mine = (inc.replication == rep) & np.isin(inc.kind, list(INCIDENT_MARKERS))
    inc_t, inc_km, inc_kind = inc.t_h[mine], inc.km[mine], inc.kind[mine]
    # every incident gets a frame of its own, so none happens unseen between two frames
    flashes = np.concatenate([inc_t, inc_t + FLASH_H / 2])
    times = np.unique(np.concatenate([frame_times(t_h, km, moving_step_h, max_halt_frames),
                                      flashes[flashes <= t_h[-1]]]))
    plan = run.plan
    with slide_style():
        fig = route_map(run, incidents=False)
        ax = fig.axes[0]
        ax.set_title(f"{run.name}: replication {rep}")
        rings = [(line, run.scenario.drones.bases[line.get_gid().split(":", 1)[1]]) for line in ax.get_lines()
                 if (line.get_gid() or "").startswith(("ring:", "inactive-ring:"))]
        head, = ax.plot([], [], marker="o", ms=16, color=COLOURS["simulated"], mec="white", mew=2, zorder=10,
                        label="column head")
        trail, = ax.plot([], [], color=COLOURS["simulated"], lw=5, alpha=0.7, zorder=9)
        clock = ax.text(0.02, 0.97, "", transform=ax.transAxes, va="top", fontsize=15, fontweight="bold",
                        bbox={"boxstyle": "round", "fc": "white", "ec": "#999999"}, zorder=11)
        inc_pos = np.array([geo.position_at(plan.road_km, plan.lats, plan.lons, k)[::-1] for k in inc_km]).reshape(-1, 2)
        marks = ax.scatter(inc_pos[:, 0] if len(inc_pos) else [], inc_pos[:, 1] if len(inc_pos) else [],
                           s=0, marker="*", color=COLOURS["ied"], edgecolors="black", zorder=12)
        road_km, road_lons, road_lats = _road_points(run)

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
            flashing = [str(k).replace("_", " ") for k, a in zip(inc_kind, age) if 0 <= a < FLASH_H]
            moving = _moving(t, t_h, km)
            state = ("incident: " + ", ".join(flashing)) if flashing else ("moving" if moving else "halted")
            clock.set_text(f"{now:%d %b %Y %H:%M} UTC\nkm {pos:.0f}: {state}")
            return head, trail, marks, clock

        fig.canvas.draw()
        fig.set_layout_engine("none")  # the layout is fixed: recomputing it on every frame would triple the time
        anim = FuncAnimation(fig, draw, frames=len(times), interval=1000 / fps, blit=False)
    return MarchAnimation(anim, times, rep, draw)


def _road_points(run: RunData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The road sampled every km as (km, lon, lat), for the trail behind the head."""
    plan = run.plan
    kms = np.arange(0.0, plan.road_km[-1] + 1.0, 1.0)
    pts = np.array([geo.position_at(plan.road_km, plan.lats, plan.lons, k) for k in kms])
    return kms, pts[:, 1], pts[:, 0]


def _moving(t: float, t_h: np.ndarray, km: np.ndarray) -> bool:
    i = int(np.searchsorted(t_h, t, side="right"))
    return 0 < i < len(t_h) and km[i] != km[i - 1]


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None


def write_animation(run: RunData, out: Path | str, replication: int | None = None, fps: int = 10,
                    moving_step_h: float = 1.0, max_halt_frames: int = 8) -> Path:
    """Write a GIF (or an MP4, when `out` ends in .mp4 and ffmpeg exists) and return its path."""
    out = Path(out)
    fmt = out.suffix.lstrip(".").lower()
    if fmt not in ANIMATION_FORMATS:
        raise ValueError(f"{out}: the animation must be a .gif or .mp4 file")
    if fmt == "mp4" and not ffmpeg_available():
        raise RuntimeError("MP4 needs ffmpeg, which is not installed here; write a .gif instead (or apt-get install ffmpeg)")
    built = march_animation(run, replication, moving_step_h=moving_step_h, max_halt_frames=max_halt_frames, fps=fps)
    writer = PillowWriter(fps=fps) if fmt == "gif" else FFMpegWriter(fps=fps)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.partial.{fmt}")
    try:
        built.animation.save(tmp, writer=writer, dpi=60 if fmt == "gif" else 100)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
