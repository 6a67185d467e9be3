"""`convoysim calibrate` (fit parameters to the documented milestones) and `convoysim validate`
(score a scenario against them). Thin: parsing, progress and printing; the library does the work."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.table import Table

from convoysim.calibration.abc import (
    AbcSettings,
    CalibrationProblem,
    DaskEvaluator,
    ParameterSpecError,
    Population,
    check_priors,
    parse_param,
)
from convoysim.calibration.store import CalibrationDirError
from convoysim.calibration.workflow import CalibrationRun, NoGenerationError, command_line
from convoysim.commands.executors import executor_options, scheduler_misplaced
from convoysim.commands.common import EXIT_INTERRUPTED, err_console, fail, out_console, progress_steps
from convoysim.scenario.loading import ScenarioError, build_scenario, read_source
from convoysim.scenario.paths import ParameterPathError
from convoysim.runs.cluster import ExecutorUnavailable
from convoysim.runs.writing import default_run_dir, reserve_dir, write_atomic
from convoysim.commands.tables import comparison_table
from convoysim.calibration.validation import validate as run_validation
from convoysim.calibration.validation import (
    Validation,
    apply_posterior,
    read_posterior_summary,
    validation_report,
    verdict_line,
)

EXIT_BELOW_MIN_COVERAGE = 1


def _scored(scenario, replications: int, seed: int, workers: int, label: str) -> Validation:
    with progress_steps(label, replications) as advance:
        return run_validation(scenario, replications, seed, workers, progress=advance)


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
@click.option("--workers", "-w", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes (local) or LocalCluster workers (dask); the posterior does not depend on it.")
@executor_options("particles")
@click.option("--check-replications", type=click.IntRange(min=1), default=500, show_default=True,
              help="Replications of the runs before and after calibration that are scored and drawn.")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path),
              help="Calibration directory (default: results/<scenario>/calibration-seed<seed>/). The same command resumes it.")
def calibrate(scenario: str, params: tuple[str, ...], method: str, budget: int, population: int, particle_replications: int,
              distance: str, quantile: float, max_generations: int, seed: int | None, workers: int, executor: str,
              scheduler: str | None, check_replications: int, out: Path | None) -> None:
    """Fit parameters of SCENARIO to its documented milestones by ABC-SMC.

    Writes posterior.csv, posterior_summary.csv, history.csv, calibrated.yaml and figures to the
    calibration directory. Every completed generation is kept: run the same command again to resume.
    """
    misplaced = scheduler_misplaced(executor, scheduler)
    if misplaced:
        fail(misplaced)
        return
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
    try:
        run = CalibrationRun.open(problem, settings, target)
    except CalibrationDirError as err:
        fail(str(err))
        return
    if run.done:
        err_console.print(f"resuming {target}: {len(run.done)} completed generation(s) found", highlight=False)

    def reported(pop: Population) -> None:
        err_console.print(f"generation {pop.generation}: tolerance {pop.epsilon:.2f} h, {pop.evaluations} evaluations, "
                          f"acceptance {100 * pop.acceptance_rate:.0f}%, ESS {pop.ess:.0f}", highlight=False)

    cluster = (lambda p: DaskEvaluator(p, scheduler, workers)) if executor == "dask" else None
    try:
        result = run.fit(workers, progress=progress_steps, on_generation=reported, evaluator=cluster)
    except ExecutorUnavailable as err:
        fail(str(err))
        return
    except KeyboardInterrupt:
        fail(f"interrupted; {len(run.history)} completed generation(s) are kept in {target}; run the same command to resume",
             EXIT_INTERRUPTED)
        return
    except NoGenerationError as err:
        fail(str(err))
        return
    if result.posterior.rough:
        err_console.print(f"[yellow]warning:[/] the posterior rests on few particles (effective sample size {result.posterior.ess:.0f} "
                          f"of {settings.population_size}): a few lucky proposals carry most of the weight. Its intervals are "
                          "rough; raise --particle-replications (less luck per particle) or --budget.", highlight=False)
    command = command_line(problem, settings, target, scenario, params)
    outcome = run.finish(result, check_replications, workers, command, progress=progress_steps)

    console = out_console()
    console.print(posterior_table(f"{base.name}: posterior ({result.stop_reason})", outcome.summary))
    console.print(f"before: {verdict_line(outcome.before)}\nafter:  {verdict_line(outcome.after)}   "
                  f"({check_replications} replications, seed {settings.seed})", highlight=False)
    console.print(f"written to {target}", highlight=False)


def posterior_table(title: str, summary: list[dict]) -> Table:
    """Each fitted parameter's prior, base value, posterior median and 80 % credible interval."""
    table = Table(title=title, title_justify="left")
    for name in ("parameter", "prior", "base", "median", "80% interval"):
        table.add_column(name)
    for row in summary:
        table.add_row(row["parameter"], f"{row['prior_low']:g} to {row['prior_high']:g}", f"{row['base_value']:.4g}",
                      f"{row['median']:.4g}", f"{row['ci80_low']:.4g} to {row['ci80_high']:.4g}")
    return table


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
    target = out or reserve_dir(default_run_dir(Path("results") / sc.name, "validation", s))
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
