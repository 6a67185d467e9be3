"""The ground floor of runs/: files written atomically, CSV text, folder names and package versions.

Every writer above (run directories, sweeps, calibrations, reports) writes through `write_atomic`,
so a file holds either its old content or all of the new one, and formats CSV cells as `cell`
does (floats in full, NaN empty), so a streamed block and a whole table are byte for byte alike.
It imports only `durable` (naming the file in an I/O error, syncing its folder) from convoysim.
"""

from __future__ import annotations

import csv
import io
import math
import os
import platform
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from convoysim.runs.durable import naming, sync_folder

PACKAGES = ("convoysim", "simpy", "numpy", "scipy", "pydantic", "pyyaml")


def write_atomic(path: Path, text: str) -> None:
    """Write text so that `path` holds either its old content or all of the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with naming(path), os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~process_umask())
        os.replace(tmp, path)
        sync_folder(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def process_umask() -> int:
    """The process umask (mkstemp creates files 0600; results are meant to be shared)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def csv_text(rows: Iterable[Mapping[str, Any]], columns: list[str] | None = None) -> str:
    rows = list(rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns or (list(rows[0]) if rows else []), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buf.getvalue()


def _cell(value: Any) -> Any:
    return cell(value) if isinstance(value, float) else value


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@lru_cache(maxsize=4096)
def _quoted(text: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([text])
    return buf.getvalue()[:-1]


def cell(value: object) -> str:
    """One CSV cell as `csv_text` writes it: repr for floats, '' for NaN, quoted text when needed."""
    kind = type(value)
    if kind is float:
        text = repr(value)  # 'inf' and '-inf' as csv_text writes them
        return "" if text == "nan" else text
    if kind is int or kind is bool:
        return repr(value)
    if kind is str:
        return _quoted(value) if ("," in value or '"' in value or "\n" in value or "\r" in value) else value  # type: ignore[operator]
    return _other_cell(value)


def _other_cell(value: object) -> str:
    """Subclasses of float and str (numpy scalars among them), None, and anything else."""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return cell(str(value))
    if value is None:
        return ""
    return str(value)


def header(columns: Sequence[str]) -> str:
    return ",".join(cell(c) for c in columns) + "\n"


def safe_name(name: str) -> str:
    """A scenario or experiment name as one folder name: letters, digits, '-', '_' and '.' kept,
    anything else (a '/', '..', a drive letter) made '_', so a name can never lead outside `results/`."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".")[:100]
    return cleaned or "_"


def default_run_dir(root: Path, scenario_name: str, seed: int) -> Path:
    """`root/<scenario>/<UTC time>-seed<seed>`; write_run(unique=True) adds -2, -3 ... on a clash."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return root / safe_name(scenario_name) / f"{stamp}-seed{seed}"


def reserve_dir(path: Path) -> Path:
    """Create a new, empty directory at `path` (or `path`-2, -3 ... if taken) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate, k = path, 1
    while True:
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            k += 1
            candidate = path.with_name(f"{path.name}-{k}")


def finite_or_none(value: float) -> float | None:
    """JSON has no inf or NaN: a score that is not finite is written as null."""
    return value if math.isfinite(value) else None
