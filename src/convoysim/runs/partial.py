"""A streamed run's partial folder that outlives its process, so an interrupted run resumes.

The folder has a name derived from the command (`.<out>.partial` beside `--out`, or the scenario,
seed and size under `results/<scenario>/`), so running the same command again finds it. It holds
the run directory being written (`run/`, renamed into place when complete) and, beside it, a
checkpoint: which replications are complete and how many bytes each streamed file had then.
Whatever was written after the checkpoint (a block half-written when the process died) is cut off
on resume.

The process writing the folder holds its writer lock (`convoysim.runs.lock`), so two runs of one
command never write it at once, and a folder whose lock can be taken has no live owner.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convoysim.runs.files import write_atomic
from convoysim.runs.lock import OWNER, FolderInUse, WriterLock

RUN = "run"
"""The run directory being written, inside the partial folder."""
CHECKPOINT = "checkpoint.json"
ARRIVALS = "arrivals.f8"
COUNTS = "counts.i8"
"""The streamed run's arrival and count matrices, row by row (float64, int64), so a resumed run
has the columns the comparison needs without re-reading the CSV files."""

IDENTITY_WORDS = {
    "scenario_sha256": "scenario",
    "seed": "seed",
    "replications": "replications",
    "versions": "package versions",
    "code": "convoysim code",
}


PartialInUse = FolderInUse
"""Another live process is writing this partial folder."""


@dataclass
class Checkpoint:
    """What a partial folder holds at a block boundary: enough to go on from replication `next`."""

    identity: dict[str, Any]
    next: int
    lengths: dict[str, int]
    """Bytes of each file (under `run/`, and the two matrices) once replication `next - 1` was in."""
    arrivals_columns: int
    counts_columns: int
    arrived: int
    errors: int
    first_error: str
    wall_time_s: float
    resumed_from: list[int]

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "Checkpoint":
        data = json.loads(text)
        checkpoint = cls(**{k: data[k] for k in cls.__dataclass_fields__})
        if not (
            isinstance(checkpoint.next, int)
            and isinstance(checkpoint.lengths, dict)
            and all(isinstance(v, int) and v >= 0 for v in checkpoint.lengths.values())
        ):
            raise ValueError("malformed checkpoint")
        return checkpoint


def partial_beside(out: Path) -> Path:
    """The partial folder of a run written to `out`: a hidden sibling, found again by the same `--out`."""
    return out.parent / f".{out.name}.partial"


def partial_for_command(folder: Path, seed: int, replications: int, scenario_sha256: str) -> Path:
    """The partial folder of a run without `--out`, in its scenario's results folder: named by what
    decides the results (seed, size, the scenario's text), so the same command finds it."""
    return folder / f".seed{seed}-n{replications}-{scenario_sha256[:16]}.partial"


class PartialFolder:
    """A partial folder held by this process (its lock taken) until `release`."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = WriterLock(path, "run")

    @property
    def run(self) -> Path:
        return self.path / RUN

    def checkpoint(self) -> Checkpoint | None:
        """The folder's checkpoint, None when it has none or it cannot be read."""
        try:
            return Checkpoint.from_json((self.path / CHECKPOINT).read_text())
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, checkpoint: Checkpoint) -> None:
        write_atomic(self.path / CHECKPOINT, checkpoint.to_json())

    def holds_work(self) -> bool:
        """Whether anything but the owner file is in the folder."""
        return any(p.name != OWNER for p in self.path.iterdir())

    def clear(self) -> None:
        """Empty the folder (for a fresh start), keeping it and its lock."""
        for entry in self.path.iterdir():
            if entry.name == OWNER:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def truncate(self, lengths: Mapping[str, int]) -> None:
        """Cut each file back to its checkpointed length: bytes after it are a block half-written."""
        for name, length in lengths.items():
            file = self._file(name)
            if file.stat().st_size < length:
                raise ValueError(f"{file} is shorter than its checkpoint says")
            os.truncate(file, length)

    def _file(self, name: str) -> Path:
        return self.path / name if name in (ARRIVALS, COUNTS) else self.run / name

    def remove(self) -> None:
        """Delete the folder and release it."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.release()

    def release(self) -> None:
        self._lock.release()


def identity_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What differs between the command that left a folder and this one, in words."""
    return [IDENTITY_WORDS.get(k, k) for k in new if old.get(k) != new[k]]
