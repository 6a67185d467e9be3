"""One replication's march as an animation on the route map, to play in class.

The replication is re-run from the run's seed with its event log, so each frame can say what the
column is doing: moving, which halt (night halt, the pause at Techanaght and its reason), which
fight, repair or wait for orders it is in *now* (`column_activities`, `doing_now`), with the date,
the distance, the vehicles left, whether drone cover is on and a bar of the march's progress, in a
box of fixed size in the map's empty corner. Long halts are fast-forwarded so that a six-week march
fits in well under a minute; incidents flash where and when they happen, with their own words in a
second box, and stay as small marks; each drone ring is bright while its base is active; the last
frame, the arrival, stays on screen. Slide sizes 1280x720 (default) or 1920x1080 (the same layout,
finer). GIF is written with Pillow; MP4 with ffmpeg (the system's, or the imageio-ffmpeg wheel of
the `video` extra).
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

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
    place_boxes: Callable[[], None] = lambda: None
    """Places the status and incident boxes for the figure's current size: text is measured in whole
    pixels, so a place found at one resolution can touch a name at another."""

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


STATUS_WIDTH = 34
"""Characters per line of the status and incident boxes: every line is padded to it, so the boxes
keep one size all through the march and never grow over the column or the place names."""
FLASH_LINES = 3
"""Lines of the incident box (an incident's words are cut to fit)."""
REST_HALT_H = 1.0
"""A halt of the head's track no longer than this that the log does not explain is a rest halt
(the short halts of `rest_halts` are not logged event by event)."""


@dataclass(frozen=True)
class Activity:
    """What the column does from `from_h` to `to_h` (model hours), in a few words."""

    from_h: float
    to_h: float
    words: str


_HALT = re.compile(r"^halts at (.+?) for (\d+(?:\.\d+)?) h(?:: (.*))?$")
_ORDERS = re.compile(r"^waits at (.+?) for (.+?) \(in this replication at (\d+(?:\.\d+)?) h\)")
_NIGHT = re.compile(r"^night halt at km (\d+) for (\d+(?:\.\d+)?) h")
_FIGHT = re.compile(r"^(ambush|the column breaches (.+?)) at km (\d+).*?: (\d+(?:\.\d+)?) h of fighting")
_REGROUP = re.compile(r"^the column halts (\d+(?:\.\d+)?) h to regroup")
_IED = re.compile(r"^an IED strikes .* at km (\d+): .*; (\d+(?:\.\d+)?) h delay")
_FOUND = re.compile(r"^route clearance finds an IED at km (\d+); (\d+(?:\.\d+)?) h to clear it")
_LATE = re.compile(r"^harassment delays the morning start by (\d+(?:\.\d+)?) h")
_DETOUR = re.compile(r"^the column bypasses (.+?) at km \d+: a detour of (\d+(?:\.\d+)?) h")
_ARRIVES = re.compile(r"^head arrives at (.+?) \(km")
_RECOVERY = re.compile(r"^(.+?): vehicle (\S+) .*?(needs recovery|is repaired|is left behind)")
_BREAKDOWN = re.compile(r"^vehicle (\S+) breaks down")


def column_activities(record: ReplicationRecord, t_h: np.ndarray, km: np.ndarray, lead_unit: str) -> list[Activity]:
    """The column's activities read from its event log: each halt with its reason and length,
    waiting for orders (a pause that ends on an event), fighting and what follows it (regrouping,
    evacuating the wounded), clearing an IED, the lead unit waiting for a repair. An activity whose
    end the log does not give lasts until the head moves again (`t_h`, `km`: its track)."""
    wounded_at = {t for _, t, _, n, _ in record.casualties if n > 0}

    def until_moving(t: float) -> float:
        """The first instant after t at which the head moves."""
        for t0, t1, k0, k1 in zip(t_h[:-1], t_h[1:], km[:-1], km[1:]):
            if t1 > t and k1 != k0:
                return max(t0, t)
        return math.inf

    out: list[Activity] = []
    repairs: dict[str, float] = {}
    fight_end: float = -math.inf
    for t, text in record.trace or []:
        if m := _ORDERS.match(text):
            out.append(Activity(t, float(m.group(3)), f"waiting for orders at {m.group(1)} ({m.group(2)})"))
        elif m := _HALT.match(text):
            out.append(
                Activity(t, t + float(m.group(2)), f"halt at {m.group(1)}" + (f": {m.group(3)}" if m.group(3) else ""))
            )
        elif m := _NIGHT.match(text):
            out.append(Activity(t, t + float(m.group(2)), f"night halt at km {m.group(1)}"))
        elif m := _FIGHT.match(text):
            what = f"ambush at km {m.group(3)}" if m.group(1) == "ambush" else f"breaching {m.group(2)}"
            fight_end = t + float(m.group(4))
            out.append(Activity(t, fight_end, f"fighting: {what}"))
            if t in wounded_at:
                out.append(Activity(fight_end, until_moving(fight_end), "evacuating the wounded"))
        elif m := _REGROUP.match(text):
            start = max(t, fight_end)
            out.append(Activity(start, start + float(m.group(1)), "regrouping after the ambush"))
        elif m := _IED.match(text):
            out.append(Activity(t, t + float(m.group(2)), f"IED strike at km {m.group(1)}: recovering"))
            if t in wounded_at:
                out.append(
                    Activity(t + float(m.group(2)), until_moving(t + float(m.group(2))), "evacuating the wounded")
                )
        elif m := _FOUND.match(text):
            out.append(Activity(t, t + float(m.group(2)), f"clearing an IED found at km {m.group(1)}"))
        elif m := _LATE.match(text):
            out.append(Activity(t, t + float(m.group(1)), "late start: harassed in the night"))
        elif m := _DETOUR.match(text):
            out.append(Activity(t, t + float(m.group(2)), f"detour around {m.group(1)}"))
        elif m := _ARRIVES.match(text):
            out.append(Activity(t, until_moving(t), f"closing up at {m.group(1)}"))
        elif m := _BREAKDOWN.match(text):
            repairs[m.group(1)] = t
        elif (m := _RECOVERY.match(text)) and m.group(1) == lead_unit:
            if m.group(3) == "needs recovery":
                repairs.setdefault(m.group(2), t)
            elif m.group(2) in repairs:
                out.append(
                    Activity(repairs.pop(m.group(2)), t, f"repair: the lead unit waits for vehicle {m.group(2)}")
                )
    for t0, t1, k0, k1 in zip(t_h[:-1], t_h[1:], km[:-1], km[1:]):  # the short halts the model does not log
        middle = 0.5 * (t0 + t1)
        if k0 == k1 and 0 < t1 - t0 <= REST_HALT_H and not any(a.from_h <= middle < a.to_h for a in out):
            out.append(Activity(float(t0), float(t1), "rest halt"))
    return out


def doing_now(activities: list[Activity], t: float, moving: bool, next_place: str | None) -> str:
    """What the column is doing at model time t: moving (toward the next waypoint), else the latest
    activity that started by t and has not ended (of two starting together, the one ending first:
    the wait for orders inside a longer pause), else 'halted'."""
    if moving:
        return f"moving toward {next_place}" if next_place else "moving"
    now = [a for a in activities if a.from_h <= t < a.to_h]
    if not now:
        return "halted"
    return max(now, key=lambda a: (a.from_h, -a.to_h)).words


def _boxed(lines: list[str], rows: int) -> str:
    """Lines cut and padded to STATUS_WIDTH, `rows` of them: a box of one size whatever it says."""
    out = [line[:STATUS_WIDTH].ljust(STATUS_WIDTH) for line in lines][:rows]
    return "\n".join(out + [" " * STATUS_WIDTH] * (rows - len(out)))


def _bar(share: float) -> str:
    """The march's progress as a bar of block characters, with its percentage."""
    cells = STATUS_WIDTH - 12
    full = int(round(max(0.0, min(1.0, share)) * cells))
    return f"march {'█' * full}{'░' * (cells - full)} {100 * share:3.0f}%"


STATUS_ROWS = 6


def _status(
    run: RunData, record: ReplicationRecord, t: float, pos: float, doing: str, share: float
) -> tuple[str, bool]:
    """The status box at model time t (date, km and vehicles, drone cover, what the column is
    doing now on up to two lines, the march's progress), and whether drone cover is on."""
    plan = run.plan
    lost = sum(n for _, ti, _, n in record.incidents if ti <= t)
    vehicles = plan.vehicles - lost
    cover = [r.name.capitalize() for r in plan.coverage.rings if r.active(t) and r.covers(pos)]
    now = run.start + timedelta(hours=float(t))
    if t >= record.end_h:
        doing = (
            f"arrived at {plan.names[-1]}"
            if record.arrived
            else "still on the road at the horizon"
            if record.end_reason == "horizon"
            else f"stopped: {record.end_reason.replace('_', ' ')}"
        )
    day = int(t // 24) + 1
    lines = [
        f"{now:%a %d %b %Y %H:%M} UTC",
        f"day {day}, km {pos:.0f} of {plan.road_km[-1]:.0f}",
        f"{vehicles} of {plural(plan.vehicles, 'vehicle')} left",
        ("drone cover: " + ", ".join(cover)) if cover else "no drone cover",
    ]
    what = textwrap.wrap(doing, STATUS_WIDTH, max_lines=2, placeholder=" ...") or [""]
    lines += [*what, *([""] if len(what) < 2 else [])]
    return _boxed([*lines, _bar(share)], STATUS_ROWS + 1), bool(cover)


def incident_text(record: ReplicationRecord, t: float) -> str:
    """The incidents that flash at model time t (FLASH_H after they happen), in the log's words,
    cut to the incident box; '' when none."""
    kinds = ("ambush at", "an IED strikes", "route clearance finds", "the column breaches", "the halt is harassed")
    recent = [text for ti, text in record.trace or [] if 0 <= t - ti < FLASH_H and text.startswith(kinds)]
    if not recent:
        return ""
    text = re.sub(r" \([^)]*\)", "", recent[-1]).replace("an IED strikes vehicle(s)", "IED strike on")
    text = re.sub(r",? \b0 (destroyed|damaged|wounded|killed)\b", "", text).replace(": ;", ";")
    return _boxed(textwrap.wrap("! " + text, STATUS_WIDTH, max_lines=FLASH_LINES, placeholder=" ..."), FLASH_LINES)


def march_animation(
    run: RunData,
    replication: int | None = None,
    moving_step_h: float = 1.0,
    max_halt_frames: int = 8,
    fps: int = 10,
    hold_s: float = 3.0,
) -> MarchAnimation:
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
    # every incident gets a frame of its own, so none happens unseen between two frames
    flashes = np.concatenate([inc_t, inc_t + FLASH_H / 2])
    times = np.unique(
        np.concatenate([frame_times(t_h, km, moving_step_h, max_halt_frames), flashes[flashes <= t_h[-1]]])
    )
    times = np.concatenate([times, np.full(max(0, int(round(hold_s * fps))), times[-1])])
    plan = run.plan
    with slide_style():
        fig = route_map(run, incidents=False)
        ax = fig.axes[0]
        ax.set_title(f"{run.name}: replication {rep} (convoysim run --trace {rep} tells it in words)")
        rings = [
            (line, run.scenario.drones.bases[line.get_gid().split(":", 1)[1]])
            for line in ax.get_lines()
            if (line.get_gid() or "").startswith(("ring:", "inactive-ring:"))
        ]
        (head,) = ax.plot(
            [], [], marker="o", ms=18, color=COLOURS["simulated"], mec="white", mew=2, zorder=10, label="column head"
        )
        (trail,) = ax.plot([], [], color=COLOURS["simulated"], lw=6, alpha=0.7, zorder=9)
        for artist in [*ax.lines, *ax.texts]:  # the status box takes the scale bar's corner
            if artist.get_gid() in ("scale-bar", "north-arrow"):
                artist.remove()
        for text in [t for t in ax.texts if t.get_text() == "100 km"]:
            text.remove()
        ax.set_xlabel("")
        text_box = {
            "transform": ax.transAxes,
            "va": "top",
            "ha": "left",
            "fontsize": 14,
            "linespacing": 1.3,
            "family": "DejaVu Sans Mono",
            "zorder": 11,
        }
        status = ax.text(
            0.015,
            0.975,
            "",
            bbox={"boxstyle": "round,pad=0.5", "fc": "white", "ec": "#555555", "alpha": 0.95},
            **text_box,
        )
        status.set_gid("status")
        flash = ax.text(
            0.015,
            0.56,
            "",
            color="#7a0000",
            bbox={"boxstyle": "round,pad=0.5", "fc": "#fff0f0", "ec": COLOURS["ied"], "alpha": 0.95},
            **text_box,
        )
        flash.set_gid("incident")
        activities = column_activities(record, t_h, km, plan.roster.units[0].name)
        inc_pos = np.array([geo.position_at(plan.road_km, plan.lats, plan.lons, k)[::-1] for k in inc_km]).reshape(
            -1, 2
        )
        marks = ax.scatter(
            inc_pos[:, 0] if len(inc_pos) else [],
            inc_pos[:, 1] if len(inc_pos) else [],
            s=0,
            marker="*",
            color=COLOURS["ied"],
            edgecolors="black",
            zorder=12,
        )
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
                active = (base.active_from is None or base.active_from <= now) and (
                    base.active_until is None or now <= base.active_until
                )
                line.set_alpha(1.0 if active else 0.25)
            ahead = int(np.searchsorted(plan.road_km, pos, side="right"))
            doing = doing_now(
                activities, t, _moving(t, t_h, km), plan.names[ahead] if ahead < len(plan.names) else None
            )
            text, covered = _status(run, record, t, pos, doing, min(1.0, t / end_h))
            status.set_text(text)
            status.get_bbox_patch().set_edgecolor(COLOURS["ring"] if covered else "#555555")
            incident = incident_text(record, t)
            flash.set_text(incident)
            flash.set_visible(bool(incident))
            return head, trail, marks, status, flash

        fig.canvas.draw()
        fig.set_layout_engine("none")  # the layout is fixed: recomputing it on every frame would triple the time

        def place_boxes() -> None:
            _place_boxes(fig, ax, status, flash, np.column_stack([road_lons, road_lats]))

        place_boxes()
        anim = FuncAnimation(fig, draw, frames=len(times), interval=1000 / fps, blit=False)
    changing_rings = () if plan.coverage.always_active else tuple(line for line, _ in rings)
    return MarchAnimation(
        anim, times, rep, draw, record, fig, (trail, head, marks, status, flash, *changing_rings), place_boxes
    )


def _free_spot(
    ax, size: tuple[float, float], avoid: list, points: np.ndarray, margin_px: float, near: tuple[float, float]
) -> tuple[float, float] | None:
    """The upper-left corner (axes fraction) nearest to `near` (display) of a box of `size` (pixels)
    inside the axes that overlaps none of the `avoid` boxes (display Bboxes) and no point of
    `points` (display coordinates), with `margin_px` to spare; None when there is no such place."""
    from matplotlib.transforms import Bbox

    box = ax.get_window_extent()
    w, h = size
    best, best_d = None, math.inf
    for top in np.linspace(box.y1 - margin_px, box.y0 + h + margin_px, 48):
        for left in np.linspace(box.x0 + margin_px, box.x1 - w - margin_px, 48):
            d = math.hypot(left - near[0], top - near[1])
            if d >= best_d:
                continue
            spot = Bbox.from_extents(left - margin_px, top - h - margin_px, left + w + margin_px, top + margin_px)
            if any(spot.overlaps(b) for b in avoid):
                continue
            if len(points) and np.any(
                (points[:, 0] >= spot.x0)
                & (points[:, 0] <= spot.x1)
                & (points[:, 1] >= spot.y0)
                & (points[:, 1] <= spot.y1)
            ):
                continue
            best, best_d = ((left - box.x0) / box.width, (top - box.y0) / box.height), d
    return best


def _place_boxes(fig: Figure, ax, status, flash, road_lonlat: np.ndarray) -> None:
    """Put the status box as near the map's upper-left corner, then the incident box as near below
    it, as they can go without covering the road (and so the column on it), a place name, the
    legend or each other. Both keep one size all march (see STATUS_WIDTH), so a place found once
    holds for every frame; a box stays in the upper-left corner if the map has no room for it."""
    renderer = fig.canvas.get_renderer()
    margin = 0.02 * fig.bbox.height  # the head's marker and an incident's flash stand out from the road
    road = ax.transData.transform(road_lonlat)
    avoid = [t.get_window_extent(renderer) for t in ax.texts if t not in (status, flash) and t.get_text()]
    if ax.get_legend() is not None:
        avoid.append(ax.get_legend().get_window_extent(renderer))
    near = (ax.get_window_extent().x0, ax.get_window_extent().y1)
    for text, rows in ((status, STATUS_ROWS + 1), (flash, FLASH_LINES)):
        text.set_text(_boxed([""] * rows, rows))
        text.set_visible(True)
        text.set_animated(False)
        fig.canvas.draw()
        size = text.get_bbox_patch().get_window_extent(renderer)
        spot = _free_spot(ax, (size.width, size.height), avoid, road, margin, near)
        if spot is not None:
            text.set_position(spot)
        fig.canvas.draw()
        placed = text.get_bbox_patch().get_window_extent(renderer)
        avoid.append(placed)
        near = (placed.x0, placed.y0)
        text.set_text("")


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


def frame_images(
    built: MarchAnimation, width_px: int, progress: Callable[[int, int], None] | None = None
) -> Iterator[np.ndarray]:
    """Every frame as an RGB array (height x width x 3), `width_px` wide.

    The map, rings, names and legend are drawn once and kept as a background; each frame restores
    it and draws only the moving parts on top (text is most of the drawing time, and most text never
    changes), several times faster than drawing the whole figure for every frame.
    """
    fig = built.figure
    fig.set_dpi(width_px / fig.get_size_inches()[0])
    canvas = FigureCanvasAgg(fig) if not isinstance(fig.canvas, FigureCanvasAgg) else fig.canvas
    built.place_boxes()
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
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=int(round(1000 / fps)), loop=0)


def _write_mp4(path: Path, frames: Iterator[np.ndarray], fps: int, ffmpeg: str) -> None:
    """Raw RGB frames piped to ffmpeg, encoded as H.264 in yuv420p (plays in browsers and slides)."""
    first = next(frames)
    height, width = first.shape[:2]
    command = [
        ffmpeg,
        "-y",
        "-loglevel",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{width}x{height}",
        "-r",
        str(fps),
        "-i",
        "-",
        "-vcodec",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-f",
        "mp4",
        str(path),
    ]
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


def write_animation(
    run: RunData,
    out: Path | str,
    replication: int | None = None,
    fps: int = 10,
    moving_step_h: float = 1.0,
    max_halt_frames: int = 8,
    size: str = "720p",
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write a GIF (or an MP4, when `out` ends in .mp4 and ffmpeg exists) at a slide size and return its
    path; `progress(frame, frames)` is called as frames are written."""
    out = Path(out)
    fmt = out.suffix.lstrip(".").lower()
    if fmt not in ANIMATION_FORMATS:
        raise ValueError(f"{out}: the animation must be a .gif or .mp4 file")
    if fmt == "mp4" and not ffmpeg_available():
        raise RuntimeError(
            "MP4 needs ffmpeg, which is not installed here: pip install 'convoysim[video]' "
            "(imageio-ffmpeg) or write a .gif"
        )
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
