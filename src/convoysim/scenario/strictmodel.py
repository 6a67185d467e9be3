"""The base of every schema object: unknown keys are errors that suggest the closest valid key."""

from __future__ import annotations

import difflib
import types
import typing
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError


def coercion_problem(annotation: Any, value: Any) -> str | None:
    """Why `value` may not stand for a field of this type, where pydantic would coerce it and
    invent a meaning: a boolean or text as a number, a number or text as a boolean, a number as a
    date. None when the value is the right kind (pydantic then checks it as usual)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return coercion_problem(typing.get_args(annotation)[0], value)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if value is None or len(options) != 1:
            return None
        return coercion_problem(options[0], value)
    if origin is list and isinstance(value, list):
        (item,) = typing.get_args(annotation) or (Any,)
        return next((f"item {k}: {p}" for k, v in enumerate(value) if (p := coercion_problem(item, v))), None)
    if origin is dict and isinstance(value, dict):
        item = (typing.get_args(annotation) or (Any, Any))[1]
        return next((f"{k}: {p}" for k, v in value.items() if (p := coercion_problem(item, v))), None)
    if annotation is bool and not isinstance(value, bool):
        return f"{value!r} is not true or false"
    if annotation in (int, float) and isinstance(value, (bool, str)):
        kind = "an integer" if annotation is int else "a number"
        return f"{value!r} is not {kind}" + (" (true and false are not numbers)" if isinstance(value, bool) else "")
    if annotation in (datetime, date) and isinstance(value, (bool, int, float)):
        return f"{value!r} is not a date; write one such as 2023-10-02 or 2023-10-02T06:00:00Z"
    return None


def closest(word: str, candidates: list[str]) -> str | None:
    """The valid name a misspelt one most likely meant, if any is close enough."""
    found = difflib.get_close_matches(word, candidates, n=1, cutoff=0.5)
    return found[0] if found else None


_KEYS: dict[type, tuple[list[str], frozenset[str]]] = {}
"""Each schema class's valid keys (aliases where given), worked out once: a calibration or sweep
validates thousands of scenarios, and asking pydantic for the fields each time was most of it."""


def _valid_keys(cls: type[BaseModel]) -> tuple[list[str], frozenset[str]]:
    found = _KEYS.get(cls)
    if found is None:
        names = [field.alias or name for name, field in cls.model_fields.items()]
        found = _KEYS[cls] = (names, frozenset(names))
    return found


class StrictModel(BaseModel):
    """Rejects keys the schema does not know, so that a typo never silently falls back to a default,
    and values of the wrong kind that pydantic would coerce (`true` as 1 day, `0` as 1970).

    Both errors carry the offending key in ctx["key"] so that loaders can point at its line."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        valid, known = _valid_keys(cls)
        for key in data:
            if key not in known:
                guess = closest(str(key), valid)
                hint = f" (did you mean '{guess}'?)" if guess else f" (valid keys: {', '.join(valid)})"
                raise PydanticCustomError("unknown_key", "unknown key '{key}'{hint}", {"key": key, "hint": hint})
        for name, field in cls.model_fields.items():
            key = field.alias or name
            problem = coercion_problem(field.annotation, data[key]) if key in data else None
            if problem:
                raise PydanticCustomError("wrong_kind", "{problem}", {"key": key, "problem": problem})
        return data

    def __setattr__(self, name: str, value: Any) -> None:
        """Refuse in-place changes with the way to make a validated copy, instead of pydantic's bare
        "Instance is frozen": a scenario is shared by every replication and must stay as validated."""
        try:
            super().__setattr__(name, value)
        except ValidationError as err:
            if err.errors()[0]["type"] != "frozen_instance":
                raise
            raise AttributeError(
                f"cannot set '{name}' on a {type(self).__name__}: scenarios are frozen so that what runs is what "
                f"was validated; make a validated copy instead, e.g. scenario.with_values({{'convoy.vehicles': 60}}) "
                f"(the value's path, as in experiments)"
            ) from None
