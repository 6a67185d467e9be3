"""One self-contained HTML file for a run or a sweep: open it in any browser, offline.

Figures are embedded as base64 PNG, styles are inline, and nothing is loaded from the network,
so the file can be mailed to a class or put on a memory stick. A run's report holds the figures,
the comparison with the documented dates, the scenario as written (with its sourced comments) and
the manifest; a sweep's report holds its figures, points, summary, Sobol indices and manifest.
Calibration and validation directories get their own pages (`convoysim.figures.fitreport`); the page
and its tables are built by `convoysim.figures.htmlpage`, which both use.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
from pathlib import Path

from matplotlib.figure import Figure

from convoysim.figures import figure_caption, fitreport, run_figures, sweep_figures
from convoysim.figures.htmlpage import DATE_TABLE_HEADER, count_table_html, html_page, short_time, table_html, yaml_html
from convoysim.figures.labels import is_arrival, words
from convoysim.runs.compare import MilestoneScore
from convoysim.runs.files import write_atomic
from convoysim.runs.reading import RunData, SweepData, is_sweep, load_run, load_sweep, parse_time
from convoysim.runs.timetext import day_time, duration_text


def figure_png_base64(fig: Figure, dpi: int = 110) -> str:
    """A figure as base64 PNG text for a data: URI (110 dpi keeps the file small and still sharp)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure_html(name: str, fig: Figure) -> str:
    caption = html.escape(figure_caption(name) or name.replace("_", " "))
    return (
        f'<figure id="fig-{html.escape(name)}"><img alt="{html.escape(name.replace("_", " "))}" '
        f'src="data:image/png;base64,{figure_png_base64(fig)}"><figcaption>{caption}</figcaption></figure>'
    )


def _hours(run: RunData, iso_text: str) -> float:
    """A comparison.csv time as model hours: 'never' (or empty) is +inf, as in compare.quantiles."""
    if not iso_text or iso_text == "never":
        return math.inf
    return (parse_time(iso_text, run.path / "comparison.csv", "a simulated time") - run.start).total_seconds() / 3600.0


def milestone_scores(run: RunData) -> list[MilestoneScore]:
    """comparison.csv read back as compare.MilestoneScore, so the report judges a miss exactly as the run did."""

    def num(text: str | None) -> float:
        return float(text) if text else math.nan

    return [
        MilestoneScore(
            r["waypoint"],
            w.earliest_h,
            w.latest_h,
            _hours(run, r["p10"]),
            _hours(run, r["p50"]),
            _hours(run, r["p90"]),
            num(r.get("hit_rate")),
            num(r.get("percentile")),
            num(r.get("crps_h")),
            r.get("pinned") == "True",
        )
        for r, w in zip(run.comparison, run.windows)
    ]


def comparison_html(run: RunData) -> str:
    if not run.comparison:
        return '<p class="note">The scenario documents no dates to compare with.</p>'
    header = DATE_TABLE_HEADER
    rows, classes = [], []
    for r, score in zip(run.comparison, milestone_scores(run)):
        rows.append(
            [
                r["waypoint"],
                short_time(r["documented_earliest"]),
                short_time(r["documented_latest"]),
                short_time(r["p10"]),
                short_time(r["p50"]),
                short_time(r["p90"]),
                f"{100 * score.hit_rate:.0f} %",
                f"{score.percentile:.0f}",
                f"{score.crps_h:.1f}" if math.isfinite(score.crps_h) else "",
                score.label,
            ]
        )
        classes.append("" if score.window_meets_interval else "miss")
    scores = run.manifest.get("scores") or {}
    cov = scores.get("date_coverage", run.manifest.get("coverage"))
    crps = run.manifest.get("mean_crps_h")
    predicted_crps = scores.get("predicted_mean_crps_h")
    predicted = (
        f" (predicted dates only: {_share(scores.get('predicted_date_coverage'))}, mean CRPS "
        f"{'n/a' if predicted_crps is None else f'{predicted_crps:.1f} h'})"
        if scores.get("pinned")
        else ""
    )
    summary = (
        f"<p>Documented dates meeting the simulated 10-90 % interval: "
        f"{'n/a' if cov is None else f'{100 * cov:.0f} %'}; mean CRPS "
        f"{'n/a' if crps is None else f'{crps:.1f} h'}{predicted}. Times UTC, rounded to the minute; rows shaded where "
        f"the documented window does not overlap the simulated 10-90 % interval (the same test as the "
        f"coverage). Pinned: a fixed date in the scenario (a hold) sets the arrival; predicted: the model does.</p>"
    )
    return table_html(header, rows, classes, table_id="comparison") + summary + counts_html(run)


def counts_html(run: RunData) -> str:
    """The documented counts of the run (counts.csv), when it has any."""
    path = run.path / "counts.csv"
    if not path.is_file():
        return ""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return ""
    scores = run.manifest.get("scores") or {}
    cov, rps = scores.get("count_coverage"), scores.get("mean_rps")
    return (
        "<h3>Documented counts</h3>"
        + count_table_html(rows, "counts")
        + f"<p>Counts meeting the simulated 10-90 % interval: {'n/a' if cov is None else f'{100 * cov:.0f} %'}; mean "
        f"RPS {'n/a' if rps is None else f'{rps:.2f}'} (ranked probability score, in counts). Overall coverage, dates "
        f"and counts: {_share(scores.get('coverage'))}; predicted windows only: "
        f"{_share(scores.get('predicted_coverage'))}.</p>"
    )


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f} %"


def _manifest_html(manifest: dict) -> str:
    return f'<pre id="manifest">{html.escape(json.dumps(manifest, indent=2))}</pre>'


def run_report_html(run: RunData) -> str:
    m = run.manifest
    intro = (
        f"<p>{html.escape(run.scenario.description.strip())}</p>"
        f"<p>{m.get('replications')} replications, seed {m.get('seed')}, start {html.escape(str(m.get('start')))}, "
        f"written {html.escape(str(m.get('created', '')))} from "
        f"<code>{html.escape(str(m.get('scenario_file')))}</code>.</p>"
    )
    figures = "".join(_figure_html(name, fig) for name, fig in run_figures(run).items())
    sources = (
        "".join(f'<h3>{html.escape(name)}</h3><pre class="yaml">{yaml_html(text)}</pre>' for name, text in run.sources)
        or '<p class="note">No source files in this run directory (sources/ is missing).</p>'
    )
    sources = (
        '<p class="note">The scenario as written, nearest file first; comments give the source of each '
        'value ("ref": documented, "assumed": a teaching assumption).</p>' + sources
    )
    return html_page(
        f"convoysim run: {run.name}",
        [
            ("summary", "Summary", intro),
            ("comparison", "Simulated vs documented", comparison_html(run)),
            ("figures", "Figures", figures),
            ("scenario", "Scenario parameters and their sources", sources),
            ("manifest", "Manifest", _manifest_html(m)),
        ],
    )


TABLE_ROWS = 50
"""Rows of the points and summary tables shown in a sweep's report; a Sobol design has thousands."""


def _capped_note(n: int, file: str) -> str:
    if n <= TABLE_ROWS:
        return ""
    return f'<p class="note">The first {TABLE_ROWS} of {n} points; the full table is {file} in the sweep directory.</p>'


def _column_words(column: str) -> str:
    """'arrival_h.Kidal_p50' -> 'arrival at Kidal (p50)'."""
    output, _, stat = column.rpartition("_")
    return f"{words(output)} ({stat})" if output else words(column)


def _summary_cell(sweep: SweepData, column: str, value: float) -> str:
    """Arrival statistics as dates (their sd in days and hours) when the sweep knows its start."""
    output, _, stat = column.rpartition("_")
    if is_arrival(output) and sweep.start is not None and math.isfinite(value):
        return duration_text(value) if stat == "sd" else day_time(sweep.start, value, minutes=False)
    return f"{value:.4g}"


def sweep_report_html(sweep: SweepData) -> str:
    figures = "".join(_figure_html(name, fig) for name, fig in sweep_figures(sweep).items())
    n = len(next(iter(sweep.points.values()), []))
    shown = range(min(n, TABLE_ROWS))
    points = table_html(
        ["point", *(words(p) for p in sweep.parameters)],
        ([k, *(f"{sweep.points[p][k]:g}" for p in sweep.parameters)] for k in shown),
        table_id="points",
    ) + _capped_note(n, "points.csv")
    cols = list(sweep.summary)
    summary = table_html(
        ["point", *(_column_words(c) for c in cols)],
        ([k, *(_summary_cell(sweep, c, sweep.summary[c][k]) for c in cols)] for k in shown),
        table_id="summary",
    ) + _capped_note(n, "summary.csv")
    sections = [
        (
            "summary",
            "Sweep",
            f"<p>{n} points over {', '.join(html.escape(p) for p in sweep.parameters)}; "
            f"outputs: {', '.join(html.escape(o) for o in sweep.outputs)}.</p>",
        ),
        ("figures", "Figures", figures),
        ("points", "Design points", points),
        ("table", "Summary per point", summary),
    ]
    if sweep.sobol:
        sections.append(
            (
                "sobol",
                "Sobol indices",
                table_html(
                    ["parameter", "output", "S1", "S1 conf", "ST", "ST conf"],
                    (
                        [
                            r["parameter"],
                            r["output"],
                            f"{r['S1']:.3f}",
                            f"{r['S1_conf']:.3f}",
                            f"{r['ST']:.3f}",
                            f"{r['ST_conf']:.3f}",
                        ]
                        for r in sweep.sobol
                    ),
                    table_id="sobol-table",
                ),
            )
        )
    sections.append(("manifest", "Manifest", _manifest_html(sweep.manifest)))
    return html_page(f"convoysim sweep: {sweep.name}", sections)


def write_report(path: Path | str, out: Path | str | None = None) -> Path:
    """Write the report of a run or sweep directory (default: <dir>/report.html) and return its path."""
    path = Path(path)
    if fitreport.is_calibration(path):
        text = fitreport.calibration_report_html(path)
    elif fitreport.is_validation(path):
        text = fitreport.validation_report_html(path)
    else:
        text = sweep_report_html(load_sweep(path)) if is_sweep(path) else run_report_html(load_run(path))
    target = Path(out) if out is not None else path / "report.html"
    write_atomic(target, text)
    return target
