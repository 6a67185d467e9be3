"""A whole calibration, as `convoysim calibrate` runs it and a notebook can: fit by ABC-SMC with a
checkpoint after every generation (resuming what the directory already holds), then write the
posterior and calibrated.yaml, score the base and the calibrated scenario on the same seed, draw the
figures and record the outcome in calibration.json.

One call does it all (`calibrate`); `CalibrationRun` offers the same in three steps (open, fit,
finish) for a caller that reports between them. Nothing here prints: progress goes to a
`PhaseProgress` the caller passes, news of each generation to `on_generation`.
"""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from convoysim.calibration.abc import (
    AbcSettings,
    CalibrationResult,
    Population,
    history_row,
    posterior_medians,
    posterior_summary,
    run_abc_smc,
)
from convoysim.calibration.loo import DRAWS, LeaveOneOut, LeaveOneOutError, leave_one_out
from convoysim.calibration.priors import UniformPrior
from convoysim.calibration.problem import CalibrationProblem, Evaluator
from convoysim.calibration.shrinkage import with_shrinkage
from convoysim.calibration.store import (
    CalibrationStore,
    fit_config,
    posterior_frame,
    provenance,
    write_calibrated,
    write_posterior,
)
from convoysim.calibration.validation import Validation, validate
from convoysim.runs.files import csv_text, write_atomic
from convoysim.runs.montecarlo import Progress
from convoysim.runs.pool import Executor, LocalExecutor
from convoysim.scenario.loading import build_scenario, read_source
from convoysim.scenario.paths import get_value
from convoysim.scenario.schema import Scenario

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas

PhaseProgress = Callable[[str, int], AbstractContextManager[Progress | None]]
"""Opens the progress report of one phase, given its label and number of steps, and yields the
callback that advances it (or None). The command line passes progress bars; the default is silent."""


def no_progress(label: str, total: int) -> AbstractContextManager[Progress | None]:
    return nullcontext(None)


class NoGenerationError(ValueError):
    """The budget ran out before the first generation filled: there is no posterior to write."""


def command_line(
    problem: CalibrationProblem,
    settings: AbcSettings,
    out: Path,
    scenario: str | Sequence[str] | None = None,
    params: Sequence[str] | None = None,
) -> str:
    """The `convoysim calibrate` command that makes (or resumes) this calibration, for the provenance
    of calibrated.yaml. `scenario` and `params` as the user typed them; by default the scenario file
    and the priors' own specs."""
    specs = params if params is not None else [p.as_spec() for p in problem.priors]
    scenarios = [scenario] if isinstance(scenario, str) else list(scenario or [src.file for src, _ in problem.members])
    weight = (
        ["--count-weight-h", f"{problem.count_weight_h:g}"]
        if any(sc.documented_counts for _, sc in problem.members)
        else []
    )
    words = [
        "convoysim",
        "calibrate",
        *scenarios,
        *[w for spec in specs for w in ("--param", spec)],
        "--budget",
        settings.budget,
        "--population",
        settings.population_size,
        "--particle-replications",
        problem.replications,
        "--distance",
        problem.distance,
        *weight,
        "--quantile",
        settings.quantile,
        "--max-generations",
        settings.max_generations,
        "--seed",
        settings.seed,
        "--out",
        out,
    ]
    return " ".join(shlex.quote(str(w)) for w in words)


@dataclass
class ScenarioCheck:
    """One scenario of the fit scored before and after calibration, on the same replications."""

    name: str
    calibrated_file: Path
    before: Validation
    after: Validation

    def record(self) -> dict[str, Any]:
        return {
            "scenario": self.name,
            "calibrated_file": self.calibrated_file.name,
            "before": self.before.comparison.summary(),
            "after": self.after.comparison.summary(),
        }


@dataclass
class CalibrationOutcome:
    """What a finished calibration found: the fit, its posterior summary (one row per parameter),
    and the scores of each scenario before and after calibration on the same replications."""

    result: CalibrationResult
    summary: list[dict[str, Any]]
    command: str
    check_replications: int
    checks: list[ScenarioCheck]
    priors: Sequence[UniformPrior] = ()
    names: Sequence[str] = ()
    """The scenarios of the fit (the per-scenario distance columns of the posterior)."""

    @property
    def calibrated_file(self) -> Path:
        return self.checks[0].calibrated_file

    @property
    def before(self) -> Validation:
        return self.checks[0].before

    @property
    def after(self) -> Validation:
        return self.checks[0].after

    def posterior_frame(self) -> "pandas.DataFrame":
        """The posterior sample, one row per particle (posterior.csv's columns); needs pandas."""
        return posterior_frame(self.result.posterior, self.priors, self.names)

    def summary_frame(self) -> "pandas.DataFrame":
        """posterior_summary.csv's rows: median and 80 % credible interval per parameter; needs pandas."""
        from convoysim.runs.frames import frame

        return frame(self.summary)

    def record(self) -> dict[str, Any]:
        """The outcome as calibration.json keeps it."""
        posterior = self.result.posterior
        return {
            "command": self.command,
            "stop_reason": self.result.stop_reason,
            "generations": len(self.result.populations),
            "evaluations": self.result.evaluations,
            "effective_sample_size": posterior.ess,
            "posterior_summary": self.summary,
            "check_replications": self.check_replications,
            "before": _headline(self.before),
            "after": _headline(self.after),
            "scenarios": [check.record() for check in self.checks],
        }


def _headline(v: Validation) -> dict[str, float | None]:
    """Coverage and mean CRPS of the first scenario (None where there is nothing to score)."""
    summary = v.comparison.summary()
    return {"coverage": summary["coverage"], "mean_crps_h": summary["mean_crps_h"]}


class CalibrationRun:
    """One calibration and its directory. `open` finds what an earlier run with the same settings
    completed, `fit` continues it with a checkpoint after every generation, `finish` writes the rest."""

    def __init__(
        self,
        problem: CalibrationProblem,
        settings: AbcSettings,
        store: CalibrationStore,
        config: dict[str, Any],
        done: list[Population],
        history: list[dict[str, Any]],
    ):
        self.problem, self.settings, self.store, self.config = problem, settings, store, config
        self.done = done
        """The completed generations, in order; a KeyboardInterrupt during `fit` keeps those saved."""
        self.history = history
        """history.csv's rows of the completed generations."""

    @classmethod
    def open(cls, problem: CalibrationProblem, settings: AbcSettings, out: str | Path) -> "CalibrationRun":
        """Start a calibration in `out`, or resume one there; raises CalibrationDirError for a
        directory that holds anything else (another calibration's settings, other files)."""
        store, config = CalibrationStore(out), fit_config(problem, settings)
        done = store.open(config)
        return cls(problem, settings, store, config, done, store.history()[: len(done)])

    @property
    def out(self) -> Path:
        return self.store.out

    def fit(
        self,
        workers: int = 1,
        progress: PhaseProgress = no_progress,
        on_generation: Callable[[Population], None] | None = None,
        executor: Executor | None = None,
    ) -> CalibrationResult:
        """Run ABC-SMC until it stops, saving each generation as it completes, so an interruption
        loses at most the generation under way. Raises NoGenerationError when none completed.

        Particles run on `workers` local processes, or on `executor` (a `DaskExecutor` for a
        cluster); the posterior is the same either way."""
        used = sum(p.evaluations for p in self.done)

        def checkpoint(pop: Population) -> None:
            nonlocal used
            used += pop.evaluations
            self.done.append(pop)
            self.history.append(history_row(pop, used))
            self.store.save_generation(pop, self.problem.priors, self.history, self.problem.names)
            if on_generation:
                on_generation(pop)

        names = " + ".join(sc.name for _, sc in self.problem.members)
        label, total = f"{names}: calibrating", max(1, self.settings.budget - used)
        try:
            with (
                Evaluator(self.problem, executor or LocalExecutor(workers)) as running,
                progress(label, total) as advance,
            ):
                result = run_abc_smc(
                    self.problem, self.settings, running, list(self.done), progress=advance, on_generation=checkpoint
                )
        except BaseException:
            self.store.release()  # an interrupted fit is resumed by opening the directory again
            raise
        if not result.populations:
            raise NoGenerationError(
                f"no generation completed within the budget of {self.settings.budget} evaluations "
                "(every particle's scenario was invalid?)"
            )
        return result

    def finish(
        self,
        result: CalibrationResult,
        check_replications: int = 500,
        workers: int = 1,
        command: str | None = None,
        progress: PhaseProgress = no_progress,
    ) -> CalibrationOutcome:
        """Write posterior.csv, posterior_summary.csv and calibrated.yaml (at the posterior medians),
        run the base and the calibrated scenario `check_replications` times on the fit's seed, draw
        the figures and record the outcome in calibration.json. `command` goes into calibrated.yaml's
        header (default: the equivalent `convoysim calibrate` command)."""
        problem, priors, posterior = self.problem, self.problem.priors, result.posterior
        base_values = {p.name: _base_value(problem, p) for p in priors}
        summary = with_shrinkage(posterior_summary(posterior, priors, base_values))
        for row in summary:
            row["scenarios"] = " ".join(problem.applies_to(row["parameter"]))
        write_posterior(self.store, posterior, priors, summary, problem.names)
        command = command or command_line(problem, self.settings, self.out)
        header = provenance(command, self.config, summary, result.stop_reason, self.history, result.evaluations)
        medians = posterior_medians(posterior, priors)
        joint = len(problem.members) > 1
        checks = []
        for k, (source, scenario) in enumerate(problem.members):
            values = problem.member_values(k, medians)
            name = f"calibrated-{scenario.name}.yaml" if joint else "calibrated.yaml"
            calibrated_file = write_calibrated(self.store, source, values, header, name)
            before = _checked(
                scenario, check_replications, self.settings.seed, workers, progress, f"{scenario.name} before"
            )
            calibrated = build_scenario(read_source(calibrated_file))
            after = _checked(
                calibrated, check_replications, self.settings.seed, workers, progress, f"{scenario.name} after"
            )
            _draw_fans(self.out / (f"arrival_fans-{scenario.name}.png" if joint else "arrival_fans.png"), before, after)
            checks.append(ScenarioCheck(scenario.name, calibrated_file, before, after))
        _draw_posterior(self.out, posterior, priors, base_values)
        outcome = CalibrationOutcome(result, summary, command, check_replications, checks, priors, problem.names)
        self.store.finish(self.config, outcome.record())
        return outcome

    def leave_one_out(self, workers: int = 1, executor: Executor | None = None, draws: int = DRAWS) -> LeaveOneOut:
        """Predict each scenario from the posterior without it, re-weighted from the last generation's
        proposals (`calibration.loo`), and write leave_one_out.json and leave_one_out.csv. Raises
        LeaveOneOutError (a fit of one scenario) or CalibrationDirError (no proposals kept)."""
        if len(self.problem.members) < 2:
            raise LeaveOneOutError(
                "a leave-one-out needs a joint fit of at least 2 scenarios (convoys); "
                "give a corpus or several scenarios"
            )
        if not self.done:
            raise LeaveOneOutError(f"{self.out} holds no completed generation to leave convoys out of")
        last = self.done[-1]
        proposals = last.proposals or self.store.load_proposals(
            last.generation, len(self.problem.priors), self.problem.names
        )
        with Evaluator(self.problem, executor or LocalExecutor(workers)) as running:
            result = leave_one_out(self.problem, proposals, self.problem.priors, running, self.settings.seed, draws)
        write_atomic(
            self.out / "leave_one_out.json",
            json.dumps(_finite(result.record()), indent=2, allow_nan=False) + "\n",
        )
        write_atomic(self.out / "leave_one_out.csv", csv_text(result.rows()))
        return result


def _finite(x: Any) -> Any:
    """`x` ready for JSON: numpy numbers as Python's, NaN and infinities as null, in any nesting."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    value = x.item() if hasattr(x, "item") else x
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _base_value(problem: CalibrationProblem, prior: UniformPrior) -> Any:
    """The parameter's value in the first scenario it is set in."""
    first = problem.applies_to(prior.name)[0]
    return next(get_value(sc, prior.path) for _, sc in problem.members if sc.name == first)


def _checked(
    scenario: Scenario, replications: int, seed: int, workers: int, progress: PhaseProgress, when: str
) -> Validation:
    with progress(f"{when}: replications", replications) as advance:
        return validate(scenario, replications, seed, workers, progress=advance)


def _draw_fans(path: Path, before: Validation, after: Validation) -> None:
    """Time-distance fans of one scenario before and after, on the same replications."""
    from convoysim.calibration.figures import (  # matplotlib: only here
        Fan,
        arrival_fans,
        save,
    )

    plan = before.run.plan
    windows = [(m.waypoint, m.earliest_h, m.latest_h) for m in before.comparison.milestones]
    fans = [
        Fan(
            label,
            v.run.arrivals(),
            v.comparison.coverage,
            v.comparison.mean_crps_h,
            np.array([r.departure_h for r in v.run.records], dtype=float),
        )
        for label, v in (("before calibration", before), ("after (posterior medians)", after))
    ]
    save(arrival_fans(fans, plan.start, plan.names, plan.road_km, windows, plan.horizon_h), path)


def _draw_posterior(
    out: Path, posterior: Population, priors: Sequence[UniformPrior], base_values: dict[str, Any]
) -> None:
    """posterior_marginals.png, and posterior_pairs.png when there is more than one parameter."""
    from convoysim.calibration.figures import (  # matplotlib: only here
        posterior_marginals,
        posterior_pairs,
        save,
    )

    save(posterior_marginals(posterior, priors, base_values), out / "posterior_marginals.png")
    if len(priors) > 1:
        save(posterior_pairs(posterior, priors), out / "posterior_pairs.png")


def calibrate(
    problem: CalibrationProblem, settings: AbcSettings, out: str | Path, check_replications: int = 500, workers: int = 1
) -> CalibrationOutcome:
    """Fit, write every output and check before against after, in one call; resumes `out` if an
    earlier run with the same settings left generations there. Silent; for progress or a custom
    command in the provenance, use CalibrationRun's steps."""
    run = CalibrationRun.open(problem, settings, out)
    return run.finish(run.fit(workers), check_replications, workers)
