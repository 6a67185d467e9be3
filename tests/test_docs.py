"""The README is part of the product: its scenario reference and quick start must stay true."""

import re
import typing
from pathlib import Path

from pydantic import BaseModel

from convoysim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def field_names(model: type[BaseModel], seen: set[type] | None = None) -> set[str]:
    seen = seen if seen is not None else set()
    if model in seen:
        return set()
    seen.add(model)
    names: set[str] = set()
    for name, field in model.model_fields.items():
        names.add(field.alias or name)
        for arg in _types(field.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel) and arg.__module__ == "convoysim.scenario.schema":
                names |= field_names(arg, seen)
    return names


def _types(annotation) -> list:
    out = [annotation]
    for arg in typing.get_args(annotation):
        out.extend(_types(arg))
    return out


def test_every_scenario_key_is_in_the_reference():
    prose = re.sub(r"```.*?```", "", README, flags=re.S)
    spans = re.findall(r"`([^`]+)`", prose)
    missing = [n for n in field_names(Scenario) if not any(s == n or re.search(rf"(^|[.…]){n}(\b|$)", s) for s in spans)]
    assert not missing, f"scenario keys missing from the README reference: {missing}"


def test_ci_runs_the_readme_test_command():
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [line.strip() for line in quick.splitlines() if line.startswith("    ") and "pip install" in line]
    assert len(commands) == 2, "the quick start has exactly two install-and-run commands"
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command in (ROOT / ".ci" / "run").read_text()
