"""A resume never mixes two versions of the code (issue 23, item 1): the identity of a run, a sweep
and a calibration includes a hash of the package's source, and a change starts over or refuses,
saying why."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import TWO_POINTS, threatened_data, write

import convoysim.runs.identity as identity
import convoysim.runs.writing as writing
from convoysim.calibration.store import CalibrationDirError, CalibrationStore
from convoysim.commands.cli import main
from convoysim.studies.experiments import load_experiment
from convoysim.studies.sweep import LocalExecutor, SweepMismatch, prepare_sweep, run_sweep


def other_code(monkeypatch) -> None:
    """As if a model file was edited (or another commit installed) between two starts."""
    monkeypatch.setattr(identity, "code_sha256", lambda: "0" * 64)


def test_the_hash_follows_every_source_file_and_nothing_else(tmp_path):
    import convoysim

    tree = tmp_path / "convoysim"
    shutil.copytree(Path(convoysim.__file__).parent, tree, ignore=shutil.ignore_patterns("__pycache__"))
    before = identity.tree_sha256(tree)
    assert before == identity.code_sha256(), "the copy hashes as the installed package"
    (tree / "notes.txt").write_text("not code")
    assert identity.tree_sha256.__wrapped__(tree) == before
    march = tree / "model" / "march.py"
    march.write_text(march.read_text() + "\n# a user's edit\n")
    assert identity.tree_sha256.__wrapped__(tree) != before


def test_the_hash_is_computed_once_per_process():
    identity.code_sha256()
    hits = identity.tree_sha256.cache_info().hits
    identity.code_sha256()
    assert identity.tree_sha256.cache_info().hits == hits + 1


def test_a_run_interrupted_under_other_code_starts_over_and_says_why(tmp_path, monkeypatch):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(threatened_data()))
    args = ["run", str(scenario), "-n", "200", "-s", "5", "-o", str(tmp_path / "r")]
    real, seen = writing.RunDirectory.add, []

    def add(self, chunk):
        if len(seen) == 2:
            raise KeyboardInterrupt
        seen.append(chunk.count)
        real(self, chunk)

    with monkeypatch.context() as m:
        m.setattr(writing.RunDirectory, "add", add)
        assert CliRunner().invoke(main, args).exit_code == 130
    other_code(monkeypatch)
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    assert "holds another run (convoysim code changed); starting over" in again.output
    assert "resuming" not in again.output


def test_a_sweep_checkpointed_under_other_code_is_refused(tmp_path, monkeypatch):
    sweep = prepare_sweep(load_experiment(write(tmp_path, TWO_POINTS)))
    run_sweep(sweep, tmp_path / "out", LocalExecutor(1))
    other_code(monkeypatch)
    with pytest.raises(SweepMismatch, match="convoysim code changed"):
        run_sweep(sweep, tmp_path / "out", LocalExecutor(1))


def test_a_calibration_checkpointed_under_other_code_is_refused(tmp_path, monkeypatch):
    config = {"scenario": "x", "priors": [], "settings": {"seed": 1}, "code": identity.code_sha256()}
    store = CalibrationStore(tmp_path / "cal")
    store.open(config)
    store.release()
    with pytest.raises(CalibrationDirError, match="convoysim code changed"):
        CalibrationStore(tmp_path / "cal").open({**config, "code": "0" * 64})
