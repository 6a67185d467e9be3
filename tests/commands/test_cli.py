import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import threatened_data

from convoysim.commands.cli import main

FILES = [
    "manifest.json",
    "replications.csv",
    "milestones.csv",
    "comparison.csv",
    "counts.csv",
    "incidents.csv",
    "tracks.csv",
]


@pytest.fixture
def threatened_file(write_yaml):
    data = threatened_data()
    data["documented"] = [
        {"waypoint": "B", "earliest": "2023-10-02T10:00:00Z", "latest": "2023-10-02T14:00:00Z"},
        {"waypoint": "C", "earliest": "2023-10-03T06:00:00Z", "latest": "2023-10-04T00:00:00Z"},
    ]
    return write_yaml(data)


def invoke(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def rows(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_run_writes_every_file_with_the_promised_columns(threatened_file, tmp_path):
    out = tmp_path / "run"
    text = invoke("run", str(threatened_file), "-n", "30", "--seed", "5", "--out", str(out))
    assert "documented dates meeting the simulated 80% interval" in text
    for name in FILES:
        assert (out / name).is_file(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["replications"] == 30 and len(manifest["scenario_sha256"]) == 64
    assert set(manifest["versions"]) >= {"simpy", "numpy", "python"}
    assert len(rows(out / "replications.csv")) == 30
    milestones = rows(out / "milestones.csv")
    assert list(milestones[0]) == ["replication", "waypoint", "arrival_h", "arrival_time", "departure_h"]
    assert len(milestones) == 30 * 3
    comparison = rows(out / "comparison.csv")
    assert list(comparison[0]) == [
        "waypoint",
        "documented_earliest",
        "documented_latest",
        "p10",
        "p50",
        "p90",
        "hit_rate",
        "percentile",
        "crps_h",
        "pinned",
    ]
    assert [r["waypoint"] for r in comparison] == ["B", "C"]
    assert (out / "sources" / f"0-{threatened_file.name}").read_text() == threatened_file.read_text()


def test_same_seed_same_files_whatever_the_workers(threatened_file, tmp_path):
    invoke("run", str(threatened_file), "-n", "60", "--out", str(tmp_path / "w1"), "--workers", "1")
    invoke("run", str(threatened_file), "-n", "60", "--out", str(tmp_path / "w2"), "--workers", "2")
    for name in FILES[1:]:
        assert (tmp_path / "w1" / name).read_bytes() == (tmp_path / "w2" / name).read_bytes(), name
    m1, m2 = (json.loads((tmp_path / w / "manifest.json").read_text()) for w in ("w1", "w2"))
    for volatile in ("workers", "wall_time_s", "created"):
        m1.pop(volatile), m2.pop(volatile)
    assert m1 == m2


def test_trace_prints_a_dated_story(threatened_file, tmp_path):
    text = invoke("run", str(threatened_file), "-n", "3", "--trace", "--out", str(tmp_path / "t"))
    assert "02 Oct 06:00  the column of 11 vehicles leaves A" in text
    assert (tmp_path / "t" / "trace.txt").read_text().splitlines()[0] in text
    last = (tmp_path / "t" / "trace.txt").read_text().splitlines()[-1]
    assert "vehicles lost" in last


def test_trace_sorties_lists_every_drone_sortie(tmp_path):
    """--sorties tells each sortie the default trace sums up per day; without --trace it is refused."""
    summed = invoke("run", "baseline", "-n", "1", "--trace", "--out", str(tmp_path / "summed"))
    every = invoke("run", "baseline", "-n", "1", "--trace", "--sorties", "--out", str(tmp_path / "every"))
    assert len(every.splitlines()) > len(summed.splitlines())
    assert (tmp_path / "every" / "trace.txt").read_text().count("drone") > (
        (tmp_path / "summed" / "trace.txt").read_text().count("drone")
    )
    refused = CliRunner().invoke(main, ["run", "baseline", "-n", "1", "--sorties", "--out", str(tmp_path / "no")])
    assert refused.exit_code != 0 and "--trace" in refused.output
    assert not (tmp_path / "no").exists()


def test_trace_matches_replication_zero(threatened_file, tmp_path):
    invoke("run", str(threatened_file), "-n", "3", "--trace", "--out", str(tmp_path / "t"))
    first = rows(tmp_path / "t" / "replications.csv")[0]
    trace = (tmp_path / "t" / "trace.txt").read_text()
    assert trace.count("ambush at km") == int(first["ambushes"])
    assert trace.count("an IED strikes") == int(first["ied_strikes"])


def test_default_run_directory_is_under_results(threatened_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    invoke("run", str(threatened_file), "-n", "2")
    (run_dir,) = (tmp_path / "results" / "plain").iterdir()
    assert (run_dir / "manifest.json").is_file()


def test_bare_name_runs_a_shipped_scenario(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = invoke("run", "baseline", "-n", "20", "--out", str(tmp_path / "b"))
    assert "Kidal" in text and (tmp_path / "b" / "comparison.csv").is_file()
    assert (tmp_path / "b" / "sources" / "0-baseline.yaml").is_file()


def test_refuses_to_overwrite_a_run(threatened_file, tmp_path):
    invoke("run", str(threatened_file), "-n", "2", "--out", str(tmp_path / "x"))
    result = CliRunner().invoke(main, ["run", str(threatened_file), "-n", "2", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "already holds files" in result.output


@pytest.mark.parametrize("command", [[], *[[name] for name in sorted(main.commands)]])
def test_every_command_has_help(command):
    text = invoke(*command, "--help")
    assert "Usage:" in text and len(text.splitlines()) > 5


def test_all_commands_are_registered():
    assert set(main.commands) >= {"run", "sweep", "plot", "report", "animate", "calibrate", "validate"}


def test_help_lists_each_command_with_its_own_summary_without_importing_it():
    import inspect
    import subprocess
    import sys

    import click

    from convoysim.commands.cli import COMMANDS

    for name, (_, _, summary) in COMMANDS.items():
        assert inspect.cleandoc(main.commands[name].help).split("\n\n")[0].replace("\n", " ") == summary, name
    eager = click.Group(
        "main",
        commands=[main.commands[name] for name in COMMANDS],
        help=main.help,
        context_settings=main.context_settings,
        params=main.params,
    )
    assert CliRunner().invoke(eager, ["--help"]).output == CliRunner().invoke(main, ["--help"]).output
    code = (
        "import sys\nfrom convoysim.commands.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    "
        "pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('convoysim')), file=sys.stderr)"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr
    assert (
        loaded.strip() == "['convoysim', 'convoysim.commands', 'convoysim.commands.cli', 'convoysim.commands.common']"
    )


def test_error_lines_print_brackets_literally(capsys):
    """Messages name list items (`waypoints[3]`) and extras (`convoysim[video]`): not rich markup."""
    from convoysim.commands.common import fail

    with pytest.raises(SystemExit) as stop:
        fail("route.waypoints[3].road_km: pip install 'convoysim[video]' [bold]x[/]")
    assert stop.value.code == 2
    assert "route.waypoints[3].road_km: pip install 'convoysim[video]' [bold]x[/]" in capsys.readouterr().err


def test_convoysim_run_imports_neither_scipy_nor_matplotlib():
    """They cost more than every other import of `convoysim run` together (issue 13's start-up
    target); only --precision, sweeps, calibration and figures load them, when they run."""
    import subprocess
    import sys

    code = (
        "import sys, convoysim.commands.cli, convoysim.commands.run\n"
        "print(sorted(m for m in ('scipy', 'matplotlib', 'pandas', 'dask', 'SALib') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
