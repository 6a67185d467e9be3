"""The code that computes a result, as one hash: part of what a resumed run, sweep or calibration
must share with the one that left its checkpoint, so a resume never mixes two versions of the model.

An editable install reports the same package version for every commit, and a user may edit
`model/*.py` between two starts of one command; the version alone cannot tell. The hash covers
every `.py` file of the installed package (by path and content), is computed once per process and
costs a few milliseconds (measured in `benchmarks/bench_import.py`'s tree: about 90 files, 0.6 MB).
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
"""The installed `convoysim` package folder."""


def code_sha256() -> str:
    """SHA-256 of the installed package's source files (cached for the process)."""
    return tree_sha256(PACKAGE_ROOT)


@lru_cache(maxsize=4)
def tree_sha256(root: Path) -> str:
    """SHA-256 of every `.py` file under `root`: each file's relative path and bytes, length-prefixed
    (so moving text from one file to the next changes it), in sorted order."""
    digest = hashlib.sha256()
    for name in sorted(_sources(str(root), "")):
        with open(os.path.join(root, name), "rb") as fh:
            body = fh.read()
        encoded = name.encode()
        digest.update(b"%d:%s:%d:" % (len(encoded), encoded, len(body)))
        digest.update(body)
    return digest.hexdigest()


def _sources(folder: str, prefix: str) -> list[str]:
    """Relative paths ('/'-separated) of the `.py` files under `folder`, bytecode caches skipped."""
    out = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                out += _sources(entry.path, f"{prefix}{entry.name}/")
            elif entry.name.endswith(".py"):
                out.append(prefix + entry.name)
    return out


CODE_CHANGED = (
    "the convoysim code changed since (a model file edited, or another commit installed): "
    "its results cannot be mixed with this version's"
)
"""The reason given when a checkpoint was left by other code."""
