"""The base of every schema object: unknown keys are errors that suggest the closest valid key."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError


def closest(word: str, candidates: list[str]) -> str | None:
    """The valid name a misspelt one most likely meant, if any is close enough."""
    import difflib  # only when there is an error to explain

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
    """Rejects keys the schema does not know, so that a typo never silently falls back to a default."""

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
        return data
