"""One writer per folder: an exclusive `flock` that every command writing a folder holds while it
writes (a run's partial folder, a sweep's checkpoint, a calibration's directory), so two commands
given the same `--out` never both compute and append into it.

The kernel releases a `flock` when its process ends, however it ends (Ctrl-C, SIGKILL, a crash,
power loss), so a folder whose lock can be taken has no live writer. An owner file (pid and host)
only names the writer in messages, and stands in for the lock on a file system without `flock`.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import tempfile
import time
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

OWNER = "owner.json"

_HELD: "weakref.WeakValueDictionary[tuple[int, int], WriterLock]" = weakref.WeakValueDictionary()
"""The locks this process holds, by the folder's device and inode."""


class FolderInUse(Exception):
    """Another live process is writing this folder."""


class WriterLock:
    """The writer's lock on `path` (created if missing), held by this process until `release`.

    `writer` names the kind of command in the refusal ("run", "sweep", "calibration"); `owner` is
    the owner file's name inside the folder (hidden where the folder's other files are checked).
    Only another process is refused: within one process, locking a folder again takes the lock
    over from the earlier holder (a notebook cell re-run after Ctrl-C resumes its own work).
    """

    def __init__(self, path: Path, writer: str = "command", owner: str | None = OWNER):
        self.path, self.writer = path, writer
        self.owner_file = path / owner if owner else None
        path.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            self._lock()
            if self.owner_file is not None:
                self._write_owner()
        except BaseException:
            self.release()
            raise

    def __enter__(self) -> "WriterLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:
        self.release()

    def _lock(self) -> None:
        assert self._fd is not None
        stat = os.fstat(self._fd)
        key = (stat.st_dev, stat.st_ino)
        earlier = _HELD.get(key)
        if earlier is not None:
            earlier.release()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderInUse(self._in_use()) from None
        except OSError:  # no flock on this file system: trust the owner file instead
            if owner_alive(self.owner()):
                raise FolderInUse(self._in_use()) from None
        if os.stat(self.path).st_ino != stat.st_ino:  # finished and renamed meanwhile
            raise FolderInUse(f"{self.path} changed while it was being opened; run the command again")
        _HELD[key] = self

    def owner(self) -> dict[str, Any]:
        """The owner file's content ({} when there is none or it cannot be read)."""
        if self.owner_file is None:
            return {}
        try:
            owner = json.loads(self.owner_file.read_text())
            return owner if isinstance(owner, dict) else {}
        except (OSError, ValueError):
            return {}

    def _in_use(self) -> str:
        owner = self.owner()
        who = f" (pid {owner.get('pid')} on {owner.get('host')})" if owner else ""
        return (
            f"{self.path} is being written by another convoysim {self.writer}{who}; wait for it to finish, "
            f"or stop it and run this command again to resume"
        )

    def _write_owner(self) -> None:
        assert self.owner_file is not None
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=f".{self.owner_file.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}) + "\n")
            os.replace(tmp, self.owner_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Let the next writer in (closing the last descriptor releases the lock)."""
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)  # type: ignore[arg-type]
            self._fd = None


def owner_alive(owner: Mapping[str, Any]) -> bool:
    """Whether the owner file names a live process on this host (another host's cannot be checked)."""
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid == os.getpid():
        return False
    if owner.get("host") != socket.gethostname():
        return bool(owner)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


ORPHAN_AGE_S = 60.0
"""A writer's folder younger than this is never taken for an orphan (it may be between its creation
and its lock)."""


def remove_orphans(parent: Path, pattern: str) -> list[Path]:
    """Remove the folders in `parent` matching `pattern` whose writer is gone (their lock can be
    taken): what a process killed while writing left, which nothing else would clean. Returns them."""
    removed = []
    for folder in parent.glob(pattern):
        try:
            if not folder.is_dir() or time.time() - folder.stat().st_mtime < ORPHAN_AGE_S:
                continue
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a live writer holds it (or no flock here: leave it)
        else:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        finally:
            os.close(fd)
    return removed
