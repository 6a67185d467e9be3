"""`convoysim run`: replications of one scenario, compared with its documented dates."""

from __future__ import annotations

from pathlib import Path

import click

from convoysim.commands.common import EXIT_INTERRUPTED, fail, out_console, progress_steps
from convoysim.runs.compare import compare_run
from convoysim.scenario.loading import ScenarioError, build_scenario, read_source
from convoysim.runs.montecarlo import run_replications, stream_monte_carlo
from convoysim.runs.writing import RunDirectory, default_run_dir
from convoysim.commands.tables import arrivals_table, comparison_table
from convoysim.runs.trace import format_trace

TRACKED_REPLICATIONS = 50
"""Replications whose head path is kept in tracks.csv for time-distance charts."""


@click.command()
@click.argument("scenario")
@click.option("--replications", "-n", type=click.IntRange(min=1), help="Replications (default: the scenario's montecarlo.replications).")
@click.option("--seed", "-s", type=click.IntRange(min=0), help="Seed (default: the scenario's montecarlo.seed).")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes; results do not depend on it.")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), help="Run directory (default: results/<scenario>/<run-id>/).")
@click.option("--trace", is_flag=True, help="Print the event log of replication 0 in plain language (also saved as trace.txt).")
@click.option("--plot", is_flag=True, help="Draw the run's figures into <run>/figures once it is written.")
def run(scenario: str, replications: int | None, seed: int | None, workers: int, out: Path | None, trace: bool, plot: bool) -> None:
    """Run SCENARIO (a YAML file, or a shipped scenario's name such as `baseline`).

    Writes manifest.json, replications.csv, milestones.csv and comparison.csv to the run directory
    and prints how the simulated arrivals compare with the documented dates.
    """
    try:
        source = read_source(scenario)
        sc = build_scenario(source)
    except ScenarioError as err:
        fail(str(err))
        return
    n = replications or sc.montecarlo.replications
    s = sc.montecarlo.seed if seed is None else seed
    target = out or default_run_dir(Path("results"), sc.name, s)
    try:
        with RunDirectory(target, unique=out is None) as directory:
            with progress_steps(f"{sc.name}: replications", n) as advance:
                result = stream_monte_carlo(sc, directory.add, replications=n, seed=s, workers=workers, progress=advance)
            comparison = compare_run(result)
            tracks = run_replications(result.plan, s, range(min(n, TRACKED_REPLICATIONS)), trace=trace, track=True)
            extra = {}
            if trace:
                extra["trace.txt"] = format_trace(tracks[0], result.plan)
                click.echo(extra["trace.txt"])
            written = directory.finish(result, comparison, source, tracks=tracks, extra_files=extra)
    except KeyboardInterrupt:
        fail("interrupted; no run directory was written", EXIT_INTERRUPTED)
        return
    except FileExistsError as err:
        fail(str(err))
        return
    except OSError as err:
        fail(f"{target}: cannot write the run directory: {err.strerror or err}")
        return
    console = out_console()
    if sc.documented:
        console.print(comparison_table(comparison, result.plan.start, f"{sc.name}: simulated arrivals vs documented dates"))
    else:
        console.print(arrivals_table(result.arrivals(), result.plan.names, result.plan.start,
                                     f"{sc.name}: simulated arrivals (the scenario documents no dates to compare)"))
    arrived, errors = result.arrived, result.errors
    console.print(f"{n} replications in {result.wall_time_s:.1f} s ({workers} worker{'s' if workers > 1 else ''}); "
                  f"{arrived} reached {result.plan.names[-1]}" + (f"; [red]{errors} failed (see replications.csv)[/]" if errors else ""),
                  highlight=False)
    console.print(f"written to {written}", highlight=False)
    if plot:
        from convoysim.commands.plot import draw_after_run
        draw_after_run(written)
