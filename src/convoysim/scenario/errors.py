"""The error a person sees for a scenario that cannot be used, and how pydantic's errors read in it.

It sits below the schema, the loader and the parameter paths so that each of them can raise it:
`Scenario.with_values` validates a changed copy without going through the loader.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

MAX_VALUE_CHARS = 80
MAX_REASON_CHARS = 400
"""An error is one line: a value of 200,000 characters is shown by its start and its length."""


def clip(text: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """`text` (made a string), cut to `limit` characters with the full length said."""
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


class ScenarioError(Exception):
    """A scenario that cannot be used, with where and why, ready to show to a person."""

    def __init__(self, file: str, reason: str, path: str = "", line: int | None = None):
        reason = clip(reason, MAX_REASON_CHARS)
        self.file, self.reason, self.path, self.line = file, reason, path, line
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {path + ': ' if path else ''}{reason}")


KEYED_ERRORS = ("unknown_key", "wrong_kind")
"""StrictModel errors raised on a whole mapping that name the key at fault in ctx["key"]."""


def _reason(error: Any) -> str:
    """pydantic's message for one error, in the words a scenario's author reads."""
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if error["type"] == "missing":
        return f"required field '{error['loc'][-1]}' is missing"
    if error["type"] == "union_tag_invalid":
        return (
            f"unknown distribution {error.get('input', {}).get('dist')!r}; use one of {error['ctx']['expected_tags']}"
        )
    return message


def first_problem(err: ValidationError) -> tuple[tuple[Any, ...], str]:
    """The location in the data and the reason of the first problem pydantic found."""
    first = err.errors()[0]
    loc = tuple(first["loc"])
    if first["type"] in KEYED_ERRORS:
        loc = loc + (first["ctx"]["key"],)
    return loc, _reason(first)


def field_path(data: Any, loc: tuple[Any, ...]) -> tuple[list[Any], str]:
    """The parts of a pydantic location that exist in the data (union tags dropped), and as text."""
    parts: list[Any] = []
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
            parts.append(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
            parts.append(part)
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return parts, text
