"""Paired timings for the benchmark scripts: A and B interleaved, several repeats, the median ratio.

On a busy machine the seconds mean little; the ratio of two timings taken back to back does. Each
repeat times A then B (or B then A, alternating, so neither always runs second on a warm cache).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def paired(a: Callable[[], object], b: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    """Median seconds of `a`, of `b`, and the median of the per-repeat ratios a / b."""
    ta, tb, ratios = [], [], []
    for k in range(repeats):
        if k % 2:
            y = timed(b)
            x = timed(a)
        else:
            x = timed(a)
            y = timed(b)
        ta.append(x)
        tb.append(y)
        ratios.append(x / y)
    return statistics.median(ta), statistics.median(tb), statistics.median(ratios)


def python_running(code: str, src: str | None = None) -> Callable[[], object]:
    """A fresh interpreter running `code`, with `src` (another checkout's src/) first on the path."""
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = str(Path(src).resolve())
    return lambda: subprocess.run([sys.executable, "-c", code], env=env, check=True, stdout=subprocess.DEVNULL)
