"""The HTML report: self-contained, complete, and rendered with its images by a real browser."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import make_sweep, run_cli

from convoysim.figures import RUN_FIGURES
from convoysim.figures.report import TABLE_ROWS, short_time, write_report, yaml_html
from convoysim.runs.reading import load_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Elements(HTMLParser):
    """Collects tags with their attributes, and every table's rows."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.rows: dict[str, int] = {}
        self._table: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "table":
            self._table = attrs.get("id", "")
            self.rows[self._table] = 0
        elif tag == "tr" and self._table is not None:
            self.rows[self._table] += 1

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None


def parse(text: str) -> Elements:
    parser = Elements()
    parser.feed(text)
    return parser


@pytest.fixture(scope="module")
def report(baseline_dir, tmp_path_factory) -> Path:
    return write_report(baseline_dir, tmp_path_factory.mktemp("report") / "report.html")


def test_every_figure_is_embedded_as_a_png(report):
    imgs = [a for tag, a in parse(report.read_text()).tags if tag == "img"]
    assert len(imgs) == len(RUN_FIGURES)
    for img in imgs:
        assert img["src"].startswith("data:image/png;base64,")
        assert base64.b64decode(img["src"].split(",", 1)[1])[:8] == PNG_SIGNATURE
        assert img.get("alt")


def test_nothing_is_loaded_from_outside(report):
    for tag, attrs in parse(report.read_text()).tags:
        for key in ("src", "href"):
            value = attrs.get(key)
            if value is not None:
                assert value.startswith(("data:", "#")), f"<{tag} {key}={value[:40]}>"
    assert "<script" not in report.read_text() and "<link" not in report.read_text()


def test_comparison_table_has_one_row_per_documented_milestone(report, baseline_dir):
    run = load_run(baseline_dir)
    rows = parse(report.read_text()).rows
    assert rows["comparison"] == 1 + len(run.comparison)
    text = report.read_text()
    for row in run.comparison:
        assert f"<td>{html.escape(row['waypoint'])}</td>" in text


def test_scenario_sources_keep_their_comments(report, baseline_dir):
    text = report.read_text()
    source = next((baseline_dir / "sources").iterdir()).read_text()
    comments = [line[line.index("#") :] for line in source.splitlines() if " # " in line or line.startswith("#")]
    assert len(comments) > 20
    for comment in comments:
        assert html.escape(comment) in text


def test_manifest_is_included(report, baseline_dir):
    manifest = json.loads((baseline_dir / "manifest.json").read_text())
    match = re.search(r'<pre id="manifest">(.*?)</pre>', report.read_text(), re.S)
    assert json.loads(html.unescape(match.group(1))) == manifest


def test_yaml_comments_are_split_outside_quotes():
    out = yaml_html('note: "a # inside"  # ref: outside\n# whole line')
    assert out.count('<span class="c">') == 2
    assert "a # inside" in html.unescape(out.split("<span")[0])


def test_sweep_report(tmp_path):
    folder = make_sweep(
        tmp_path / "sw",
        {"a": [1.0, 2.0], "b": [3.0, 4.0]},
        {"y": lambda a, b: a * b},
        sobol=[["a", "y", 0.5, 0.1, 0.6, 0.1], ["b", "y", 0.4, 0.1, 0.5, 0.1]],
    )
    result = run_cli(["report", str(folder)])
    assert result.exit_code == 0
    page = parse((folder / "report.html").read_text())
    assert len([1 for tag, _ in page.tags if tag == "img"]) == 2  # heat map and Sobol bars
    assert page.rows["points"] == 1 + 4 and page.rows["sobol-table"] == 1 + 2


def _shaded_rows(page_text: str) -> int:
    table = page_text[page_text.index('<table id="comparison"') :]
    return table[: table.index("</table>")].count('<tr class="miss">')


def _misses_in_comparison_csv(run_dir: Path) -> int:
    """Windows that do not overlap the simulated p10-p90, straight from comparison.csv (ISO text sorts
    as time; 'never' sorts after every date, as +inf)."""
    import csv

    with (run_dir / "comparison.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    return sum(not (r["documented_earliest"] <= r["p90"] and r["documented_latest"] >= r["p10"]) for r in rows)


def test_shaded_rows_are_the_misses_counted_in_the_coverage(report, baseline_dir, tmp_path):
    folder = tmp_path / "short"
    folder.mkdir()
    (folder / "short.yaml").write_text("extends: baseline\nhorizon_days: 3\n")
    result = run_cli(["run", str(folder / "short.yaml"), "-n", "20", "--seed", "2", "--out", str(folder / "run")])
    assert result.exit_code == 0, result.output
    short_report = write_report(folder / "run")
    for page, run_dir in ((report, baseline_dir), (short_report, folder / "run")):
        manifest = json.loads((run_dir / "manifest.json").read_text())
        n = len(load_run(run_dir).comparison)
        shaded = _shaded_rows(page.read_text())
        assert shaded == round(n * (1 - manifest["scores"]["date_coverage"])) == _misses_in_comparison_csv(run_dir)
    assert _shaded_rows(short_report.read_text()) > 0


def test_report_dates_name_the_month_and_round_to_the_minute(report):
    assert short_time("2023-10-11T13:09:29Z") == "11 Oct 13:09"
    assert short_time("2023-10-11T13:09:30Z") == "11 Oct 13:10"
    assert short_time("2023-10-31T23:59:45Z") == "01 Nov 00:00"
    assert short_time("never") == "never"
    text = report.read_text()
    table = text[text.index('<table id="comparison"') :]
    cells = re.findall(r"<td>([^<]*\d\d:\d\d)</td>", table[: table.index("</table>")])
    assert cells and all(re.fullmatch(r"\d\d (Oct|Nov) \d\d:\d\d", c) for c in cells)


def test_sampled_sweep_report_caps_its_tables(tmp_path):
    from test_plots import sampled_sweep

    folder = sampled_sweep(tmp_path / "lhs", "sobol", n=TABLE_ROWS + 30)
    result = run_cli(["report", str(folder)])
    assert result.exit_code == 0
    text = (folder / "report.html").read_text()
    page = parse(text)
    assert page.rows["points"] == page.rows["summary"] == 1 + TABLE_ROWS
    assert f"first {TABLE_ROWS} of {TABLE_ROWS + 30} points" in text and "points.csv" in text and "summary.csv" in text
    assert len([1 for tag, _ in page.tags if tag == "img"]) == 2  # one scatter panel figure per output


def test_report_of_a_non_run_is_a_clean_error(tmp_path):
    result = run_cli(["report", str(tmp_path)])
    assert result.exit_code == 2 and "manifest.json" in result.output


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={profile}",
    ]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=180)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)")
def test_report_renders_with_its_images_in_chromium(report, tmp_path):
    probe = tmp_path / "probe.html"
    # The same page, plus a script that records in the DOM whether each image decoded.
    probe.write_text(
        report.read_text().replace(
            "</body>",
            (
                "<script>window.addEventListener('load', () => { const i = [...document.images];"
                "document.body.dataset.probe = i.filter(x => x.complete && x.naturalWidth > 0).length + '/' + i.length"
                " + ':' + i.map(x => x.naturalWidth).join(','); });</script></body>"
            ),
        )
    )
    done = _chromium(["--virtual-time-budget=10000", "--dump-dom", probe.as_uri()], tmp_path / "profile")
    match = re.search(r'data-probe="(\d+)/(\d+):([\d,]+)"', done.stdout)
    assert match, done.stderr[-2000:]
    loaded, total = int(match.group(1)), int(match.group(2))
    assert total == len(RUN_FIGURES) and loaded == total
    assert all(int(w) >= 1000 for w in match.group(3).split(","))

    # A screenshot shows the orange of the documented windows, which only the figures contain.
    shot = tmp_path / "shot.png"
    _chromium(["--window-size=1280,2400", f"--screenshot={shot}", report.as_uri()], tmp_path / "profile2")
    assert orange_pixels(shot) > 500
    blank = tmp_path / "no-images.html"
    blank.write_text(re.sub(r'src="data:image/png;base64,[^"]*"', 'src=""', report.read_text()))
    _chromium(
        ["--window-size=1280,2400", f"--screenshot={tmp_path / 'blank.png'}", blank.as_uri()], tmp_path / "profile3"
    )
    assert orange_pixels(tmp_path / "blank.png") == 0


def orange_pixels(png: Path) -> int:
    """Pixels near the documented-window orange (#e6550d, drawn at alpha 0.85 or 0.3 on white)."""
    import numpy as np
    from PIL import Image

    with Image.open(png) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=int)
    targets = [(234, 111, 49), (246, 204, 182)]
    return int(sum(np.sum(np.abs(rgb - np.array(t)).sum(axis=2) < 30) for t in targets))


def test_sweep_report_tables_are_in_words_and_dates(tmp_path):
    import json

    from conftest import make_sweep

    from convoysim.figures.report import sweep_report_html
    from convoysim.runs.reading import load_sweep

    folder = make_sweep(tmp_path / "s", {"threats.ied.per_100km": [0.5, 1.0]}, {"arrival_h.Kidal": lambda d: 1022 + d})
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "start": "2023-10-02T07:00:00Z"}))
    page = sweep_report_html(load_sweep(folder))
    assert "IEDs per 100 km of contested road" in page and "arrival at Kidal (p50)" in page
    assert "13 Nov 22h" in page and "1022" not in page
