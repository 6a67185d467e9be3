"""The README is part of the product: its scenario reference and quick start must stay true."""

import re
import typing
from pathlib import Path

import pytest
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
    missing = [
        n for n in field_names(Scenario) if not any(s == n or re.search(rf"(^|[.…]){n}(\b|$)", s) for s in spans)
    ]
    assert not missing, f"scenario keys missing from the README reference: {missing}"


def test_ci_runs_the_readme_test_command():
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [line.strip() for line in quick.splitlines() if line.startswith("    ") and "pip install" in line]
    assert len(commands) == 2, "the quick start has exactly two install-and-run commands"
    test_command = next(c for c in commands if "pytest" in c)
    assert ci_runs_in_order(test_command, (ROOT / ".ci" / "run").read_text()), (
        f"{test_command!r} is not what .ci/run runs (its `&&` steps, in order)"
    )


def ci_runs_in_order(command: str, script: str) -> bool:
    """Whether the script holds the command's `&&` steps in that order, with only other commands (CI's
    lint) between them: so CI stays the README's command."""
    position = 0
    for step in command.split(" && "):
        found = script.find(step, position)
        if found < 0:
            return False
        position = found + len(step)
    return True


def test_the_ci_check_wants_every_step_in_order():
    command = "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && python -m pytest"
    assert ci_runs_in_order(command, f"set -e\n{command}\n")
    assert ci_runs_in_order(command, command.rsplit(" && ", 1)[0] + "\nruff check .\npython -m pytest\n")
    assert not ci_runs_in_order(command, "python -m pytest\n" + command.rsplit(" && ", 1)[0] + "\n")
    assert not ci_runs_in_order(command, command.replace(". .venv/bin/activate && ", ""))


# --- the docs' code runs ---------------------------------------------------------------------------
# As SimPy and Ciw do with their documentation: every Python block of the README and docs/*.md is
# executed (blocks of one page share a namespace, in order), and every `convoysim` command line is
# checked against the command's real options, so the docs cannot drift from the code.

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def fenced(text: str, language: str) -> list[str]:
    return [body for lang, body in re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M) if lang == language]


def command_lines(text: str) -> list[str]:
    """`convoysim ...` lines of indented blocks, continuations joined, comments and `;` split off."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    joined = re.sub(r"\\\n\s*", " ", prose)
    lines = []
    for line in joined.splitlines():
        if not line.startswith("    "):
            continue
        for part in line.split("#")[0].split(";"):
            part = part.strip()
            if part.startswith("convoysim "):
                lines.append(part)
            elif " && convoysim " in part:
                lines.append("convoysim " + part.split(" && convoysim ", 1)[1])
    return lines


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_python_block_runs(doc, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    for k, block in enumerate(fenced(doc.read_text(), "python")):
        exec(compile(block, f"{doc.name}, python block {k + 1}", "exec"), namespace)  # noqa: S102


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_yaml_block_parses(doc):
    import yaml

    for block in fenced(doc.read_text(), "yaml"):
        assert isinstance(yaml.safe_load(block), dict)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_command_line_uses_real_commands_and_options(doc):
    import shlex

    from convoysim.commands.cli import main

    for line in command_lines(doc.read_text()):
        words = [w.strip("[]") for w in shlex.split(line)[1:]]
        command = main.commands.get(words[0]) if words and not words[0].startswith("-") else main
        assert command is not None, f"{doc.name}: `{line}`: no command '{words[0]}'"
        options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
        for word in words:
            if word.startswith("-") and word not in ("-", "--"):
                name = word.split("=", 1)[0].split("|", 1)[0]
                assert name in options, f"{doc.name}: `{line}`: {command.name} has no option {name}"


def test_every_extra_the_docs_name_exists():
    import tomllib

    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    named = {m for doc in DOCS for m in re.findall(r"\.\[(\w+)\]", doc.read_text())}
    assert named and named <= extras, f"extras named in the docs but not in pyproject.toml: {named - extras}"


def test_every_source_the_scenarios_cite_is_in_the_project():
    shipped = [
        *(ROOT / "src/convoysim/scenarios").rglob("*.yaml"),
        *(ROOT / "src/convoysim/experiment_files").glob("*.yaml"),
    ]
    sources = (ROOT / "docs" / "sources.md").read_text()
    headings = {h.strip().lower() for h in re.findall(r"^#+ (.*)$", sources, flags=re.M)}
    for file in shipped:
        text = file.read_text()
        assert "shared/reference" not in text, f"{file.name} cites a file users do not have"
        if re.search(r"(?<![.\w])(ref|csv)(:|\))", text):
            assert "docs/sources.md" in text or "extends:" in text, f"{file.name} says 'ref' without saying where"
        for cited in re.findall(r"planning: ([^,;()#\n]+)", text):
            topic = cited.strip().lower()
            words = [w for w in re.findall(r"[\w-]{4,}", topic)]
            assert any(topic in h or h in topic for h in headings) or all(w in sources.lower() for w in words), (
                f"{file.name}: 'planning: {cited.strip()}' is not in docs/sources.md"
            )
    for place in ("Tin Aouker", "Tabankort", "Techanaght", "Alkit valley", "150 miles", "FM 3-21.8", "MIL-T-46780D"):
        assert place in sources


# --- the layout list is the tree ---------------------------------------------------------------------
# The README's layout list (Design notes > Layout) is read against the package as it is at test time,
# so a module added, split or removed on any branch shows here by name.

PACKAGE = ROOT / "src" / "convoysim"


def layout_block(readme: str) -> str:
    """The indented `src/convoysim/` block of the Design notes' Layout entry."""
    notes = readme.split("## Design notes", 1)[1].split("\n## ", 1)[0]
    entry = notes.split("- **Layout.**", 1)[1].split("\n- **", 1)[0]
    match = re.search(r"^( +)src/convoysim/\n((?:\1 .*\n|\n)+)", entry, flags=re.M)
    assert match, "the Design notes' Layout entry has no indented block starting with src/convoysim/"
    return match.group(2)


def listed_modules(block: str) -> list[str]:
    """Module paths the block names (`runs/writing.py`), in order: a line that starts with `name/`
    opens a stage, the lines under it continue it, lines before the first stage are the ground floor."""
    stage = ""
    names = []
    for line in block.splitlines():
        opening = re.match(r"\s+(\w+)/\s", line + " ")
        if opening:
            stage = opening.group(1) + "/"
        names.extend(stage + m for m in re.findall(r"(?<![\w/.])(\w+\.py)\b", line))
    return names


def package_modules(package: Path) -> set[str]:
    """Every module of the package as a path under it; `__init__.py` and `__main__.py` are the
    package's plumbing (the prose says what the stages' `__init__.py` hold) and are not listed."""
    return {
        p.relative_to(package).as_posix() for p in package.rglob("*.py") if p.name not in ("__init__.py", "__main__.py")
    }


def layout_problems(readme: str, package: Path) -> list[str]:
    names = listed_modules(layout_block(readme))
    actual = package_modules(package)
    problems = [
        f"src/convoysim/{m} is missing from the README's layout list (Design notes > Layout): "
        f"add it under {m.rsplit('/', 1)[0] + '/' if '/' in m else 'the ground floor'} with a few words"
        for m in sorted(actual - set(names))
    ]
    problems += [
        f"the README's layout list names {m}, which does not exist in src/convoysim: remove or rename it"
        for m in dict.fromkeys(names)
        if m not in actual
    ]
    problems += [f"the README's layout list names {m} twice" for m in sorted({m for m in names if names.count(m) > 1})]
    return problems


def test_the_readme_layout_lists_every_module_and_nothing_else():
    problems = layout_problems(README, PACKAGE)
    assert not problems, "\n".join(problems)


def test_the_layout_check_names_the_missing_and_the_stale_module(tmp_path):
    for name in ("geo.py", "runs/__init__.py", "runs/writing.py", "runs/pool.py", "model/march.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    readme = (
        "# x\n\n## Design notes\n\n- **Layout.** Stages:\n\n      src/convoysim/\n"
        "        geo.py   the ground floor\n"
        "        runs/    writing.py (run directories), reading.py\n"
        "                 and more (`montecarlo` is not a file name)\n"
        "        model/   march.py (the lead unit)\n\n  `studies/sweep.py` in prose is not the list.\n"
        "- **Next.** text\n\n## After\n"
    )
    assert listed_modules(layout_block(readme)) == ["geo.py", "runs/writing.py", "runs/reading.py", "model/march.py"]
    assert layout_problems(readme, tmp_path) == [
        "src/convoysim/runs/pool.py is missing from the README's layout list (Design notes > Layout): "
        "add it under runs/ with a few words",
        "the README's layout list names runs/reading.py, which does not exist in src/convoysim: remove or rename it",
    ]


def test_the_citation_file_names_this_version():
    """CITATION.cff (CFF 1.2.0) holds the keys the format requires and the version pyproject.toml ships."""
    import tomllib

    import yaml

    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0"
    assert {"message", "title", "authors"} <= set(citation) and all(a.get("name") for a in citation["authors"])
    assert str(citation["version"]) == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_the_changelog_has_an_unreleased_section_first():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    versions = re.findall(r"^## \[([^\]]+)\]", changelog, flags=re.M)
    assert versions and versions[0] == "Unreleased", "CHANGELOG.md: the newest section is '## [Unreleased]'"
