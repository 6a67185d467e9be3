"""Small real runs and synthetic sweep directories shared by the figure, report and animation tests."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import matplotlib
import pytest
from click.testing import CliRunner

from convoysim.cli import main

matplotlib.use("Agg")

VARIANT = """\
extends: baseline.yaml
name: two-bases
drones:
  bases:
    tessalit:
      lat: 20.2011
      lon: 1.0125
      radius_km: 200
      active_from: 2023-10-20T00:00:00Z
    later:
      lat: 18.4389
      lon: 1.4083
      radius_km: 100
      active_from: 2024-06-01T00:00:00Z
"""


def run_cli(args: list[str]):
    return CliRunner().invoke(main, args, catch_exceptions=False)


@pytest.fixture(scope="session")
def baseline_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "baseline"
    result = run_cli(["run", "baseline", "-n", "120", "--seed", "7", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def variant_dir(tmp_path_factory) -> Path:
    """A run with three drone bases: Gao (active), Tessalit (active from 20 Oct), one active only in 2024."""
    folder = tmp_path_factory.mktemp("variant")
    (folder / "two-bases.yaml").write_text(VARIANT)
    out = folder / "run"
    result = run_cli(["run", str(folder / "two-bases.yaml"), "-n", "40", "--seed", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def make_sweep(folder: Path, parameters: dict[str, list[float]], outputs: dict[str, object],
               sobol: list[list[object]] | None = None, shuffle: bool = False) -> Path:
    """A sweep directory in the documented format; `outputs` maps name -> f(point values) -> mean.

    Points are the full grid of the parameter values (or, with one parameter, the list); sd is
    a tenth of the mean and the percentiles are mean -/+ 1.28 sd, so every statistic is known.
    """
    import itertools

    folder.mkdir(parents=True, exist_ok=True)
    names = list(parameters)
    points = list(itertools.product(*parameters.values()))
    order = list(range(len(points)))
    if shuffle:
        order = order[::-1]
    write_csv(folder / "points.csv", ["point", *names], [[k, *points[k]] for k in range(len(points))])
    header = ["point"]
    for out in outputs:
        header += [f"{out}_{s}" for s in ("mean", "sd", "p10", "p50", "p90")]
    rows = []
    for k in order:
        row: list[object] = [k]
        for f in outputs.values():
            mean = f(*points[k])
            sd = abs(mean) / 10
            row += [mean, sd, mean - 1.28 * sd, mean, mean + 1.28 * sd]
        rows.append(row)
    write_csv(folder / "summary.csv", header, rows)
    if sobol is not None:
        write_csv(folder / "sobol.csv", ["parameter", "output", "S1", "S1_conf", "ST", "ST_conf"], sobol)
    (folder / "manifest.json").write_text(json.dumps({"kind": "sweep", "name": folder.name, "parameters": names}))
    return folder


def pytest_configure(config):
    # Animations built only to inspect frames are never saved; matplotlib warns when they are collected.
    config.addinivalue_line("filterwarnings", "ignore:Animation was deleted without rendering")
