"""A calibration's directory: checkpoints after every generation, the posterior, and the calibrated
scenario file.

    calibration.json          what was fitted and how (checked on resume), then the outcome
    history.csv               one row per completed generation: tolerance, acceptance, evaluations
    generations/population-NNN.csv   every completed generation (particle, weight, distance, the
                              distance to each scenario `distance:<name>`, values)
    generations/proposals-NNN.csv    every particle the generation simulated, accepted or not, with
                              its seed, its importance weight prior / proposal density and its
                              distance to each scenario (what the leave-one-out re-weights)
    posterior.csv             the last generation: the posterior sample
    posterior_summary.csv     median and 80 % credible interval per parameter
    calibrated.yaml           the base scenario at the posterior medians, as an `extends:` variant
                              (a joint fit of several scenarios: calibrated-<name>.yaml for each)

Files are written atomically (results.write_atomic); a generation counts as completed once its
row is in history.csv, so an interruption at any moment leaves a directory that resumes cleanly.
"""

from __future__ import annotations

import csv
import json
import math
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from convoysim.calibration.abc import AbcSettings, CalibrationProblem, Population, Proposals, UniformPrior
from convoysim.runs import identity
from convoysim.runs.files import csv_text, write_atomic
from convoysim.runs.lock import FolderInUse, WriterLock
from convoysim.scenario.loading import ScenarioError, ScenarioSource, build_scenario, read_source, resolve_path
from convoysim.scenario.paths import apply_values, full_tree, with_values

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas

RESUMABLE_SETTINGS = ("budget", "max_generations", "min_acceptance", "min_epsilon")
"""Settings that only decide when to stop, so a resumed run may change them (e.g. a larger budget)."""

HISTORY_COLUMNS = [
    "generation",
    "epsilon_h",
    "evaluations",
    "cumulative_evaluations",
    "accepted",
    "acceptance_rate",
    "ess",
    "median_distance_h",
]


class CalibrationDirError(ValueError):
    """An output directory that cannot hold (or resume) this calibration."""


def fit_config(problem: CalibrationProblem, settings: AbcSettings) -> dict[str, Any]:
    """Everything that decides the posterior; a directory resumes only under the same values."""
    return {
        "scenario": problem.scenario.name,
        "scenario_file": problem.source.file,
        "scenario_sha256": problem.source.sha256(),
        "priors": [
            {
                "path": p.path,
                "low": p.low,
                "high": p.high,
                "integer": p.integer,
                **({"scenario": p.scenario} if p.scenario else {}),
            }
            for p in problem.priors
        ],
        "distance": problem.distance,
        "count_weight_h": problem.count_weight_h,
        "other_scenarios": [
            {"scenario": sc.name, "scenario_file": src.file, "scenario_sha256": src.sha256()}
            for src, sc in problem.others
        ],
        "replications_per_particle": problem.replications,
        "settings": {k: getattr(settings, k) for k in AbcSettings.__dataclass_fields__},
        "code": identity.code_sha256(),
    }


def _comparable(config: Mapping[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(config))
    out.pop("scenario_file", None)
    for other in out.get("other_scenarios", []):
        other.pop("scenario_file", None)
    for key in RESUMABLE_SETTINGS:
        out.get("settings", {}).pop(key, None)
    return out


def _flat(config: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


WRITER = ".owner.json"
"""The writer lock's owner file in a calibration directory (hidden: not one of its results)."""


class CalibrationStore:
    """Reads and writes one calibration directory; from `open` to `finish` (or `release`) this
    process holds the directory's writer lock, so a second calibration into it is refused."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self._lock: WriterLock | None = None

    @property
    def config_file(self) -> Path:
        return self.out / "calibration.json"

    def population_file(self, generation: int) -> Path:
        return self.out / "generations" / f"population-{generation:03d}.csv"

    def proposals_file(self, generation: int) -> Path:
        return self.out / "generations" / f"proposals-{generation:03d}.csv"

    def open(self, config: Mapping[str, Any]) -> list[Population]:
        """Start a new calibration here, or return the generations a previous run with the same
        configuration completed. Raises CalibrationDirError for a directory holding anything else,
        or one another live process is writing."""
        if self._lock is None or not self._lock.held:
            try:
                self._lock = WriterLock(self.out, "calibration", WRITER)
            except FolderInUse as err:
                raise CalibrationDirError(str(err)) from None
        if self.config_file.is_file():
            old = self._read_config()
            before, now = _flat(_comparable(old.get("config", {}))), _flat(_comparable(config))
            if before.get("code") != now.get("code"):
                raise CalibrationDirError(
                    f"{self.config_file}: {identity.CODE_CHANGED}; choose another --out, "
                    "or delete that folder to start again"
                )
            if before != now:
                diff = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
                raise CalibrationDirError(
                    f"{self.out} holds a calibration with other settings ({', '.join(diff)}); "
                    "choose another --out, or repeat the same options to resume it"
                )
            done = self.load_populations(len(config["priors"]))
            self._write_config(config, old.get("created"))
            return done
        if any(p.name != WRITER for p in self.out.iterdir()):
            raise CalibrationDirError(
                f"{self.out} already holds files that are not a calibration; choose another --out"
            )
        self._write_config(config, None)
        return []

    def _read_config(self) -> dict[str, Any]:
        """calibration.json, checked to be what this program writes; damage is a CalibrationDirError."""
        try:
            old = json.loads(self.config_file.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError) as err:
            why = "nested too deeply" if isinstance(err, RecursionError) else str(err)
            raise CalibrationDirError(
                f"{self.config_file} is damaged ({why}); choose another --out, or delete it to start again"
            ) from None
        if not isinstance(old, dict) or not isinstance(old.get("config", {}), dict):
            raise CalibrationDirError(f"{self.config_file} is not a calibration's settings; choose another --out")
        return old

    def _write_config(self, config: Mapping[str, Any], created: str | None) -> None:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        write_atomic(self.config_file, json.dumps({"created": created or now, "config": config}, indent=2) + "\n")

    def save_generation(
        self,
        pop: Population,
        priors: Sequence[UniformPrior],
        history: Sequence[Mapping[str, Any]],
        names: Sequence[str] = (),
    ) -> None:
        """Checkpoint one completed generation: its proposals and population first, then the history
        that commits it. `names`: the scenarios, for the per-scenario distance columns."""
        if pop.proposals is not None and names:
            write_atomic(self.proposals_file(pop.generation), proposals_csv(pop.proposals, priors, names))
        write_atomic(self.population_file(pop.generation), population_csv(pop, priors, names))
        write_atomic(self.out / "history.csv", csv_text(history, HISTORY_COLUMNS))

    def history(self) -> list[dict[str, Any]]:
        path = self.out / "history.csv"
        if not path.is_file():
            return []
        try:
            with path.open(encoding="utf-8", newline="") as fh:
                rows = [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(fh)]
        except (UnicodeDecodeError, csv.Error) as err:
            raise CalibrationDirError(f"{path} is damaged ({err}); delete the folder to start again") from None
        for k, row in enumerate(rows):
            for key, kind in (("generation", int), ("epsilon_h", float), ("evaluations", int)):
                value = row.get(key)
                if (
                    not isinstance(value, (int, float))
                    or isinstance(value, bool)
                    or (kind is int and not isinstance(value, int))
                ):
                    raise CalibrationDirError(
                        f"{path}: row {k + 1}, column '{key}': {value!r} is not {'a whole' if kind is int else 'a'} "
                        "number; the checkpoint is damaged, delete the folder to start again"
                    )
        return rows

    def load_populations(self, n_params: int) -> list[Population]:
        """The completed generations, in order, up to the first one that is missing."""
        out: list[Population] = []
        for row in self.history():
            g = row["generation"]
            path = self.population_file(g)
            if g != len(out) or not path.is_file():
                break
            out.append(read_population(path, g, float(row["epsilon_h"]), int(row["evaluations"]), n_params))
        return out

    def load_proposals(self, generation: int, n_params: int, names: Sequence[str]) -> Proposals:
        """Generation `generation`'s proposals, checked to hold a distance to each of `names`."""
        path = self.proposals_file(generation)
        if not path.is_file():
            raise CalibrationDirError(
                f"{path}: missing; a leave-one-out needs every proposal of the last generation with its distance "
                "to each convoy, which calibrations made before this version do not keep; run the fit again "
                "into a new --out"
            )
        found = proposal_names(path)
        if list(found) != list(names):
            raise CalibrationDirError(
                f"{path}: holds distances to {', '.join(found) or 'no scenario'}, not to the fit's scenarios "
                f"({', '.join(names)}); the checkpoint is damaged"
            )
        return read_proposals(path, n_params)

    def finish(self, config: Mapping[str, Any], outcome: Mapping[str, Any]) -> None:
        old = self._read_config()
        old.update(config=dict(config), outcome=dict(outcome))
        write_atomic(self.config_file, json.dumps(old, indent=2, allow_nan=False, default=str) + "\n")
        self.release()

    def release(self) -> None:
        """Let another calibration write this directory (the lock also goes when the process ends)."""
        if self._lock is not None:
            self._lock.release()


def _number(text: str) -> float | int | str:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


MEMBER_PREFIX = "distance:"
"""The columns of each particle's distance to one scenario: `distance:<scenario name>`."""


def _member_columns(names: Sequence[str]) -> list[str]:
    return [f"{MEMBER_PREFIX}{name}" for name in names]


def population_columns(priors: Sequence[UniformPrior], names: Sequence[str] = ()) -> list[str]:
    return ["particle", "weight", "distance_h", *_member_columns(names), *[p.name for p in priors]]


def population_rows(pop: Population, priors: Sequence[UniformPrior], names: Sequence[str] = ()) -> list[dict[str, Any]]:
    """One row per particle: its weight, its distance to the documents (with `names`, and when the
    population has them, its distance to each scenario's), and its parameter values."""
    each = names if pop.member_distances is not None else ()
    rows = []
    for i in range(len(pop.weights)):
        row: dict[str, Any] = {"particle": i, "weight": float(pop.weights[i]), "distance_h": float(pop.distances[i])}
        row.update({c: float(pop.member_distances[i, k]) for k, c in enumerate(_member_columns(each))})  # type: ignore[index]
        row.update({p.name: float(pop.particles[i, k]) for k, p in enumerate(priors)})
        rows.append(row)
    return rows


def population_csv(pop: Population, priors: Sequence[UniformPrior], names: Sequence[str] = ()) -> str:
    each = names if pop.member_distances is not None else ()
    return csv_text(population_rows(pop, priors, names), population_columns(priors, each))


def posterior_frame(pop: Population, priors: Sequence[UniformPrior], names: Sequence[str] = ()) -> "pandas.DataFrame":
    """The posterior sample as a DataFrame (posterior.csv's columns); needs pandas."""
    from convoysim.runs.frames import frame

    each = names if pop.member_distances is not None else ()
    return frame(population_rows(pop, priors, names), population_columns(priors, each))


def proposals_csv(proposals: Proposals, priors: Sequence[UniformPrior], names: Sequence[str]) -> str:
    """proposals-NNN.csv: one row per proposal, in proposal order."""
    columns = ["proposal", "seed", "accepted", "proposal_weight", "distance_h", *_member_columns(names)]
    columns += [p.name for p in priors]
    joint = proposals.distances
    rows = []
    for i in range(len(proposals.weights)):
        row: dict[str, Any] = {
            "proposal": i,
            "seed": int(proposals.seeds[i]),
            "accepted": int(proposals.accepted[i]),
            "proposal_weight": float(proposals.weights[i]),
            "distance_h": float(joint[i]),
        }
        row.update({c: float(proposals.member_distances[i, k]) for k, c in enumerate(_member_columns(names))})
        row.update({p.name: float(proposals.particles[i, k]) for k, p in enumerate(priors)})
        rows.append(row)
    return csv_text(rows, columns)


def _read_table(path: Path) -> tuple[list[str], np.ndarray]:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        data = np.array([[float(x) for x in row] for row in rows[1:]], dtype=float)
    except (UnicodeDecodeError, csv.Error, ValueError, IndexError) as err:
        raise CalibrationDirError(f"{path} is damaged ({err}); delete the folder to start again") from None
    return (rows[0] if rows else []), data


def read_population(path: Path, generation: int, epsilon: float, evaluations: int, n_params: int) -> Population:
    header, data = _read_table(path)
    members = sum(c.startswith(MEMBER_PREFIX) for c in header)
    if data.ndim != 2 or data.shape[1] != 3 + members + n_params or not len(data):
        raise CalibrationDirError(f"{path} does not hold {n_params} parameters; the checkpoint is damaged")
    weights = data[:, 1]
    if (
        not np.isfinite(data[:, :2]).all()
        or not np.isfinite(data[:, 3 + members :]).all()
        or np.isnan(data[:, 2 : 3 + members]).any()
        or (weights < 0).any()
        or weights.sum() <= 0
    ):
        raise CalibrationDirError(
            f"{path} holds weights or values that are not finite and non-negative; the checkpoint is damaged"
        )
    each = data[:, 3 : 3 + members] if members else None
    return Population(generation, epsilon, data[:, 3 + members :], data[:, 1], data[:, 2], evaluations, each)


def read_proposals(path: Path, n_params: int) -> Proposals:
    """A generation's proposals-NNN.csv, as `proposals_csv` wrote it."""
    header, data = _read_table(path)
    members = sum(c.startswith(MEMBER_PREFIX) for c in header)
    if data.ndim != 2 or data.shape[1] != 5 + members + n_params or not len(data) or not members:
        raise CalibrationDirError(f"{path} does not hold {n_params} parameters; the checkpoint is damaged")
    return Proposals(
        data[:, 5 + members :],
        data[:, 1].astype(np.int64),
        data[:, 5 : 5 + members],
        data[:, 3],
        data[:, 2].astype(bool),
    )


def proposal_names(path: Path) -> list[str]:
    """The scenario names of a proposals-NNN.csv's per-scenario distance columns, in order."""
    with path.open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh), [])
    return [c[len(MEMBER_PREFIX) :] for c in header if c.startswith(MEMBER_PREFIX)]


# -- the calibrated scenario ----------------------------------------------------------------------


def calibrated_scenario_text(source: ScenarioSource, values: Mapping[str, Any], header: str) -> str:
    """The base scenario at `values`: a variant that `extends:` the base file by absolute path, or a
    copy of the merged data when the base is not a file on disk or the variant would not load the same."""
    scenario = build_scenario(source)
    expected = apply_values(source, values, scenario)
    name = f"{scenario.name}-calibrated"
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    try:
        base = resolve_path(source.file).resolve()
    except ScenarioError:
        base = None
    if base is not None:
        variant = with_values({"name": name}, full_tree(scenario), values)
        text = comment + yaml.safe_dump({"extends": str(base), **variant}, sort_keys=False, allow_unicode=True)
        if _loads_as(text, expected.model_copy(update={"name": name})):
            return text
    data = with_values(source.data, full_tree(scenario), values)
    data["name"] = name
    return (
        comment
        + "# A full copy of the base scenario (its comments are in the base file).\n"
        + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    )


def _loads_as(text: str, expected: Any) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "calibrated.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            return build_scenario(read_source(path)) == expected
        except ScenarioError:
            return False


def provenance(
    command: str,
    config: Mapping[str, Any],
    summary: Sequence[Mapping[str, Any]],
    stop_reason: str,
    history: Sequence[Mapping[str, Any]],
    evaluations: int,
) -> str:
    """The comment block at the head of calibrated.yaml: how these numbers were made."""
    settings = config["settings"]
    last = history[-1] if history else {}
    lines = [
        f"Calibrated by convoysim on {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}:",
        f"  {command}",
        f"ABC-SMC, seed {settings['seed']}, {settings['population_size']} particles per generation, "
        f"{config['replications_per_particle']} replications per particle, distance '{config['distance']}'"
        f"{_count_weight(config)}.",
        *_jointly(config),
        f"{len(history)} generations, {evaluations} evaluations; final tolerance "
        f"{_fmt(last.get('epsilon_h', math.nan))} h; stopped: {stop_reason}.",
        "Each parameter below is set to its posterior median (uniform prior over the range given);",
        "the 80 % credible interval says how uncertain it remains. The full posterior is in",
        "posterior.csv beside this file; a median is one point of it, not the whole answer.",
    ]
    for row in summary:
        lines.append(
            f"  {row['parameter']}: {_fmt(row['median'])}  (80 % CI {_fmt(row['ci80_low'])} to "
            f"{_fmt(row['ci80_high'])}; prior {_fmt(row['prior_low'])} to {_fmt(row['prior_high'])}; "
            f"was {_fmt(row['base_value'])})"
            + (
                f"  NOT IDENTIFIED by the documents (posterior sd / prior sd {_fmt(row['shrinkage'])})"
                if row.get("identified") is False
                else ""
            )
        )
    if summary and all(row.get("identified") is False for row in summary):
        lines.append(
            "WARNING: no parameter was identified: the posterior is the prior, and these medians are not fitted values."
        )
    lines.append("Everything else is the base scenario's, with the sources cited in its comments.")
    return "\n".join(lines)


def _count_weight(config: Mapping[str, Any]) -> str:
    weight = config.get("count_weight_h")
    return f", {weight:g} h per count outside its window" if weight is not None else ""


def _jointly(config: Mapping[str, Any]) -> list[str]:
    others = config.get("other_scenarios") or []
    if not others:
        return []
    names = [config["scenario"], *(o["scenario"] for o in others)]
    return [f"Fitted jointly to the documents of {len(names)} convoys: {', '.join(names)} (each weighs the same)."]


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return "n/a" if math.isnan(x) else f"{x:.4g}"
    return str(x)


def write_posterior(
    store: CalibrationStore,
    pop: Population,
    priors: Sequence[UniformPrior],
    summary: Sequence[Mapping[str, Any]],
    names: Sequence[str] = (),
) -> None:
    """posterior.csv (the last generation) and posterior_summary.csv."""
    write_atomic(store.out / "posterior.csv", population_csv(pop, priors, names))
    write_atomic(store.out / "posterior_summary.csv", csv_text(summary))


def write_calibrated(
    store: CalibrationStore,
    source: ScenarioSource,
    values: Mapping[str, Any],
    header: str,
    name: str = "calibrated.yaml",
) -> Path:
    """calibrated.yaml (or `name`), checked to load into the scenario at `values`; returns its path."""
    path = store.out / name
    write_atomic(path, calibrated_scenario_text(source, values, header))
    loaded = build_scenario(read_source(path))
    expected = apply_values(source, values, build_scenario(source))
    if loaded.model_copy(update={"name": expected.name}) != expected:
        raise RuntimeError(f"{path} does not load into the calibrated scenario")  # a bug, not bad input
    return path
