"""Tidy tables (pandas DataFrames) of runs, for notebooks: one call, one row per replication.

pandas is an optional extra (`pip install 'convoysim[teach]'`): nothing else in the package needs
it, so it is imported only here, when a frame is asked for, with a message that says how to get it.
Arrivals come as UTC datetimes (NaT where the head never arrived) beside the model hours, all in
one unit (datetime64[ns]). Excel refuses time-zone-aware datetimes: `run.to_frame(tz=None)` (or
`naive_utc(df)` for any frame) gives the same instants as naive datetimes, in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from convoysim.model import Plan, ReplicationRecord

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas

    from convoysim.runs.compare import Comparison


class RecordedRun(Protocol):
    """A run whose records are in memory (`montecarlo.MonteCarloRun`, which builds its frames here)."""

    plan: Plan
    records: list[ReplicationRecord]

    def arrivals(self) -> np.ndarray: ...


PANDAS_MISSING = (
    "DataFrames need pandas, which convoysim does not install by default: "
    "pip install 'convoysim[teach]' (or pip install pandas)"
)


def require_pandas() -> Any:
    """The pandas module, or an ImportError that says how to install it."""
    try:
        import pandas
    except ImportError:
        raise ImportError(PANDAS_MISSING) from None
    return pandas


def frame(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None) -> "pandas.DataFrame":
    """A DataFrame of plain rows (dicts), columns in the rows' order unless given."""
    return require_pandas().DataFrame(list(rows), columns=list(columns) if columns is not None else None)


DATETIME_UNIT = "ns"
"""Every datetime column of every frame is datetime64[ns] (pandas' default), whatever the hours."""


def dates(start: datetime, hours: np.ndarray | Sequence[float], tz: str | None = "UTC") -> "pandas.Series":
    """Model hours as UTC datetimes, to the second, in DATETIME_UNIT; NaN (never) and +inf become NaT.
    `tz=None`: the same instants as naive datetimes (UTC), for Excel."""
    pd = require_pandas()
    h = np.asarray(hours, dtype=float)
    h = np.where(np.isfinite(h), h, np.nan)
    series = pd.Series(pd.Timestamp(start) + pd.to_timedelta(h, unit="h")).dt.round("s")
    series = series.astype(f"datetime64[{DATETIME_UNIT}, UTC]")
    return series.dt.tz_localize(None) if tz is None else series.dt.tz_convert(tz)


def naive_utc(df: "pandas.DataFrame") -> "pandas.DataFrame":
    """A copy whose time-zone-aware datetime columns are naive, in UTC: what Excel accepts
    (`naive_utc(load_sweep(d).to_frame()).to_excel("sweep.xlsx")`)."""
    pd = require_pandas()
    out = df.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def replications_frame(run: RecordedRun, tz: str | None = "UTC") -> "pandas.DataFrame":
    """One row per replication: replications.csv's columns, then `arrival_<waypoint>` as UTC
    datetimes (naive, in UTC, with `tz=None`)."""
    df = frame(r.as_row() for r in run.records)
    arrivals = run.arrivals()
    for k, name in enumerate(run.plan.names):
        df[f"arrival_{name}"] = dates(run.plan.start, arrivals[:, k], tz).to_numpy()
    return df


def milestones_frame(run: RecordedRun, tz: str | None = "UTC") -> "pandas.DataFrame":
    """One row per replication and waypoint: `arrival_h` (model hours) and `arrival` (UTC datetime;
    naive, in UTC, with `tz=None`)."""
    names = run.plan.names
    arrivals = run.arrivals()
    df = frame(
        (
            {"replication": r.replication, "waypoint": w, "arrival_h": arrivals[i, k]}
            for i, r in enumerate(run.records)
            for k, w in enumerate(names)
        ),
        ["replication", "waypoint", "arrival_h"],
    )
    df["arrival"] = dates(run.plan.start, df["arrival_h"].to_numpy(), tz).to_numpy()
    return df


ARRIVAL_PREFIX = "arrival_h."
"""Sweep outputs named `arrival_h.<waypoint>` hold hours since the start."""


def sweep_frame(rows: Sequence[Mapping[str, Any]], start: datetime | None) -> "pandas.DataFrame":
    """Sweep summary rows; each `arrival_h.<waypoint>_<p10|p50|p90|mean>` gets a datetime twin
    `arrival.<waypoint>_<stat>` when the start is known (spreads such as `_sd` stay in hours)."""
    df = frame(rows)
    if start is None:
        return df
    for column in list(df.columns):
        name = str(column)
        if name.startswith(ARRIVAL_PREFIX) and name.rsplit("_", 1)[-1] in ("mean", "p10", "p50", "p90"):
            df["arrival." + name[len(ARRIVAL_PREFIX) :]] = dates(start, df[column].astype(float).to_numpy()).to_numpy()
    return df


def comparison_frame(comparison: "Comparison", start: datetime) -> "pandas.DataFrame":
    """The run against the documents, one row per milestone: the window written whole
    ('05 Oct-07 Oct 12:00'), the simulated p10/p50/p90 as UTC datetimes (NaT: never), hit rate,
    percentile, CRPS and whether the window meets the simulated 80 % interval."""
    from convoysim.runs.timetext import window_text

    df = frame(
        {
            "waypoint": m.waypoint,
            "documented": window_text(start, m.earliest_h, m.latest_h),
            "hit_rate": m.hit_rate,
            "percentile": m.percentile,
            "crps_h": m.crps_h,
            "meets_80": m.window_meets_interval,
        }
        for m in comparison.milestones
    )
    for k, name in enumerate(("p10", "p50", "p90")):
        hours = [(m.p10_h, m.p50_h, m.p90_h)[k] for m in comparison.milestones]
        df.insert(2 + k, name, dates(start, hours).dt.round("min").to_numpy())
    return df
