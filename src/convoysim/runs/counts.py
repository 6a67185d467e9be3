"""Simulated counts (IED strikes, ambushes, vehicles lost by cause ...) against documented windows.

A documented count is a window of whole numbers [low, high] ("between one and six vehicles
destroyed"). Each is scored like a documented date:
- `hit_rate`: the share of replications whose count falls inside the window;
- `percentile`: where the window's midpoint falls in the simulated distribution (mid-rank for ties);
- `rps`: the ranked probability score, the CRPS of a distribution on the whole numbers,
  RPS = sum_k (F(k) - 1{y <= k})^2, with the true count y taken as uniform over the window's whole
  numbers (the usual RPS when low == high). It is in counts; lower is better.

The scores are pure functions of an array of per-replication counts, so they do not care where the
counts come from. `count_matrix` reads those arrays from replication records through one mapping,
`COUNTED`, from a count kind to the incidents it counts: a new kind the model records (wounded,
killed) is one line there and one name in the schema's COUNT_KINDS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from convoysim.model.record import ReplicationRecord
from convoysim.scenario.schema import DocumentedCount, Scenario

QUANTILES = (0.1, 0.5, 0.9)


# -- scores over arrays of counts -----------------------------------------------------------------


def share_inside(counts: np.ndarray, low: int, high: int) -> float:
    """Share of replications whose count lies in [low, high]."""
    x = np.asarray(counts)
    return float(np.mean((x >= low) & (x <= high)))


def count_percentile(counts: np.ndarray, value: float) -> float:
    """Where `value` falls in the simulated counts, 0-100, ties counted half."""
    x = np.asarray(counts, dtype=float)
    return float(100.0 * (np.mean(x < value) + 0.5 * np.mean(x == value)))


def count_quantiles(counts: np.ndarray, qs: Sequence[float] = QUANTILES) -> list[int]:
    """Quantiles that are counts themselves: the smallest k with F(k) >= q (inverse of the CDF)."""
    return [int(v) for v in np.quantile(np.asarray(counts), qs, method="inverted_cdf")]


def rps_cdf(cdf: np.ndarray, low: int, high: int) -> float:
    """Ranked probability score of a forecast CDF on 0, 1, ..., len(cdf)-1 (F(k) = 1 beyond the
    last entry) against a true count uniform over low..high. Taking the expectation over the true
    count inside the sum: E[(F - 1{Y <= k})^2] = F^2 - 2 F G + G, with G the window's CDF."""
    size = max(len(cdf), high + 1)
    f = np.ones(size)
    f[: len(cdf)] = np.asarray(cdf, dtype=float)
    k = np.arange(size)
    g = np.clip((k - low + 1) / (high - low + 1), 0.0, 1.0)
    return float(np.sum(f**2 - 2.0 * f * g + g))


def rps_window(counts: np.ndarray, low: int, high: int) -> float:
    """RPS of the simulated counts' empirical distribution against the window [low, high]."""
    x = np.asarray(counts, dtype=int)
    pmf = np.bincount(x, minlength=high + 1) / len(x)
    return rps_cdf(np.cumsum(pmf), low, high)


@dataclass(frozen=True)
class CountScore:
    count: str
    """The kind counted (schema.COUNT_KINDS)."""
    where: str
    """The stretch counted over, in words ('whole march', 'Tabankort to Anefis')."""
    low: int
    high: int
    p10: int
    p50: int
    p90: int
    hit_rate: float
    percentile: float
    rps: float
    note: str = ""
    source: str = ""

    @property
    def window_meets_interval(self) -> bool:
        """Whether the documented window overlaps the simulated 80 % interval (p10-p90)."""
        return self.low <= self.p90 and self.high >= self.p10


def score_count(
    counts: np.ndarray,
    low: int,
    high: int,
    count: str = "",
    where: str = "whole march",
    note: str = "",
    source: str = "",
) -> CountScore:
    p10, p50, p90 = count_quantiles(counts)
    return CountScore(
        count,
        where,
        low,
        high,
        p10,
        p50,
        p90,
        share_inside(counts, low, high),
        count_percentile(counts, 0.5 * (low + high)),
        rps_window(counts, low, high),
        note,
        source,
    )


# -- counts from replication records --------------------------------------------------------------

Incident = tuple[str, float, float, int]
"""(kind, t_h, km, vehicles lost), as ReplicationRecord.incidents holds them."""


def _events(kinds: tuple[str, ...]) -> Callable[[list[Incident], datetime], int]:
    return lambda incidents, start: sum(1 for kind, *_ in incidents if kind in kinds)


def _vehicles(kinds: tuple[str, ...]) -> Callable[[list[Incident], datetime], int]:
    return lambda incidents, start: sum(lost for kind, _, _, lost in incidents if kind in kinds)


def _nights(kinds: tuple[str, ...]) -> Callable[[list[Incident], datetime], int]:
    """Distinct nights with at least one such incident; a night runs from noon to noon."""
    return lambda incidents, start: len(
        {(start + timedelta(hours=t - 12.0)).date() for kind, t, _, _ in incidents if kind in kinds}
    )


LOSSES = ("ied_strike", "ambush", "breakdown", "harassment")

COUNTED: dict[str, Callable[[list[Incident], datetime], int]] = {
    "ied_strikes": _events(("ied_strike",)),
    "ieds_found": _events(("ied_found",)),
    "ambushes": _events(("ambush",)),
    "harassments": _events(("harassment",)),
    "harassed_nights": _nights(("harassment",)),
    "breakdowns": _events(("breakdown",)),
    "vehicles_lost": _vehicles(LOSSES),
    "lost_ied": _vehicles(("ied_strike",)),
    "lost_ambush": _vehicles(("ambush",)),
    "lost_breakdown": _vehicles(("breakdown",)),
    "lost_harassment": _vehicles(("harassment",)),
    "wounded": _vehicles(("wounded",)),
    "killed": _vehicles(("killed",)),
}
"""Count kind -> how to count it over a replication's incidents (those inside the window's stretch)."""


@dataclass(frozen=True)
class CountWindow:
    """A documented count on the model's scales: road km and hours since the start."""

    count: str
    low: int
    high: int
    from_km: float
    to_km: float
    from_h: float
    to_h: float
    where: str
    note: str = ""
    source: str = ""

    def inside(self, t_h: float, km: float) -> bool:
        return self.from_km <= km < self.to_km and self.from_h <= t_h < self.to_h


def count_windows(scenario: Scenario, road_km: Sequence[float]) -> list[CountWindow]:
    """The scenario's documented counts, with places turned into road km and dates into hours."""
    names = scenario.waypoint_names
    out = []
    for d in scenario.documented_counts:
        out.append(
            CountWindow(
                d.count,
                d.low,
                d.high,
                road_km[names.index(d.from_place)] if d.from_place else -np.inf,
                road_km[names.index(d.to_place)] if d.to_place else np.inf,
                scenario.hours(d.from_time) if d.from_time else -np.inf,
                scenario.hours(d.to_time) if d.to_time else np.inf,
                stretch_words(d),
                d.note,
                d.source,
            )
        )
    return out


def stretch_words(d: DocumentedCount) -> str:
    """'whole march', 'Tabankort to Anefis', 'from Tarkint', 'before 05 Oct 00:00' ..."""
    parts = []
    if d.from_place and d.to_place:
        parts.append(f"{d.from_place} to {d.to_place}")
    elif d.from_place:
        parts.append(f"from {d.from_place}")
    elif d.to_place:
        parts.append(f"before {d.to_place}")
    if d.from_time:
        parts.append(f"after {d.from_time:%d %b %H:%M}")
    if d.to_time:
        parts.append(f"before {d.to_time:%d %b %H:%M}")
    return ", ".join(parts) or "whole march"


def counted_incidents(record: ReplicationRecord) -> list[Incident]:
    """A record's incidents, and its casualties as ('wounded' | 'killed', t_h, km, people) entries."""
    people = [
        (kind, t, km, n)
        for _, t, km, wounded, killed in record.casualties
        for kind, n in (("wounded", wounded), ("killed", killed))
        if n
    ]
    return record.incidents + people if people else record.incidents


def count_in(incidents: list[Incident], window: CountWindow, start: datetime) -> int:
    """One replication's count for one documented window."""
    return COUNTED[window.count]([i for i in incidents if window.inside(i[1], i[2])], start)


def count_matrix(
    incident_lists: Sequence[list[Incident]], windows: Sequence[CountWindow], start: datetime
) -> np.ndarray:
    """Per-replication counts: one row per replication, one column per window."""
    return np.array(
        [[count_in(incidents, w, start) for w in windows] for incidents in incident_lists], dtype=int
    ).reshape(len(incident_lists), len(windows))


def score_counts(matrix: np.ndarray, windows: Sequence[CountWindow]) -> tuple[CountScore, ...]:
    return tuple(
        score_count(matrix[:, k], w.low, w.high, w.count, w.where, w.note, w.source) for k, w in enumerate(windows)
    )
