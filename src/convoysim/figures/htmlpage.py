"""The parts of convoysim's self-contained HTML pages: the page with its inline style, tables, YAML
with its comments highlighted, times as text, and the table of documented counts.

Both reports build on it, the run and sweep report (`report`) and the calibration and validation
report (`fitreport`), so neither needs the other's helpers.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from convoysim.runs.reading import RunDirError, parse_time

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


DATE_TABLE_HEADER = [
    "waypoint",
    "documented earliest",
    "documented latest",
    "p10",
    "median",
    "p90",
    "in window",
    "documented percentile",
    "CRPS (h)",
    "",
]
"""Columns of the documented-dates table, the same in the run report and the validation report."""


def table_html(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    row_classes: Iterable[str] | None = None,
    table_id: str = "",
) -> str:
    """A table with every cell escaped; `row_classes` marks rows (e.g. "miss" shades a missed window)."""
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


def short_time(iso_text: str) -> str:
    """An ISO time as '11 Oct 13:09' (month by name, so no day/month confusion), rounded to the minute."""
    if not iso_text or iso_text == "never":
        return "never"
    try:
        t = parse_time(iso_text)
    except (ValueError, RunDirError):  # shown as written; load_run has named a damaged file already
        return iso_text
    t = (t + timedelta(seconds=30)).replace(second=0, microsecond=0)
    return t.strftime("%d %b %H:%M")


def html_page(title: str, sections: list[tuple[str, str, str]]) -> str:
    """A whole page from (anchor, heading, HTML) sections, with a link to each and the style inline."""
    nav = "".join(f'<a href="#{ident}">{html.escape(head)}</a>' for ident, head, _ in sections)
    body = "".join(
        f'<section id="{ident}"><h2>{html.escape(head)}</h2>{content}</section>' for ident, head, content in sections
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>'
        f"<body><h1>{html.escape(title)}</h1><nav>{nav}</nav>{body}</body></html>\n"
    )


def count_table_html(counts: list[Mapping[str, Any]], table_id: str) -> str:
    """Documented counts against the simulated ones (rows of counts.csv or validation.json)."""
    if not counts:
        return ""
    rows, classes = [], []
    for c in counts:
        low, high, p10, p90 = (int(float(c[k])) for k in ("documented_low", "documented_high", "p10", "p90"))
        rows.append(
            [
                c["count"],
                c["where"],
                f"{low}" if low == high else f"{low} to {high}",
                p10,
                c["p50"],
                p90,
                f"{100 * float(c['hit_rate']):.0f} %",
                f"{float(c['percentile']):.0f}",
                f"{float(c['rps']):.2f}",
                c.get("source", ""),
            ]
        )
        classes.append("" if low <= p90 and high >= p10 else "miss")
    return table_html(
        ["count", "where", "documented", "p10", "median", "p90", "in window", "documented percentile", "RPS", "source"],
        rows,
        classes,
        table_id=table_id,
    )
