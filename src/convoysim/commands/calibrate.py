"""`convoysim calibrate` (fit parameters to the documented milestones) and `convoysim validate`
(score a scenario against them). Thin: parsing, progress and printing; the library does the work."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click
from rich.table import Table

from convoysim.calibration import (
    AbcSettings,
    CalibrationProblem,
    ParameterSpecError,
    Population,
    check_priors,
    evaluator_for,
    history_row,
    parse_param,
    posterior_medians,
    posterior_summary,
    run_abc_smc,
)
from convoysim.calibration_plots import Fan, arrival_fans, posterior_marginals, posterior_pairs, save
from convoysim.calibration_results import (
    CalibrationDirError,
    CalibrationStore,
    fit_config,
    provenance,
    write_calibrated,
    write_posterior,
)
from convoysim.commands.common import EXIT_INTERRUPTED, err_console, fail, out_console, progress_bar
from convoysim.loading import ScenarioError, build_scenario, read_source
from convoysim.paths import ParameterPathError, get_value
from convoysim.results import default_run_dir, write_atomic
from convoysim.tables import comparison_table
from convoysim.validation import validate as run_validation
from convoysim.validation import (
    Validation,
    apply_posterior,
    read_posterior_summary,
    validation_report,
    verdict_line,
)

EXIT_BELOW_MIN_COVERAGE = 1
LOW_ESS_SHARE = 0.25
"""Below this share of the population as effective sample size, the posterior is flagged as rough."""


def _scored(scenario, replications: int, seed: int, workers: int, label: str) -> Validation:
    with progress_bar(replications, label) as bar:
        task = bar.add_task("run", total=replications)
        return run_validation(scenario, replications, seed, workers, progress=lambda k: bar.advance(task, k))


@click.command()
@click.argument("scenario")
@click.option("--param", "-p", "params", multiple=True, required=True, metavar="PATH=LOW:HIGH",
              help="A parameter to fit, by its scenario path, with a uniform prior over LOW:HIGH. Repeat for each.")
@click.option("--method", type=click.Choice(["abc-smc"]), default="abc-smc", show_default=True,
              help="Fitting method: approximate Bayesian computation by sequential Monte Carlo.")
@click.option("--budget", "-b", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Particle evaluations in all, each running --particle-replications replications.")
@click.option("--population", type=click.IntRange(min=2), default=100, show_default=True, help="Particles per generation.")
@click.option("--particle-replications", type=click.IntRange(min=1), default=9, show_default=True,
              help="Replications simulated per particle; the distance aggregates over them.")
@click.option("--distance", type=click.Choice(["window", "crps"]), default="window", show_default=True,
              help="window: median hours outside each documented window, averaged over milestones; crps: mean CRPS against the windows.")
@click.option("--quantile", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.5, show_default=True,
              help="Each generation's tolerance is this quantile of the previous generation's distances.")
@click.option("--max-generations", type=click.IntRange(min=1), default=20, show_default=True, help="Stop after this many generations.")
@click.option("--seed", "-s", type=click.IntRange(min=0), help="The one seed of the whole fit (default: the scenario's montecarlo.seed).")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes; the posterior does not depend on it.")
@click.option("--check-replications", type=click.IntRange(min=1), default=500, show_default=True,
              help="Replications of the runs before and after calibration that are scored and drawn.")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path),
              help="Calibration directory (default: results/<scenario>/calibration-seed<seed>/). The same command resumes it.")
def calibrate(scenario: str, params: tuple[str, ...], method: str, budget: int, population: int, particle_replications: int,
              distance: str, quantile: float, max_generations: int, seed: int | None, workers: int,
              check_replications: int, out: Path | None) -> None:
    """Fit parameters of SCENARIO to its documented milestones by ABC-SMC.

    Writes posterior.csv, posterior_summary.csv, history.csv, calibrated.yaml and figures to the
    calibration directory. Every completed generation is kept: run the same command again to resume.
    """
    try:
        source = read_source(scenario)
        base = build_scenario(source)
    except ScenarioError as err:
        fail(str(err))
        return
    try:
        priors = check_priors(source, base, [parse_param(spec) for spec in params])
        settings = AbcSettings(seed=base.montecarlo.seed if seed is None else seed, population_size=population, budget=budget,
                               max_generations=max_generations, quantile=quantile)
        problem = CalibrationProblem(source, base, tuple(priors), particle_replications, distance)
    except ParameterPathError as err:
        fail(f"{source.file}: --param {err}")
        return
    except (ParameterSpecError, ValueError) as err:
        fail(f"{source.file}: {err}")
        return
    target = out or Path("results") / base.name / f"calibration-seed{settings.seed}"
    store = CalibrationStore(target)
    config = fit_config(problem, settings)
    try:
        done = store.open(config)
    except CalibrationDirError as err:
        fail(str(err))
        return
    if done:
        err_console.print(f"resuming {target}: {len(done)} completed generation(s) found", highlight=False)
    history = store.history()[:len(done)]
    used = sum(p.evaluations for p in done)

    def checkpoint(pop: Population) -> None:
        nonlocal used
        used += pop.evaluations
        history.append(history_row(pop, used))
        store.save_generation(pop, priors, history)
        err_console.print(f"generation {pop.generation}: tolerance {pop.epsilon:.2f} h, {pop.evaluations} evaluations, "
                          f"acceptance {100 * pop.acceptance_rate:.0f}%, ESS {pop.ess:.0f}", highlight=False)

    try:
        with evaluator_for(problem, workers) as evaluator, progress_bar(max(1, budget - used), f"{base.name}: calibrating") as bar:
            task = bar.add_task("fit", total=max(1, budget - used))
            result = run_abc_smc(problem, settings, evaluator, done, progress=lambda k: bar.advance(task, k), on_generation=checkpoint)
    except KeyboardInterrupt:
        fail(f"interrupted; {len(history)} completed generation(s) are kept in {target}; run the same command to resume",
             EXIT_INTERRUPTED)
        return
    if not result.populations:
        fail(f"no generation completed within the budget of {budget} evaluations (every particle's scenario was invalid?)")
        return
    posterior = result.posterior
    if posterior.ess < LOW_ESS_SHARE * settings.population_size:
        err_console.print(f"[yellow]warning:[/] the posterior rests on few particles (effective sample size {posterior.ess:.0f} "
                          f"of {settings.population_size}): a few lucky proposals carry most of the weight. Its intervals are "
                          "rough; raise --particle-replications (less luck per particle) or --budget.", highlight=False)
    base_values = {p.path: get_value(base, p.path) for p in priors}
    summary = posterior_summary(posterior, priors, base_values)
    write_posterior(store, posterior, priors, summary)
    words = ["convoysim", "calibrate", scenario, *[w for spec in params for w in ("--param", spec)],
             "--budget", budget, "--population", population, "--particle-replications", particle_replications,
             "--distance", distance, "--quantile", quantile, "--max-generations", max_generations,
             "--seed", settings.seed, "--out", target]
    command = " ".join(shlex.quote(str(w)) for w in words)
    medians = posterior_medians(posterior, priors)
    calibrated_file = write_calibrated(store, source, medians, provenance(command, config, summary, result.stop_reason, history, result.evaluations))

    before = _scored(base, check_replications, settings.seed, workers, "before: replications")
    calibrated = build_scenario(read_source(calibrated_file))
    after = _scored(calibrated, check_replications, settings.seed, workers, "after: replications")
    plan = before.run.plan
    windows = [(m.waypoint, m.earliest_h, m.latest_h) for m in before.comparison.milestones]
    fans = [Fan("before calibration", before.run.arrivals(), before.comparison.coverage, before.comparison.mean_crps_h),
            Fan("after (posterior medians)", after.run.arrivals(), after.comparison.coverage, after.comparison.mean_crps_h)]
    save(arrival_fans(fans, plan.start, plan.names, plan.road_km, windows, plan.horizon_h), target / "arrival_fans.png")
    save(posterior_marginals(posterior, priors, base_values), target / "posterior_marginals.png")
    if len(priors) > 1:
        save(posterior_pairs(posterior, priors), target / "posterior_pairs.png")
    outcome = {
        "command": command,
        "stop_reason": result.stop_reason,
        "generations": len(result.populations),
        "evaluations": result.evaluations,
        "effective_sample_size": posterior.ess,
        "posterior_summary": summary,
        "check_replications": check_replications,
        "before": {"coverage": before.comparison.coverage, "mean_crps_h": before.comparison.mean_crps_h},
        "after": {"coverage": after.comparison.coverage, "mean_crps_h": after.comparison.mean_crps_h},
    }
    store.finish(config, outcome)

    console = out_console()
    table = Table(title=f"{base.name}: posterior ({result.stop_reason})", title_justify="left")
    for name in ("parameter", "prior", "base", "median", "80% interval"):
        table.add_column(name)
    for row in summary:
        table.add_row(row["parameter"], f"{row['prior_low']:g} to {row['prior_high']:g}", f"{row['base_value']:.4g}",
                      f"{row['median']:.4g}", f"{row['ci80_low']:.4g} to {row['ci80_high']:.4g}")
    console.print(table)
    console.print(f"before: {verdict_line(before)}\nafter:  {verdict_line(after)}   ({check_replications} replications, seed {settings.seed})",
                  highlight=False)
    console.print(f"written to {target}", highlight=False)


@click.command("validate")
@click.argument("scenario")
@click.option("--replications", "-n", type=click.IntRange(min=1), help="Replications (default: the scenario's montecarlo.replications).")
@click.option("--seed", "-s", type=click.IntRange(min=0), help="Seed (default: the scenario's montecarlo.seed).")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes; results do not depend on it.")
@click.option("--min-coverage", type=click.FloatRange(0, 1), metavar="X",
              help=f"Exit with code {EXIT_BELOW_MIN_COVERAGE} when fewer than this share (0-1) of documented windows meet the 80% interval.")
@click.option("--posterior", type=click.Path(dir_okay=False, exists=True, path_type=Path), metavar="SUMMARY_CSV",
              help="Set the parameters fitted elsewhere (a calibration's posterior_summary.csv) to their medians first: an out-of-sample test.")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path),
              help="Directory for validation.json (default: results/<scenario>/validation/<run-id>/).")
def validate_command(scenario: str, replications: int | None, seed: int | None, workers: int, min_coverage: float | None,
                     posterior: Path | None, out: Path | None) -> None:
    """Run SCENARIO and score it against its documented milestones.

    Prints a verdict table and writes validation.json: coverage (share of documented windows met
    by the simulated 80 % interval), mean CRPS in hours, and the percentile of each documented time.
    """
    try:
        source = read_source(scenario)
        sc = build_scenario(source)
        applied, skipped = {}, []
        if posterior is not None:
            sc, applied, skipped = apply_posterior(source, sc, read_posterior_summary(posterior))
    except ScenarioError as err:
        fail(str(err))
        return
    except ValueError as err:
        fail(str(err))
        return
    if not sc.documented:
        fail(f"{source.file}: documented: the scenario has no documented milestones to validate against")
        return
    n = replications or sc.montecarlo.replications
    s = sc.montecarlo.seed if seed is None else seed
    try:
        result = _scored(sc, n, s, workers, f"{sc.name}: replications")
    except KeyboardInterrupt:
        fail("interrupted; nothing was written", EXIT_INTERRUPTED)
        return
    result.min_coverage, result.applied, result.skipped = min_coverage, applied, skipped
    target = out or default_run_dir(Path("results") / sc.name, "validation", s)
    write_atomic(target / "validation.json", json.dumps(validation_report(result, source), indent=2, allow_nan=False) + "\n")
    console = out_console()
    if applied:
        console.print("calibrated parameters applied: " + ", ".join(f"{k}={v:.4g}" for k, v in applied.items()), highlight=False)
    if skipped:
        console.print("not in this scenario, kept its own values: " + ", ".join(skipped), highlight=False)
    console.print(comparison_table(result.comparison, result.run.plan.start, f"{sc.name}: validation against documented dates"))
    console.print(verdict_line(result), highlight=False)
    console.print(f"written to {target / 'validation.json'}", highlight=False)
    if result.passed is False:
        sys.exit(EXIT_BELOW_MIN_COVERAGE)
