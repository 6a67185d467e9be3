"""Reading scenario files: safe YAML, `extends:` variants, and errors that name file, line and field.

A variant scenario starts with `extends: baseline.yaml` and lists only what it changes; mappings
are merged key by key, lists and values are replaced, and a key set to null is removed.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from convoysim.scenario.errors import ScenarioError, clip, field_path, first_problem
from convoysim.scenario.schema import Scenario, validated
from convoysim.scenario.theatre import THEATRES_FOLDER, Theatre, TheatreProblem, theatre_defaults, uses_theatre_names

PACKAGED_SCENARIOS = "scenarios"

MAX_FILE_BYTES = 1_000_000
"""A scenario or experiment file is a few kilobytes; a megabyte is a mistake (or an attack)."""
MAX_YAML_NODES = 100_000
"""Values a file may hold once its aliases are expanded (the baseline holds about 400)."""
MAX_YAML_DEPTH = 50
"""Nesting levels a file may use (the schema's deepest path is 5)."""
MAX_EXTENDS = 20
"""Files an `extends:` chain may hold."""


class ExtendsTooLong(ScenarioError):
    """An extends chain past MAX_EXTENDS files; reported at the file where it ran out, not re-wrapped."""


@dataclass
class SourceLayer:
    """One file of a scenario (a variant, then what it extends), kept to point errors at lines."""

    file: str
    """The name as the user gave it, for messages."""
    text: str
    node: yaml.Node | None
    path: Path = Path("scenario.yaml")
    """Where it was read from."""
    prefix: tuple[Any, ...] = ()
    """Where this file's top level sits in the merged data: `("theatre",)` for a theatre file."""


@dataclass
class ScenarioSource:
    """What a scenario was made from: the merged data and the files, nearest first."""

    data: dict[str, Any]
    layers: list[SourceLayer] = field(default_factory=list)

    @property
    def file(self) -> str:
        return self.layers[0].file if self.layers else "<data>"

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for layer in self.layers:
            digest.update(layer.text.encode())
        return digest.hexdigest()


def shipped_names(folder: str) -> list[str]:
    """Names of the YAML files shipped in a package folder (scenarios, experiments)."""
    root = resources.files("convoysim") / folder
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def shipped_path(folder: str, name: str | Path) -> Path | None:
    """The shipped file a bare name (`baseline`, `baseline.yaml`) means, if there is one."""
    candidate = Path(name)
    stem = candidate.name[:-5] if candidate.name.endswith(".yaml") else candidate.name
    shipped = resources.files("convoysim") / folder / f"{stem}.yaml"
    if str(candidate) in (stem, f"{stem}.yaml") and shipped.is_file():
        return Path(str(shipped))
    return None


def packaged_scenarios() -> list[str]:
    """Names of the scenarios shipped inside the package (usable from any directory)."""
    return shipped_names(PACKAGED_SCENARIOS)


def resolve_path(name: str | Path, relative_to: Path | None = None) -> Path:
    """A path to a scenario file: as given, beside `relative_to`, or a packaged scenario's name."""
    candidate = Path(name)
    if candidate.is_dir():
        raise ScenarioError(str(name), "is a directory, not a scenario file")
    if relative_to is not None and not candidate.is_absolute():
        beside = relative_to / candidate
        if beside.is_file():
            return beside
    if candidate.is_file():
        return candidate
    packaged = shipped_path(PACKAGED_SCENARIOS, name)
    if packaged is not None:
        return packaged
    nested = Path(str(resources.files("convoysim") / PACKAGED_SCENARIOS)) / candidate
    for shipped in (nested, nested.with_name(nested.name + ".yaml")):
        if not candidate.is_absolute() and shipped.is_file():  # a shipped folder's scenario: corpus/bf-djibo-2023
            return shipped
    raise ScenarioError(str(name), f"no such file (shipped scenarios: {', '.join(packaged_scenarios())})")


def _nodes(node: yaml.Node | None):
    """Every node of a composed YAML tree, depth first (call `_check_size` first: aliases repeat nodes)."""
    if node is None:
        return
    yield node
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _nodes(key)
            yield from _nodes(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _nodes(item)


def _check_size(node: yaml.Node | None, file: str) -> None:
    """Refuse a tree whose aliases expand beyond MAX_YAML_NODES, that nests deeper than
    MAX_YAML_DEPTH, or that contains itself, before anything walks or copies it."""
    count = 0
    on_path: set[int] = set()

    def walk(n: yaml.Node, depth: int) -> None:
        nonlocal count
        count += 1
        if count > MAX_YAML_NODES:
            raise ScenarioError(
                file,
                f"expands to more than {MAX_YAML_NODES:,} values (aliases repeated inside aliases?)",
                line=n.start_mark.line + 1,
            )
        if depth > MAX_YAML_DEPTH:
            raise ScenarioError(file, f"nests more than {MAX_YAML_DEPTH} levels deep", line=n.start_mark.line + 1)
        if isinstance(n, (yaml.MappingNode, yaml.SequenceNode)):
            if id(n) in on_path:
                raise ScenarioError(file, "an alias refers to the value that contains it", line=n.start_mark.line + 1)
            on_path.add(id(n))
            children = [c for pair in n.value for c in pair] if isinstance(n, yaml.MappingNode) else n.value
            for child in children:
                walk(child, depth + 1)
            on_path.discard(id(n))

    if node is not None:
        walk(node, 0)


SCALAR_TAGS = {
    "tag:yaml.org,2002:bool": "construct_yaml_bool",
    "tag:yaml.org,2002:int": "construct_yaml_int",
    "tag:yaml.org,2002:float": "construct_yaml_float",
}
"""Tags a file may force on a value (`!!bool maybe`); PyYAML raises KeyError or ValueError on a bad one."""


def _check_tree(node: yaml.Node | None, file: str) -> None:
    """Mistakes PyYAML lets through silently or reports without a line: repeated keys, bad dates."""
    constructor = yaml.SafeLoader("")
    for n in _nodes(node):
        if isinstance(n, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, _ in n.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        raise ScenarioError(
                            file,
                            f"key '{key.value}' appears twice in this mapping (first on line {seen[key.value]})",
                            line=key.start_mark.line + 1,
                        )
                    seen[key.value] = key.start_mark.line + 1
        elif isinstance(n, yaml.ScalarNode) and n.tag == "tag:yaml.org,2002:timestamp":
            try:
                constructor.construct_yaml_timestamp(n)
            except (ValueError, AttributeError, TypeError, OverflowError) as err:  # !!timestamp 'abc': no match object
                why = f" ({err})" if isinstance(err, ValueError) else ""
                raise ScenarioError(
                    file, f"'{clip(n.value)}' is not a valid date or time{why}", line=n.start_mark.line + 1
                ) from None
        elif isinstance(n, yaml.ScalarNode) and n.tag in SCALAR_TAGS:
            try:
                getattr(constructor, SCALAR_TAGS[n.tag])(n)
            except (ValueError, KeyError, TypeError):
                tag = n.tag.rsplit(":", 1)[-1]
                raise ScenarioError(
                    file, f"'{clip(n.value)}' is not a valid !!{tag}", line=n.start_mark.line + 1
                ) from None


def parse_yaml(text: str, file: str) -> tuple[Any, yaml.Node | None]:
    """Safe YAML (no tags that build Python objects) and its node tree, for line numbers."""
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(
            file, f"is {len(text):,} characters long; a scenario or experiment file is at most {MAX_FILE_BYTES:,}"
        )
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        _check_size(node, file)
        _check_tree(node, file)
        data = yaml.safe_load(text)
    except yaml.reader.ReaderError as err:  # a character YAML does not allow: its line, not its offset
        line = text.count("\n", 0, err.position) + 1 if isinstance(err.position, int) else None
        char = f"#x{err.character:04x}" if isinstance(err.character, int) else repr(err.character)
        raise ScenarioError(file, f"YAML error: character {char} is not allowed in a YAML file", line=line) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else None
        raise ScenarioError(file, f"YAML syntax error: {err.problem or err}", line=line) from None
    except (yaml.YAMLError, ValueError) as err:
        raise ScenarioError(file, f"YAML error: {err}") from None
    except RecursionError:
        raise ScenarioError(file, f"nests more than {MAX_YAML_DEPTH} levels deep") from None
    return data, node


def read_text(path: Path, file: str) -> str:
    """A YAML file's text, or a ScenarioError that says why it cannot be read."""
    if path.is_dir():
        raise ScenarioError(file, "is a directory, not a YAML file")
    try:
        if path.stat().st_size > 4 * MAX_FILE_BYTES:
            raise ScenarioError(
                file,
                f"is {path.stat().st_size:,} bytes; a scenario or experiment file is at most {MAX_FILE_BYTES:,} "
                "characters",
            )
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ScenarioError(file, f"is not UTF-8 text (byte {err.start}); save it as UTF-8") from None
    except OSError as err:
        raise ScenarioError(file, f"cannot read: {err.strerror}") from None


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep merge for variants: mappings merge, other values replace, None deletes.

    A mapping with a `dist` key is a whole distribution and replaces the base's, so a variant can
    switch a lognormal speed to a uniform one without removing `median` and `sigma` by hand.
    """
    out = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict) and "dist" not in value:
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def read_source(name: str | Path, relative_to: Path | None = None) -> ScenarioSource:
    """Read a scenario file and every file it extends into one merged mapping, with the theatre file
    it names (if any) read in under `theatre` (the scenario's `theatre:` overrides merged over it)."""
    return _with_theatre(_read_chain(name, relative_to))


def theatre_path(name: str, relative_to: Path) -> Path | None:
    """The theatre file `theatre: NAME` means: beside the scenario, as given, or shipped
    (`sahel` or `theatres/sahel.yaml`)."""
    shipped = resources.files("convoysim") / PACKAGED_SCENARIOS
    stem = name[:-5] if name.endswith(".yaml") else name
    for candidate in (
        relative_to / name,
        Path(name),
        Path(str(shipped)) / name,
        Path(str(shipped)) / THEATRES_FOLDER / f"{stem}.yaml",
    ):
        if candidate.is_file():
            return candidate
    return None


def _theatre_reference(data: dict[str, Any], node: yaml.Node | None, path: Path, file: str) -> None:
    """Turn this file's `theatre: NAME` (or `theatre: {file: NAME, ...}`) into `{file: <path>, ...}`,
    so that files extending each other merge their theatre overrides and the name is found beside
    the file that wrote it."""
    given = data.get("theatre")
    if isinstance(given, str):
        given = {"file": given}
    if not isinstance(given, dict) or "file" not in given:
        if given is not None and not isinstance(given, dict):
            raise ScenarioError(
                file,
                "theatre must name a theatre file (e.g. `theatre: sahel`)",
                path="theatre",
                line=_line_of(node, ("theatre",)),
            )
        return
    if not isinstance(given["file"], str):
        raise ScenarioError(
            file, "theatre.file must name a theatre file", path="theatre.file", line=_line_of(node, ("theatre", "file"))
        )
    found = theatre_path(given["file"], path.parent)
    if found is None:
        shipped = ", ".join(shipped_names(f"{PACKAGED_SCENARIOS}/{THEATRES_FOLDER}"))
        raise ScenarioError(
            file,
            f"no theatre file '{given['file']}' (shipped theatres: {shipped})",
            path="theatre",
            line=_line_of(node, ("theatre",)),
        )
    data["theatre"] = {**given, "file": str(found.resolve())}


def _theatre_name(path: Path) -> str:
    """How messages name a theatre file: from the shipped scenarios folder when it is shipped."""
    shipped = Path(str(resources.files("convoysim") / PACKAGED_SCENARIOS)).resolve()
    try:
        return str(path.relative_to(shipped))
    except ValueError:
        return str(path)


def _with_theatre(source: ScenarioSource) -> ScenarioSource:
    """The source with its theatre file read in under `theatre`, as a layer of its own for errors."""
    given = source.data.get("theatre")
    if not isinstance(given, dict) or "file" not in given:
        return source
    path = Path(given["file"])
    file = _theatre_name(path)
    text = read_text(path, file)
    data, node = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise ScenarioError(file, "a theatre file must be a mapping of keys (name, roads, threats, kinds, ...)", line=1)
    overrides = {k: v for k, v in given.items() if k != "file"}
    merged = {**source.data, "theatre": merge(data, overrides)}
    return ScenarioSource(merged, [*source.layers, SourceLayer(file, text, node, path, prefix=("theatre",))])


def _read_chain(name: str | Path, relative_to: Path | None = None, _seen: tuple[Path, ...] = ()) -> ScenarioSource:
    """A scenario file and every file it extends, merged (the theatre not yet read in)."""
    path = resolve_path(name, relative_to)
    file = str(name) if not relative_to else str(path)
    if path.resolve() in _seen:
        raise ScenarioError(file, "extends itself through a chain of files")
    if len(_seen) >= MAX_EXTENDS:
        raise ExtendsTooLong(
            file, f"is the {len(_seen) + 1}st file of an extends chain; a chain holds at most {MAX_EXTENDS}"
        )
    text = read_text(path, file)
    data, node = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise ScenarioError(file, "a scenario file must be a mapping of keys (name, start, route, ...)", line=1)
    if "question" in data or ("parameters" in data and "route" not in data):
        raise ScenarioError(file, "this is an experiment file, not a scenario; run it with `convoysim sweep`")
    layer = SourceLayer(file, text, node, path)
    _theatre_reference(data, node, path, file)
    parent = data.pop("extends", None)
    if parent is None:
        return ScenarioSource(data, [layer])
    if not isinstance(parent, str):
        raise ScenarioError(
            file, "extends must name a scenario file", path="extends", line=_line_of(node, ("extends",))
        )
    try:
        base = _read_chain(parent, path.parent, _seen + (path.resolve(),))
    except ScenarioError as err:
        if err.file == parent and not isinstance(err, ExtendsTooLong):
            raise ScenarioError(
                file, f"extends '{parent}': {err.reason}", path="extends", line=_line_of(node, ("extends",))
            ) from None
        raise
    return ScenarioSource(merge(base.data, data), [layer, *base.layers])


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Line (1-based) of the deepest node along `loc` that the file actually contains."""
    if node is None:
        return None
    found: yaml.Node | None = None
    depth = 0
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for key_node, value_node in node.value:
                if key_node.value == str(part):
                    nxt, found = value_node, key_node
                    break
            if nxt is None:
                continue
            node = nxt
            depth += 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            found = node
            depth += 1
    return found.start_mark.line + 1 if found is not None and depth else None


def locate(source: ScenarioSource, loc: tuple[Any, ...]) -> tuple[str, str, int | None]:
    """File, dotted field path and line for a location in the merged data."""
    parts, text = field_path(source.data, loc)
    for layer in source.layers:
        if tuple(parts[: len(layer.prefix)]) != layer.prefix:
            continue
        own = parts[len(layer.prefix) :]
        line = _line_of(layer.node, tuple(own))
        if line is not None and _reaches(layer.node, own):
            return layer.file, text, line
    first = source.layers[0] if source.layers else None
    return (first.file if first else "<data>"), text, (_line_of(first.node, tuple(parts)) if first else None)


def _reaches(node: yaml.Node | None, parts: list[Any]) -> bool:
    """Whether this file itself spells out the whole path (and so is where the value came from)."""
    for part in parts:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return False
        if node is None:
            return False
    return True


def validation_error(source: ScenarioSource, err: ValidationError, prefix: tuple[Any, ...] = ()) -> ScenarioError:
    """The first problem pydantic found, pointed at the file and line it came from; `prefix` is where
    the validated mapping sits in the scenario (`("theatre",)` for its theatre)."""
    loc, reason = first_problem(err)
    file, path, line = locate(source, prefix + loc)
    return ScenarioError(file, reason, path=path, line=line)


def on_theatre(source: ScenarioSource) -> dict[str, Any]:
    """The scenario's data with its theatre's values filled in (convoysim.scenario.theatre); data
    without a theatre, or already resolved (a run's scenario.resolved.yaml), as it is."""
    data = source.data
    given = data.get("theatre")
    if given is None:
        where = uses_theatre_names(data)
        if where is not None:
            file, path, line = locate(source, where)
            raise ScenarioError(
                file,
                f"'{where[-1]}' names a theatre's {'convoy kind' if where[-1] == 'kind' else where[-1]}; "
                "say which theatre first (e.g. `theatre: sahel`)",
                path=path,
                line=line,
            )
        return data
    if not isinstance(given, dict):
        file, path, line = locate(source, ("theatre",))
        raise ScenarioError(file, "theatre must name a theatre file (e.g. `theatre: sahel`)", path=path, line=line)
    if given.get("resolved") is True:
        return data
    try:
        theatre = Theatre.model_validate(given)
    except ValidationError as err:
        raise validation_error(source, err, ("theatre",)) from None
    try:
        defaults, waypoints = theatre_defaults(data, theatre)
    except TheatreProblem as problem:
        file, path, line = locate(source, problem.loc)
        raise ScenarioError(file, problem.reason, path=path, line=line) from None
    resolved = merge(defaults, {k: v for k, v in data.items() if k != "theatre"})
    if isinstance(resolved.get("route"), dict) and waypoints:
        resolved["route"] = {**resolved["route"], "waypoints": waypoints}
    resolved["theatre"] = {"resolved": True, **theatre.model_dump(mode="python", by_alias=True)}
    return resolved


def build_scenario(source: ScenarioSource) -> Scenario:
    """Validate merged data into a Scenario, on its theatre if it names one; the first problem is
    raised as a ScenarioError at its line."""
    return validated(on_theatre(source), lambda loc: locate(source, loc))


def load_scenario(name: str | Path) -> Scenario:
    """Load a scenario file (or a shipped scenario by name) into a validated Scenario."""
    return build_scenario(read_source(name))
