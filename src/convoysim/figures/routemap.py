"""The route map: road, waypoints, drone coverage rings and where incidents happened.

Longitude/latitude axes with the aspect of the local scale (1/cos latitude), so a circle on the
ground looks round. Each ring is the true great-circle circle of its radius (geo.ring_outline),
not a circle in degrees. Incidents are counted per kind in road stretches and drawn on the road
with an area proportional to how many replications had one there.
"""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from convoysim import geo
from convoysim.figures.style import COLOURS, new_figure
from convoysim.runs.reading import RunData
from convoysim.scenario.schema import DroneBase

INCIDENT_BIN_KM = 10.0
INCIDENT_MARKERS = {"ied_strike": "X", "ied_found": "P", "ambush": "o", "harassment": "^"}
HOSTILE_KINDS = tuple(INCIDENT_MARKERS)
"""Breakdowns happen all along the road and would hide the hostile incidents; they are not drawn."""
OFFSET_DEG = 0.03
"""Each kind is drawn beside the road at its own offset, so kinds at the same km stay visible."""


def road_line(run: RunData, step_km: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """(lons, lats) of the road drawn as great-circle arcs between waypoints, as the model places it."""
    plan = run.plan
    kms = np.append(np.arange(plan.road_km[0], plan.road_km[-1], step_km), plan.road_km[-1])
    points = [geo.position_at(plan.road_km, plan.lats, plan.lons, km) for km in kms]
    return np.array([p[1] for p in points]), np.array([p[0] for p in points])


def base_active(base: DroneBase, run: RunData) -> bool:
    """Whether a drone base flies at any time between the run's start and its horizon."""
    end = run.start + timedelta(hours=run.horizon_h)
    return (base.active_from is None or base.active_from <= end) and (
        base.active_until is None or base.active_until >= run.start
    )


def route_map(run: RunData, incidents: bool = True) -> Figure:
    plan = run.plan
    fig = new_figure()
    ax = fig.add_subplot()
    lons, lats = road_line(run)
    (road,) = ax.plot(lons, lats, color=COLOURS["road"], lw=2.5, label="road (as modelled)", zorder=3)
    road.set_gid("road")

    extent_lons: list[float] = [*lons]
    extent_lats: list[float] = [*lats]
    reach: list[str] = []
    styles = iter(["-", "--", "-.", (0, (5, 1, 1, 1))] * 8)
    for name, base in run.scenario.drones.bases.items():
        active = base_active(base, run)
        radius = base.coverage_radius_km
        colour = COLOURS["ring"] if active else COLOURS["inactive"]
        outline = np.array(geo.ring_outline((base.lat, base.lon), radius, points=721))
        unit = f"{base.radius_mi:g} mi = {radius:.0f} km" if base.radius_mi is not None else f"{radius:g} km"
        (ring,) = ax.plot(
            outline[:, 1],
            outline[:, 0],
            color=colour,
            lw=2.5,
            ls=next(styles) if active else ":",
            zorder=2,
            label=f"drone ring {name}: {unit}" + ("" if active else " (not active in this run)"),
        )
        ring.set_gid(f"ring:{name}" if active else f"inactive-ring:{name}")
        ax.plot(base.lon, base.lat, marker="P", ms=14, color=colour, mec="black", zorder=6)
        # to the lower right of its marker: the place's own name is on the left, the road leaves upwards
        base_label = ax.annotate(
            f"drone base {name}" + _active_text(base),
            (base.lon, base.lat),
            xytext=(11, -9),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize=11,
            color="#1b6b30" if active else "#666666",
            zorder=8,
        )
        base_label.set_gid(f"base-label:{name}")
        extent_lons.append(base.lon)
        extent_lats.append(base.lat)
        if active:
            ax.fill(outline[:, 1], outline[:, 0], color=COLOURS["ring"], alpha=0.08, zorder=1)
            d = geo.great_circle_km(base.lat, base.lon, plan.lats[-1], plan.lons[-1])
            reach.append(f"{d:.0f} km from {name}:\n{'inside' if d <= radius else 'outside'} its {radius:.0f} km ring")
    reach_note = f"{plan.names[-1]} is " + "\n".join(reach) if reach else None
    reach_colour = "#1b6b30" if any(":\ninside" in r for r in reach) else "#a50f15"

    ax.plot(plan.lons, plan.lats, "o", color="white", mec="black", ms=8, zorder=7)
    lat_span = max(plan.lats) - min(plan.lats) or 1.0
    for k, (name, lat, lon, km) in enumerate(zip(plan.names, plan.lats, plan.lons, plan.road_km)):
        # names on the left of the road, incident marks on its right: they never cover each other;
        # two places close in latitude get their names pulled apart vertically
        close_before = k > 0 and abs(lat - plan.lats[k - 1]) < 0.05 * lat_span
        close_after = k + 1 < len(plan.lats) and abs(plan.lats[k + 1] - lat) < 0.05 * lat_span
        dy = 9 if close_before else -9 if close_after else 0
        label = ax.annotate(
            f"{name} ({km:.0f} km)",
            (lon, lat),
            xytext=(-12, dy),
            textcoords="offset points",
            ha="right",
            va="center",
            fontsize=12,
            zorder=8,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
        )
        label.set_gid(f"waypoint-label:{name}")

    if incidents:
        _incident_markers(ax, run)

    mid_lat = 0.5 * (min(extent_lats) + max(extent_lats))
    # 'datalim': the map widens to fill its panel (more of the rings and the country around the
    # road) instead of leaving the panel's sides empty
    ax.set_aspect(1.0 / math.cos(math.radians(mid_lat)), adjustable="datalim")
    size = max(max(extent_lats) - min(extent_lats), max(extent_lons) - min(extent_lons), 0.5)
    corners = [
        [min(extent_lons) - 0.3 * size, min(extent_lats) - 0.12 * size],
        [max(extent_lons) + 0.15 * size, max(extent_lats) + 0.08 * size],
    ]
    ax.dataLim.set_points(np.array(corners))  # what must show; autoscaled, so the aspect may widen it
    ax.margins(0)
    ax.autoscale_view()
    _scale_bar(ax, mid_lat)
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.set_title(f"{run.name}: route, drone coverage and incidents")
    note = (
        (
            f"marker area: incidents per {INCIDENT_BIN_KM:.0f} km of road\nover {len(run.arrivals_h)} replications "
            "(breakdowns not drawn)"
        )
        if incidents
        else None
    )
    handles, labels = ax.get_legend_handles_labels()
    if reach_note:
        # In the legend, not beside the destination: there it ran out of the axes and under the
        # legend (the map's aspect leaves little room east of the road's end).
        handles.append(Line2D([], [], color="none"))
        labels.append(reach_note)
    # inside the map, in its empty lower right (east of the road's start): the map keeps the width
    legend = ax.legend(
        handles, labels, loc="lower right", title=note, title_fontsize=10, alignment="left", framealpha=0.92
    )
    if reach_note:
        text = legend.get_texts()[-1]
        text.set(color=reach_colour, fontweight="bold", gid="destination-reach")
    return fig


def _scale_bar(ax, lat: float) -> None:
    """A 100 km bar and a north arrow in the upper left corner, away from the road and the legend."""
    fig = ax.get_figure()
    fig.canvas.draw()  # the final limits, after the aspect has widened them
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    km_per_deg_lon = geo.great_circle_km(lat, 0.0, lat, 1.0)
    length = 100.0 / km_per_deg_lon
    bx, by = x0 + 0.04 * (x1 - x0), y0 + 0.78 * (y1 - y0)
    (bar,) = ax.plot([bx, bx + length], [by, by], color="black", lw=5, solid_capstyle="butt", zorder=9)
    bar.set_gid("scale-bar")
    ax.text(bx + length / 2, by + 0.015 * (y1 - y0), "100 km", ha="center", va="bottom", fontsize=12, zorder=9)
    ax.annotate(
        "N",
        xy=(bx + length / 2, by + 0.18 * (y1 - y0)),
        xytext=(bx + length / 2, by + 0.08 * (y1 - y0)),
        ha="center",
        va="bottom",
        fontsize=14,
        fontweight="bold",
        zorder=9,
        arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 2},
    ).set_gid("north-arrow")


def _active_text(base: DroneBase) -> str:
    if base.active_from is None and base.active_until is None:
        return ""
    a = base.active_from.strftime("%d %b %Y") if base.active_from else None
    b = base.active_until.strftime("%d %b %Y") if base.active_until else None
    if a and b:
        return f"\nactive {a} to {b}"
    return f"\nactive from {a}" if a else f"\nactive until {b}"


def _incident_markers(ax, run: RunData) -> None:
    inc = run.incidents
    n_reps = len(run.arrivals_h) or 1
    plan = run.plan
    edges = np.arange(0.0, plan.road_km[-1] + INCIDENT_BIN_KM, INCIDENT_BIN_KM)
    centres = 0.5 * (edges[:-1] + edges[1:])
    kinds = [k for k in HOSTILE_KINDS if k in set(inc.kind.tolist())]
    for j, kind in enumerate(kinds):
        km = inc.km[inc.kind == kind]
        counts, _ = np.histogram(km, bins=edges)
        keep = counts > 0
        offset = (j + 1) * OFFSET_DEG  # all on the road's right, labels are on its left
        pts = [_beside_road(plan, c, offset) for c in centres[keep]]
        sizes = 900.0 * counts[keep] / n_reps
        sc = ax.scatter(
            [p[1] for p in pts],
            [p[0] for p in pts],
            s=np.maximum(sizes, 8.0),
            marker=INCIDENT_MARKERS[kind],
            color=COLOURS.get(kind, "black"),
            alpha=0.65,
            edgecolors="black",
            linewidths=0.4,
            zorder=5,
            label=f"{kind.replace('_', ' ')}: {len(km) / n_reps:.2f} per replication",
        )
        sc.set_gid(f"incidents:{kind}")


def _beside_road(plan, km: float, offset_deg: float) -> tuple[float, float]:
    """A point `offset_deg` to the side of the road at `km` (perpendicular, in local degrees)."""
    lat0, lon0 = geo.position_at(plan.road_km, plan.lats, plan.lons, max(km - 1.0, 0.0))
    lat1, lon1 = geo.position_at(plan.road_km, plan.lats, plan.lons, min(km + 1.0, plan.road_km[-1]))
    lat, lon = geo.position_at(plan.road_km, plan.lats, plan.lons, km)
    scale = math.cos(math.radians(lat))
    dx, dy = (lon1 - lon0) * scale, lat1 - lat0
    norm = math.hypot(dx, dy) or 1.0
    return lat - offset_deg * dx / norm, lon + offset_deg * dy / norm / scale
