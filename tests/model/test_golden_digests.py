"""Every shipped scenario's replications, bit for bit, as tests/model/golden_digests.txt holds them.

A regression guard for work on the model that must not change a result (issues 13 and 18): the
records of every shipped scenario (and of a few baseline variants that reach branches no shipped
scenario does) are hashed by tools/record_digest.py and compared with the golden file.

The golden file may change only on purpose, when a change is meant to change results (a model
change, a new or edited scenario). Regenerate it with the command on its first line, run from the
repository's root, and say in the commit why the results changed:

    python tools/record_digest.py --replications 100 --traced 20 --variants  (prefixed by the header)
"""

from __future__ import annotations

import importlib.util
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("golden_digests.txt")


def _tool():
    spec = importlib.util.spec_from_file_location("record_digest", ROOT / "tools" / "record_digest.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _options(header: str) -> dict[str, object]:
    """The tool's options from the golden file's first line ('# python tools/record_digest.py ...')."""
    words = shlex.split(header.lstrip("# "))[2:]
    options: dict[str, object] = {"variants": "--variants" in words}
    for flag in ("--replications", "--traced"):
        if flag in words:
            options[flag[2:]] = int(words[words.index(flag) + 1])
    return options


def test_options_are_read_from_the_header():
    assert _options("# python tools/record_digest.py --replications 7 --traced 3") == {
        "variants": False,
        "replications": 7,
        "traced": 3,
    }


def test_every_shipped_scenario_gives_its_golden_digest():
    header, *golden = GOLDEN.read_text().splitlines()
    tool = _tool()
    shipped = [p.stem for p in sorted(tool.SCENARIOS.glob("*.yaml"))]
    assert [line.split()[0] for line in golden] == shipped + list(tool.VARIANTS), (
        f"the golden file does not list every shipped scenario: regenerate it ({header})"
    )
    assert tool.digest_lines(**_options(header)) == golden
