"""One self-contained HTML file for a run or a sweep: open it in any browser, offline.

Figures are embedded as base64 PNG, styles are inline, and nothing is loaded from the network,
so the file can be mailed to a class or put on a memory stick. A run's report holds the figures,
the comparison with the documented dates, the scenario as written (with its sourced comments) and
the manifest; a sweep's report holds its figures, points, summary, Sobol indices and manifest.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from matplotlib.figure import Figure

from convoysim.plots import figure_caption, run_figures, sweep_figures
from convoysim.results import write_atomic
from convoysim.rundir import RunData, SweepData, is_sweep, load_run, load_sweep

CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; max-width: 1200px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { border-bottom: 3px solid #1f5fa8; padding-bottom: .2em; }
h2 { color: #1f5fa8; margin-top: 2em; }
figure { margin: 1.5em 0; }
figure img { width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { color: #555; font-style: italic; }
table { border-collapse: collapse; margin: 1em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: right; }
th { background: #eef3fa; }
td:first-child, th:first-child { text-align: left; }
tr.miss td { background: #fff1ec; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: .85em; border: 1px solid #e0e0e0; }
pre .c { color: #2e7d32; }
nav a { margin-right: 1em; }
.note { color: #555; }
"""


def figure_png_base64(fig: Figure, dpi: int = 110) -> str:
    """A figure as base64 PNG text for a data: URI (110 dpi keeps the file small and still sharp)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure_html(name: str, fig: Figure) -> str:
    caption = html.escape(figure_caption(name) or name.replace("_", " "))
    return (f'<figure id="fig-{html.escape(name)}"><img alt="{html.escape(name.replace("_", " "))}" '
            f'src="data:image/png;base64,{figure_png_base64(fig)}"><figcaption>{caption}</figcaption></figure>')


def table_html(header: Sequence[str], rows: Iterable[Sequence[object]], row_classes: Iterable[str] | None = None,
               table_id: str = "") -> str:
    classes = list(row_classes) if row_classes is not None else None
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    for k, row in enumerate(rows):
        cls = f' class="{classes[k]}"' if classes and classes[k] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>")
    ident = f' id="{table_id}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def yaml_html(text: str) -> str:
    """YAML source escaped for <pre>, with comments (the sources of each value) highlighted."""
    out = []
    for line in text.splitlines():
        code, comment = _split_comment(line)
        out.append(html.escape(code) + (f'<span class="c">{html.escape(comment)}</span>' if comment else ""))
    return "\n".join(out)


def _split_comment(line: str) -> tuple[str, str]:
    """Split at the first # that starts a YAML comment (not inside quotes)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i], line[i:]
    return line, ""


def _short_time(iso_text: str) -> str:
    m = re.match(r"\d{4}-(\d\d)-(\d\d)T(\d\d:\d\d)", iso_text)
    return f"{m.group(2)}/{m.group(1)} {m.group(3)}" if m else (iso_text or "never")


def comparison_html(run: RunData) -> str:
    if not run.comparison:
        return '<p class="note">The scenario documents no dates to compare with.</p>'
    header = ["waypoint", "documented earliest", "documented latest", "p10", "median", "p90", "in window",
              "documented percentile", "CRPS (h)"]
    rows, classes = [], []
    for r in run.comparison:
        hit = float(r["hit_rate"]) if r.get("hit_rate") else float("nan")
        pct = float(r["percentile"]) if r.get("percentile") else float("nan")
        rows.append([r["waypoint"], _short_time(r["documented_earliest"]), _short_time(r["documented_latest"]),
                     _short_time(r["p10"]), _short_time(r["p50"]), _short_time(r["p90"]), f"{100 * hit:.0f} %",
                     f"{pct:.0f}", f"{float(r['crps_h']):.1f}" if r.get("crps_h") else ""])
        classes.append("miss" if not 10 <= pct <= 90 else "")
    cov, crps = run.manifest.get("coverage"), run.manifest.get("mean_crps_h")
    summary = (f'<p>Documented windows meeting the simulated 10-90 % interval: '
               f'{"n/a" if cov is None else f"{100 * cov:.0f} %"}; mean CRPS '
               f'{"n/a" if crps is None else f"{crps:.1f} h"}. Times UTC, day/month; rows shaded where the '
               f'documented date lies outside the simulated 10-90 % range.</p>')
    return table_html(header, rows, classes, table_id="comparison") + summary


def _page(title: str, sections: list[tuple[str, str, str]]) -> str:
    nav = "".join(f'<a href="#{ident}">{html.escape(head)}</a>' for ident, head, _ in sections)
    body = "".join(f'<section id="{ident}"><h2>{html.escape(head)}</h2>{content}</section>' for ident, head, content in sections)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>'
            f'<body><h1>{html.escape(title)}</h1><nav>{nav}</nav>{body}</body></html>\n')


def _manifest_html(manifest: dict) -> str:
    return f'<pre id="manifest">{html.escape(json.dumps(manifest, indent=2))}</pre>'


def run_report_html(run: RunData) -> str:
    m = run.manifest
    intro = (f"<p>{html.escape(run.scenario.description.strip())}</p>"
             f"<p>{m.get('replications')} replications, seed {m.get('seed')}, start {html.escape(str(m.get('start')))}, "
             f"written {html.escape(str(m.get('created', '')))} from <code>{html.escape(str(m.get('scenario_file')))}</code>.</p>")
    figures = "".join(_figure_html(name, fig) for name, fig in run_figures(run).items())
    sources = "".join(f"<h3>{html.escape(name)}</h3><pre class=\"yaml\">{yaml_html(text)}</pre>" for name, text in run.sources) \
        or '<p class="note">No source files in this run directory (sources/ is missing).</p>'
    sources = ('<p class="note">The scenario as written, nearest file first; comments give the source of each '
               'value ("ref": documented, "assumed": a teaching assumption).</p>' + sources)
    return _page(f"convoysim run: {run.name}", [
        ("summary", "Summary", intro),
        ("comparison", "Simulated vs documented", comparison_html(run)),
        ("figures", "Figures", figures),
        ("scenario", "Scenario parameters and their sources", sources),
        ("manifest", "Manifest", _manifest_html(m)),
    ])


def sweep_report_html(sweep: SweepData) -> str:
    figures = "".join(_figure_html(name, fig) for name, fig in sweep_figures(sweep).items())
    n = len(next(iter(sweep.points.values()), []))
    points = table_html(["point", *sweep.parameters], ([k, *(f"{sweep.points[p][k]:g}" for p in sweep.parameters)] for k in range(n)),
                        table_id="points")
    cols = list(sweep.summary)
    summary = table_html(["point", *cols], ([k, *(f"{sweep.summary[c][k]:.4g}" for c in cols)] for k in range(n)),
                         table_id="summary")
    sections = [
        ("summary", "Sweep", f"<p>{n} points over {', '.join(html.escape(p) for p in sweep.parameters)}; "
                             f"outputs: {', '.join(html.escape(o) for o in sweep.outputs)}.</p>"),
        ("figures", "Figures", figures),
        ("points", "Design points", points),
        ("table", "Summary per point", summary),
    ]
    if sweep.sobol:
        sections.append(("sobol", "Sobol indices", table_html(
            ["parameter", "output", "S1", "S1 conf", "ST", "ST conf"],
            ([r["parameter"], r["output"], f"{r['S1']:.3f}", f"{r['S1_conf']:.3f}", f"{r['ST']:.3f}", f"{r['ST_conf']:.3f}"]
             for r in sweep.sobol), table_id="sobol-table")))
    sections.append(("manifest", "Manifest", _manifest_html(sweep.manifest)))
    return _page(f"convoysim sweep: {sweep.name}", sections)


def write_report(path: Path | str, out: Path | str | None = None) -> Path:
    """Write the report of a run or sweep directory (default: <dir>/report.html) and return its path."""
    path = Path(path)
    text = sweep_report_html(load_sweep(path)) if is_sweep(path) else run_report_html(load_run(path))
    target = Path(out) if out is not None else path / "report.html"
    write_atomic(target, text)
    return target
