"""Every command unwinds the same way on Ctrl-C and SIGTERM (exit 130, nothing incomplete left),
and reports an I/O failure or an unexpected error as one line (issue 11)."""

from __future__ import annotations

import os
import signal

from click.testing import CliRunner

import convoysim.commands.run as run_command
import convoysim.runs.writing as writing
from convoysim.commands.cli import main


def _invoke(args):
    return CliRunner().invoke(main, args)


def test_ctrl_c_after_the_simulation_exits_130_and_keeps_the_replications_to_resume(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_command, "compare_run", interrupted)
    result = _invoke(["run", "baseline", "-n", "3", "--out", str(tmp_path / "r")])
    assert result.exit_code == 130, result.output
    assert "interrupted; 3 of 3 replications are kept" in result.output and "Aborted" not in result.output
    assert [p.name for p in tmp_path.iterdir()] == [".r.partial"], "no run folder, only what resumes it"


def test_sigterm_while_writing_leaves_no_run_folder_and_the_same_command_finishes_it(tmp_path, monkeypatch):
    real, calls = writing.write_atomic, {"n": 0}

    def terminated_on_third(path, text):
        calls["n"] += 1
        if calls["n"] == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        real(path, text)

    monkeypatch.setattr(writing, "write_atomic", terminated_on_third)
    before = signal.getsignal(signal.SIGTERM)
    result = _invoke(["run", "baseline", "-n", "3", "--out", str(tmp_path / "r")])
    assert result.exit_code == 130, result.output
    assert [p.name for p in tmp_path.iterdir()] == [".r.partial"], "no run folder, only what resumes it"
    assert signal.getsignal(signal.SIGTERM) is before, "the command restores the handler it replaced"
    monkeypatch.setattr(writing, "write_atomic", real)
    result = _invoke(["run", "baseline", "-n", "3", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0 and "resuming from replication 3 of 3" in result.output, result.output
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_an_interrupted_plot_leaves_no_figures_folder(tmp_path, monkeypatch):
    import convoysim.figures as figures

    def halfway(path, out, fmt="png"):
        (out / "time_distance.png").write_bytes(b"drawn")
        raise KeyboardInterrupt

    monkeypatch.setattr(figures, "plot_directory", halfway)
    result = _invoke(["run", "baseline", "-n", "3", "--out", str(tmp_path / "r"), "--plot"])
    assert result.exit_code == 130, result.output
    assert sorted(p.name for p in (tmp_path / "r").iterdir() if p.name.startswith((".fig", "fig"))) == []


def test_a_run_in_which_every_replication_failed_exits_1(tmp_path, monkeypatch):
    import convoysim.runs.montecarlo as montecarlo

    def broken(*args, **kwargs):
        raise ZeroDivisionError("model bug")

    monkeypatch.setattr(montecarlo, "replicate", broken)
    result = _invoke(["run", "baseline", "-n", "3", "--out", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert "every replication failed" in result.output and "ZeroDivisionError" in result.output
    assert (tmp_path / "r" / "replications.csv").is_file(), "the errors are kept"


def test_an_unexpected_error_is_one_line_with_exit_70(monkeypatch):
    import convoysim.commands.run as run_module

    def bug(*args, **kwargs):
        raise AttributeError("a bug")

    monkeypatch.setattr(run_module, "read_source", bug)
    monkeypatch.delenv("CONVOYSIM_DEBUG", raising=False)
    result = _invoke(["run", "baseline"])
    assert result.exit_code == 70
    assert result.output.count("\n") == 1 and "internal error" in result.output and "Traceback" not in result.output


def test_an_error_line_keeps_its_brackets(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("extends: baseline\nname: x\n'[bold]': 1\n")
    result = _invoke(["run", str(path)])
    assert result.exit_code == 2 and "unknown key '[bold]'" in result.output
