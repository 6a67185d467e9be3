"""Renames that survive a power cut: a rename is an entry of the folder it lands in, which reaches
the disk only when that folder is synced; until then a finished run can fall back to its partial
name and a file to its old content. A write that fails (a full disk) names its file and leaves
nothing under the final name."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def sync_folder(path: Path) -> None:
    """Force a folder's entries (a rename into it) to the disk, so a power cut cannot undo the rename.
    A file system that cannot sync folders is left as it is."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def naming(path: Path) -> Iterator[None]:
    """An OSError raised while writing `path` names it: a full disk fails a write or an fsync, which
    carry no file name, and the message must say where."""
    try:
        yield
    except OSError as err:
        if err.filename is None:
            raise OSError(err.errno, err.strerror or str(err), str(path)) from err
        raise


@contextmanager
def replaced(path: Path) -> Iterator[Path]:
    """A temporary name beside `path` (same suffix, so writers that read it still know the format),
    renamed onto `path` when the block succeeds and removed when it fails: a full disk never leaves
    a 0-byte or cut file under the final name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        with naming(path):
            yield tmp
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    sync_folder(path.parent)
