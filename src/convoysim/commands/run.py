"""`convoysim run`: replications of one scenario, compared with its documented dates."""

from __future__ import annotations

from pathlib import Path

import click

from convoysim.commands.common import (
    EXIT_INTERRUPTED,
    check_work,
    err_console,
    fail,
    io_reason,
    out_console,
    progress_steps,
    work_limit_options,
)
from convoysim.commands.executors import executor_options, scheduler_misplaced, workers_option
from convoysim.commands.options import out_option, replications_option, seed_option
from convoysim.commands.tables import arrivals_table, comparison_table, counts_table, precision_table
from convoysim.model import ReplicationRecord
from convoysim.runs.budget import MAX_PRECISION_REPLICATIONS as MAX_REPLICATIONS
from convoysim.runs.compare import compare_run
from convoysim.runs.extras import MissingExtra
from convoysim.runs.files import csv_text, default_run_dir
from convoysim.runs.manifest import command_identity
from convoysim.runs.montecarlo import MonteCarloRun, StreamedRun, run_replications, stream_monte_carlo
from convoysim.runs.partial import PartialInUse, partial_beside, partial_for_command
from convoysim.runs.pool import ExecutorUnavailable, executor_from_options
from convoysim.runs.timetext import duration_text
from convoysim.runs.trace import format_trace
from convoysim.runs.writing import RunDirectory, write_run
from convoysim.scenario.loading import ScenarioError, build_scenario, read_source

EXIT_ALL_FAILED = 1
"""Every replication raised: the run is written (with the errors) but holds no result."""
EXIT_NOT_PRECISE = 3
"""`--precision`: the run is written, but its widest interval is wider than asked (the cap, or a
quantile out of reach: the message says why and the nearest target that can be reached)."""

TRACKED_REPLICATIONS = 50
"""Replications whose head path is kept in tracks.csv for time-distance charts."""


@click.command()
@click.argument("scenario")
@replications_option("Replications (default: the scenario's montecarlo.replications).")
@seed_option("the scenario's montecarlo.seed")
@workers_option()
@executor_options("replications")
@out_option("Run directory (default: results/<scenario>/<run-id>/).")
@click.option(
    "--trace",
    "trace_replication",
    is_flag=False,
    flag_value=0,
    type=click.IntRange(min=0),
    default=None,
    metavar="[N]",
    help="Print the event log of replication N (default 0) in plain language, as "
    "`animate -r N` shows it (also saved as trace.txt).",
)
@click.option(
    "--sorties",
    is_flag=True,
    help="With --trace: list every drone sortie instead of the daily sums and the cover gained and lost.",
)
@click.option("--plot", is_flag=True, help="Draw the run's figures into <run>/figures once it is written.")
@click.option(
    "--precision",
    "precision_text",
    metavar="DURATION",
    help="Add replications (100, then as many as the intervals' 1/sqrt(n) shrinkage asks) until the 95% confidence "
    "interval of every p10/p50/p90 of a "
    "documented arrival is at most DURATION either side (e.g. 2h, 90min); -n is then the most to run "
    f"(default {MAX_REPLICATIONS}). Stops early, saying why, when a quantile cannot get there (a gap in its "
    f"distribution, or 'never'). Writes precision.csv; exits {EXIT_NOT_PRECISE} when the precision is not "
    "reached. Such a run is held in memory and does not resume.",
)
@work_limit_options
def run(
    scenario: str,
    replications: int | None,
    seed: int | None,
    workers: int,
    executor: str,
    scheduler: str | None,
    out: Path | None,
    trace_replication: int | None,
    sorties: bool,
    plot: bool,
    precision_text: str | None,
    max_events: int,
    max_memory_mb: int,
) -> None:
    """Run SCENARIO (a YAML file, or a shipped scenario's name such as `baseline`).

    Writes manifest.json, replications.csv, milestones.csv and comparison.csv to the run directory
    and prints how the simulated arrivals compare with the documented dates.

    Completed replications are kept if the run is stopped: run the same command again to resume.
    """
    if sorties and trace_replication is None:
        fail("--sorties lists the sorties of a traced replication: give --trace [N] too")
        return
    misplaced = scheduler_misplaced(executor, scheduler)
    if misplaced or (precision_text is not None and executor == "dask"):
        fail(misplaced or "--precision runs on local worker processes; leave out --executor dask")
        return
    try:
        source = read_source(scenario)
        sc = build_scenario(source)
    except ScenarioError as err:
        fail(str(err))
        return
    n = replications or sc.montecarlo.replications
    s = sc.montecarlo.seed if seed is None else seed
    extra = {}
    imprecise = ""
    most = (replications or MAX_REPLICATIONS) if precision_text is not None else n  # --precision: -n caps it
    check_work(
        source.file,
        [sc],
        most,
        max_events,
        max_memory_mb,
        tracked=TRACKED_REPLICATIONS,
        streamed=precision_text is None,
    )
    target = out or default_run_dir(Path("results"), sc.name, s)
    directory: RunDirectory | None = None
    try:
        if precision_text is not None:  # stays in memory: it grows the run block by block until precise
            result, extra["precision.csv"], imprecise = _run_to_precision(sc, precision_text, s, workers, replications)
            comparison = compare_run(result)
            tracks = _tracks(result, trace_replication, extra, sorties)
            written = write_run(
                target, result, comparison, source, tracks=tracks, extra_files=extra, unique=out is None
            )
        else:
            _check_traced(trace_replication, n)
            partial = partial_beside(out) if out else partial_for_command(target.parent, s, n, source.sha256())
            directory = RunDirectory.resumable(target, partial, command_identity(source, s, n), unique=out is None)
            with directory:  # kept, and resumed by the same command, unless finished
                if directory.notice:
                    err_console.print(directory.notice, highlight=False, soft_wrap=True)
                so_far = directory.so_far
                with progress_steps(f"{sc.name}: replications", n, so_far.replications if so_far else 0) as advance:
                    result = stream_monte_carlo(
                        sc,
                        directory.add,
                        replications=n,
                        seed=s,
                        progress=advance,
                        so_far=so_far,
                        executor=executor_from_options(executor, workers, scheduler),
                    )
                comparison = compare_run(result, result.counts)
                tracks = _tracks(result, trace_replication, extra, sorties)
                written = directory.finish(result, comparison, source, tracks=tracks, extra_files=extra)
    except KeyboardInterrupt:
        fail(f"interrupted; {_kept(directory, n) or 'no run directory was written'}", EXIT_INTERRUPTED)
        return
    except (PartialInUse, ExecutorUnavailable, MissingExtra) as err:
        fail(str(err) + (f" ({_kept(directory, n)})" if _kept(directory, n) else ""))
        return
    except OSError as err:
        if err.errno is None:  # the run directory's own "already holds files"
            fail(str(err))
        kept = _kept(directory, n)
        fail(f"{target}: cannot write the run directory: {io_reason(err)}" + (f" ({kept})" if kept else ""))
        return
    n, arrived, errors = result.replications, result.arrived, result.errors
    console = out_console()
    if comparison.milestones:
        console.print(
            comparison_table(
                comparison, result.plan.start, f"{sc.name}: simulated arrivals vs documented dates", console.width
            )
        )
    if comparison.counts:
        console.print(counts_table(comparison, f"{sc.name}: simulated counts vs documented counts", console.width))
    if not comparison.milestones:
        console.print(
            arrivals_table(
                result.arrivals(),
                result.plan.names,
                result.plan.start,
                f"{sc.name}: simulated arrivals (the scenario documents no dates to compare)",
                console.width,
            )
        )
    where = f"{result.workers} worker{'s' if result.workers > 1 else ''}" + (" on dask" if executor == "dask" else "")
    console.print(
        f"{n} replications in {result.wall_time_s:.1f} s ({where}); "
        f"{arrived} reached {result.plan.names[-1]}"
        + (f"; [red]{errors} failed (see replications.csv)[/]" if errors else ""),
        highlight=False,
    )
    console.print(f"written to {written}", highlight=False)
    if errors == n:
        fail(
            f"every replication failed ({result.first_error}); the run directory keeps the errors: {written}",
            EXIT_ALL_FAILED,
        )
    if plot:
        from convoysim.commands.plot import draw_after_run

        draw_after_run(written)
    if imprecise:
        fail(imprecise, EXIT_NOT_PRECISE)


def _kept(directory: RunDirectory | None, n: int) -> str:
    """What an unfinished run left to resume, in words ('' when nothing)."""
    if directory is None or not directory.kept or directory.folder is None:
        return ""
    return f"{directory.kept} of {n} replications are kept in {directory.folder.path}; run the same command to resume"


def _check_traced(trace_replication: int | None, n: int) -> None:
    """`--trace N` must name one of the run's replications (fails, exit 2, otherwise)."""
    if trace_replication is not None and trace_replication >= n:
        fail(f"--trace {trace_replication}: the run has replications 0-{n - 1}")


def _tracks(
    result: MonteCarloRun | StreamedRun, trace_replication: int | None, extra: dict[str, str], sorties: bool = False
) -> list[ReplicationRecord]:
    """The first replications again with their head paths for tracks.csv, and the traced one with its
    event log (printed, and kept in `extra` as trace.txt), so `animate -r N` shows it."""
    n = result.replications
    _check_traced(trace_replication, n)
    tracked = list(range(min(n, TRACKED_REPLICATIONS)))
    if trace_replication is not None:
        tracked = sorted({*tracked, trace_replication})
    tracks = run_replications(result.plan, result.seed, tracked, trace=trace_replication is not None, track=True)
    if trace_replication is not None:
        extra["trace.txt"] = format_trace(tracks[tracked.index(trace_replication)], result.plan, sorties)
        click.echo(extra["trace.txt"])
    return tracks


def _run_to_precision(sc, text: str, seed: int, workers: int, most: int | None) -> tuple[MonteCarloRun, str, str]:
    """`--precision`: replications until precise, one status line per block; the intervals as CSV
    text, and what fell short ('' when the precision was reached)."""
    from convoysim.runs.precision import (
        PRECISION_COLUMNS,
        Precision,
        parse_duration_h,
        precision_shortfall,  # only here: 5 ms
        run_until_precise,
    )

    try:
        half_width_h = parse_duration_h(text)
    except ValueError as err:
        fail(f"--precision: {err}")
        raise AssertionError from None  # fail() exits

    def report(p: Precision) -> None:
        width, which = p.widest
        click.echo(f"{p.replications} replications: widest 95% interval {which} ±{duration_text(width)}", err=True)

    result, found = run_until_precise(
        sc, half_width_h, seed, workers, max_replications=most or MAX_REPLICATIONS, report=report
    )
    width, which = found.widest
    out_console().print(precision_table(found, f"{sc.name}: how precise the estimates are"))
    click.echo(
        f"precision ±{duration_text(half_width_h)} {'reached' if found.reached(half_width_h) else 'NOT reached'} "
        f"after {result.replications} replications; widest: {which} ±{duration_text(width)}"
    )
    return result, csv_text(found.rows(), PRECISION_COLUMNS), precision_shortfall(found, half_width_h)
