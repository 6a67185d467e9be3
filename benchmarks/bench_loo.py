"""The leave-one-convoy-out approximation against a true refit (issue 20, section 2).

Fits the theatre to the whole corpus (the priors of tools/calibrate_corpus.sh, read from it, at a
reduced budget stated below), forms the posterior without convoy j by re-weighting the last
generation's proposals (calibration.loo), then refits from scratch without convoy j with the same
settings and seed, for two convoys. Reports, per parameter, both posteriors' medians and 80 %
intervals, and convoy j's out-of-sample scores (inside the 80 % interval, relative CRPS, PIT) from
each, the prediction drawing the same replication seeds from both.

    python benchmarks/bench_loo.py [--convoys bk-tombouctou-2021 ne-tera-niamey-2023] [--budget 1200]
        [--population 100] [--replications 3] [--workers 2] [--out results/bench-loo.json]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import time
from pathlib import Path

from convoysim.calibration.abc import AbcSettings, CalibrationProblem, PoolEvaluator, run_abc_smc
from convoysim.calibration.loo import DRAWS, leave_one_out, predictive_draws, predictive_validation
from convoysim.calibration.priors import check_priors, parse_param
from convoysim.calibration.validation import corpus_files, corpus_row
from convoysim.scenario.loading import build_scenario, read_source

TOOL = Path(__file__).resolve().parent.parent / "tools" / "calibrate_corpus.sh"


def corpus_problem(files: list[Path], specs: list[str], replications: int) -> CalibrationProblem:
    members = [(s, build_scenario(s)) for s in (read_source(f) for f in files)]
    (source, base), others = members[0], tuple(members[1:])
    priors = check_priors(source, base, [parse_param(p) for p in specs], others)
    return CalibrationProblem(source, base, tuple(priors), replications, "relative", others)


def interval(row: dict) -> str:
    return f"{row['median']:.4g} [{row['ci80_low']:.4g}, {row['ci80_high']:.4g}]"


def score(row) -> dict:
    return {"inside": row.inside, "relative_crps": row.relative_crps, "pit": row.pit, "p50_h": row.p50_h}


def cpu_s() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--convoys", nargs="+", default=["bk-tombouctou-2021", "ne-tera-niamey-2023"])
    parser.add_argument("--budget", type=int, default=1200, help="evaluations per fit (default 1200)")
    parser.add_argument("--population", type=int, default=100)
    parser.add_argument("--replications", type=int, default=3, help="replications per particle")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--draws", type=int, default=DRAWS, help="predictive draws per convoy")
    parser.add_argument("--out", type=Path, default=Path("results/bench-loo.json"))
    args = parser.parse_args()
    from convoysim.calibration.abc import posterior_summary

    specs = re.findall(r"--param (\S+)", TOOL.read_text(encoding="utf-8"))
    files = corpus_files("corpus")
    settings = AbcSettings(seed=args.seed, population_size=args.population, budget=args.budget, max_generations=10)
    problem = corpus_problem(files, specs, args.replications)
    print(
        f"{len(specs)} theatre parameters, {len(files)} convoys; each fit: {args.budget} evaluations, "
        f"{args.population} particles, {args.replications} replications per particle, seed {args.seed}"
    )
    wall, cpu = time.perf_counter(), cpu_s()
    with PoolEvaluator(problem, args.workers) as pool:
        full = run_abc_smc(problem, settings, pool)
        loo = leave_one_out(problem, full.posterior.proposals, problem.priors, pool, args.seed, args.draws)
    print(
        f"full fit: {full.stop_reason}; {(time.perf_counter() - wall) / 60:.1f} min wall, "
        f"{(cpu_s() - cpu) / 60:.1f} min CPU"
    )
    report = {"settings": vars(args) | {"out": str(args.out)}, "specs": specs, "convoys": {}}
    names = problem.names
    for name in args.convoys:
        k = names.index(name)
        rest = [f for f in files if build_scenario(read_source(f)).name != name]
        refit_problem = corpus_problem(rest, specs, args.replications)
        t0, c0 = time.perf_counter(), cpu_s()
        with PoolEvaluator(refit_problem, args.workers) as pool:
            refit = run_abc_smc(refit_problem, settings, pool)
        with PoolEvaluator(problem, args.workers) as pool:
            draws = predictive_draws(refit.posterior, k, args.draws, args.seed)
            (records,) = pool.predictive([(k, draws)])
        refit_row = corpus_row(predictive_validation(problem, k, records, args.seed))
        approx = loo.convoys[k]
        approx_row = loo.out_of_sample.rows[k]
        refit_summary = posterior_summary(refit.posterior, refit_problem.priors)
        print(
            f"\n{name} left out (refit: {refit.stop_reason}; {(time.perf_counter() - t0) / 60:.1f} min wall, "
            f"{(cpu_s() - c0) / 60:.1f} min CPU); re-weighted ESS {approx.posterior.ess:.0f} of {args.population}"
        )
        print(f"  {'parameter':58} {'re-weighted median [80%]':>30} {'true refit median [80%]':>30}")
        for a, b in zip(approx.summary, refit_summary):
            print(f"  {a['parameter']:58} {interval(a):>30} {interval(b):>30}")
        for label, row in (("re-weighted", approx_row), ("true refit", refit_row)):
            print(
                f"  out of sample from the {label} posterior: inside {'yes' if row.inside else 'no'}, "
                f"relative CRPS {row.relative_crps:.3f}, PIT {row.pit:.2f}, median {row.p50_h:.1f} h "
                f"(documented {row.documented_h:.1f} h)"
            )
        report["convoys"][name] = {
            "reweighted": {"ess": approx.posterior.ess, "posterior": approx.summary, "score": score(approx_row)},
            "refit": {"posterior": refit_summary, "score": score(refit_row), "stop_reason": refit.stop_reason},
        }
    report["full"] = {"stop_reason": full.stop_reason, "posterior": posterior_summary(full.posterior, problem.priors)}
    report["wall_s"], report["cpu_s"] = time.perf_counter() - wall, cpu_s() - cpu
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=float) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.out}; {report['wall_s'] / 60:.1f} min wall, {report['cpu_s'] / 60:.1f} min CPU in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
