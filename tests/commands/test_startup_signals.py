"""Ctrl-C while `convoysim` is still starting (importing its modules) is one line and exit 130, as
it is later: never an import traceback (issue 13). The signal is sent by the program itself at a
chosen import, so the tests do not depend on how fast a busy machine starts Python."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")

INTERRUPT_AT_IMPORT = """
import importlib.abc, os, signal, sys

class InterruptAt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == {module!r}:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.{signal})
        return None

sys.meta_path.insert(0, InterruptAt())
from convoysim.commands.entry import main
sys.argv = ["convoysim", *{args!r}]
main()
"""


def convoysim_interrupted_at(module, args, tmp_path, signal="SIGINT"):
    script = INTERRUPT_AT_IMPORT.format(module=module, args=args, signal=signal)
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    "module, args",
    [
        ("click", ["run", "baseline", "-n", "2"]),  # the command line itself is being imported
        ("numpy", ["run", "baseline", "-n", "2"]),  # the run command's modules are being imported
        ("pydantic", ["validate", "baseline", "-n", "2"]),
        ("rich.progress", ["--help"]),
    ],
)
@pytest.mark.parametrize("signal", ["SIGINT", "SIGTERM"])
def test_a_signal_while_starting_is_one_line_and_exit_130(tmp_path, module, args, signal):
    done = convoysim_interrupted_at(module, args, tmp_path, signal)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert "interrupted" in done.stderr
    assert list(tmp_path.iterdir()) == [], "nothing written"


def test_the_entry_point_imports_nothing_before_it_quiets_signals():
    """Every module not loaded yet delays the handler: after what the launcher script pip writes has
    imported (`re`), only the package's own (nearly empty) modules and `signal` may come before it."""
    probe = (
        "import re, sys; before = set(sys.modules); import convoysim.commands.entry; "
        "print(*sorted(set(sys.modules) - before))"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    loaded = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert set(loaded) <= {
        "convoysim",
        "convoysim.commands",
        "convoysim.commands.entry",
        "signal",
        "_signal",
        "__future__",
    }, loaded


AS_A_SPAWNED_WORKER = """
import signal, sys, types
if {spawned}:
    sys.modules["__mp_main__"] = types.ModuleType("__mp_main__")  # as multiprocessing's spawn runs the script
import convoysim.commands.entry
print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN, signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
"""


@pytest.mark.parametrize("spawned", [True, False], ids=["spawned worker", "the command"])
def test_only_the_command_speaks_for_an_interrupt_its_spawned_workers_leave_ctrl_c_to_it(spawned):
    """A Dask worker re-runs the console script as `__mp_main__`: it must not print the command's
    "interrupted while starting" message, once per worker, when its cluster is closed."""
    env = {**os.environ, "PYTHONPATH": SRC}
    script = textwrap.dedent(AS_A_SPAWNED_WORKER.format(spawned=spawned))
    shown = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == (["True", "True"] if spawned else ["False", "False"])
