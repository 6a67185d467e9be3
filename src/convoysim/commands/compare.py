"""`convoysim compare`: plans side by side on common random numbers, and the selection of the best."""

from __future__ import annotations

import math
import re
from pathlib import Path

import click
from rich.table import Table

from convoysim.commands.common import EXIT_INTERRUPTED, check_work, err_console, fail, out_console
from convoysim.commands.executors import workers_option
from convoysim.commands.options import out_option, replications_option, seed_option
from convoysim.runs.timetext import day_time
from convoysim.scenario.loading import ScenarioError
from convoysim.studies.experiments import ExperimentError
from convoysim.studies.paired import PlanComparison, compare_plans, compare_until_precise, is_time, write_comparison
from convoysim.studies.plans import resolve_plans

DEFAULT_ROOT = Path("results") / "compare"
DEFAULT_REPLICATIONS = 500
_SELECT = re.compile(r"^(min|max):(.+)$")


def _number(value: float, output: str) -> str:
    if not math.isfinite(value):
        return "never" if value > 0 else "-"
    return f"{value:+.1f}" if is_time(output) else f"{value:+.2f}"


def difference_table(result: PlanComparison) -> Table:
    """Each plan's mean and its paired difference from the reference, per shown output."""
    start = result.reference.scenario.start
    table = Table(
        title=f"{result.replications} replications per plan, common random numbers; "
        f"difference from {result.reference.name} [95 % interval] and the variance reduction of the pairing",
        title_justify="left",
        show_lines=False,
    )
    table.add_column("output", no_wrap=True)
    for p in result.plans:
        table.add_column(p.name, justify="right")
    for output in result.shown:
        means = [
            next(
                r for r in result.summary if r["plan"] == p.name and r["output"] == output and r["statistic"] == "mean"
            )["estimate"]
            for p in result.plans
        ]
        if output.startswith("arrival_h."):
            first = day_time(start, means[0], minutes=False) if math.isfinite(means[0]) else "never"
        else:
            first = f"{means[0]:.1f}" if is_time(output) else f"{means[0]:.2f}"
        cells = [first]
        for p in result.plans[1:]:
            d = result.difference(p.name, output)
            iv = d.interval
            gain = d.variance_reduction
            gain_text = "" if not math.isfinite(gain) else f" x{gain:.0f}" if gain >= 10 else f" x{gain:.1f}"
            cells.append(
                f"{_number(iv.estimate, output)} [{_number(iv.low, output)}, {_number(iv.high, output)}]{gain_text}"
            )
        table.add_row(output, *cells)
    table.caption = (
        "first column: the reference's mean (arrivals as UTC dates, hours since its start in the files); "
        "a non-arrival is left out of means and pairs, later than any date in percentiles (see manifest.json)"
    )
    return table


@click.command()
@click.argument("plans", nargs=-1)
@click.option(
    "--experiment",
    "-x",
    metavar="FILE",
    help="An experiment file (or shipped name) with `plans:`; PLANS may then name its plans (default: all of them).",
)
@replications_option(
    f"Replications per plan (default: the experiment's, else {DEFAULT_REPLICATIONS}); with --precision, the cap.",
    at_least=2,
)
@seed_option("the experiment's, else the reference scenario's")
@click.option(
    "--reference",
    "-r",
    metavar="PLAN",
    help="The plan the others are differenced from (default: the experiment's reference, else the first).",
)
@click.option(
    "--output",
    "-y",
    "outputs",
    multiple=True,
    metavar="OUTPUT",
    help="An output to show and to hold to --precision (repeatable; default: destination, duration, losses, "
    "incidents, hours).",
)
@click.option(
    "--precision",
    "precision_text",
    metavar="WIDTH",
    help="Add replications until every paired-difference interval of the shown outputs is at most WIDTH wide in full "
    "(hours for times: 4h, 90min; a bare number is in the output's own unit).",
)
@click.option(
    "--select",
    "select_text",
    metavar="min:OUTPUT|max:OUTPUT",
    help="Also select the best plan on OUTPUT by Kim and Nelson's fully sequential procedure (needs --delta).",
)
@click.option(
    "--delta",
    type=float,
    help="Indifference zone of --select: a difference smaller than this does not matter (output's unit).",
)
@click.option(
    "--alpha", type=click.FloatRange(0.001, 0.5), default=0.05, show_default=True, help="1 - confidence of --select."
)
@click.option(
    "--n0", type=click.IntRange(min=2), default=10, show_default=True, help="First-stage replications of --select."
)
@workers_option("Worker processes; results do not depend on it.")
@out_option("Output folder (default: results/compare/<name>/).")
@click.option(
    "--plot",
    is_flag=True,
    help="Draw the risk-and-error, difference and time-versus-losses figures into <out>/figures.",
)
def compare(
    plans: tuple[str, ...],
    experiment: str | None,
    replications: int | None,
    seed: int | None,
    reference: str | None,
    outputs: tuple[str, ...],
    precision_text: str | None,
    select_text: str | None,
    delta: float | None,
    alpha: float,
    n0: int,
    workers: int,
    out: Path | None,
    plot: bool,
) -> None:
    """Compare PLANS (scenarios by name or file, or plans of --experiment) on common random numbers.

    Every plan runs replications 0..n-1 of the same seed, so each plan's difference from the
    reference is paired replication by replication. Writes plans.csv, runs.csv, summary.csv (mean
    and p10/p50/p90 with 95 % intervals), differences.csv (paired differences with intervals and the
    variance reduction the pairing achieved) and manifest.json.
    """
    from convoysim.runs.precision import parse_duration_h
    from convoysim.studies.plans import reference_first

    select = _SELECT.match(select_text) if select_text else None
    if select_text and not select:
        fail(f"--select '{select_text}': write min:OUTPUT or max:OUTPUT, e.g. min:arrival_h.Kidal")
    if select and (delta is None or not delta > 0):
        fail("--select needs --delta D > 0, the smallest difference that matters (in the output's unit)")
    try:
        width = parse_duration_h(precision_text) if precision_text is not None else None
    except ValueError as err:
        fail(f"--precision: {err}")
        return
    try:
        chosen, loaded = resolve_plans(list(plans), experiment)
        if reference:
            chosen = reference_first(chosen, reference)
    except (ExperimentError, ScenarioError) as err:
        fail(str(err))
        return
    exp = loaded.experiment if loaded else None
    n = replications or (exp.replications if exp else DEFAULT_REPLICATIONS)
    s = seed if seed is not None else (loaded.seed if loaded else chosen[0].scenario.montecarlo.seed)
    check_work(loaded.file if loaded else "compare", [p.scenario for p in chosen], n)
    shown = list(outputs) or (list(exp.outputs) if exp and exp.outputs else None)
    name = exp.name if exp else "-vs-".join(p.name for p in chosen)
    target = out or DEFAULT_ROOT / name
    try:
        if width is not None:

            def told(r: PlanComparison) -> None:
                w, which = r.widest()
                err_console.print(f"{r.replications} replications: widest interval {w:.3g} ({which})", highlight=False)

            result = compare_until_precise(
                chosen, width, s, shown, workers, max_replications=n if replications else 20_000, report=told
            )
        else:
            result = compare_plans(chosen, n, s, shown, workers)
    except ValueError as err:
        fail(str(err))
        return
    except KeyboardInterrupt:
        fail("interrupted; nothing written", EXIT_INTERRUPTED)
        return
    extra = {"experiment": exp.name if exp else None, "question": exp.question.strip() if exp else ""}
    if width is not None:
        w, which = result.widest()
        extra["precision"] = {"width": width, "reached": w <= width, "widest": w, "widest_is": which}
    selection = None
    if select:
        from convoysim.studies.selection import select_best, subset_of_best

        goal, output = select.group(1), select.group(2)
        if output not in result.outputs:
            fail(
                f"--select: unknown output '{output}' (e.g. arrival_h.{chosen[0].scenario.waypoint_names[-1]}, "
                "duration_h, vehicles_lost)"
            )
        try:
            selection = select_best(result.plans, output, goal, delta, s, alpha, n0, workers)  # type: ignore[arg-type]
        except ValueError as err:
            fail(f"--select: {err}")
            return
        subset = subset_of_best({p.name: result.censored(p.name, output) for p in result.plans}, goal, alpha)  # type: ignore[arg-type]
        extra["selection"] = {
            "output": output,
            "goal": goal,
            "delta": delta,
            "alpha": alpha,
            "n0": n0,
            "best": selection.best,
            "replications": selection.replications,
            "capped": selection.capped,
            "could_be_best": subset,
            "could_be_best_from": f"{result.replications} replications per plan",
            "non_arrivals": "counted at the horizon (as in the CRPS)",
        }
    try:
        write_comparison(target, result, extra)
        if selection is not None:
            from convoysim.runs.files import csv_text, write_atomic

            write_atomic(target / "selection.csv", csv_text(selection.rows()))
        if plot:
            from convoysim.figures.compare import compare_figures
            from convoysim.figures.style import save

            for fname, fig in compare_figures(result).items():
                save(fig, target / "figures" / fname, "png")
    except OSError as err:
        fail(f"{target}: cannot write: {err.strerror}")
        return
    console = out_console()
    console.print(difference_table(result))
    if width is not None:
        w, which = result.widest()
        click.echo(
            f"{'reached' if w <= width else 'NOT reached'}: widest paired-difference interval {w:.3g} "
            f"({which}) after {result.replications} replications per plan"
        )
    if selection is not None:
        used = ", ".join(f"{k} {v}" for k, v in selection.replications.items())
        click.echo(
            f"best on {goal}:{output}: {selection.best} "
            f"(Kim-Nelson, delta {delta:g}, confidence "
            f"{1 - alpha:.0%}{', STOPPED AT THE CAP' if selection.capped else ''}); "
            f"replications used: {used}"
        )
        click.echo(
            f"could be the best (subset selection on {result.replications} replications): "
            f"{', '.join(extra['selection']['could_be_best'])}"
        )
    click.echo(f"written to {target}")
