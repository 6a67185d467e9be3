"""Validation scores on scenarios whose answers are known, and the validate command's exit codes."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from convoysim.calibration.validation import apply_posterior, read_posterior_summary, validate, validation_report
from convoysim.commands.cli import main
from convoysim.scenario.loading import build_scenario, load_scenario, read_source
from convoysim.scenario.paths import full_tree, get_value

# A column at a fixed 10 km/h with no threats: it reaches B (60 km) at 06:00 and C (120 km) at 12:00.
STRAIGHT = """\
name: straight
start: 2023-01-01T00:00:00Z
horizon_days: 10
route:
  waypoints:
    - {{name: A, lat: 16.0, lon: 0.0, road_km: 0}}
    - {{name: B, road_km: 60}}
    - {{name: C, lat: 17.0, lon: 0.0, road_km: 120}}
convoy:
  vehicles: 10
  speed_kmh: 10
documented:
{documented}
montecarlo: {{replications: 20, seed: 3}}
"""


def write(tmp_path: Path, windows: list[tuple[str, str, str]], name: str = "s.yaml") -> Path:
    documented = "\n".join(f"  - {{waypoint: {w}, earliest: '{a}', latest: '{b}'}}" for w, a, b in windows) or "  []"
    path = tmp_path / name
    path.write_text(STRAIGHT.format(documented=documented).replace("documented:\n  []", "documented: []"))
    return path


def test_deterministic_arrival_inside_its_window_scores_known_values(tmp_path):
    path = write(
        tmp_path,
        [("B", "2023-01-01T04:00:00Z", "2023-01-01T10:00:00Z"), ("C", "2023-01-01T11:00:00Z", "2023-01-01T13:00:00Z")],
    )
    v = validate(load_scenario(path), replications=10, seed=1)
    assert v.comparison.coverage == 1.0
    b, c = v.comparison.milestones
    # CRPS of a point mass at x against a uniform window [a, b]: ((x-a)^2 + (b-x)^2) / (2 (b-a)).
    assert b.crps_h == pytest.approx((2**2 + 4**2) / (2 * 6))
    assert c.crps_h == pytest.approx((1 + 1) / (2 * 2))
    assert v.comparison.mean_crps_h == pytest.approx((b.crps_h + c.crps_h) / 2)
    # Window midpoints 07:00 and 12:00 against arrivals at 06:00 and 12:00.
    assert b.percentile == 100.0 and c.percentile == 50.0
    assert v.passed is None


def test_window_missed_by_every_replication_gives_zero_coverage_and_distance_as_crps(tmp_path):
    path = write(tmp_path, [("C", "2023-01-02T00:00:00Z", "2023-01-02T00:00:00Z")])
    v = validate(load_scenario(path), replications=5, seed=1, min_coverage=0.5)
    assert v.comparison.coverage == 0.0
    assert v.comparison.mean_crps_h == pytest.approx(12.0)
    assert v.passed is False
    report = validation_report(v)
    assert report["passed"] is False and report["coverage"] == 0.0
    assert report["milestones"][0]["window_meets_interval"] is False
    json.dumps(report, allow_nan=False)


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_min_coverage_gates_with_exit_1_and_writes_validation_json(tmp_path):
    path = write(
        tmp_path,
        [("B", "2023-01-01T05:00:00Z", "2023-01-01T07:00:00Z"), ("C", "2023-01-03T00:00:00Z", "2023-01-03T06:00:00Z")],
    )
    ok = run_cli("validate", str(path), "-n", "5", "--min-coverage", "0.5", "--out", str(tmp_path / "ok"))
    assert ok.exit_code == 0, ok.output
    assert "PASS" in ok.output
    low = run_cli("validate", str(path), "-n", "5", "--min-coverage", "0.75", "--out", str(tmp_path / "low"))
    assert low.exit_code == 1
    assert "FAIL" in low.output
    report = json.loads((tmp_path / "low" / "validation.json").read_text())
    assert report["coverage"] == 0.5 and report["min_coverage"] == 0.75 and report["passed"] is False
    assert [m["waypoint"] for m in report["milestones"]] == ["B", "C"]


@pytest.mark.parametrize(
    "args, words",
    [
        (["--min-coverage", "1.5"], ["min-coverage", "1.5"]),
        (["--replications", "0"], ["replications", "0"]),
    ],
)
def test_cli_bad_options_exit_2(tmp_path, args, words):
    path = write(tmp_path, [("B", "2023-01-01T05:00:00Z", "2023-01-01T07:00:00Z")])
    result = CliRunner().invoke(main, ["validate", str(path), *args])
    assert result.exit_code == 2
    assert all(w in result.output for w in words)


def test_cli_scenario_without_documents_exits_2_naming_the_file(tmp_path):
    path = write(tmp_path, [])
    result = CliRunner().invoke(main, ["validate", str(path), "-n", "3", "--out", str(tmp_path / "v")])
    assert result.exit_code == 2
    assert str(path) in result.output and "documented" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "v").exists()


def test_cli_bad_posterior_file_exits_2(tmp_path):
    path = write(tmp_path, [("B", "2023-01-01T05:00:00Z", "2023-01-01T07:00:00Z")])
    bad = tmp_path / "summary.csv"
    bad.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(main, ["validate", str(path), "--posterior", str(bad)])
    assert result.exit_code == 2
    assert "posterior_summary.csv" in result.output


def test_apply_posterior_sets_what_the_scenario_has_and_skips_the_rest(tmp_path):
    path = write(tmp_path, [("B", "2023-01-01T05:00:00Z", "2023-01-01T07:00:00Z")])
    summary = tmp_path / "posterior_summary.csv"
    with summary.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["parameter", "median", "ci80_low", "ci80_high"])
        writer.writerow(["convoy.speed_kmh.value", "20.0", "18", "22"])
        writer.writerow(["convoy.vehicles", "7.6", "6", "9"])
        writer.writerow(["halts.pauses.0.duration_h.mode", "130", "100", "160"])
    source = read_source(path)
    scenario, applied, skipped = apply_posterior(source, build_scenario(source), read_posterior_summary(summary))
    assert applied == {"convoy.speed_kmh.value": 20.0, "convoy.vehicles": 8}
    assert skipped == ["halts.pauses.0.duration_h.mode"]
    assert scenario.convoy.speed_kmh.value == 20.0 and scenario.convoy.vehicles == 8
    v = validate(scenario, replications=3, seed=0)
    assert v.comparison.milestones[0].p50_h == pytest.approx(3.0)


def test_shipped_second_convoy_loads_and_differs_from_the_baseline():
    """The out-of-sample scenario: another route, direction, size and date, in the same format."""
    other, base = load_scenario("kidal-aguelhok"), load_scenario("baseline")
    assert other.waypoint_names == ["Kidal", "Aguelhok"]
    assert other.convoy.vehicles != base.convoy.vehicles
    assert other.start > base.start
    assert [m.waypoint for m in other.documented] == ["Aguelhok"]
    # the threat levels are the baseline's; its defended positions and IED schedule belong to the road to Kidal
    assert other.threats.ambush == base.threats.ambush and other.threats.harassment == base.threats.harassment
    # (on the theatre, a route without uncontested legs has no uncontested density: it would not be used)
    assert other.threats.ied == base.threats.ied.model_copy(update={"schedule": [], "uncontested_per_100km": 0.0})
    assert other.threats.positions == [] and base.threats.positions
    v = validate(other, replications=20, seed=1)
    assert len(v.comparison.milestones) == 1 and not math.isnan(v.comparison.mean_crps_h)


def test_scenario_format_describes_a_southbound_withdrawal(tmp_path):
    """The baseline's road walked backwards (Kidal -> Gao) with distances counted from Kidal."""
    base = load_scenario("baseline")
    total = base.route.waypoints[-1].road_km
    waypoints = [
        {**w.model_dump(exclude_none=True), "road_km": total - w.road_km} for w in reversed(base.route.waypoints)
    ]
    path = tmp_path / "withdrawal.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "extends": str(Path(__file__).resolve().parents[2] / "src/convoysim/scenarios/baseline.yaml"),
                "name": "withdrawal",
                "start": "2024-01-10T06:00:00Z",
                "route": {"waypoints": waypoints},
                "convoy": {"vehicles": 80, "march_units": None},  # null drops the baseline's units: 80 split evenly
                "halts": {"at_waypoints": [], "pauses": [], "holds": []},
                "threats": {"positions": []},
                "documented": [
                    {"waypoint": "Gao", "earliest": "2024-01-12T00:00:00Z", "latest": "2024-01-16T00:00:00Z"}
                ],
            }
        )
    )
    scenario = load_scenario(path)
    assert scenario.waypoint_names[0] == "Kidal" and scenario.waypoint_names[-1] == "Gao"
    v = validate(scenario, replications=10, seed=2)
    assert v.run.plan.total_km == total
    assert all(r.arrived for r in v.run.records)


def write_summary(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["parameter", "median", "ci80_low", "ci80_high"])
        writer.writerows([p, m, "1", "2"] for p, m in rows)
    return path


@pytest.mark.parametrize(
    "median,words",
    [
        ("-7", ["-7", "rejected", "convoy.speed_kmh.median"]),
        ("abc", ["'abc'", "not a number", "convoy.speed_kmh.median"]),
        ("nan", ["not a finite number", "convoy.speed_kmh.median"]),
    ],
)
def test_cli_bad_posterior_median_names_the_csv_row_and_parameter(tmp_path, median, words):
    summary = write_summary(
        tmp_path / "posterior_summary.csv",
        [("threats.ambush.hazard_per_h", "0.02"), ("convoy.speed_kmh.median", median)],
    )
    result = CliRunner().invoke(
        main, ["validate", "baseline", "--posterior", str(summary), "--out", str(tmp_path / "v")]
    )
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert message.count("\n") == 0 and "Traceback" not in message, message
    assert f"{summary}:3:" in message, message
    for word in words:
        assert word in message, message
    assert not (tmp_path / "v").exists()


def test_rejected_median_is_reported_at_its_row_not_the_scenario_line(tmp_path):
    summary = write_summary(tmp_path / "s.csv", [("convoy.vehicles", "8"), ("convoy.speed_kmh.median", "-7")])
    source = read_source("baseline")
    with pytest.raises(Exception) as caught:
        apply_posterior(source, build_scenario(source), read_posterior_summary(summary))
    err = caught.value
    assert (err.file, err.line, err.path) == (str(summary), 3, "convoy.speed_kmh.median")


def test_posterior_listing_a_parameter_twice_is_refused(tmp_path):
    summary = write_summary(tmp_path / "s.csv", [("convoy.vehicles", "8"), ("convoy.vehicles", "9")])
    with pytest.raises(Exception) as caught:
        read_posterior_summary(summary)
    assert caught.value.line == 3 and "line 2" in caught.value.reason


HELD = (
    STRAIGHT.format(
        documented="""\
  - {waypoint: B, earliest: 2023-01-01T05:00:00Z, latest: 2023-01-01T07:00:00Z}
  - {waypoint: C, earliest: 2023-01-05T00:00:00Z, latest: 2023-01-05T06:00:00Z}
  - {count: ambushes, low: 0, high: 0, note: none on this road, source: assumed}"""
    )
    .replace("name: straight", "name: held")
    .replace("  speed_kmh: 10\n", "  speed_kmh: 10\nhalts:\n  holds: [{waypoint: B, until: 2023-01-03T00:00:00Z}]\n")
)
"""STRAIGHT held at B until 3 Jan: C is pinned by that date."""


def test_cli_validates_several_scenarios_with_one_verdict_table(tmp_path):
    straight = write(tmp_path, [("C", "2023-01-01T11:00:00Z", "2023-01-01T13:00:00Z")])
    held = tmp_path / "held.yaml"
    held.write_text(HELD)
    result = run_cli(
        "validate", str(straight), str(held), "-n", "4", "--min-coverage", "1", "--out", str(tmp_path / "v")
    )
    # C is missed in 'held' (the column leaves B at the hold's date and reaches C on 3 Jan), but C is
    # pinned by that hold; the predicted windows (B and the count) are met, so the gate passes.
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "verdict" in text and "overall" in text and "PASS" in text and "pinned" in text
    report = json.loads((tmp_path / "v" / "validation.json").read_text())
    assert [r["scenario"] for r in report["scenarios"]] == ["straight", "held"]
    held_report = report["scenarios"][1]
    assert [m["pinned"] for m in held_report["milestones"]] == [False, True]
    assert held_report["scores"]["date_coverage"] == 0.5 and held_report["scores"]["predicted_coverage"] == 1.0
    assert held_report["counts"][0]["count"] == "ambushes" and held_report["counts"][0]["hit_rate"] == 1.0
    assert report["overall"]["dates"] == 3 and report["overall"]["pinned"] == 1 and report["overall"]["counts"] == 1
    assert report["overall"]["coverage"] == pytest.approx(3 / 4)
    assert report["passed"] is True


def test_cli_several_scenarios_fail_the_gate_when_one_misses_a_predicted_window(tmp_path):
    straight = write(tmp_path, [("C", "2023-01-02T11:00:00Z", "2023-01-02T13:00:00Z")])
    held = tmp_path / "held.yaml"
    held.write_text(HELD)
    result = run_cli(
        "validate", str(held), str(straight), "-n", "4", "--min-coverage", "0.9", "--out", str(tmp_path / "v")
    )
    assert result.exit_code == 1
    report = json.loads((tmp_path / "v" / "validation.json").read_text())
    assert [r["passed"] for r in report["scenarios"]] == [True, False] and report["passed"] is False


def test_cli_validate_refuses_a_bad_second_scenario_before_running_anything(tmp_path):
    straight = write(tmp_path, [("C", "2023-01-01T11:00:00Z", "2023-01-01T13:00:00Z")])
    result = CliRunner().invoke(
        main, ["validate", str(straight), str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "v")]
    )
    assert result.exit_code == 2 and "missing.yaml" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "v").exists()


def test_shipped_menaka_convoy_says_what_differs_from_the_2023_march():
    menaka, base = load_scenario("menaka-2018"), load_scenario("baseline-uncalibrated")
    assert menaka.convoy.vehicles == 50
    assert [w.road_km for w in menaka.route.waypoints] == [0, 210]
    assert not menaka.halts.pauses and not menaka.halts.holds and not menaka.drones.bases
    assert not menaka.convoy.move_by_night
    assert menaka.threats.ied.detection_prob > base.threats.ied.detection_prob
    assert menaka.threats.ambush == base.threats.ambush and menaka.convoy.speed_kmh == base.convoy.speed_kmh
    (arrival,) = menaka.documented_dates
    duration_days = [(t - menaka.start).total_seconds() / 86400 for t in (arrival.earliest, arrival.latest)]
    assert duration_days[0] <= 5 <= duration_days[1]


def test_the_shipped_baseline_differs_from_its_uncalibrated_variant_in_the_calibrated_values_only():
    calibrated, uncalibrated = load_scenario("baseline"), load_scenario("baseline-uncalibrated")
    header = read_source("baseline").layers[0].text.split("\nname:")[0]
    paths = [
        "convoy.speed_kmh.median",
        "threats.ambush.hazard_per_h",
        "threats.ied.per_100km",
        "threats.ambush.regroup_h.mode",
        "halts.pauses.0.duration_h.mode",
    ]
    for path in paths:
        assert path in header, f"the header must give the posterior of {path}"
        assert f"{get_value(calibrated, path):.3g}" in header, path
    changed = {
        k
        for k in _leaves(full_tree(calibrated))
        if _leaves(full_tree(calibrated))[k] != _leaves(full_tree(uncalibrated)).get(k)
    }
    assert changed == set(paths) | {"name", "description"}
    assert all(c.source for c in calibrated.documented_counts)


def _leaves(tree, prefix=""):
    out = {}
    if isinstance(tree, dict):
        for k, v in tree.items():
            out.update(_leaves(v, f"{prefix}{k}."))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out.update(_leaves(v, f"{prefix}{i}."))
    else:
        out[prefix[:-1]] = tree
    return out


def test_apply_posterior_sets_a_scoped_parameter_only_in_the_scenario_it_names(tmp_path):
    path = write(tmp_path, [("B", "2023-01-01T05:00:00Z", "2023-01-01T07:00:00Z")])
    source = read_source(path)
    medians = {"straight:convoy.speed_kmh.value": 20.0, "other:convoy.vehicles": 3.0}
    scenario, applied, skipped = apply_posterior(source, build_scenario(source), medians)
    assert applied == {"convoy.speed_kmh.value": 20.0} and skipped == ["other:convoy.vehicles"]
    assert scenario.convoy.speed_kmh.value == 20.0 and scenario.convoy.vehicles == 10
