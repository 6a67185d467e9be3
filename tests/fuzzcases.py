"""Bad input, generated: scenario and experiment files, --param specs and damaged run folders,
each driven through the real command line (`convoysim.commands.cli.main`) in a forked child with
a memory cap and a timeout, and classified as the audit of issue 11 did.

Used by the fuzz tests (a small, fixed sample) and by `tools/fuzz.py` (thousands of cases). Every
case says whether it must be refused: a case whose input is wrong by construction (a boolean for a
number, a number for a date, an unknown path, a damaged cell) that exits 0 is "nonsense accepted".
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import random
import resource
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

COMMANDS = ("run", "sweep", "calibrate", "folders")

# Values of the wrong kind: must be refused wherever a number is expected.
WRONG_KIND = [True, False, "abc", "5", [1, 2], {"x": 1}, "2023-10-02"]
# Values of the right kind but possibly absurd: refused or run within the limits, never a hang.
EXTREMES = [0, -1, -1e-300, 1e-300, 1e9, 1e308, 10**30, -(10**30), 0.5, 2**63, ".nan", ".inf", "-.inf", None]


@dataclass
class Case:
    command: str
    """Which family (run, sweep, calibrate, folders)."""
    label: str
    argv: list[str]
    files: dict[str, bytes] = field(default_factory=dict)
    must_refuse: bool = False
    folder_damage: str | None = None
    """For `folders`: how the run folder is damaged before the command runs."""


@dataclass
class Outcome:
    case: Case
    code: int | None
    """Exit code; None when killed (timeout) or ended by a signal."""
    stderr: str
    seconds: float
    timed_out: bool = False
    signal: int | None = None
    escaped: list[str] = field(default_factory=list)
    """Files written outside the case's working folder."""

    @property
    def traceback(self) -> bool:
        return (
            "Traceback" in self.stderr or self.code == 70 or (self.code is not None and self.code not in (0, 1, 2, 130))
        )

    @property
    def blew_up(self) -> bool:
        """A hang or a memory blow-up: timed out, killed by a signal, or out of memory."""
        return (
            self.timed_out or self.signal is not None or "out of memory" in self.stderr or "MemoryError" in self.stderr
        )

    @property
    def nonsense_accepted(self) -> bool:
        return self.case.must_refuse and self.code == 0

    @property
    def one_line(self) -> bool:
        """An error is one line on stderr (the progress bar is silent off a terminal)."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return self.code in (0, None) or len([line for line in lines if line.startswith("error:")]) == 1

    @property
    def clean_refusal(self) -> bool:
        """Refused (exit 2) with one line naming what is wrong, no traceback."""
        return self.code == 2 and self.one_line and not self.traceback

    @property
    def ok(self) -> bool:
        return not (self.traceback or self.blew_up or self.nonsense_accepted or self.escaped)


# --- scenario files ---------------------------------------------------------------------------


def _baseline() -> dict[str, Any]:
    from convoysim.scenario.loading import read_source

    return read_source("baseline").data


def _leaves(tree: Any, prefix: tuple = ()) -> list[tuple[tuple, Any]]:
    out = []
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += _leaves(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += _leaves(v, prefix + (i,))
    else:
        out.append((prefix, tree))
    return out


def _containers(tree: Any, prefix: tuple = ()) -> list[tuple[tuple, Any]]:
    """Every list and mapping in the tree, with its path."""
    out = [(prefix, tree)] if prefix and isinstance(tree, (dict, list)) else []
    children = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, list) else []
    for k, v in children:
        out += _containers(v, prefix + (k,))
    return out


BAD_OPTIONS = [
    ["--seed", "-1"],
    ["--workers", "0"],
    ["--max-events", "0"],
    ["--replications", "abc"],
    ["--nosuch"],
    ["--out", ""],
    ["--replications", "10000000", "--max-memory-mb", "1"],
]
"""Options click or the work guard must refuse (added to a valid `run baseline -n 3`)."""


def _set(tree: Any, path: tuple, value: Any) -> Any:
    tree = copy.deepcopy(tree)
    node = tree
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return tree


def _yaml(data: Any) -> bytes:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return text.replace("'.nan'", ".nan").replace("'.inf'", ".inf").replace("'-.inf'", "-.inf").encode()


def _variant(data: dict[str, Any]) -> bytes:
    return _yaml({"extends": "baseline", **data})


ATTACKS: list[tuple[str, bytes, bool]] = [
    (
        "billion laughs",
        b"extends: baseline\nname: x\n"
        + b"a0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
        + b"".join(f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 10)}]\n".encode() for i in range(1, 10)),
        True,
    ),
    ("recursive alias", b"extends: baseline\nname: x\nloop: &l [*l]\n", True),
    ("1000-deep nesting", b"extends: baseline\nname: x\ndeep: " + b"[" * 1000 + b"]" * 1000 + b"\n", True),
    ("python tag", b"extends: baseline\nname: !!python/object/apply:os.system ['touch pwned']\n", True),
    ("bool tag", b"extends: baseline\nname: x\nconvoy: {move_by_night: !!bool maybe}\n", True),
    ("not UTF-8", b"extends: baseline\nname: \xff\xfe x\n", True),
    ("zero march window", b"extends: baseline\nname: x\nconvoy: {march_windows: [{from_h: 5.5, to_h: 5.5}]}\n", True),
    ("horizon true", b"extends: baseline\nname: x\nhorizon_days: true\n", True),
    ("start 0", b"extends: baseline\nname: x\nstart: 0\n", True),
    ("repeated key", b"extends: baseline\nname: x\nname: y\n", True),
    ("empty file", b"", True),
    ("a list", b"- 1\n- 2\n", True),
    ("huge file", b"extends: baseline\nname: x\ndescription: '" + b"x" * 2_000_000 + b"'\n", True),
    ("name escapes", b"extends: baseline\nname: ../../../escaped\n", False),
    ("absolute name", b"extends: baseline\nname: /tmp/convoysim-fuzz-escaped\n", False),
]


# --- issue 23: multiplying factors, extreme dates, YAML tags with bad values -----------------------


def multiplier_case(rng: random.Random) -> tuple[str, dict[str, Any], bool]:
    """A scenario variant that multiplies work: overlapping schedule periods, many march units,
    defended positions or airframes. It may run or be refused, but never hang or exhaust memory."""
    kind = rng.choice(["ied schedule", "ambush schedule", "march units", "positions", "airframes"])
    if kind.endswith("schedule"):
        periods = rng.choice([2, 3, 10, 200, 2000, 5000])
        factor = rng.choice([1.01, 2, 10, 1000])
        threat = kind.split()[0]
        return (
            f"{kind}: {periods} periods of {factor}",
            {"threats": {threat: {"schedule": [{"factor": factor}] * periods}}},
            False,
        )
    if kind == "march units":
        units = rng.choice([2, 50, 300, 1000])
        return (
            f"{units} one-vehicle march units",
            {"convoy": {"vehicles": units, "max_unit_vehicles": 1, "march_units": None}},
            False,
        )
    if kind == "positions":
        count = rng.choice([10, 100, 330])
        return (
            f"{count} defended positions",
            {
                "threats": {
                    "positions": [
                        {
                            "name": f"p{k}",
                            "road_km": k,
                            "vehicles_hit": {"dist": "integers", "low": 0, "high": 5},
                            "breach_h": 100,
                        }
                        for k in range(1, count + 1)
                    ]
                }
            },
            False,
        )
    airframes, endurance = rng.choice([1, 10, 100]), rng.choice([0.01, 1, 1000])
    return (
        f"{airframes} airframes of {endurance} h",
        {"drones": {"bases": {"gao": {"fleet": {"airframes": airframes, "endurance_h": endurance}}}}},
        False,
    )


DATE_FIELDS = [
    ("start",),
    ("documented", 0, "latest"),
    ("documented", 0, "earliest"),
    ("drones", "bases", "gao", "active_from"),
    ("halts", "holds", 0, "until"),
]
"""Dates of the baseline a case moves to an extreme year."""
EXTREME_YEARS = [1, 1000, 1899, 1900, 2199, 2200, 9999]


def date_case(rng: random.Random, base: dict[str, Any]) -> tuple[str, dict[str, Any], bool]:
    """A date moved to an extreme year: refused (file, line, field) outside 1900-2199, never an overflow."""
    usable = [p for p in DATE_FIELDS if _has(base, p)]
    path, year = rng.choice(usable), rng.choice(EXTREME_YEARS)
    when = datetime(year, 12, 30, 23, 59, 59) if year > 2000 else datetime(year, 1, 1, 0, 0, 0)
    data = _set(base, path, when)
    data["name"] = "fuzz"
    return f"{'.'.join(map(str, path))} in year {year}", data, not 1900 <= year <= 2199


def _has(tree: Any, path: tuple) -> bool:
    for key in path:
        try:
            tree = tree[key]
        except (KeyError, IndexError, TypeError):
            return False
    return True


BAD_TAGS = [
    ("name", "!!timestamp 'abc'"),
    ("name", "!!timestamp ''"),
    ("start", "!!timestamp '2023-13-45T99:00:00Z'"),
    ("horizon_days", "!!int 'x'"),
    ("horizon_days", "!!float 'y'"),
    ("horizon_days", "!!int '" + "9" * 5000 + "'"),
    ("convoy", "{move_by_night: !!bool maybe}"),
    ("horizon_days", "!!binary 'not base64 ***'"),
    ("horizon_days", "!!str 30"),
    ("horizon_days", "!!set {a, b}"),
    ("horizon_days", "!!omap [a, b]"),
    ("name", "!!null 'x'"),
    ("horizon_days", "!!timestamp 2023-10-02"),
    ("name", "!!python/name:os.system"),
]
"""A key and a tagged value: each must be refused on its line (a tag never builds a Python object)."""
CONTROL = ["\x07", "\x00", "\x1b", "\ufffe", "\x85"]


def tag_case(rng: random.Random) -> tuple[str, bytes, bool]:
    """A YAML tag with a value it cannot hold, a forbidden character, or a very long value."""
    k = rng.randrange(len(BAD_TAGS) + len(CONTROL) + 1)
    if k < len(BAD_TAGS):
        key, value = BAD_TAGS[k]
        named = "" if key == "name" else "name: x\n"
        return f"tag {key}: {value[:40]}", f"extends: baseline\n{named}{key}: {value}\n".encode(), True
    if k < len(BAD_TAGS) + len(CONTROL):
        char = CONTROL[k - len(BAD_TAGS)]
        body = f"extends: baseline\nname: x\ndescription: 'a{char}b'\n"
        return f"character {char!r}", body.encode("utf-8", "surrogatepass"), char not in ("\x85",)
    return "200,000-character number", b"extends: baseline\nname: x\nhorizon_days: " + b"9" * 200_000 + b"\n", True


def issue23_scenario_cases(rng: random.Random, n: int) -> list[Case]:
    base = _baseline()
    cases = []
    for _ in range(n):
        pick = rng.random()
        if pick < 0.4:
            label, changes, refuse = multiplier_case(rng)
            cases.append(
                Case(
                    "run",
                    f"multiplier: {label}",
                    ["run", "s.yaml", "-n", "2"],
                    {"s.yaml": _variant({"name": "fuzz", **changes})},
                    refuse,
                )
            )
        elif pick < 0.7:
            label, data, refuse = date_case(rng, base)
            cases.append(Case("run", f"date: {label}", ["run", "s.yaml", "-n", "2"], {"s.yaml": _yaml(data)}, refuse))
        else:
            label, body, refuse = tag_case(rng)
            cases.append(Case("run", label, ["run", "s.yaml", "-n", "2"], {"s.yaml": body}, refuse))
    return cases


def scenario_cases(rng: random.Random, n: int) -> list[Case]:
    base = _baseline()
    leaves = [(p, v) for p, v in _leaves(base) if p[0] not in ("name", "description", "montecarlo")]
    cases = [
        Case("run", f"attack: {label}", ["run", "s.yaml", "-n", "3"], {"s.yaml": body}, refuse)
        for label, body, refuse in ATTACKS
    ]
    cases += issue23_scenario_cases(rng, max(0, n - len(cases)) // 3)
    for option in BAD_OPTIONS:
        cases.append(Case("run", f"option {' '.join(option)}", ["run", "baseline", "-n", "3", *option], {}, True))
    lists = [(p, v) for p, v in _containers(base) if isinstance(v, list)]
    while len(cases) < n:
        if rng.random() < 0.15:
            path, items = rng.choice(lists)
            how = rng.choice(["empty", "reversed", "doubled", "2000 copies", "dropped"])
            changed = {
                "empty": [],
                "reversed": items[::-1],
                "doubled": items + items,
                "2000 copies": items[:1] * 2000,
                "dropped": items[1:],
            }[how]
            data = _set(base, path, changed)
            data["name"] = "fuzz"
            cases.append(
                Case("run", f"{'.'.join(map(str, path))} {how}", ["run", "s.yaml", "-n", "3"], {"s.yaml": _yaml(data)})
            )
            continue
        path, old = rng.choice(leaves)
        value = rng.choice(WRONG_KIND) if rng.random() < 0.4 else rng.choice(EXTREMES)
        data = _set(base, path, value)
        data["name"] = "fuzz"
        cases.append(
            Case(
                "run",
                f"{'.'.join(map(str, path))} = {value!r}",
                ["run", "s.yaml", "-n", "3"],
                {"s.yaml": _yaml(data)},
                wrong_kind(old, value),
            )
        )
    return cases[:n]


def wrong_kind(old: Any, value: Any) -> bool:
    """Whether `value` is of a kind that cannot stand where `old` stood (so must be refused)."""
    if isinstance(old, bool):
        return not isinstance(value, bool) and value is not None
    if isinstance(old, (int, float)):
        return isinstance(value, (bool, str, list, dict)) and value not in (".nan", ".inf", "-.inf")
    if isinstance(old, (datetime, date)):
        return isinstance(value, (bool, int, float, list, dict))
    return False


# --- experiment files -------------------------------------------------------------------------

SMALL_EXPERIMENT: dict[str, Any] = {
    "name": "fuzz",
    "scenario": "baseline",
    "replications": 2,
    "seed": 1,
    "parameters": {"drones.bases.gao.radius_km": {"levels": [100, 200]}},
}


def experiment_cases(rng: random.Random, n: int) -> list[Case]:
    mutations: list[tuple[str, Any, bool]] = [
        ("replications", True, True),
        ("replications", 10**12, True),
        ("replications", "2", True),
        ("parameters", {"convoy.vehicles": {"low": 10, "high": 20, "count": 10**9}}, True),
        (
            "parameters",
            {"threats.ambush.hazard_per_h": {"levels": [0.1, 0.1], "also": {"threats.ambush.halt_prob": [0.1, 0.9]}}},
            True,
        ),
        ("parameters", {"threats.ambush.hazard_per_h": {"levels": [True, 0.2]}}, True),
        ("parameters", {"nosuch.path": {"levels": [1, 2]}}, True),
        ("parameters", {"convoy.move_by_night": {"levels": [0, 1]}}, True),
        ("parameters", {}, True),
        ("design", {"kind": "sobol", "points": 10**9}, True),
        ("design", {"kind": "saltelli", "base_samples": 2**40}, True),
        ("design", "grid", True),
        ("name", "../../escape", True),
        ("scenario", "nosuch", True),
        ("seed", -1, True),
        ("seed", 1.5, True),
        ("outputs", ["nosuch"], True),
    ]
    twice = [
        ("route.waypoints.8.ambush_factor", "route.waypoints.Kidal.ambush_factor"),
        ("route.waypoints.0.terrain_factor", "route.waypoints.Gao.terrain_factor"),
        ("drones.bases.gao.radius_km", "drones.bases.gao.radius_km"),
    ]
    for a, b in twice[:2]:
        mutations.append(("parameters", {a: {"levels": [1, 2]}, b: {"levels": [1, 3]}}, True))
    mutations.append(
        (
            "parameters",
            {
                "route.waypoints.8.ambush_factor": {
                    "levels": [1, 2],
                    "also": {"route.waypoints.Kidal.ambush_factor": [1, 3]},
                }
            },
            True,
        )
    )
    cases = [
        Case("sweep", "not UTF-8", ["sweep", "e.yaml", "-o", "out"], {"e.yaml": b"name: x\xff\n"}, True),
        Case(
            "sweep",
            "--out on a user's folder",
            ["sweep", "e.yaml", "-o", "mine"],
            {"e.yaml": _yaml(SMALL_EXPERIMENT), "mine/summary.csv": b"my own numbers\n"},
            True,
        ),
    ]
    for key, value, refuse in mutations:
        data = dict(SMALL_EXPERIMENT, **{key: value})
        cases.append(
            Case("sweep", f"{key} = {value!r}"[:80], ["sweep", "e.yaml", "-o", "out"], {"e.yaml": _yaml(data)}, refuse)
        )
    while len(cases) < n:
        value = rng.choice(WRONG_KIND + EXTREMES)
        field_ = rng.choice(["levels", "low", "high", "count", "integer"])
        spec: dict[str, Any] = (
            {"levels": [100, 200]} if field_ in ("levels", "integer") else {"low": 100, "high": 200, "count": 2}
        )
        spec[field_] = value
        if field_ == "levels":
            refuse = not isinstance(value, list) or any(isinstance(v, (bool, str)) for v in value)
        elif field_ == "integer":
            refuse = not isinstance(value, bool) and value is not None
        else:
            refuse = isinstance(value, (bool, str, list, dict)) and value not in (".nan", ".inf", "-.inf")
        data = dict(SMALL_EXPERIMENT, parameters={"drones.bases.gao.radius_km": spec})
        cases.append(
            Case(
                "sweep",
                f"radius {field_} = {value!r}",
                ["sweep", "e.yaml", "-o", "out"],
                {"e.yaml": _yaml(data)},
                refuse,
            )
        )
    return cases[:n]


# --- calibrate --param ------------------------------------------------------------------------

CALIBRATE_SMALL = [
    "--budget",
    "4",
    "--population",
    "2",
    "--particle-replications",
    "1",
    "--check-replications",
    "2",
    "--max-generations",
    "1",
    "-o",
    "cal",
]


def calibrate_cases(rng: random.Random, n: int) -> list[Case]:
    fixed = [
        ("convoy.speed_kmh.median=", True),
        ("convoy.speed_kmh.median=a:b", True),
        ("=1:2", True),
        ("convoy.speed_kmh.median=20:3", True),
        ("convoy.speed_kmh.median=nan:5", True),
        ("convoy.move_by_night=0:1", True),
        ("route.waypoints=0:1", True),
        ("nosuch=1:2", True),
        ("convoy.speed_kmh=1:2", True),
        ("start=0:1", True),
        ("convoy.vehicles=1.5:3.5", True),
        ("drones.bases.gao.radius_km=100:300", False),
        ("convoy.vehicles=1e30:1e31", True),
        ("threats.ied.per_100km=0:1e308", True),
    ]
    fixed += [
        (f"convoy.speed_kmh.median=8:20 {option}", True)
        for option in (
            "--budget 0",
            "--population 1",
            "--quantile 1",
            "--distance nosuch",
            "--max-generations 0",
            "--method nosuch",
        )
    ]
    paths = [p for p, v in _leaves(_baseline()) if isinstance(v, (int, float)) and not isinstance(v, bool)]
    cases = [
        Case("calibrate", spec, ["calibrate", "baseline", *CALIBRATE_SMALL, "-p", *spec.split(" ")], {}, refuse)
        for spec, refuse in fixed
    ]
    for spec in degenerate_priors(rng, paths, max(4, n // 4)):
        cases.append(
            Case("calibrate", f"degenerate {spec}", ["calibrate", "baseline", "-p", spec, *CALIBRATE_SMALL], {}, True)
        )
    while len(cases) < n:
        path = ".".join(map(str, rng.choice(paths)))
        low, high = rng.choice(EXTREMES[:10]), rng.choice(EXTREMES[:10])
        spec = f"{path}={low}:{high}"
        cases.append(Case("calibrate", spec, ["calibrate", "baseline", "-p", spec, *CALIBRATE_SMALL], {}, high <= low))
    return cases[:n]


def degenerate_priors(rng: random.Random, paths: list[tuple], n: int) -> list[str]:
    """Ranges without spread: one float apart, subnormal, or narrower than a billionth of their value."""
    import math

    out = []
    for _ in range(n):
        path = ".".join(map(str, rng.choice(paths)))
        kind = rng.choice(["ulp", "subnormal", "tiny"])
        if kind == "ulp":
            low = rng.choice([0.5, 3.0, 20.0, 1e6])
            high = math.nextafter(low, math.inf)
        elif kind == "subnormal":
            low, high = rng.choice([(1e-320, 1e-310), (0.0, 5e-324), (1e-310, 2e-310)])
        else:
            low = rng.choice([1.0, 100.0])
            high = low * (1 + rng.choice([1e-12, 1e-15]))
        out.append(f"{path}={low!r}:{high!r}")
    return out


# --- damaged run folders ----------------------------------------------------------------------

DAMAGES: list[tuple[str, bool]] = [
    ("cell abc in replications.csv", True),
    ("cell abc in milestones.csv", True),
    ("renamed arrival_h column", True),
    ("replication 1e9 in milestones.csv", True),
    ("replication 1e9 in tracks.csv", True),
    ("start is a number", True),
    ("waypoints is a string", True),
    ("road_km has text", True),
    ("horizon_h is text", True),
    ("manifest is a list", True),
    ("manifest is not JSON", True),
    ("replications.csv missing", True),
    ("milestones.csv truncated", True),
    ("sources not UTF-8", True),
    ("comparison date garbage", True),
    ("incidents km text", True),
    ("track beyond the road", True),
    ("arrival before the start", True),
    ("scenario.resolved.yaml garbage", False),
    ("tracks.csv empty", False),
    ("figures already there", False),
    ("sweep: points.csv cell abc", True),
    ("sweep: summary mean abc", True),
    ("sweep: point 1e9", True),
    ("sweep: summary.csv missing", True),
    ("sweep: manifest only", True),
    ("sweep: undamaged", False),
    ("calibration: settings not JSON", True),
    ("calibration: history cell abc", True),
    ("calibration: population cell abc", True),
    ("calibration: negative weight", True),
    ("calibration: resumed", False),
    ("replications.csv without end_h", True),
    ("manifest start date only", False),
    ("manifest nested 100000 deep", True),
    ("comparison.csv 0 bytes", True),
    ("comparison.csv without p50", True),
    ("comparison p50 abc", True),
    ("replications.csv 0 bytes", True),
    ("manifest start year 9999 string", False),
    ("manifest start 200,000 characters", True),
    ("sweep: sobol.csv two columns", True),
    ("sweep: points.csv only point", True),
    ("sweep: points.csv 0 bytes", True),
    ("sweep: manifest nested 100000 deep", True),
    ("calibration: settings nested 100000 deep", True),
]
CALIBRATION = ["calibrate", "baseline", "-p", "convoy.speed_kmh.median=8:20", *CALIBRATE_SMALL]
"""The small calibration the damaged calibration folders come from (and resume with)."""


def damage(folder: Path, how: str) -> None:
    """Damage a copy of a run folder in one of the ways of DAMAGES."""

    def edit(name: str, old: str, new: str) -> None:
        p = folder / name
        p.write_text(p.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")

    def set_cell(name: str, row: int, col: int, value: str) -> None:
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        cells = lines[row].split(",")
        cells[col] = value
        lines[row] = ",".join(cells)
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))

    def set_manifest(key: str, value: Any) -> None:
        manifest[key] = value
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    def write(name: str, text: str) -> None:
        (folder / name).write_text(text, encoding="utf-8")

    sweep = folder.parent / "sweep"

    def drop_column(name: str, column: str) -> None:
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        k = lines[0].split(",").index(column)
        write(name, "\n".join(",".join(c for j, c in enumerate(line.split(",")) if j != k) for line in lines) + "\n")

    def set_column(name: str, column: str, value: str) -> None:
        set_cell(name, 1, (folder / name).read_text(encoding="utf-8").splitlines()[0].split(",").index(column), value)

    deep = "[" * 100_000 + "]" * 100_000
    actions = {
        "replications.csv without end_h": lambda: drop_column("replications.csv", "end_h"),
        "manifest start date only": lambda: set_manifest("start", manifest["start"][:10]),
        "manifest nested 100000 deep": lambda: write("manifest.json", deep),
        "comparison.csv 0 bytes": lambda: write("comparison.csv", ""),
        "comparison.csv without p50": lambda: drop_column("comparison.csv", "p50"),
        "comparison p50 abc": lambda: set_column("comparison.csv", "p50", "abc"),
        "replications.csv 0 bytes": lambda: write("replications.csv", ""),
        "manifest start year 9999 string": lambda: set_manifest("start", "9999-12-30T00:00:00Z"),
        "manifest start 200,000 characters": lambda: set_manifest("start", "2" * 200_000),
        "sweep: sobol.csv two columns": lambda: write("../sweep/sobol.csv", "parameter,output\nx,arrival_h.Kidal\n"),
        "sweep: points.csv only point": lambda: write("../sweep/points.csv", "point\n0\n1\n"),
        "sweep: points.csv 0 bytes": lambda: write("../sweep/points.csv", ""),
        "sweep: manifest nested 100000 deep": lambda: write("../sweep/manifest.json", deep),
        "calibration: settings nested 100000 deep": lambda: (folder.parent / "cal" / "calibration.json").write_text(
            deep
        ),
        "sweep: points.csv cell abc": lambda: set_cell("../sweep/points.csv", 1, 1, "abc"),
        "sweep: summary mean abc": lambda: _mean_cell(sweep, "abc"),
        "sweep: point 1e9": lambda: set_cell("../sweep/points.csv", 1, 0, "1000000000"),
        "sweep: summary.csv missing": lambda: (sweep / "summary.csv").unlink(),
        "sweep: manifest only": lambda: [
            p.unlink() for p in sweep.iterdir() if p.is_file() and p.name != "manifest.json"
        ],
        "sweep: undamaged": lambda: None,
        "calibration: settings not JSON": lambda: (folder.parent / "cal" / "calibration.json").write_text("{oops"),
        "calibration: history cell abc": lambda: set_cell("../cal/history.csv", 1, 1, "abc"),
        "calibration: population cell abc": lambda: set_cell("../cal/generations/population-000.csv", 1, 3, "abc"),
        "calibration: negative weight": lambda: set_cell("../cal/generations/population-000.csv", 1, 1, "-1"),
        "calibration: resumed": lambda: None,
        "cell abc in replications.csv": lambda: set_cell("replications.csv", 1, 3, "abc"),
        "cell abc in milestones.csv": lambda: set_cell("milestones.csv", 2, 2, "abc"),
        "renamed arrival_h column": lambda: edit("milestones.csv", "arrival_h", "arrival_hours"),
        "replication 1e9 in milestones.csv": lambda: set_cell("milestones.csv", 1, 0, "1000000000"),
        "replication 1e9 in tracks.csv": lambda: set_cell("tracks.csv", 1, 0, "1000000000"),
        "start is a number": lambda: set_manifest("start", 0),
        "waypoints is a string": lambda: set_manifest("waypoints", "Gao"),
        "road_km has text": lambda: set_manifest("road_km", ["a"] * len(manifest["road_km"])),
        "horizon_h is text": lambda: set_manifest("horizon_h", "long"),
        "manifest is a list": lambda: write("manifest.json", "[1, 2]"),
        "manifest is not JSON": lambda: write("manifest.json", "{oops"),
        "replications.csv missing": lambda: (folder / "replications.csv").unlink(),
        "milestones.csv truncated": lambda: write(
            "milestones.csv", (folder / "milestones.csv").read_text(encoding="utf-8")[:300]
        ),
        "sources not UTF-8": lambda: next((folder / "sources").iterdir()).write_bytes(b"\xff\xfe\x00bad"),
        "comparison date garbage": lambda: set_cell("comparison.csv", 1, 1, "yesterday"),
        "incidents km text": lambda: set_cell("incidents.csv", 1, 4, "far"),
        "track beyond the road": lambda: set_cell("tracks.csv", 2, 2, "1e9"),
        "arrival before the start": lambda: set_cell("milestones.csv", 2, 2, "-50"),
        "scenario.resolved.yaml garbage": lambda: write("scenario.resolved.yaml", "name: [unclosed\n"),
        "tracks.csv empty": lambda: write("tracks.csv", ""),
        "figures already there": lambda: (
            (folder / "figures").mkdir(exist_ok=True),
            (folder / "figures" / "old.png").write_bytes(b"x"),
        ),
    }
    actions[how]()


def _mean_cell(sweep: Path, value: str) -> None:
    lines = (sweep / "summary.csv").read_text(encoding="utf-8").splitlines()
    k = lines[0].split(",").index(next(c for c in lines[0].split(",") if c.endswith("_mean")))
    cells = lines[1].split(",")
    cells[k] = value
    lines[1] = ",".join(cells)
    (sweep / "summary.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def folder_cases(rng: random.Random, n: int) -> list[Case]:
    cases = []
    while len(cases) < n:
        how, refuse = DAMAGES[len(cases) % len(DAMAGES)]
        command = rng.choice(["plot", "report", "animate"])
        refuse = refuse and not (command == "animate" and how in ("incidents km text",))
        if how.startswith("sweep"):
            command = rng.choice(["plot", "report"])
        target = "sweep" if how.startswith("sweep") else "run"
        argv = CALIBRATION if how.startswith("calibration") else [command, target]
        cases.append(Case("folders", f"{argv[0]}: {how}", argv, {}, refuse, folder_damage=how))
    return cases


def make_run_folder(where: Path) -> Path:
    """A small real run folder to damage (3 replications of the baseline)."""
    from convoysim.commands.cli import main

    where.mkdir(parents=True, exist_ok=True)
    cwd = os.getcwd()
    os.chdir(where)
    try:
        (where / "e.yaml").write_bytes(_yaml(SMALL_EXPERIMENT))
        with contextlib.redirect_stdout(io.StringIO()):
            main(["run", "baseline", "-n", "3", "-o", "run"], standalone_mode=False)
            main(["sweep", "e.yaml", "-o", "sweep"], standalone_mode=False)
            with contextlib.redirect_stderr(io.StringIO()):
                main(CALIBRATION, standalone_mode=False)
    finally:
        os.chdir(cwd)
    return where / "run"


def cases_for(command: str, rng: random.Random, n: int) -> list[Case]:
    return {"run": scenario_cases, "sweep": experiment_cases, "calibrate": calibrate_cases, "folders": folder_cases}[
        command
    ](rng, n)


# --- the forked runner ------------------------------------------------------------------------


def run_case(
    case: Case, root: Path, run_folder: Path | None = None, timeout_s: float = 60.0, memory_mb: int = 2_000
) -> Outcome:
    """Run one case through `convoysim.commands.cli.main` in a forked child, in `root/work`, with
    its address space capped at `memory_mb` and killed after `timeout_s`; report what happened."""
    from convoysim.commands.cli import main

    if root.exists():
        shutil.rmtree(root)
    work = root / "a" / "b" / "c" / "work"
    """Deep inside `root`, so a path that climbs out of the working folder still lands in `root`."""
    work.mkdir(parents=True)
    for name, body in case.files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_bytes(body)
    if case.folder_damage is not None:
        assert run_folder is not None, "folder cases need a run folder to damage"
        shutil.copytree(run_folder, work / "run")
        shutil.copytree(run_folder.parent / "sweep", work / "sweep")
        shutil.copytree(run_folder.parent / "cal", work / "cal")
        damage(work / "run", case.folder_damage)
    escape_probe = Path("/tmp/convoysim-fuzz-escaped")
    before = escape_probe.exists()
    err_path = root / "stderr.txt"
    started = time.monotonic()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 99
        try:
            os.chdir(work)
            os.setsid()
            limit = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(err, 2)
            sys.stdout = open(1, "w", closefd=False)  # under pytest, sys.std* are capture objects
            sys.stderr = open(2, "w", closefd=False)
            os.environ["COLUMNS"] = "200"
            try:
                main(case.argv, prog_name="convoysim", standalone_mode=True)
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
            except BaseException:  # noqa: BLE001 - report, as the real program would show it
                import traceback

                traceback.print_exc()
                code = 98
            sys.stderr.flush()
        finally:
            os._exit(code)
    timed_out = False
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - started > timeout_s:
            timed_out = True
            os.killpg(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            break
        time.sleep(0.01)
    seconds = time.monotonic() - started
    stderr = err_path.read_text(encoding="utf-8", errors="replace") if err_path.exists() else ""
    escaped = [
        str(p.relative_to(root))
        for p in root.rglob("*")
        if not p.is_relative_to(work) and not work.is_relative_to(p) and p != err_path
    ]
    if escape_probe.exists() and not before:
        escaped.append(str(escape_probe))
        shutil.rmtree(escape_probe, ignore_errors=True)
    if case.command == "sweep" and "mine/summary.csv" in case.files:
        if (work / "mine" / "summary.csv").read_bytes() != case.files["mine/summary.csv"]:
            escaped.append("mine/summary.csv overwritten")
    code = os.waitstatus_to_exitcode(status)
    sig = -code if code < 0 and not timed_out else None
    return Outcome(case, None if code < 0 else code, stderr, seconds, timed_out, sig, escaped)
