"""`convoysim calibrate` (fit parameters to the documented milestones) and `convoysim validate`
(score a scenario against them). Thin: parsing, progress and printing; the library does the work."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.table import Table

from convoysim.calibration.abc import AbcSettings, Population
from convoysim.calibration.distances import COUNT_WEIGHT_H
from convoysim.calibration.loo import DRAWS, LeaveOneOutError
from convoysim.calibration.priors import ParameterSpecError, check_priors, parse_param
from convoysim.calibration.problem import CalibrationProblem
from convoysim.calibration.shrinkage import identification_warnings, shrinkage_cell
from convoysim.calibration.store import CalibrationDirError
from convoysim.calibration.validation import (
    DEFAULT_MIN_COVERAGE,
    Validation,
    apply_posterior,
    combined_report,
    corpus_files,
    corpus_summary,
    meets_note,
    overall,
    read_posterior_summary,
    validation_report,
    verdict_line,
)
from convoysim.calibration.validation import validate as run_validation
from convoysim.calibration.workflow import CalibrationRun, NoGenerationError, command_line
from convoysim.commands.common import (
    EXIT_INTERRUPTED,
    check_work,
    err_console,
    fail,
    out_console,
    progress_steps,
    work_limit_options,
)
from convoysim.commands.executors import executor_options, scheduler_misplaced, workers_option
from convoysim.commands.options import out_option, replications_option, seed_option
from convoysim.commands.tables import comparison_table, corpus_table, counts_table, verdict_table
from convoysim.runs.extras import MissingExtra
from convoysim.runs.files import default_run_dir, reserve_dir, safe_name, write_atomic
from convoysim.runs.pool import ExecutorUnavailable, executor_from_options
from convoysim.scenario.loading import ScenarioError, build_scenario, read_source
from convoysim.scenario.paths import ParameterPathError, apply_values

EXIT_BELOW_MIN_COVERAGE = 1


def _scored(scenario, replications: int, seed: int, workers: int, label: str) -> Validation:
    with progress_steps(label, replications) as advance:
        return run_validation(scenario, replications, seed, workers, progress=advance)


@click.command()
@click.argument("scenarios", nargs=-1, required=True, metavar="SCENARIO...")
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    required=True,
    metavar="[NAME:]PATH=LOW:HIGH",
    help="A parameter to fit, by its scenario path, with a uniform prior over LOW:HIGH. Repeat for each. "
    "With several scenarios, NAME: sets it in the scenario of that name only.",
)
@click.option(
    "--budget",
    "-b",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="Particle evaluations in all, each running --particle-replications replications.",
)
@click.option(
    "--population", type=click.IntRange(min=2), default=100, show_default=True, help="Particles per generation."
)
@click.option(
    "--particle-replications",
    type=click.IntRange(min=1),
    default=9,
    show_default=True,
    help="Replications simulated per particle; the distance aggregates over them.",
)
@click.option(
    "--distance",
    type=click.Choice(["window", "crps", "relative", "relative-crps"]),
    help="window: median hours (or weighted counts) outside each documented window, averaged over windows; "
    "crps: mean CRPS (or weighted RPS) against the windows; relative, relative-crps: the same over each "
    "convoy's documented duration, so short and long marches weigh alike. Default: relative for a corpus, "
    "window otherwise.",
)
@click.option(
    "--count-weight-h",
    type=click.FloatRange(min=0),
    default=COUNT_WEIGHT_H,
    show_default=True,
    help="Hours of distance that one count outside its documented window costs (scenarios with documented counts).",
)
@click.option(
    "--quantile",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.5,
    show_default=True,
    help="Each generation's tolerance is this quantile of the previous generation's distances.",
)
@click.option(
    "--max-generations",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Stop after this many generations.",
)
@click.option(
    "--seed",
    "-s",
    type=click.IntRange(min=0),
    help="The one seed of the whole fit (default: the scenario's montecarlo.seed).",
)
@workers_option("Worker processes (local) or LocalCluster workers (dask); the posterior does not depend on it.")
@executor_options("particles")
@click.option(
    "--check-replications",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="Replications of the runs before and after calibration that are scored and drawn.",
)
@click.option(
    "--leave-one-out",
    is_flag=True,
    help="After the fit (or on the finished fit the same command resumes), predict each convoy from the "
    "posterior without it, re-weighted from the same simulations, and print the corpus table out of sample; "
    "writes leave_one_out.json and .csv. Needs several scenarios or a corpus.",
)
@click.option(
    "--loo-draws",
    type=click.IntRange(min=2),
    default=DRAWS,
    show_default=True,
    help="Posterior draws per convoy (one replication each) for the predictions of --leave-one-out.",
)
@out_option(
    "Calibration directory (default: results/<scenario>/calibration-seed<seed>/, results/corpus/... for a "
    "corpus). The same command resumes it."
)
def calibrate(
    scenarios: tuple[str, ...],
    params: tuple[str, ...],
    budget: int,
    population: int,
    particle_replications: int,
    distance: str | None,
    count_weight_h: float,
    quantile: float,
    max_generations: int,
    seed: int | None,
    workers: int,
    executor: str,
    scheduler: str | None,
    check_replications: int,
    leave_one_out: bool,
    loo_draws: int,
    out: Path | None,
) -> None:
    """Fit parameters of one SCENARIO, or of several at once, to their documented dates and counts by ABC-SMC.

    A SCENARIO may be a corpus, as for `validate` (a folder of scenarios such as the shipped
    `corpus`, or a corpus file): every convoy in it enters the fit, with the relative distance by
    default. Theatre values are fitted by their path (theatre.kinds.logistics.speed_kmh.median).

    With several scenarios (convoys), one parameter set is fitted to all of them: a parameter is set
    in every scenario (each must have its path), or in one only when written NAME:PATH. Writes posterior.csv,
    posterior_summary.csv,
    history.csv, a calibrated variant of each scenario and figures to the calibration directory.
    Every completed generation is kept: run the same command again to resume.
    """
    misplaced = scheduler_misplaced(executor, scheduler)
    if misplaced:
        fail(misplaced)
        return
    members = []
    corpus = False
    try:
        for name in scenarios:
            listed = corpus_files(name)
            corpus = corpus or listed is not None
            for file in listed if listed is not None else [name]:
                source = read_source(file)
                members.append((source, build_scenario(source)))
    except ScenarioError as err:
        fail(str(err))
        return
    (source, base), others = members[0], tuple(members[1:])
    files = ", ".join(src.file for src, _ in members) if not corpus else ", ".join(scenarios)
    if leave_one_out and not others:
        fail(
            f"{files}: --leave-one-out: a leave-one-out needs a joint fit of at least 2 scenarios (convoys); "
            "give a corpus or several scenarios"
        )
        return
    distance = distance or ("relative" if corpus else "window")
    try:
        priors = check_priors(source, base, [parse_param(spec) for spec in params], others)
        settings = AbcSettings(
            seed=base.montecarlo.seed if seed is None else seed,
            population_size=population,
            budget=budget,
            max_generations=max_generations,
            quantile=quantile,
        )
        problem = CalibrationProblem(
            source, base, tuple(priors), particle_replications, distance, others, count_weight_h
        )
    except ParameterPathError as err:
        fail(f"{files}: --param {err}")
        return
    except (ParameterSpecError, ValueError) as err:
        fail(f"{files}: {err}")
        return
    for src, sc in members:
        check_work(src.file, [sc], check_replications)
        own = [p for p in priors if p.scenario in (None, sc.name)]
        check_work(
            src.file,
            [apply_values(src, {p.path: p.value(x)}, sc) for p in own for x in (p.low, p.high)],
            particle_replications,
        )
    folder = "corpus" if corpus else base.name if not others else "joint-" + "-".join(sc.name for _, sc in members)
    target = out or Path("results") / safe_name(folder) / f"calibration-seed{settings.seed}"
    try:
        run = CalibrationRun.open(problem, settings, target)
    except CalibrationDirError as err:
        fail(str(err))
        return
    if run.done:
        err_console.print(f"resuming {target}: {len(run.done)} completed generation(s) found", highlight=False)

    def reported(pop: Population) -> None:
        err_console.print(
            f"generation {pop.generation}: tolerance {pop.epsilon:.2f} h, {pop.evaluations} evaluations, "
            f"acceptance {100 * pop.acceptance_rate:.0f}%, ESS {pop.ess:.0f}",
            highlight=False,
        )

    try:
        result = run.fit(
            workers,
            progress=progress_steps,
            on_generation=reported,
            executor=executor_from_options(executor, workers, scheduler),
        )
    except (ExecutorUnavailable, MissingExtra) as err:
        fail(str(err))
        return
    except KeyboardInterrupt:
        fail(
            f"interrupted; {len(run.history)} completed generation(s) are kept in {target}; run the same command to "
            "resume",
            EXIT_INTERRUPTED,
        )
        return
    except NoGenerationError as err:
        fail(str(err))
        return
    if result.posterior.rough:
        err_console.print(
            "[yellow]warning:[/] the posterior rests on few particles (effective sample size "
            f"{result.posterior.ess:.0f} "
            f"of {settings.population_size}): a few lucky proposals carry most of the weight. Its intervals are "
            "rough; raise --particle-replications (less luck per particle) or --budget.",
            highlight=False,
        )
    command = command_line(problem, settings, target, list(scenarios), params)
    outcome = run.finish(result, check_replications, workers, command, progress=progress_steps)

    console = out_console()
    names = " + ".join(sc.name for _, sc in members)
    console.print(posterior_table(f"{names}: posterior ({result.stop_reason})", outcome.summary))
    if corpus:
        for label, side in (
            ("before", [c.before for c in outcome.checks]),
            ("after", [c.after for c in outcome.checks]),
        ):
            summary = corpus_summary(side)
            console.print(
                corpus_table(summary, f"corpus {label} calibration: {len(summary.rows)} convoys, march durations")
            )
    else:
        _print_checks(console, outcome.checks, check_replications, settings.seed)
    console.print(f"written to {target}", highlight=False)
    for line in identification_warnings(outcome.summary):
        err_console.print(f"[yellow]warning:[/] {line}", highlight=False)
    if leave_one_out:
        try:
            loo = run.leave_one_out(workers, executor_from_options(executor, workers, scheduler), loo_draws)
        except (LeaveOneOutError, CalibrationDirError) as err:
            fail(str(err))
            return
        except KeyboardInterrupt:
            fail(f"interrupted during the leave-one-out; the fit is kept in {target}", EXIT_INTERRUPTED)
            return
        for summary, where in ((loo.in_sample, "in sample (full posterior)"), (loo.out_of_sample, "out of sample")):
            console.print(
                corpus_table(
                    summary,
                    f"leave-one-out: {len(summary.rows)} convoys {where}, posterior predictive of "
                    f"{loo_draws} draws each",
                )
            )
        for line in loo.verdict():
            console.print(line, highlight=False)
        console.print(f"written to {target / 'leave_one_out.json'}", highlight=False)


def _print_checks(console, checks: list, check_replications: int, seed: int) -> None:
    """Each scenario's scores before and after calibration: one table, then a line each."""
    rows = [
        row
        for check in checks
        for row in (
            (f"{check.name} before", check.before.comparison, None),
            (f"{check.name} after", check.after.comparison, None),
        )
    ]
    console.print(
        verdict_table(
            rows,
            overall([c.before for c in checks]),
            f"before and after calibration ({check_replications} replications each, seed {seed})",
            overall_row=False,
            width=console.width,
        )
    )
    for check in checks:
        console.print(f"{check.name}: before: {verdict_line(check.before)}", highlight=False)
        console.print(f"{check.name}: after:  {verdict_line(check.after)}", highlight=False)


def posterior_table(title: str, summary: list[dict]) -> Table:
    """Each fitted parameter's prior, base value, posterior median, 80 % credible interval and
    shrinkage (flagged when not identified)."""
    table = Table(title=title, title_justify="left")
    joint = any(" " in row.get("scenarios", "") for row in summary)
    everywhere = {name for row in summary for name in row.get("scenarios", "").split()}
    for name in (
        "parameter",
        "prior",
        "base",
        "median",
        "80% interval",
        "sd/prior sd",
        *(["scenarios"] if joint else []),
    ):
        table.add_column(name)
    for row in summary:
        base = row["base_value"]
        table.add_row(
            row["parameter"],
            f"{row['prior_low']:g} to {row['prior_high']:g}",
            f"{base:.4g}" if isinstance(base, (int, float)) else "unset",
            f"{row['median']:.4g}",
            f"{row['ci80_low']:.4g} to {row['ci80_high']:.4g}",
            shrinkage_cell(row),
            *([_where(row.get("scenarios", ""), everywhere)] if joint else []),
        )
    return table


def _where(scenarios: str, everywhere: set[str]) -> str:
    """The scenarios a parameter is set in; "all N" when it is every one of more than three (a corpus)."""
    names = set(scenarios.split())
    return f"all {len(names)}" if len(everywhere) > 3 and names == everywhere else scenarios


@click.command("validate")
@click.argument("scenarios", nargs=-1, required=True, metavar="SCENARIO...")
@click.option(
    "--plot",
    is_flag=True,
    help="With several scenarios, also draw corpus.png beside validation.json: simulated against documented "
    "durations (log scales), 80% intervals as bars.",
)
@replications_option("Replications (default: each scenario's montecarlo.replications).")
@seed_option("each scenario's montecarlo.seed")
@workers_option("Worker processes; results do not depend on it.")
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 1),
    metavar="X",
    default=DEFAULT_MIN_COVERAGE,
    show_default=True,
    help=f"The verdict: FAIL, and exit with code {EXIT_BELOW_MIN_COVERAGE}, when in any scenario fewer than this "
    "share (0-1) of the predicted windows (dates not pinned, and counts) meet the 80% interval "
    "(overlap it at all). Give 0 for no gate.",
)
@click.option(
    "--posterior",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    metavar="SUMMARY_CSV",
    help="Set the parameters fitted elsewhere (a calibration's posterior_summary.csv) to their medians first: an "
    "out-of-sample test.",
)
@out_option(
    "Directory for validation.json (default: results/<scenario>/validation/<run-id>/, or "
    "results/validation/<run-id>/ for several scenarios)."
)
@work_limit_options
def validate_command(
    scenarios: tuple[str, ...],
    plot: bool,
    replications: int | None,
    seed: int | None,
    workers: int,
    min_coverage: float,
    posterior: Path | None,
    out: Path | None,
    max_events: int,
    max_memory_mb: int,
) -> None:
    """Run each SCENARIO and score it against its documented dates and counts.

    Prints the comparison tables and one verdict table (per scenario and overall: coverage of dates
    and counts together and apart, over predicted windows, mean CRPS and RPS, and PASS or FAIL against
    --min-coverage, 0.75 unless given), and writes validation.json.

    A SCENARIO may be a corpus: a folder of scenarios (the shipped `corpus`), or a corpus file (a
    YAML mapping whose `corpus:` lists scenario files). Then one table scores each convoy on its
    march's duration (documented, simulated p10/p50/p90, inside the 80% interval, CRPS in hours and
    over the documented duration, PIT, counts) with the coverage, median relative CRPS and PIT
    histogram; the per-scenario tables are left to validation.json, and the verdict is one line
    (give --min-coverage 0 for no gate).
    """
    loaded = []
    corpus = False
    try:
        medians = read_posterior_summary(posterior) if posterior is not None else None
        names: list[str | Path] = []
        for name in scenarios:
            files = corpus_files(name)
            corpus = corpus or files is not None
            names.extend(files if files is not None else [name])
        for name in names:
            source = read_source(name)
            sc = build_scenario(source)
            applied, skipped = {}, []
            if medians is not None:
                sc, applied, skipped = apply_posterior(source, sc, medians)
            if not sc.documented:
                fail(f"{source.file}: documented: the scenario has no documented milestones to validate against")
                return
            loaded.append((source, sc, applied, skipped))
    except ScenarioError as err:
        fail(str(err))
        return
    except ValueError as err:
        fail(str(err))
        return
    for source, sc, *_ in loaded:
        check_work(source.file, [sc], replications or sc.montecarlo.replications, max_events, max_memory_mb)
    results = []
    for _source, sc, applied, skipped in loaded:
        n = replications or sc.montecarlo.replications
        s = sc.montecarlo.seed if seed is None else seed
        try:
            result = _scored(sc, n, s, workers, f"{sc.name}: replications")
        except KeyboardInterrupt:
            fail("interrupted; nothing was written", EXIT_INTERRUPTED)
            return
        result.min_coverage, result.applied, result.skipped = min_coverage, applied, skipped
        results.append(result)
    sources = [source for source, *_ in loaded]
    if len(results) == 1:
        only = results[0]
        target = out or reserve_dir(
            default_run_dir(Path("results") / safe_name(only.run.scenario.name), "validation", only.run.seed)
        )
        report = validation_report(only, sources[0])
    else:
        target = out or reserve_dir(
            default_run_dir(Path("results"), "validation", seed if seed is not None else results[0].run.seed)
        )
        report = combined_report(results, sources, min_coverage)
    summary = corpus_summary(results)
    if len(results) > 1:
        report["corpus"] = summary.to_dict()
    write_atomic(target / "validation.json", json.dumps(report, indent=2, allow_nan=False) + "\n")
    console = out_console()
    if plot and len(results) > 1:
        from convoysim.figures.corpus import corpus_durations  # matplotlib only when a figure is asked for
        from convoysim.figures.style import save, slide_style

        with slide_style():
            figure = save(corpus_durations(summary), target / "corpus", "png")
        console.print(f"figure: {figure}", highlight=False)
    if corpus:
        console.print(corpus_table(summary, f"corpus: {len(summary.rows)} convoys, march durations"))
        if min_coverage > 0:
            passing = sum(r.passed is True for r in results)
            console.print(
                f"verdict: {passing} of {len(results)} scenarios have at least {100 * min_coverage:.0f}% of their "
                "predicted windows meeting the 80% interval (--min-coverage 0 for no gate)",
                highlight=False,
            )
        console.print(f"written to {target / 'validation.json'}", highlight=False)
        if any(r.passed is False for r in results):
            sys.exit(EXIT_BELOW_MIN_COVERAGE)
        return
    for result in results:
        name = result.run.scenario.name
        if result.applied:
            console.print(
                f"{name}: calibrated parameters applied: "
                + ", ".join(f"{k}={v:.4g}" for k, v in result.applied.items()),
                highlight=False,
            )
        if result.skipped:
            console.print(
                f"{name}: not in this scenario, kept its own values: " + ", ".join(result.skipped), highlight=False
            )
        if result.comparison.milestones:
            console.print(
                comparison_table(
                    result.comparison,
                    result.run.plan.start,
                    f"{name}: validation against documented dates",
                    console.width,
                    details="validation.json",
                )
            )
        if result.comparison.counts:
            console.print(
                counts_table(
                    result.comparison,
                    f"{name}: validation against documented counts",
                    console.width,
                    details="validation.json",
                )
            )
        console.print(verdict_line(result), highlight=False)
    console.print(
        verdict_table(
            [(r.run.scenario.name, r.comparison, r.passed) for r in results],
            overall(results),
            f"verdict (PASS: at least {100 * min_coverage:.0f}% of predicted windows meet the 80% interval)",
            width=console.width,
        )
    )
    console.print(f"meets: {meets_note(results)}", highlight=False)
    console.print(f"written to {target / 'validation.json'}", highlight=False)
    if any(r.passed is False for r in results):
        sys.exit(EXIT_BELOW_MIN_COVERAGE)
