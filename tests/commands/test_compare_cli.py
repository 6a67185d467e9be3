"""`convoysim compare` end to end: scenarios or experiment plans, the folder, --precision, --select,
--plot, and one-line errors for bad input."""

from __future__ import annotations

import csv
import json

import yaml
from click.testing import CliRunner
from conftest import threatened_data, write

from convoysim.commands.cli import main


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def scenarios(tmp_path):
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(threatened_data()))
    faster = threatened_data()
    faster["threats"]["ambush"]["hazard_per_h"] = 0.05
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(faster))
    return str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")


def test_compare_two_scenario_files_writes_the_folder_and_the_table(tmp_path):
    a, b = scenarios(tmp_path)
    out = tmp_path / "out"
    result = invoke(
        "compare",
        a,
        b,
        "-n",
        "40",
        "--seed",
        "3",
        "--out",
        str(out),
        "--plot",
        "--select",
        "min:ambushes",
        "--delta",
        "0.5",
    )
    assert result.exit_code == 0, result.output
    assert "difference from a" in result.output and "best on min:ambushes: b" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "compare" and manifest["plans"] == ["a", "b"] and "non_arrivals" in manifest
    assert manifest["selection"]["best"] == "b" and "b" in manifest["selection"]["could_be_best"]
    rows = list(csv.DictReader((out / "differences.csv").open()))
    ambush = next(r for r in rows if r["output"] == "ambushes")
    assert float(ambush["difference"]) < 0 and float(ambush["high"]) < 0
    assert {p.name for p in (out / "figures").iterdir()} >= {"differences.png", "time-vs-losses.png"}


def test_compare_plans_of_an_experiment_with_precision(tmp_path):
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(threatened_data()))
    exp = write(
        tmp_path,
        "name: q\nscenario: scenario.yaml\nreplications: 30\nseed: 1\nplans:\n"
        "  now: {}\n  calm: {threats.ambush.hazard_per_h: 0.05}\n",
    )
    out = tmp_path / "out"
    result = invoke("compare", "--experiment", str(exp), "-y", "ambushes", "--precision", "0.8", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "reached: widest paired-difference interval" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["precision"]["reached"] and manifest["precision"]["widest"] <= 0.8


def test_bad_input_is_one_line_with_exit_code_2(tmp_path):
    a, b = scenarios(tmp_path)
    for args, words in (
        (["compare", a], "at least two plans"),
        (["compare", a, b, "--select", "fastest"], "min:OUTPUT"),
        (["compare", a, b, "--select", "min:ambushes"], "--delta"),
        (["compare", a, b, "--precision", "soon"], "not a duration"),
        (["compare", a, b, "-y", "ambush"], "unknown output"),
        (["compare", a, "nowhere.yaml"], "nowhere.yaml"),
        (["compare", a, a], "named twice"),
        (["compare", a, b, "--select", "min:ambushes", "--delta", "1", "--alpha", "0.5"], "alpha"),
    ):
        result = invoke(*args, "-n", "5", "--out", str(tmp_path / "x"))
        assert result.exit_code == 2, (args, result.output)
        assert words in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_sweep_refuses_a_plans_only_experiment_and_points_to_compare():
    result = invoke("sweep", "plans-2023")
    assert result.exit_code == 2 and "convoysim compare --experiment plans-2023" in result.output
