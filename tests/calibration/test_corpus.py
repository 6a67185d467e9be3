"""A corpus of convoys scored together (calibration/validation.py: corpus_files, corpus_summary) and
through `convoysim validate`, and the shipped corpus scenarios themselves."""

from __future__ import annotations

import json
import math

import pytest
import yaml
from click.testing import CliRunner
from conftest import make_scenario, scenario_data

from convoysim.calibration.validation import (
    CorpusError,
    CorpusRow,
    CorpusSummary,
    corpus_files,
    corpus_summary,
    validate,
)
from convoysim.commands.cli import main
from convoysim.scenario.loading import load_scenario

ARRIVAL = {"waypoint": "C", "earliest": "2023-10-03T14:00:00Z", "latest": "2023-10-03T18:00:00Z"}
"""PLAIN's destination, documented 32 to 36 h after its 06:00 start."""


def test_a_deterministic_convoy_scores_as_worked_out_by_hand():
    # PLAIN: 100 km at 20 km/h from 06:00 (B at 11:00), 2 h halt, 5 h more to 18:00 (100 km), the
    # night, 5 h from 06:00 (C at 11:00 next day): 29 h for the head; the tail, 10 intervals of 500 m
    # behind, 0.25 h later. Window 32-36 h: CRPS of a sure 29.25 h = 34 - 29.25 = 4.75 h.
    sc = make_scenario(documented=[ARRIVAL, {"count": "ambushes", "low": 0, "high": 0}])
    row = corpus_summary([validate(sc, 5, 1)]).rows[0]
    assert (row.p10_h, row.p50_h, row.p90_h) == (29.25, 29.25, 29.25)
    assert row.documented_h == 34.0 and not row.inside
    assert row.crps_h == pytest.approx(4.75) and row.relative_crps == pytest.approx(4.75 / 34.0)
    assert row.pit == 1.0 and (row.counts, row.counts_met) == (1, 1)


def _row(name: str, pit: float, inside: bool, crps_h: float, documented_h: float = 10.0) -> CorpusRow:
    return CorpusRow(name, "X", documented_h, documented_h, 1, 2, 3, inside, crps_h, pit, False, 2, 1, 0.5)


def test_summary_coverage_median_relative_crps_and_pit_histogram():
    s = CorpusSummary(
        (
            _row("a", 0.0, True, 1.0),
            _row("b", 0.5, False, 2.0, 40.0),
            _row("c", 1.0, False, 30.0),
            _row("d", 0.99, True, 5.0),
        )
    )
    assert s.coverage == 0.5
    assert s.median_relative_crps == pytest.approx((0.1 + 0.5) / 2)  # relative: 0.1, 0.05, 3.0, 0.5
    assert s.pit_histogram() == [1, 0, 1, 0, 2] and s.pit_histogram(2) == [1, 3]
    assert s.count_coverage == 0.5 and s.to_dict()["convoys"] == 4
    assert math.isnan(CorpusSummary(()).coverage)


def _write_corpus(tmp_path) -> list:
    folder = tmp_path / "corpus"
    folder.mkdir()
    paths = []
    for name, latest in (("one", "2023-10-03T18:00:00Z"), ("two", "2023-10-04T18:00:00Z")):
        data = scenario_data(
            name=name, documented=[{**ARRIVAL, "latest": latest}], montecarlo={"replications": 5, "seed": 1}
        )
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        paths.append(path)
    return paths


def test_corpus_files_from_a_folder_a_corpus_file_or_the_shipped_name(tmp_path):
    one, two = _write_corpus(tmp_path)
    assert corpus_files(tmp_path / "corpus") == [one, two]
    listing = tmp_path / "list.yaml"
    listing.write_text("corpus: [corpus/two.yaml]\n")
    assert corpus_files(listing) == [two]
    assert corpus_files(one) is None  # a scenario is not a corpus
    assert len(corpus_files("corpus")) >= 11
    listing.write_text("corpus: [corpus/three.yaml]\n")
    with pytest.raises(CorpusError, match="no such file"):
        corpus_files(listing)
    listing.write_text("corpus: nothing\n")
    with pytest.raises(CorpusError, match="must list scenario files"):
        corpus_files(listing)


def test_validate_prints_one_corpus_table_and_its_summary(tmp_path):
    _write_corpus(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["validate", str(tmp_path / "corpus"), "-o", str(out), "--plot", "--min-coverage", "0"],
        terminal_width=160,
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # captions wrap at the terminal's width
    assert "corpus: 2 convoys" in text and "PIT histogram" in text and "median CRPS / documented duration" in text
    assert "validation against documented dates" not in result.output  # the per-scenario tables stay in the JSON
    report = json.loads((out / "validation.json").read_text())
    rows = report["corpus"]["rows"]
    assert [r["scenario"] for r in rows] == ["one", "two"] and rows[0]["crps_h"] == pytest.approx(4.75)
    assert (out / "corpus.png").stat().st_size > 10_000


def test_a_bad_corpus_file_exits_2_naming_it(tmp_path):
    listing = tmp_path / "list.yaml"
    listing.write_text("corpus: [missing.yaml]\n")
    result = CliRunner().invoke(main, ["validate", str(listing)])
    assert result.exit_code == 2 and "list.yaml" in result.output and "no such file" in result.output


HELD_OUT_PLACES = {"Anefis", "Tessalit", "Aguelhok", "Techanaght", "Alkit valley"}
"""Places of the Gao-Kidal-Tessalit road: only the 2023 offensive may pass them in the corpus."""


def test_the_shipped_corpus_loads_documents_a_duration_and_keeps_the_held_out_road_out():
    files = corpus_files("corpus")
    scenarios = [load_scenario(f) for f in files]
    assert len(scenarios) >= 11 and len({s.name for s in scenarios}) == len(scenarios)
    for sc in scenarios:
        assert sc.theatre is not None and sc.theatre["name"] == "sahel", sc.name
        assert sc.documented_dates, sc.name
        if sc.name != "kidal-2023":
            assert not HELD_OUT_PLACES & set(sc.waypoint_names), sc.name


def test_a_corpus_is_gated_like_any_validation(tmp_path):
    """The default --min-coverage (0.75) applies to each convoy: both miss their only window (29.25 h,
    documented 32 h and later)."""
    _write_corpus(tmp_path)
    result = CliRunner().invoke(
        main, ["validate", str(tmp_path / "corpus"), "-o", str(tmp_path / "out")], terminal_width=160
    )
    assert result.exit_code == 1 and "verdict: 0 of 2 scenarios" in " ".join(result.output.split())
