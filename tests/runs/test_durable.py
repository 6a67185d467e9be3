"""Writes that survive a full disk and a power cut (issue 23, item 8): the failing file is named,
nothing cut or empty is left under a final name, and renames are followed by a folder sync."""

from __future__ import annotations

import errno
import os

import pytest

import convoysim.runs.durable as durable
from convoysim.runs.writing import write_atomic


def full_disk(monkeypatch, after=0):
    """fsync fails as on a full disk (after `after` successful calls): no file name, as the kernel says it."""
    calls = []
    real = os.fsync

    def fsync(fd):
        calls.append(fd)
        if len(calls) > after:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def test_a_full_disk_names_the_file_of_an_atomic_write(tmp_path, monkeypatch):
    full_disk(monkeypatch)
    with pytest.raises(OSError) as caught:
        write_atomic(tmp_path / "history.csv", "x\n")
    assert caught.value.filename == str(tmp_path / "history.csv") and caught.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def test_a_figure_on_a_full_disk_leaves_no_empty_file(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from convoysim.calibration.figures import save

    fig = Figure()
    fig.add_subplot().plot([0, 1])
    full_disk(monkeypatch)
    with pytest.raises(OSError) as caught:
        save(fig, tmp_path / "posterior_marginals.png")
    assert caught.value.filename == str(tmp_path / "posterior_marginals.png")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    save(fig, tmp_path / "posterior_marginals.png")
    assert (tmp_path / "posterior_marginals.png").stat().st_size > 1000


def test_a_sweep_checkpoint_on_a_full_disk_names_it(tmp_path, monkeypatch):
    from convoysim.studies.sweep import CheckpointStore, PointResult

    store = CheckpointStore(tmp_path / ".checkpoint", "f")
    store.load()
    full_disk(monkeypatch)
    with pytest.raises(OSError) as caught:
        store.add(PointResult(0, "{}\n"))
        store.close()
    assert caught.value.filename == str(tmp_path / ".checkpoint" / "points.jsonl")


def test_a_rename_into_a_folder_is_followed_by_syncing_the_folder(tmp_path, monkeypatch):
    synced = []
    real = durable.sync_folder
    monkeypatch.setattr(durable, "sync_folder", lambda path: (synced.append(path), real(path)))
    import convoysim.runs.writing as writing

    monkeypatch.setattr(writing, "sync_folder", durable.sync_folder)
    write_atomic(tmp_path / "a.csv", "x\n")
    assert synced == [tmp_path]
    partial = tmp_path / ".p.partial"
    partial.mkdir()
    assert writing._place(partial, tmp_path / "run", unique=False) == tmp_path / "run"
    assert synced[-1] == tmp_path
