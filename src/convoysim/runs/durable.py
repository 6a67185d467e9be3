"""Renames that survive a power cut: a rename is an entry of the folder it lands in, which reaches
the disk only when that folder is synced; until then a finished run can fall back to its partial
name and a file to its old content."""

from __future__ import annotations

import os
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
