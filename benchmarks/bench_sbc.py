"""Simulation-based calibration of `convoysim calibrate` (Talts et al. 2018): are its 80 % credible
intervals honest?

    nice python benchmarks/bench_sbc.py --truths 50 --budget 1000 --population 100 \
        --scenario menaka-2018 --out results/sbc
    python benchmarks/bench_sbc.py --scenario baseline-uncalibrated --scenario menaka-2018 \
        --param convoy.speed_kmh.median=3:30 --param baseline-uncalibrated:halts.pauses.0.duration_h.mode=96:168

For each of --truths synthetic truths: draw the parameters from their priors, let the model write
the documents of a synthetic convoy on each --scenario's route (one replication's documented dates
and counts, each as a window as wide as the real one with the truth at a random place inside),
fit them as `convoysim calibrate` does (`CalibrationRun`: ABC-SMC with the given budget, one
worker), and record where each true value falls in its posterior. Several --scenario make a joint
fit, as `convoysim calibrate A B` does (so a corpus of convoys can be given).

Prints per parameter the share of truths inside their 80 % credible interval (target 70-90 %), the
chi-square p-value of the rank histogram against a flat one (small: not flat) and the mean
squared standardised error (about 1 when calibrated); writes `sbc_ranks.csv` (one row per truth
and parameter), `sbc_summary.csv` and `sbc_ranks.png` (the rank histograms) to --out. The budget
is reduced against a real fit (stated in the output): SBC tests the procedure at that budget.
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import time
from pathlib import Path

from convoysim.calibration.abc import AbcSettings, CalibrationProblem, check_priors, parse_param
from convoysim.calibration.figures import rank_histograms, save
from convoysim.calibration.sbc import COVERAGE_TARGET, RANK_DRAWS, default_bins, fit_truth, sbc_table, truth_rows
from convoysim.scenario.loading import build_scenario, read_source

DEFAULT_PARAMS = ["convoy.speed_kmh.median=3:30", "threats.ied.per_100km=0:4", "threats.ambush.hazard_per_h=0:0.1"]
"""Three of the joint fit's priors (docs/calibration.md, "What the joint fit says")."""


def csv_text(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--scenario",
        action="append",
        help="A scenario whose route and documents the synthetic convoys "
        "follow; repeat for a joint fit (default: menaka-2018).",
    )
    parser.add_argument(
        "--param",
        action="append",
        help=f"[NAME:]PATH=LOW:HIGH as for convoysim calibrate (default: {' '.join(DEFAULT_PARAMS)}).",
    )
    parser.add_argument("--truths", type=int, default=50, help="Synthetic truths (at least 50 for a real figure).")
    parser.add_argument(
        "--budget", type=int, default=1000, help="Particle evaluations per fit (reduced against a real fit)."
    )
    parser.add_argument("--population", type=int, default=100, help="Particles per generation.")
    parser.add_argument("--particle-replications", type=int, default=9, help="Replications per particle.")
    parser.add_argument("--distance", choices=["window", "crps"], default="window", help="The fit's distance.")
    parser.add_argument("--max-generations", type=int, default=20, help="Generations per fit at most.")
    parser.add_argument(
        "--bins", type=int, help=f"Rank histogram bins, a divisor of {RANK_DRAWS + 1} (default: about 10 truths a bin)."
    )
    parser.add_argument("--seed", type=int, default=20231002, help="The one seed of the whole benchmark.")
    parser.add_argument("--out", type=Path, default=Path("results/sbc"), help="Output directory (replaced).")
    parser.add_argument(
        "--max-minutes",
        type=float,
        help="Start no new truth after this many minutes (the summary "
        "then covers the truths that fitted, and says so).",
    )
    parser.add_argument(
        "--keep-fits", action="store_true", help="Keep every truth's synthetic scenarios and calibration directory."
    )
    args = parser.parse_args()
    if args.truths < 1:
        parser.error("--truths must be at least 1")

    members = []
    for name in args.scenario or ["menaka-2018"]:
        source = read_source(name)
        members.append((source, build_scenario(source)))
    (source, base), others = members[0], tuple(members[1:])
    try:
        priors = tuple(check_priors(source, base, [parse_param(p) for p in args.param or DEFAULT_PARAMS], others))
        problem = CalibrationProblem(source, base, priors, args.particle_replications, args.distance, others)
        settings = AbcSettings(
            seed=0, population_size=args.population, budget=args.budget, max_generations=args.max_generations
        )
    except ValueError as err:
        parser.error(str(err))
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    fits = args.out / "fits"
    names = " + ".join(sc.name for _, sc in members)
    print(
        f"SBC of convoysim calibrate on {names}: {args.truths} truths, budget {args.budget} evaluations of "
        f"{args.particle_replications} replications, population {args.population}, distance {args.distance}, one worker"
    )

    rows: list[dict] = []
    truths = []
    started, cpu_started = time.perf_counter(), time.process_time()
    for i in range(args.truths):
        if args.max_minutes is not None and time.perf_counter() - started > 60 * args.max_minutes:
            print(f"--max-minutes {args.max_minutes:g} reached: {i} of {args.truths} truths fitted")
            break
        truth = fit_truth(problem, settings, args.seed, i, fits / f"truth-{i:03d}")
        truths.append(truth)
        rows.extend(truth_rows(truth, priors, args.seed))
        (args.out / "sbc_ranks.csv").write_text(csv_text(rows))  # kept as it grows: a stopped run keeps its truths
        inside = sum(r["inside_ci80"] for r in rows[-len(priors) :])
        print(
            f"truth {truth.index:3d}: {truth.seconds:5.1f} s, {truth.evaluations} evaluations, {inside}/{len(priors)} "
            f"inside the 80 % interval ({truth.stop_reason})",
            flush=True,
        )
        if not args.keep_fits:
            shutil.rmtree(truth.folder)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if not args.keep_fits:
        shutil.rmtree(fits, ignore_errors=True)
    if not truths:
        parser.exit(1, "no truth was fitted within --max-minutes\n")
    bins = args.bins or default_bins(len(truths))
    table = sbc_table(rows, priors, bins)
    (args.out / "sbc_summary.csv").write_text(
        csv_text([{**r, "rank_histogram": " ".join(map(str, r["rank_histogram"]))} for r in table])
    )
    title = f"SBC: {names}, {len(truths)} truths, budget {args.budget}, population {args.population}"
    save(rank_histograms(table, title), args.out / "sbc_ranks.png")
    low, high = COVERAGE_TARGET
    evaluations = sorted(t.evaluations for t in truths)
    print(
        f"\n{len(truths)} truths in {seconds / 60:.1f} min wall, {cpu / 60:.1f} min CPU ({seconds / len(truths):.1f} "
        "s a truth; median "
        f"{evaluations[len(evaluations) // 2]} evaluations a fit); rank histograms: {bins} bins of ranks among "
        f"{RANK_DRAWS} draws"
    )
    wide = max(len(r["parameter"]) for r in table)
    print(f"{'parameter':{wide}s} {'80% coverage':>13s} {'target':>9s} {'flatness p':>11s} {'mean z^2':>9s}  histogram")
    for r in table:
        verdict = "ok" if r["coverage_ok"] else "MISSED"
        print(
            f"{r['parameter']:{wide}s} {100 * r['coverage_ci80']:12.0f}% {verdict:>9s} {r['rank_flatness_p']:11.3f} "
            f"{r['mean_z2']:9.2f}  {' '.join(map(str, r['rank_histogram']))}"
        )
    print(f"target: coverage {100 * low:.0f}-{100 * high:.0f} %, flatness p above 0.05; written to {args.out}")


if __name__ == "__main__":
    main()
