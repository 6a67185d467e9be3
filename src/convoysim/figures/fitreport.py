"""The HTML report of a calibration or a validation directory (`convoysim report DIR`).

A calibration's report: how the fit ran, the posterior (median and 80 % interval per parameter,
and which scenarios have it), the scores of each scenario before and after calibration, the
figures the fit drew, and each calibrated scenario file. A validation's report: the verdict table
(per scenario and overall) and, per scenario, its dates (predicted or pinned) and counts.
Both are read from the JSON and CSV files the commands write, so a report can be made later.
"""

from __future__ import annotations

import base64
import csv
import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from convoysim.calibration.shrinkage import identification_warnings, shrinkage_cell
from convoysim.figures.htmlpage import DATE_TABLE_HEADER, count_table_html, html_page, short_time, table_html, yaml_html
from convoysim.runs.reading import RunDirError

SCORE_COLUMNS = [
    ("coverage", "coverage", "pct"),
    ("date_coverage", "dates", "pct"),
    ("count_coverage", "counts", "pct"),
    ("predicted_coverage", "predicted", "pct"),
    ("mean_crps_h", "mean CRPS h", "1"),
    ("predicted_mean_crps_h", "predicted CRPS h", "1"),
    ("mean_rps", "mean RPS", "2"),
]
"""Overall figures of a comparison (Comparison.summary keys) as report columns."""


def is_calibration(path: Path) -> bool:
    return (path / "calibration.json").is_file()


def is_validation(path: Path) -> bool:
    return (path / "validation.json").is_file()


def _json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise RunDirError(path, f"cannot be read as JSON ({err})") from None


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind == "pct":
        return f"{100 * value:.0f} %"
    return f"{value:.{int(kind)}f}"


def score_cells(summary: Mapping[str, Any]) -> list[str]:
    """One comparison's overall figures, formatted in SCORE_COLUMNS order."""
    return [_cell(summary.get(key), kind) for key, _, kind in SCORE_COLUMNS]


SCORE_HEADER = [label for _, label, _ in SCORE_COLUMNS]

SCORES_NOTE = (
    '<p class="note">Coverage: the share of documented windows that meet the simulated 10-90 % interval, '
    "over dates and counts together, apart, and over the predicted windows only (pinned dates, which a "
    "fixed date in the scenario sets, left out). CRPS in hours over dates; RPS (ranked probability score) "
    "in counts over counts; lower is better.</p>"
)


def _png(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure id="fig-{html.escape(path.stem)}"><img alt="{html.escape(path.stem.replace("_", " "))}" '
        f'src="data:image/png;base64,{data}"><figcaption>{html.escape(path.name)}</figcaption></figure>'
    )


def _csv_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def calibration_report_html(path: Path) -> str:
    """A calibration directory as one page."""
    record = _json(path / "calibration.json")
    outcome = record.get("outcome")
    if not outcome:
        raise RunDirError(
            path / "calibration.json",
            "the calibration has not finished (no outcome yet); run the same command to resume it",
        )
    config = record.get("config", {})
    names = [config.get("scenario", "?"), *(o["scenario"] for o in config.get("other_scenarios", []))]
    intro = (
        f"<p>Fitted to {len(names)} scenario{'s' if len(names) > 1 else ''}: {html.escape(', '.join(names))}. "
        f"{outcome['generations']} generations, {outcome['evaluations']} evaluations, effective sample size "
        f"{outcome['effective_sample_size']:.0f}; stopped: {html.escape(outcome['stop_reason'])}.</p>"
        f"<pre>{html.escape(outcome['command'])}</pre>"
    )
    posterior = table_html(
        ["parameter", "prior", "base value", "posterior median", "80 % credible interval", "scenarios", "shrinkage"],
        (
            [
                r["parameter"],
                f"{r['prior_low']:g} to {r['prior_high']:g}",
                _plain(r.get("base_value")),
                f"{r['median']:.4g}",
                f"{r['ci80_low']:.4g} to {r['ci80_high']:.4g}",
                r.get("scenarios", names[0]),
                shrinkage_cell(r),
            ]
            for r in outcome["posterior_summary"]
        ),
        table_id="posterior",
    )
    posterior += "".join(
        f'<p class="note">{html.escape(line)}</p>'
        for line in identification_warnings([r for r in outcome["posterior_summary"] if "identified" in r])
    )
    checks = outcome.get("scenarios") or [
        {
            "scenario": names[0],
            "before": outcome["before"],
            "after": outcome["after"],
            "calibrated_file": "calibrated.yaml",
        }
    ]
    rows = [[f"{c['scenario']} {when}", *score_cells(c[when])] for c in checks for when in ("before", "after")]
    scores = (
        table_html(["scenario", *SCORE_HEADER], rows, table_id="before-after")
        + SCORES_NOTE
        + f'<p class="note">Both on the same {outcome["check_replications"]} replications and seed.</p>'
    )
    figures = "".join(_png(p) for p in sorted(path.glob("*.png")))
    files = "".join(
        f'<h3>{html.escape(c["calibrated_file"])}</h3><pre class="yaml">'
        f"{yaml_html((path / c['calibrated_file']).read_text(encoding='utf-8'))}</pre>"
        for c in checks
        if (path / c["calibrated_file"]).is_file()
    )
    history = _csv_rows(path / "history.csv")
    history_table = (
        table_html(list(history[0]), (list(r.values()) for r in history), table_id="history") if history else ""
    )
    return html_page(
        f"convoysim calibration: {' + '.join(names)}",
        [
            ("summary", "Summary", intro),
            ("posterior", "Posterior", posterior),
            ("scores", "Before and after calibration", scores),
            ("figures", "Figures", figures or '<p class="note">No figures in this directory.</p>'),
            ("history", "Generations", history_table),
            ("calibrated", "Calibrated scenarios", files),
        ],
    )


def _plain(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) else ("" if value is None else str(value))


def validation_report_html(path: Path) -> str:
    """A validation directory (one scenario or several) as one page."""
    record = _json(path / "validation.json")
    reports = record.get("scenarios") or [record]
    verdict = {None: "", True: "PASS", False: "FAIL"}
    rows = [
        [
            r["scenario"],
            len(r["milestones"]),
            sum(1 for m in r["milestones"] if m.get("pinned")),
            len(r.get("counts", [])),
            *score_cells(r.get("scores") or {"coverage": r.get("coverage"), "mean_crps_h": r.get("mean_crps_h")}),
            verdict[r.get("passed")],
        ]
        for r in reports
    ]
    if "overall" in record:
        rows.append(
            [
                "overall",
                sum(len(r["milestones"]) for r in reports),
                sum(1 for r in reports for m in r["milestones"] if m.get("pinned")),
                sum(len(r.get("counts", [])) for r in reports),
                *score_cells(record["overall"]),
                verdict[record.get("passed")],
            ]
        )
    gate = record.get("min_coverage")
    summary = (
        table_html(["scenario", "dates", "pinned", "counts", *SCORE_HEADER, "verdict"], rows, table_id="verdict")
        + SCORES_NOTE
        + (
            f"<p>Gate: at least {100 * gate:.0f} % of the predicted windows of each scenario.</p>"
            if gate is not None
            else ""
        )
    )
    sections = [("verdict", "Verdict", summary)]
    for k, r in enumerate(reports):
        dates = table_html(
            DATE_TABLE_HEADER,
            (
                [
                    m["waypoint"],
                    short_time(m["documented_earliest"]),
                    short_time(m["documented_latest"]),
                    short_time(m["p10"]),
                    short_time(m["p50"]),
                    short_time(m["p90"]),
                    f"{100 * m['hit_rate']:.0f} %",
                    f"{m['percentile']:.0f}",
                    f"{m['crps_h']:.1f}",
                    "pinned" if m.get("pinned") else "predicted",
                ]
                for m in r["milestones"]
            ),
            ["" if m["window_meets_interval"] else "miss" for m in r["milestones"]],
            table_id=f"dates-{k}",
        )
        counts = count_table_html(r.get("counts", []), f"counts-{k}")
        applied = r.get("calibrated_parameters") or {}
        applied_text = ", ".join(f"{p}={v:.4g}" for p, v in applied.items())
        note = f'<p class="note">Calibrated parameters applied: {html.escape(applied_text)}</p>' if applied else ""
        sections.append(
            (
                f"scenario-{k}",
                f"{r['scenario']}: {r['replications']} replications, seed {r['seed']}",
                note + dates + counts,
            )
        )
    return html_page("convoysim validation: " + ", ".join(r["scenario"] for r in reports), sections)
