"""tools/theatre_sensitivity.py: the Sobol sweep of the theatre over the corpus ranks what moves the
corpus's score, and gives nothing to a value no convoy of the corpus uses."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("theatre_sensitivity", ROOT / "tools" / "theatre_sensitivity.py")
assert _spec is not None and _spec.loader is not None
ts = importlib.util.module_from_spec(_spec)
sys.modules["theatre_sensitivity"] = ts  # the pool's work function is pickled by its module's name
_spec.loader.exec_module(ts)

PAIR = ["bk-tombouctou-2021", "menaka-2018-corpus"]
"""Two logistics convoys on `high` track legs: neither meets the `mined` level nor is a UN convoy."""
SPEED = "theatre.kinds.logistics.speed_kmh.median"
UNUSED_LEVEL = "theatre.threats.mined.ied_per_100km"
UNUSED_KIND = "theatre.kinds.un.speed_kmh.median"
PARAMETERS = [
    ts.TheatreParameter(SPEED, 25, 40),  # above the corpus fit's 22.6: on these marches faster is worse
    ts.TheatreParameter(UNUSED_LEVEL, 5, 20),
    ts.TheatreParameter(UNUSED_KIND, 12, 30),
]


@pytest.fixture(scope="module")
def result():
    return ts.theatre_sensitivity(ts.load_corpus("corpus", PAIR), PARAMETERS, base_samples=8, replications=4)


def test_the_kinds_speed_drives_the_score_and_unused_values_get_nothing(result):
    ranking = result.ranking()
    assert ranking[0]["parameter"] == SPEED
    assert ranking[0]["ST"] > 0.5 and ranking[0]["ST"] - ranking[0]["ST_conf"] > 0.1
    for unused in (UNUSED_LEVEL, UNUSED_KIND):
        row = result.index(ts.MEAN, unused)
        # common random numbers: a value no convoy uses leaves every point's score exactly as it was
        assert abs(row["ST"]) < 1e-9 and abs(row["S1"]) < 1e-9
    assert result.reach == {SPEED: PAIR, UNUSED_LEVEL: [], UNUSED_KIND: []}
    assert [name for name, _ in result.moved(SPEED)] != [] and result.moved(UNUSED_LEVEL) == []


def test_each_convoy_gets_its_own_indices_and_the_run_is_counted(result):
    for convoy in PAIR:
        assert result.index(convoy, SPEED)["ST"] > 0.3
    assert len(result.settings) == 8 * (3 + 2)
    assert result.runs == 8 * 5 * 2 * 4
    # every point is scored with the values it sets: the slowest point is the best on both marches,
    # the range lying above the speed the corpus fit gives the theatre (docs/calibration.md)
    slowest = min(range(len(result.settings)), key=lambda k: result.settings[k][SPEED])
    fastest = max(range(len(result.settings)), key=lambda k: result.settings[k][SPEED])
    assert result.scores[slowest][ts.MEAN] < result.scores[fastest][ts.MEAN]


def test_the_command_writes_the_ranked_table(tmp_path, capsys):
    out = tmp_path / "sobol"
    args = ["-n", "2", "-r", "2", "-o", str(out), *(f"--convoy={c}" for c in PAIR)]
    args += [f"--param={p.path}={p.low}:{p.high}" for p in PARAMETERS]
    assert ts.main(args) == 0
    table = capsys.readouterr().out
    assert table.index("kinds.logistics.speed_kmh.median") < table.index("threats.mined.ied_per_100km")
    with (out / "ranking.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["parameter"] for r in rows][0] == SPEED and rows[0]["convoys"] == "2"
    assert {"sobol.csv", "points.csv", "ranking.csv", "run.json"} <= {p.name for p in out.iterdir()}
    again = ts.reanalysed(out, "corpus", seed=20, bootstrap=200)
    with (out / "sobol.csv").open() as fh:
        written = [
            {k: (v if k in ("output", "parameter") else float(v)) for k, v in r.items()} for r in csv.DictReader(fh)
        ]
    assert again.sobol == written and again.runs == 2 * 5 * 2 * 2


def test_reanalysing_a_folder_without_a_run_says_so(tmp_path, capsys):
    assert ts.main(["--from-points", str(tmp_path)]) == 2
    assert "not a finished theatre_sensitivity run" in capsys.readouterr().err


@pytest.mark.parametrize(
    "text, reason",
    [
        ("theatre.kinds.un.speed_kmh.median=30:12", "above LOW"),
        ("theatre.kinds.un.speed_kmh.median=12", "PATH=LOW:HIGH"),
        ("convoy.speed_kmh.median=12:30", "starts with 'theatre.'"),
    ],
)
def test_a_bad_range_is_refused_with_its_reason(text, reason, capsys):
    with pytest.raises(SystemExit):
        ts.main(["--param", text, "--param", f"{SPEED}=12:30"])
    assert reason in capsys.readouterr().err


def test_a_convoy_or_path_the_corpus_lacks_is_an_error_not_a_traceback(capsys):
    assert ts.main(["--convoy", "no-such-convoy"]) == 2
    assert "no convoy named no-such-convoy" in capsys.readouterr().err
    assert ts.main(["--convoy", PAIR[0], "-p", f"{SPEED}=12:30", "-p", "theatre.threats.hgih.ambush_per_h=0:1"]) == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("error: theatre.threats.hgih") and "did you mean 'theatre.threats.high'" in last
