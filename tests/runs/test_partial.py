"""Resuming a streamed run: the kept replications plus the rest are the uninterrupted run (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_scenario, threatened_data

from convoysim.runs.compare import compare_run
from convoysim.runs.montecarlo import StreamedSoFar, chunks, stream_monte_carlo
from convoysim.runs.partial import CHECKPOINT, identity_changes
from convoysim.runs.writing import RunDirectory
from convoysim.scenario.loading import ScenarioSource, build_scenario


def threatened():
    return build_scenario(ScenarioSource(threatened_data()))


def first_of(run, blocks):
    """What an interrupted run keeps of `run`'s first blocks (a streamed run and the chunks it sent)."""
    run, sent = run
    kept = sent[:blocks]
    k = sum(c.count for c in kept)
    return StreamedSoFar(
        k,
        run.arrivals_h[:k].copy(),
        run.counts[:k].copy(),
        sum(c.arrived for c in kept),
        sum(c.errors for c in kept),
        next((c.first_error for c in kept if c.first_error), ""),
        1.5,
    )


def streamed(scenario, n, seed):
    sent = []
    return stream_monte_carlo(scenario, sent.append, replications=n, seed=seed), sent


@pytest.mark.parametrize("n, workers, start", [(10, 1, 0), (10, 2, 3), (1000, 3, 999), (7, 1, 7)])
def test_blocks_after_a_start_cover_the_rest_in_order(n, workers, start):
    blocks = chunks(n, workers, start)
    assert [i for block in blocks for i in block] == list(range(start, n))


@pytest.mark.parametrize("workers", [1, 2])
def test_a_run_resumed_from_its_first_replications_is_the_whole_run(workers, replication_raises):
    replication_raises(2, "early")
    scenario = threatened()
    whole, sent = streamed(scenario, 60, 3)
    assert whole.errors == 1 and "early" in whole.first_error
    kept = first_of((whole, sent), 3)
    assert kept.replications == 21 and kept.first_error == whole.first_error
    received = []
    resumed = stream_monte_carlo(scenario, received.append, replications=60, seed=3, workers=workers, so_far=kept)
    assert received[0].first == 21 and sum(c.count for c in received) == 39
    np.testing.assert_array_equal(resumed.arrivals_h, whole.arrivals_h)
    np.testing.assert_array_equal(resumed.counts, whole.counts)
    assert (resumed.arrived, resumed.errors, resumed.first_error) == (whole.arrived, whole.errors, whole.first_error)
    assert resumed.wall_time_s >= 1.5, "the kept replications' time counts"
    assert compare_run(resumed, resumed.counts) == compare_run(whole, whole.counts)


def test_kept_replications_of_another_shape_are_refused():
    scenario = make_scenario()
    kept = first_of(streamed(scenario, 10, 1), 5)
    kept.arrivals_h = kept.arrivals_h[:, :-1]
    with pytest.raises(ValueError, match="not the first of this run"):
        stream_monte_carlo(scenario, lambda chunk: None, replications=10, seed=1, so_far=kept)


def stop_after(directory, blocks):
    seen = []

    def sink(chunk):
        if len(seen) == blocks:
            raise KeyboardInterrupt
        seen.append(chunk)
        directory.add(chunk)

    return sink


def test_a_damaged_partial_folder_starts_over_and_says_why(tmp_path):
    scenario = make_scenario()
    identity = {"seed": 1, "replications": 40}
    partial = tmp_path / ".r.partial"
    with pytest.raises(KeyboardInterrupt):
        with RunDirectory.resumable(tmp_path / "r", partial, identity) as directory:
            stream_monte_carlo(scenario, stop_after(directory, 2), replications=40, seed=1)
    assert (partial / CHECKPOINT).is_file() and directory.kept > 0
    (partial / "run" / "milestones.csv").write_text("cut short")
    with RunDirectory.resumable(tmp_path / "r", partial, identity) as again:
        assert (
            again.so_far is None
            and "could not be resumed" in again.notice
            and "shorter than its checkpoint" in again.notice
        )
        run = stream_monte_carlo(scenario, again.add, replications=40, seed=1)
        written = again.finish(run, compare_run(run), None)
    with RunDirectory(tmp_path / "reference") as directory:
        run = stream_monte_carlo(scenario, directory.add, replications=40, seed=1)
        reference = directory.finish(run, compare_run(run), None)
    assert (written / "milestones.csv").read_bytes() == (reference / "milestones.csv").read_bytes()
    assert not partial.exists()


def test_a_folder_without_a_checkpoint_starts_over(tmp_path):
    partial = tmp_path / ".r.partial"
    (partial / "run").mkdir(parents=True)
    (partial / "run" / "replications.csv").write_text("replication,half")
    with RunDirectory.resumable(tmp_path / "r", partial, {"seed": 1}) as directory:
        assert directory.so_far is None and "holds no complete block to resume; starting over" in directory.notice
        assert not (partial / "run" / "replications.csv").read_bytes()


def test_what_changed_is_said_in_words():
    old = {"scenario_sha256": "a", "seed": 1, "replications": 10, "versions": {"numpy": "1"}}
    new = {"scenario_sha256": "b", "seed": 1, "replications": 20, "versions": {"numpy": "2"}}
    assert identity_changes(old, new) == ["scenario", "replications", "package versions"]
