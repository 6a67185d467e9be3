"""The report of calibration and validation directories, and the counts and pinned labels of a run's report."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli

from convoysim.figures.report import write_report

SCENARIO = """\
name: {name}
start: 2023-01-01T06:00:00Z
horizon_days: 10
route:
  waypoints:
    - {{name: A, lat: 16.0, lon: 0.0, road_km: 0}}
    - {{name: B, road_km: 100, contested: true}}
    - {{name: C, lat: 18.0, lon: 0.5, road_km: 300}}
convoy:
  vehicles: 20
  speed_kmh: {{dist: lognormal, median: 15, sigma: 0.1}}
halts:
  holds: [{{waypoint: B, until: 2023-01-02T06:00:00Z}}]
threats:
  ambush: {{hazard_per_h: 0.2}}
documented:
  - {{waypoint: B, earliest: 2023-01-01T10:00:00Z, latest: 2023-01-01T16:00:00Z}}
  - {{waypoint: C, earliest: 2023-01-02T18:00:00Z, latest: 2023-01-03T06:00:00Z}}
  - {{count: ambushes, low: 1, high: 3, to_place: B, source: "assumed: a test"}}
montecarlo: {{replications: 10, seed: 1}}
"""


def scenarios(tmp_path: Path) -> list[Path]:
    paths = []
    for name in ("north", "south"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(SCENARIO.format(name=name))
        paths.append(path)
    return paths


def test_report_of_a_validation_of_several_scenarios(tmp_path):
    north, south = scenarios(tmp_path)
    out = tmp_path / "v"
    assert run_cli(["validate", str(north), str(south), "-n", "6", "--out", str(out)]).exit_code == 0
    page = write_report(out).read_text()
    assert '<table id="verdict"' in page and "overall" in page
    assert '<table id="dates-1"' in page and '<table id="counts-1"' in page
    assert "pinned" in page and "predicted" in page and "assumed: a test" in page


def test_report_of_a_joint_calibration(tmp_path):
    north, south = scenarios(tmp_path)
    out = tmp_path / "cal"
    result = run_cli(
        [
            "calibrate",
            str(north),
            str(south),
            "-p",
            "convoy.speed_kmh.median=8:20",
            "-p",
            "threats.ambush.hazard_per_h=0:0.5",
            "--budget",
            "40",
            "--population",
            "10",
            "--particle-replications",
            "2",
            "--check-replications",
            "6",
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    page = write_report(out).read_text()
    for ident in (
        '<table id="posterior"',
        '<table id="before-after"',
        '<table id="history"',
        'id="fig-posterior_pairs"',
        'id="fig-arrival_fans-north"',
        "calibrated-south.yaml",
    ):
        assert ident in page, ident
    record = json.loads((out / "calibration.json").read_text())["outcome"]
    assert page.count("<tr>") >= 2 * len(record["scenarios"])


def test_unfinished_calibration_is_a_clean_error(tmp_path):
    (tmp_path / "calibration.json").write_text(json.dumps({"config": {}}))
    result = run_cli(["report", str(tmp_path)])
    assert result.exit_code == 2 and "not finished" in result.output


def test_run_report_shows_counts_and_pinned_dates(tmp_path):
    north, _ = scenarios(tmp_path)
    out = tmp_path / "run"
    assert run_cli(["run", str(north), "-n", "8", "--out", str(out)]).exit_code == 0
    page = write_report(out).read_text()
    assert '<table id="counts"' in page and "pinned" in page and "Documented counts" in page
    manifest = json.loads((out / "manifest.json").read_text())
    assert (
        manifest["pinned_waypoints"] == ["C"]
        and manifest["scores"]["pinned"] == 1
        and manifest["scores"]["counts"] == 1
    )
    with (out / "counts.csv").open() as fh:
        assert next(fh).strip().split(",")[:4] == ["count", "where", "documented_low", "documented_high"]
