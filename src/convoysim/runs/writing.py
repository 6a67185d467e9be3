"""Run directories: written atomically, so an interrupted run never leaves a file that looks complete.

Each file is written to a temporary name and renamed into place; a whole run is assembled in a
hidden `.<run-id>.partial` directory that is renamed to its final name only when every file is in.
A long run streams into that directory block by block (`RunDirectory`), in replication order, so
its records never have to be held in memory all at once.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from convoysim.model import ReplicationRecord
from convoysim.runs.chunks import (
    INCIDENT_COLUMNS,
    MILESTONE_COLUMNS,
    TRACK_COLUMNS,
    UNIT_COLUMNS,
    VEHICLE_COLUMNS,
    RunChunk,
    format_chunk,
    track_lines,
    unit_lines,
)
from convoysim.runs.compare import (
    COMPARISON_COLUMNS,
    COUNT_COLUMNS,
    Comparison,
    comparison_rows,
    count_rows,
)
from convoysim.runs.durable import sync_folder
from convoysim.runs.files import csv_text, header, process_umask, write_atomic
from convoysim.runs.lock import WriterLock, remove_orphans
from convoysim.runs.manifest import run_manifest
from convoysim.runs.montecarlo import MonteCarloRun, StreamedRun, StreamedSoFar
from convoysim.runs.partial import (
    ARRIVALS,
    COUNTS,
    Checkpoint,
    PartialFolder,
    identity_changes,
)
from convoysim.scenario.loading import ScenarioSource


def _place(partial: Path, out: Path, unique: bool) -> Path:
    """Rename the finished folder into place; a rename never lands on a folder that holds files,
    so two runs started in the same second cannot mix their files."""
    candidate, k = out, 1
    while True:
        try:
            os.rename(partial, candidate)
            sync_folder(candidate.parent)
            return candidate
        except OSError as err:
            if err.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not unique:
                if err.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    raise FileExistsError(f"{candidate} already holds files; choose another --out") from None
                raise
            k += 1
            candidate = out.with_name(f"{out.name}-{k}")


WRITING = ".writing.partial"
"""The suffix of a run directory being written that does not resume (random name, removed when its
writer is gone)."""

WRITTEN_BLOCK = 1000
"""Records formatted at a time when an in-memory run is written."""

STREAMED_FILES = {
    "replications.csv": None,
    "milestones.csv": MILESTONE_COLUMNS,
    "incidents.csv": INCIDENT_COLUMNS,
    "vehicles.csv": VEHICLE_COLUMNS,
}
"""The files that grow block by block, with their columns (replications.csv's come from the records)."""


CHECKPOINT_EVERY_S = 2.0
"""Seconds between checkpoints of a resumable run (and one more when it is interrupted): a killed
run loses at most this much work, and the files are synced only this often."""


class RunDirectory:
    """A run directory being written: blocks of replications are appended, in order, to files in a
    hidden partial folder, which `finish` renames into place once every file is complete.

    Made directly, the partial folder has a random name and leaving the with-block without finishing
    (an error, Ctrl-C) removes it. Made by `resumable`, the partial folder is found again by the same
    command: it is checkpointed as blocks arrive, kept when the run is interrupted, and a new
    `resumable` with the same identity goes on from its checkpoint (`so_far`).

    With `unique`, a name already taken gets a -2, -3 ... suffix instead of being an error.
    """

    def __init__(
        self,
        out: Path,
        unique: bool = False,
        folder: PartialFolder | None = None,
        identity: Mapping[str, Any] | None = None,
        checkpoint_every_s: float | None = None,
    ):
        _check_free(out)
        self.out, self.unique = out, unique
        out.parent.mkdir(parents=True, exist_ok=True)
        self.folder, self.identity = folder, dict(identity or {})
        self.checkpoint_every_s = CHECKPOINT_EVERY_S if checkpoint_every_s is None else checkpoint_every_s
        self.so_far: StreamedSoFar | None = None
        """The replications kept from an interrupted run, None when starting afresh."""
        self.notice = ""
        """One line on what was found in the partial folder (resuming, or starting over and why)."""
        self._state = Checkpoint(self.identity, 0, {}, 0, 0, 0, 0, "", 0.0, [])
        self._saved_next = 0
        self._writing: WriterLock | None = None
        if folder is None:  # held while written; one left by a killed process is removed by the next run here
            remove_orphans(out.parent, f".*{WRITING}")
            self.partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=WRITING, dir=out.parent))
            self._writing = WriterLock(self.partial, "run", owner=None)
            os.chmod(self.partial, 0o777 & ~process_umask())
        else:
            self.partial = folder.run
            self._take_over(folder)
        mode = "ab" if self._state.next else "wb"
        self._files = {name: (self.partial / name).open(mode) for name in STREAMED_FILES}
        if folder is not None:
            self._files.update({name: (folder.path / name).open(mode) for name in (ARRIVALS, COUNTS)})
        self._opened = self._saved_at = time.monotonic()

    @classmethod
    def resumable(
        cls,
        out: Path,
        partial: Path,
        identity: Mapping[str, Any],
        unique: bool = False,
        checkpoint_every_s: float | None = None,
    ) -> "RunDirectory":
        """A run directory assembled in the partial folder `partial`, going on from its checkpoint when
        that was left by the same command (`identity`: what decides the results). Raises
        `PartialInUse` while another live process writes that folder."""
        _check_free(out)
        folder = PartialFolder(partial)
        try:
            return cls(out, unique, folder, identity, checkpoint_every_s)
        except BaseException:
            folder.release()
            raise

    def _take_over(self, folder: PartialFolder) -> None:
        """Go on from the folder's checkpoint if it was left by the same command, else start it over."""
        found = folder.checkpoint()
        if (
            found is not None
            and found.identity == self.identity
            and 0 < found.next <= self.identity.get("replications", found.next)
        ):
            try:
                folder.truncate(found.lengths)
                self.so_far = _so_far(folder, found)
            except (OSError, ValueError) as err:
                self.notice = f"{folder.path} could not be resumed ({err}); starting over"
            else:
                self._state, self._saved_next = found, found.next
                self.notice = (
                    f"resuming from replication {found.next} of {found.identity.get('replications')} "
                    f"(kept in {folder.path})"
                )
                return
        elif found is not None and found.next > 0:
            changed = ", ".join(identity_changes(found.identity, self.identity))
            self.notice = (
                f"{folder.path} holds another run ({changed} changed); starting over"
                if changed
                else f"{folder.path} has a checkpoint that does not fit this run; starting over"
            )
        elif folder.holds_work():
            self.notice = f"{folder.path} holds no complete block to resume; starting over"
        folder.clear()
        self.partial.mkdir()

    @property
    def kept(self) -> int:
        """Replications a resumable run's last checkpoint keeps (0 for one that is not resumable)."""
        return self._saved_next if self.folder is not None else 0

    def __enter__(self) -> "RunDirectory":
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()

    def add(self, chunk: RunChunk) -> None:
        """Append the next block of replications (blocks must come in replication order)."""
        state = self._state
        if chunk.first != state.next:
            raise ValueError(f"replication {chunk.first} arrived, but {state.next} comes next")
        lengths = dict(state.lengths)
        texts = [
            ("replications.csv", chunk.replications_csv),
            ("milestones.csv", chunk.milestones_csv),
            ("incidents.csv", chunk.incidents_csv),
            ("vehicles.csv", chunk.vehicles_csv),
        ]
        if state.next == 0:
            texts = [(name, header(STREAMED_FILES[name] or chunk.replication_columns) + text) for name, text in texts]
        blobs = [(name, text.encode()) for name, text in texts]
        if self.folder is not None:
            blobs += [
                (ARRIVALS, np.ascontiguousarray(chunk.arrivals_h, dtype="<f8").tobytes()),
                (COUNTS, np.ascontiguousarray(chunk.counts, dtype="<i8").tobytes()),
            ]
        for name, blob in blobs:
            self._files[name].write(blob)
            lengths[name] = lengths.get(name, 0) + len(blob)
        self._state = replace(
            state,
            next=state.next + chunk.count,
            lengths=lengths,
            arrivals_columns=chunk.arrivals_h.shape[1],
            counts_columns=chunk.counts.shape[1],
            arrived=state.arrived + chunk.arrived,
            errors=state.errors + chunk.errors,
            first_error=state.first_error or chunk.first_error,
        )
        if self.folder is not None and time.monotonic() - self._saved_at >= self.checkpoint_every_s:
            self._save()

    @property
    def errors(self) -> int:
        return self._state.errors

    def _save(self) -> None:
        """Sync the streamed files, then record how far they are complete (in that order, so the
        checkpoint never claims bytes that a power cut could lose)."""
        assert self.folder is not None
        self._sync()
        self._saved_at = time.monotonic()
        before_s = self.so_far.wall_time_s if self.so_far else 0.0
        state = self._state
        self.folder.save(
            replace(state, wall_time_s=before_s + self._saved_at - self._opened, resumed_from=self._resumed_from())
        )
        self._saved_next = state.next

    def _sync(self) -> None:
        """Flush the streamed files to the disk."""
        for fh in self._files.values():
            if not fh.closed:
                fh.flush()
                os.fsync(fh.fileno())

    def finish(
        self,
        run: MonteCarloRun | StreamedRun,
        comparison: Comparison,
        source: ScenarioSource | None,
        tracks: Iterable[ReplicationRecord] = (),
        extra_files: Mapping[str, str] | None = None,
    ) -> Path:
        """Write the files that need the whole run, then move the directory into place."""
        if self._state.next != run.replications:
            raise ValueError(f"{self._state.next} of {run.replications} replications were written")
        if self.folder is not None:
            self._save()  # syncs the files, then checkpoints them whole
        else:
            self._sync()
        for fh in self._files.values():
            fh.close()
        partial = self.partial
        write_atomic(partial / "comparison.csv", csv_text(comparison_rows(run, comparison), COMPARISON_COLUMNS))
        write_atomic(partial / "counts.csv", csv_text(count_rows(comparison), COUNT_COLUMNS))
        tracks = list(tracks)
        write_atomic(partial / "tracks.csv", header(TRACK_COLUMNS) + track_lines(tracks))
        write_atomic(partial / "units.csv", header(UNIT_COLUMNS) + unit_lines(run.plan, tracks))
        write_atomic(
            partial / "scenario.resolved.yaml",
            yaml.safe_dump(run.scenario.model_dump(mode="json", by_alias=True), sort_keys=False),
        )
        if source is not None:
            for k, layer in enumerate(source.layers):
                write_atomic(partial / "sources" / f"{k}-{layer.path.name}", layer.text)
        for name, text in (extra_files or {}).items():
            write_atomic(partial / name, text)
        manifest = run_manifest(run, comparison, source, self.errors, self._resumed_from())
        write_atomic(partial / "manifest.json", json.dumps(manifest, indent=2, allow_nan=False, default=str) + "\n")
        placed = _place(partial, self.out, self.unique)
        self.partial = None
        if self._writing is not None:
            self._writing.release()
        if self.folder is not None:
            self.folder.remove()
        return placed

    def _resumed_from(self) -> list[int]:
        """The replications at which this run was resumed (empty when it ran in one go)."""
        return [*self._state.resumed_from, *([self.so_far.replications] if self.so_far else [])]

    def abort(self) -> None:
        """Leave the directory unfinished: a resumable run keeps what is complete (with a last
        checkpoint), any other removes its partial folder."""
        if self.folder is not None and self.partial is not None:
            self._keep()
        for fh in self._files.values():
            fh.close()
        if self.partial is not None:
            shutil.rmtree(self.partial, ignore_errors=True)
            self.partial = None
        if self._writing is not None:
            self._writing.release()

    def _keep(self) -> None:
        """Checkpoint what is complete and release the folder; one that holds nothing is removed."""
        assert self.folder is not None
        if self._state.next == 0:
            self.folder.remove()
        else:
            try:
                self._save()
            except OSError:  # a full disk: the previous checkpoint still stands
                pass
            finally:
                self.folder.release()
        self.partial = None  # abort closes the files


def _check_free(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} already holds files; choose another --out")


def _so_far(folder: PartialFolder, found: Checkpoint) -> StreamedSoFar:
    """The checkpointed replications' columns, read back from the folder's matrices."""

    def matrix(name: str, dtype: str, columns: int) -> np.ndarray:
        values = np.fromfile(folder.path / name, dtype=dtype, count=found.next * columns)
        if values.size != found.next * columns:
            raise ValueError(f"{name} holds {values.size} values, not {found.next} x {columns}")
        return values.reshape(found.next, columns)

    return StreamedSoFar(
        found.next,
        matrix(ARRIVALS, "<f8", found.arrivals_columns).astype(float),
        matrix(COUNTS, "<i8", found.counts_columns).astype(int),
        found.arrived,
        found.errors,
        found.first_error,
        found.wall_time_s,
    )


def write_run(
    out: Path,
    run: MonteCarloRun,
    comparison: Comparison,
    source: ScenarioSource | None,
    tracks: Iterable[ReplicationRecord] = (),
    extra_files: Mapping[str, str] | None = None,
    unique: bool = False,
) -> Path:
    """Write a run directory and return its path; nothing appears under `out` until it is complete.

    With `unique`, a name already taken gets a -2, -3 ... suffix instead of being an error.
    """
    with RunDirectory(out, unique) as directory:
        for a in range(0, len(run.records), WRITTEN_BLOCK):
            directory.add(format_chunk(run.plan, run.records[a : a + WRITTEN_BLOCK]))
        return directory.finish(run, comparison, source, tracks, extra_files)
