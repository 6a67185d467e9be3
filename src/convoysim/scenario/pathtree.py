"""A scenario's values as a tree of plain data, each named by its path (`convoy.speed_kmh.median`).

The walking itself, with no loader and no schema: the schema's `Scenario.with_values` builds on it,
and `paths` (which validates against the files a scenario came from) re-exports it. A path is
checked against the full tree (defaults included), so a parameter the file leaves at its default
can still be varied; a wrong path is reported with the closest valid one. List items are named by
index (`route.waypoints.3.ambush_factor`) or, for waypoints, by name
(`route.waypoints.Kidal.ambush_factor`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from convoysim.geo import KM_PER_MILE
from convoysim.scenario.strictmodel import closest

EXCLUSIVE = {"radius_km": "radius_mi", "radius_mi": "radius_km"}
"""Setting one of these removes the other: a base's radius is given in one unit only."""


class ParameterPathError(ValueError):
    """A parameter path that does not name a scenario value; `suggestion` is the closest valid path."""

    def __init__(self, path: str, reason: str, suggestion: str | None = None):
        self.path, self.reason, self.suggestion = path, reason, suggestion
        hint = f" (did you mean '{suggestion}'?)" if suggestion else ""
        super().__init__(f"{path}: {reason}{hint}")


def split(path: str) -> list[str]:
    parts = path.split(".")
    if not path or any(not p for p in parts):
        raise ParameterPathError(path, "a parameter path is keys joined by dots, e.g. threats.ambush.hazard_per_h")
    return parts


def _index(items: list[Any], part: str, path: str, done: list[str]) -> int:
    if part.isdigit() and int(part) < len(items):
        return int(part)
    names = [item.get("name") for item in items if isinstance(item, dict)]
    if part in names:
        return names.index(part)
    guess = closest(part, [n for n in names if n])
    raise ParameterPathError(
        path,
        f"no item '{part}' in {'.'.join(done)} (0-{len(items) - 1} or a name)",
        ".".join([*done, guess]) if guess else None,
    )


def resolve(full: Any, path: str) -> list[str | int]:
    """The concrete keys and list indexes of `path` in the full scenario tree, or an error."""
    node, done, keys = full, [], []
    for part in split(path):
        if isinstance(node, dict):
            if part not in node:
                guess = closest(part, [str(k) for k in node])
                suggestion = ".".join([*done, guess]) if guess else None
                where = ".".join(done) or "the scenario"
                raise ParameterPathError(path, f"'{part}' is not a key of {where}", suggestion)
            keys.append(part)
            node = node[part]
        elif isinstance(node, list):
            k = _index(node, part, path, done)
            keys.append(k)
            node = node[k]
        else:
            raise ParameterPathError(path, f"{'.'.join(done)} is a value, it has no '{part}'")
        done.append(part)
    if isinstance(node, list):
        raise ParameterPathError(path, "names a whole list; name one of its items' values")
    if isinstance(node, dict):
        values = [k for k, v in node.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        what = f"a {node['dist']} distribution" if "dist" in node else "a whole section"
        raise ParameterPathError(
            path,
            f"names {what}; name one of its values ({', '.join(values) or 'none'})",
            f"{path}.{values[0]}" if values else None,
        )
    return keys


def full_tree(scenario: BaseModel) -> dict[str, Any]:
    """Every value of a scenario, defaults included, keyed as in the file."""
    return scenario.model_dump(mode="json", by_alias=True)


def get_value(scenario: BaseModel, path: str) -> Any:
    """The value at `path`; a radius given in the other unit is converted (radius_km of a base
    written with radius_mi is its radius in km), so a path the docs name always has a number."""
    node: Any = full_tree(scenario)
    parent: Any = None
    keys = resolve(node, path)
    for key in keys:
        parent, node = node, node[key]
    last = keys[-1]
    other = EXCLUSIVE.get(last) if isinstance(last, str) else None
    if node is None and other and isinstance(parent, dict) and parent.get(other) is not None:
        return parent[other] * KM_PER_MILE if last == "radius_km" else parent[other] / KM_PER_MILE
    return node


def with_values(data: Mapping[str, Any], full: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of scenario data with each path set; missing levels are filled from `full`.

    Only the dicts and lists along the changed paths are copied; the rest is shared with `data`
    (which is never modified), so a calibration particle does not copy the whole scenario."""
    out = dict(data)
    for path, value in values.items():
        keys = resolve(full, path)
        node: Any = out
        ref: Any = full
        for key in keys[:-1]:
            ref = ref[key]
            if isinstance(node, dict) and key not in node:
                node[key] = copy.deepcopy(ref) if isinstance(ref, list) else {}
            elif isinstance(ref, dict) and not isinstance(node[key], dict):
                node[key] = copy.deepcopy(ref)  # a bare number written for {dist: fixed, value: ...}
            else:
                node[key] = copy.copy(node[key])
            node = node[key]
        last = keys[-1]
        node[last] = value
        if isinstance(node, dict) and isinstance(last, str) and EXCLUSIVE.get(last) in node:
            del node[EXCLUSIVE[last]]
    return out
