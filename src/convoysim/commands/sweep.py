"""`convoysim sweep`: run an experiment file's design over its base scenario."""

from __future__ import annotations

from pathlib import Path

import click

from convoysim.commands.common import (
    EXIT_INTERRUPTED,
    check_work,
    err_console,
    fail,
    out_console,
    progress_bar,
)
from convoysim.commands.executors import executor_options, scheduler_misplaced, workers_option
from convoysim.commands.options import out_option
from convoysim.commands.tables import sobol_table, summary_tables
from convoysim.runs.extras import MissingExtra
from convoysim.runs.lock import FolderInUse
from convoysim.runs.pool import ExecutorUnavailable, executor_from_options
from convoysim.scenario.loading import ScenarioError
from convoysim.studies.experiments import ExperimentError, load_experiment
from convoysim.studies.sweep import (
    SweepMismatch,
    checkpointed,
    prepare_sweep,
    run_sweep,
)

DEFAULT_ROOT = Path("results") / "sweeps"
CHECKED_POINTS = 1_000
"""Points whose work is estimated before a sweep starts (evenly spread over larger designs)."""


@click.command()
@click.argument("experiment")
@workers_option()
@executor_options("points")
@out_option("Sweep directory (default: results/sweeps/<experiment name>/). Running again with the same one resumes.")
def sweep(experiment: str, workers: int, executor: str, scheduler: str | None, out: Path | None) -> None:
    """Run EXPERIMENT (a YAML file, or the name of a shipped experiment, e.g. drone-radius).

    Every design point runs the same replications (common random numbers). Finished points are
    checkpointed: if the sweep is stopped, the same command resumes it. Writes manifest.json,
    points.csv, runs.csv, summary.csv and, for saltelli designs, sobol.csv.
    """
    misplaced = scheduler_misplaced(executor, scheduler)
    if misplaced:
        fail(misplaced)
        return
    try:
        loaded = load_experiment(experiment)
        if not loaded.experiment.parameters:
            fail(
                f"{loaded.file}: this experiment has plans but no parameters to sweep; "
                f"compare its plans with `convoysim compare --experiment {experiment}`"
            )
        prepared = prepare_sweep(loaded)
    except (ExperimentError, ScenarioError, MissingExtra) as err:
        fail(str(err))
        return
    scenarios = prepared.scenarios
    check_work(loaded.file, scenarios[:: max(1, len(scenarios) // CHECKED_POINTS)], loaded.experiment.replications)
    target = out or DEFAULT_ROOT / loaded.experiment.name
    runner = executor_from_options(executor, workers, scheduler)
    total = len(prepared.points)
    reps = loaded.experiment.replications
    started_at = {"done": None}
    with progress_bar(total, f"{loaded.experiment.name}: points") as bar:
        task = bar.add_task("sweep", total=total)

        def started(done: int, n: int) -> None:
            started_at["done"] = done
            bar.update(task, completed=done)
            if done:
                err_console.print(f"resuming: {done} of {n} points already done in {target}", highlight=False)

        try:
            outcome = run_sweep(prepared, target, runner, progress=lambda k: bar.advance(task, k), on_start=started)
        except (SweepMismatch, ExecutorUnavailable, MissingExtra, FolderInUse) as err:
            fail(str(err))
            return
        except KeyboardInterrupt:
            saved = checkpointed(prepared, target) if started_at["done"] is not None else 0
            kept = (
                f"{saved} of {total} points are saved in {target}; run the same command to resume"
                if saved
                else "no point had finished; nothing to resume"
                if started_at["done"] is not None
                else "nothing was written"
            )
            fail(f"interrupted; {kept}", EXIT_INTERRUPTED)
            return
    computed = outcome.points - outcome.resumed
    note = f" ({outcome.resumed} resumed from the checkpoint)" if outcome.resumed else ""
    click.echo(
        f"{outcome.points} points x {reps} replications; {computed} computed in {outcome.wall_time_s:.1f} s "
        f"({outcome.executor}, {outcome.workers} worker{'s' if outcome.workers > 1 else ''}){note}"
    )
    if outcome.errors:
        click.echo(f"{outcome.errors} replications failed (see the error column of runs.csv)")
    console = out_console()
    if outcome.sobol:
        console.print(sobol_table(outcome.sobol))
    elif outcome.summary and len(outcome.summary) <= MAX_TABLE_POINTS:
        for table in summary_tables(
            outcome.summary, list(loaded.experiment.parameters), loaded.outputs, loaded.base.start, console.width
        ):
            console.print(table)
    click.echo(f"written to {target}")


MAX_TABLE_POINTS = 40
"""Designs with more points than this are left to summary.csv."""
