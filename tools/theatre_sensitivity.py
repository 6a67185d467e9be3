"""Which theatre values the corpus can inform: Sobol indices of the corpus's relative CRPS.

    python tools/theatre_sensitivity.py --base-samples 64 --replications 10 --plot -o results/theatre-sensitivity

A Saltelli design over 16 values of the Sahel theatre (`theatre.` paths into
theatres/sahel.yaml, each over a range drawn from the planning figures and the corpus, see
DEFAULT_PARAMETERS). At each design point every corpus convoy is re-resolved with those values
(`apply_values` on its own file, so a theatre value reaches every convoy that uses it) and run with
its own seed at every point (common random numbers: the points differ only by the theatre), then
scored as `convoysim validate corpus` scores it (`corpus_summary`). The output whose indices are
ranked is the corpus's **mean relative CRPS** (CRPS of each march's duration over its documented
duration, averaged over the convoys); the median relative CRPS and each convoy's own relative CRPS
get indices too (sobol.csv), so that a parameter that moves one convoy only is seen as such.

A parameter with a total index (ST) near zero does not move the corpus's score over its range: the
corpus cannot inform it, and a calibration should leave it at its prior or flag it. The `convoys`
column counts the corpus convoys whose resolved scenario a parameter changes at all.

Writes sobol.csv (every output), ranking.csv (the printed table), points.csv (the design and each
point's scores) and, with --plot, sobol.png.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from convoysim.calibration.validation import corpus_files, corpus_summary, validate
from convoysim.runs.extras import MissingExtra
from convoysim.runs.pool import LocalExecutor
from convoysim.scenario.loading import ScenarioError, ScenarioSource, build_scenario, read_source
from convoysim.scenario.paths import ParameterPathError, apply_values, full_tree
from convoysim.scenario.schema import Scenario
from convoysim.studies.designs import Saltelli
from convoysim.studies.experiments import Parameter
from convoysim.studies.sensitivity import sobol_rows

MEAN = "mean_relative_crps"
"""The ranked output: the corpus's relative CRPS averaged over its convoys."""
MEDIAN = "median_relative_crps"
"""The corpus summary's own figure, less swayed by one far-off convoy."""


@dataclass(frozen=True)
class TheatreParameter:
    """A theatre value to vary over [low, high], and where the range comes from."""

    path: str
    low: float
    high: float
    why: str = ""


DEFAULT_PARAMETERS = (
    TheatreParameter(
        "theatre.kinds.logistics.speed_kmh.median",
        12,
        30,
        "20 km/h assumed; route clearance ~19 km/h to 40 km/h safe on sand (planning)",
    ),
    TheatreParameter("theatre.kinds.combat.speed_kmh.median", 12, 30, "as logistics"),
    TheatreParameter("theatre.kinds.escorted_civilian.speed_kmh.median", 10, 28, "18 km/h assumed, same spread"),
    TheatreParameter("theatre.kinds.un.speed_kmh.median", 12, 30, "control: no corpus convoy is a UN convoy"),
    TheatreParameter("theatre.roads.paved.speed_factor", 1.5, 3.0, "2.25 assumed; 30-60 km/h over a track's 20"),
    TheatreParameter("theatre.roads.laterite.speed_factor", 1.0, 2.0, "1.5 assumed; between track and tarmac"),
    TheatreParameter(
        "theatre.kinds.logistics.march_windows.0.to_h",
        14,
        19,
        "16 h UTC: about 10 h of driving from dawn (Sahel practice), 8 to 13 h",
    ),
    TheatreParameter(
        "theatre.kinds.logistics.rest_halts.each_min", 5, 30, "10 min every 2 h (planning) to a meal halt"
    ),
    TheatreParameter(
        "theatre.threats.high.ied_per_100km", 0.0, 0.5, "0.15; the corpus's rule-of-three bound 0.17, times three"
    ),
    TheatreParameter(
        "theatre.threats.high.ambush_per_h", 0.0, 0.02, "0.005; the corpus's rule-of-three bound 0.02 an hour"
    ),
    TheatreParameter(
        "theatre.threats.high.clearance_speed_factor", 0.4, 1.0, "0.7 assumed; opposed level's 0.5 to no slowing"
    ),
    TheatreParameter(
        "theatre.threats.opposed.ied_per_100km", 0.3, 3.0, "1.0 assumed; the joint fit on the 2023 march gave 2.93"
    ),
    TheatreParameter(
        "theatre.kinds.logistics.ied_delay_h.mode", 1, 6, "3 h assumed; the triangular's own low and high"
    ),
    TheatreParameter("theatre.kinds.logistics.regroup_h.mode", 2, 24, "6 h assumed; the triangular's own low and high"),
    TheatreParameter(
        "theatre.threats.mined.clearance_km_per_day",
        4.0,
        7.0,
        "5.6 (corpus: bf-djibo-2023, 4.5 to 5.6 km a day by the two readings), widened",
    ),
    TheatreParameter(
        "theatre.kinds.logistics.breakdowns.mean_km_between_failures",
        1500,
        8000,
        "4,180 km (MIL-T-46780D); worn fleet to twice the specification",
    ),
)


@dataclass(frozen=True)
class Convoy:
    """One corpus convoy: its file (to re-resolve on new theatre values) and its scenario as shipped."""

    source: ScenarioSource
    scenario: Scenario

    @property
    def seed(self) -> int:
        return self.scenario.montecarlo.seed


def load_corpus(corpus: str | Path, only: Sequence[str] = ()) -> list[Convoy]:
    """The convoys of a corpus (a folder, a corpus file or the shipped `corpus`), or only the named
    ones; raises ScenarioError for a corpus or a name that is not there."""
    files = corpus_files(corpus)
    if files is None:
        raise ScenarioError(str(corpus), "not a corpus (a folder of scenarios, or a file with a corpus: list)")
    convoys = []
    for file in files:
        source = read_source(file)
        convoys.append(Convoy(source, build_scenario(source)))
    if only:
        known = {c.scenario.name for c in convoys}
        missing = [n for n in only if n not in known]
        if missing:
            raise ScenarioError(str(corpus), f"no convoy named {missing[0]} (it has {', '.join(sorted(known))})")
        convoys = [c for c in convoys if c.scenario.name in only]
    return convoys


def _without_theatre(tree: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in tree.items() if k != "theatre"}


def reach(convoys: Sequence[Convoy], parameters: Sequence[TheatreParameter]) -> dict[str, list[str]]:
    """Per parameter, the convoys whose resolved scenario changes between its low and high: a value
    no convoy uses cannot be informed by the corpus, whatever the indices say. Raises
    ParameterPathError or ScenarioError (naming the convoy's file) for a path or value a convoy rejects."""
    out: dict[str, list[str]] = {}
    for p in parameters:
        out[p.path] = []
        for c in convoys:
            low, high = (
                _without_theatre(full_tree(apply_values(c.source, {p.path: v}, c.scenario))) for v in (p.low, p.high)
            )
            if low != high:
                out[p.path].append(c.scenario.name)
    return out


def corpus_scores(shared: tuple[Sequence[Convoy], int], values: Mapping[str, float]) -> dict[str, float]:
    """The corpus's scores with the theatre `values` set: the mean and median relative CRPS and each
    convoy's, each convoy run at `replications` with its own seed (the same at every point)."""
    convoys, replications = shared
    validations = [
        validate(apply_values(c.source, values, c.scenario), replications=replications, seed=c.seed, workers=1)
        for c in convoys
    ]
    summary = corpus_summary(validations)
    relative = [r.relative_crps for r in summary.rows]
    return {
        MEAN: float(np.mean(relative)),
        MEDIAN: summary.median_relative_crps,
        **{r.name: r.relative_crps for r in summary.rows},
    }


MOVES = 0.05
"""A parameter moves a convoy when its total effect on that convoy's relative CRPS has a standard
deviation of at least this, sqrt(ST x variance): a large share of a variance that is itself nil
(a march the parameter barely changes) is no information."""


@dataclass
class SensitivityResult:
    parameters: tuple[TheatreParameter, ...]
    settings: list[dict[str, float]]
    """Per design point, path -> value, in the Saltelli design's order."""
    scores: list[dict[str, float]]
    """Per design point, output -> score: MEAN, MEDIAN and each convoy's relative CRPS."""
    sobol: list[dict[str, Any]]
    """One row per output and parameter: S1, S1_conf, ST, ST_conf (95 % bootstrap half-widths)."""
    reach: dict[str, list[str]]
    base_samples: int
    replications: int
    wall_s: float
    cpu_s: float

    @property
    def convoys(self) -> int:
        return len(self.scores[0]) - 2

    @property
    def runs(self) -> int:
        """Convoy replications simulated in all."""
        return len(self.settings) * self.convoys * self.replications

    def index(self, output: str, parameter: str) -> dict[str, Any]:
        return next(r for r in self.sobol if r["output"] == output and r["parameter"] == parameter)

    def moved(self, parameter: str) -> list[tuple[str, float]]:
        """The convoys whose relative CRPS the parameter moves (total effect's sd >= MOVES), most first."""
        effects = []
        for name in self.reach[parameter]:
            variance = float(np.var([s[name] for s in self.scores]))
            effects.append((name, math.sqrt(max(self.index(name, parameter)["ST"], 0.0) * variance)))
        return sorted(((n, e) for n, e in effects if e >= MOVES), key=lambda t: -t[1])

    def ranking(self, output: str = MEAN) -> list[dict[str, Any]]:
        """The table: one row per parameter, ranked by total index (ST) of `output`."""
        rows = []
        for p in self.parameters:
            r, median = self.index(output, p.path), self.index(MEDIAN, p.path)
            moved = self.moved(p.path)
            rows.append(
                {
                    **r,
                    "low": p.low,
                    "high": p.high,
                    "convoys": len(self.reach[p.path]),
                    "ST_median": median["ST"],
                    "ST_median_conf": median["ST_conf"],
                    "moves": len(moved),
                    "moved": " ".join(f"{n}:{e:.2f}" for n, e in moved),
                }
            )
        return sorted(rows, key=lambda r: -r["ST"] if math.isfinite(r["ST"]) else 0.0)


def indices(
    parameters: Sequence[TheatreParameter], scores: Sequence[Mapping[str, float]], seed: int, bootstrap: int
) -> list[dict[str, Any]]:
    """Sobol rows of every output (the design points' scores, in design order)."""
    ranges = {p.path: Parameter(low=p.low, high=p.high) for p in parameters}
    outputs = {name: [s[name] for s in scores] for name in scores[0]}
    return sobol_rows(ranges, outputs, second_order=False, bootstrap=bootstrap, seed=seed)


def theatre_sensitivity(
    convoys: Sequence[Convoy],
    parameters: Sequence[TheatreParameter],
    base_samples: int,
    replications: int,
    seed: int = 20,
    bootstrap: int = 200,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> SensitivityResult:
    """Sobol indices (first order and total) of the corpus's relative CRPS over `parameters`, from a
    Saltelli design of `base_samples` * (k + 2) points, each scoring every convoy at `replications`."""
    parameters = tuple(parameters)
    if len(parameters) < 2:
        raise ValueError("a Sobol analysis needs at least two parameters")
    ranges = {p.path: Parameter(low=p.low, high=p.high) for p in parameters}
    informed = reach(convoys, parameters)
    matrix = Saltelli(base_samples).sample(ranges, seed)
    settings = [dict(zip(ranges, map(float, row))) for row in matrix]
    wall, cpu = time.perf_counter(), time.process_time()
    scores: list[dict[str, float]] = []
    on_result = (lambda k, _: progress(k + 1, len(settings))) if progress else None
    with LocalExecutor(workers).pool((tuple(convoys), replications)) as pool:
        scores.extend(pool.map(corpus_scores, settings, on_result))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rows = indices(parameters, scores, seed, bootstrap)
    return SensitivityResult(parameters, settings, scores, rows, informed, base_samples, replications, wall, cpu)


def reanalysed(folder: Path, corpus: str | Path, seed: int, bootstrap: int) -> SensitivityResult:
    """A finished run's indices again from its points.csv and run.json (another bootstrap, another
    table) without simulating; raises ValueError for a folder that is not such a run."""
    try:
        meta = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        with (folder / "points.csv").open(encoding="utf-8", newline="") as fh:
            points = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]
        parameters = tuple(TheatreParameter(**p) for p in meta["parameters"])
        paths = [p.path for p in parameters]
        settings = [{k: row[k] for k in paths} for row in points]
        scores = [{k: v for k, v in row.items() if k not in paths and k != "point"} for row in points]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{folder}: not a finished theatre_sensitivity run ({err})") from None
    convoys = load_corpus(corpus, meta["convoys"])
    return SensitivityResult(
        parameters,
        settings,
        scores,
        indices(parameters, scores, seed, bootstrap),
        reach(convoys, parameters),
        meta["base_samples"],
        meta["replications"],
        meta["wall_s"],
        meta["cpu_s"],
    )


def parse_parameter(text: str) -> TheatreParameter:
    """PATH=LOW:HIGH, as `convoysim calibrate --param` takes it."""
    path, sep, bounds = text.partition("=")
    low, sep2, high = bounds.partition(":")
    try:
        if not (sep and sep2 and path.strip()):
            raise ValueError
        p = TheatreParameter(path.strip(), float(low), float(high), "given")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected PATH=LOW:HIGH with two numbers") from None
    if not p.path.startswith("theatre."):
        raise argparse.ArgumentTypeError(f"{text!r}: a theatre value's path starts with 'theatre.'")
    if not (math.isfinite(p.low) and math.isfinite(p.high) and p.high > p.low):
        raise argparse.ArgumentTypeError(f"{text!r}: HIGH must be a finite number above LOW")
    return p


RANKING_COLUMNS = [
    "parameter", "low", "high", "convoys", "S1", "S1_conf", "ST", "ST_conf", "ST_median", "ST_median_conf", "moves",
    "moved",
]  # fmt: skip


def write_outputs(result: SensitivityResult, out: Path) -> None:
    """sobol.csv, ranking.csv, points.csv and run.json (what reanalysed needs) in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / "sobol.csv", list(result.sobol[0]), result.sobol)
    _write_csv(out / "ranking.csv", RANKING_COLUMNS, result.ranking())
    points = [{"point": k, **s, **v} for k, (s, v) in enumerate(zip(result.settings, result.scores))]
    _write_csv(out / "points.csv", list(points[0]), points)
    meta = {
        "parameters": [vars(p) for p in result.parameters],
        "convoys": [k for k in result.scores[0] if k not in (MEAN, MEDIAN)],
        "base_samples": result.base_samples,
        "replications": result.replications,
        "runs": result.runs,
        "wall_s": result.wall_s,
        "cpu_s": result.cpu_s,
    }
    (out / "run.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def _write_csv(path: Path, columns: list[str], rows: Sequence[Mapping[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def ranking_text(result: SensitivityResult) -> str:
    """The printed table: parameter, range, convoys it reaches, S1 and ST of the mean relative CRPS
    and ST of the median with their 95 % half-widths, and the convoys it moves (the first three)."""
    lines = [
        f"{'parameter':<52} {'range':>13} {'reach':>5} {'S1 (mean)':>13} {'ST (mean)':>13} {'ST (median)':>13} "
        f"moves (sd of a convoy's relative CRPS >= {MOVES})",
        "-" * 150,
    ]
    for r in result.ranking():
        short = r["parameter"].removeprefix("theatre.")
        moved = r["moved"].split()
        shown = " ".join(moved[:3]) + (f" +{len(moved) - 3}" if len(moved) > 3 else "")
        lines.append(
            f"{short:<52} {r['low']:>6g}-{r['high']:<6g} {r['convoys']:>5} "
            f"{r['S1']:>6.3f}±{r['S1_conf']:<6.3f} {r['ST']:>6.3f}±{r['ST_conf']:<6.3f} "
            f"{r['ST_median']:>6.3f}±{r['ST_median_conf']:<6.3f} {r['moves']:>2} {shown}"
        )
    return "\n".join(lines)


def _simulated(args: argparse.Namespace, parameters: Sequence[TheatreParameter]) -> SensitivityResult:
    convoys = load_corpus(args.corpus, args.convoy)
    k = len(parameters)
    points = args.base_samples * (k + 2)
    print(
        f"{len(convoys)} convoy(s), {k} parameters, N={args.base_samples}: {points} points x "
        f"{args.replications} replications per convoy = {points * len(convoys) * args.replications} runs",
        file=sys.stderr,
    )
    step = max(1, points // 20)

    def progress(done: int, total: int) -> None:
        if done % step == 0 or done == total:
            print(f"  {done}/{total} points", file=sys.stderr, flush=True)

    return theatre_sensitivity(
        convoys, parameters, args.base_samples, args.replications, args.seed, args.bootstrap, args.workers, progress
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument(
        "--corpus", default="corpus", help="a folder of scenarios or a corpus file (default: shipped corpus)"
    )
    parser.add_argument("--convoy", action="append", default=[], help="only this convoy (by name); repeat for more")
    parser.add_argument(
        "--param",
        "-p",
        action="append",
        type=parse_parameter,
        default=[],
        metavar="PATH=LOW:HIGH",
        help="a theatre value to vary instead of the default set; repeat for each (at least two)",
    )
    parser.add_argument("--base-samples", "-n", type=int, default=64, help="Saltelli N: N*(k+2) points (power of two)")
    parser.add_argument("--replications", "-r", type=int, default=10, help="replications per convoy and point")
    parser.add_argument("--seed", type=int, default=20, help="seed of the design and of the bootstrap")
    parser.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples for the confidence intervals")
    parser.add_argument("--workers", type=int, default=1, help="local worker processes over design points")
    parser.add_argument("--out", "-o", type=Path, default=Path("results/theatre-sensitivity"), help="output folder")
    parser.add_argument("--plot", action="store_true", help="also draw sobol.png (S1 and ST bars, ranked)")
    parser.add_argument(
        "--from-points",
        type=Path,
        metavar="DIR",
        help="re-analyse a finished run's points.csv and run.json (new bootstrap, new table) without simulating",
    )
    args = parser.parse_args(argv)
    for name in ("base_samples", "replications", "bootstrap", "workers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    parameters = args.param or list(DEFAULT_PARAMETERS)
    try:
        if args.from_points is not None:
            result = reanalysed(args.from_points, args.corpus, args.seed, args.bootstrap)
        else:
            result = _simulated(args, parameters)
    except (ScenarioError, ParameterPathError, ValueError, MissingExtra) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    write_outputs(result, args.out)
    print(ranking_text(result))
    print(
        f"\noutput: mean relative CRPS over {result.convoys} convoys (ST of the median beside it); "
        f"N={result.base_samples}, {len(result.settings)} points, {result.runs} convoy replications; "
        f"wall {result.wall_s:.0f} s, "
        f"CPU {result.cpu_s:.0f} s (this process, not its workers); 95 % bootstrap half-widths; tables in {args.out}"
    )
    if args.plot:
        from convoysim.figures.style import save, slide_style
        from convoysim.figures.sweep import sobol_bars

        rows = [{**r, "parameter": r["parameter"].removeprefix("theatre.")} for r in result.sobol]
        with slide_style():
            figure = save(
                sobol_bars(SimpleNamespace(name="theatre over the corpus", sobol=rows), MEAN), args.out / "sobol", "png"
            )
        print(f"figure: {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
