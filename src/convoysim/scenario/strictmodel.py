"""The base of every schema object: unknown keys are errors that suggest the closest valid key."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError


def closest(word: str, candidates: list[str]) -> str | None:
    """The valid name a misspelt one most likely meant, if any is close enough."""
    found = difflib.get_close_matches(word, candidates, n=1, cutoff=0.5)
    return found[0] if found else None


class StrictModel(BaseModel):
    """Rejects keys the schema does not know, so that a typo never silently falls back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        valid = []
        for name, field in cls.model_fields.items():
            valid.append(field.alias or name)
        for key in data:
            if key not in valid:
                guess = closest(str(key), valid)
                hint = f" (did you mean '{guess}'?)" if guess else f" (valid keys: {', '.join(valid)})"
                raise PydanticCustomError("unknown_key", "unknown key '{key}'{hint}", {"key": key, "hint": hint})
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
                f"(the value's path, as in experiments)") from None
