"""Property tests over generated bad scenarios: the loader either refuses with a ScenarioError
(file, field, reason) or returns a scenario whose work the guard can bound; a value of the wrong
kind (a boolean for a number, a number for a date or a flag) is always refused."""

from __future__ import annotations

import math

import pytest
import yaml
from fuzzcases import EXTREMES, WRONG_KIND, _baseline, _leaves, _set, wrong_kind
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convoysim.model import compile_plan
from convoysim.runs.budget import WorkLimitError, check_work
from convoysim.scenario.loading import ScenarioError, ScenarioSource, build_scenario, parse_yaml

BASE = _baseline()
LEAVES = [(p, v) for p, v in _leaves(BASE) if p[0] != "description"]
FUZZ = settings(max_examples=120, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _loads(data):
    """Data as it reaches the loader from a file (.nan and .inf as YAML writes them)."""
    text = (
        yaml.safe_dump(data, sort_keys=False)
        .replace("'.nan'", ".nan")
        .replace("'.inf'", ".inf")
        .replace("'-.inf'", "-.inf")
    )
    return yaml.safe_load(text)


@FUZZ
@given(leaf=st.sampled_from(LEAVES), value=st.sampled_from(WRONG_KIND + EXTREMES))
def test_a_changed_value_is_refused_with_a_field_or_bounded(leaf, value):
    path, old = leaf
    data = _loads(_set(BASE, path, value))
    try:
        scenario = build_scenario(ScenarioSource(data))
    except ScenarioError as err:
        assert err.reason and "Traceback" not in str(err)
        return
    assert not wrong_kind(old, value), f"{'.'.join(map(str, path))} = {value!r} was accepted"
    try:
        work = check_work(compile_plan(scenario), 10)
    except WorkLimitError:
        return
    assert math.isfinite(work.events) and work.events >= 0


@FUZZ
@given(
    leaf=st.sampled_from([(p, v) for p, v in LEAVES if isinstance(v, (int, float)) and not isinstance(v, bool)]),
    value=st.one_of(st.booleans(), st.text(max_size=5)),
)
def test_no_number_is_read_from_a_boolean_or_text(leaf, value):
    path, _ = leaf
    with pytest.raises(ScenarioError) as caught:
        build_scenario(ScenarioSource(_set(BASE, path, value)))
    assert caught.value.path, "the error names the field"


@FUZZ
@given(text=st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!,'\"\n #|>?%@`1.\t")), max_size=200))
def test_any_text_is_parsed_or_refused_with_a_scenario_error(text):
    try:
        parse_yaml(text, "fuzz.yaml")
    except ScenarioError as err:
        assert err.file == "fuzz.yaml"


@pytest.mark.parametrize("levels", [3, 6, 12])
def test_nested_aliases_are_refused_before_they_expand(levels):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    text = "\n".join(lines) + "\n"
    if 10**levels <= 100_000:
        parse_yaml(text, "f.yaml")
        return
    with pytest.raises(ScenarioError, match="expands to more than"):
        parse_yaml(text, "f.yaml")


def test_a_self_containing_alias_and_deep_nesting_are_refused():
    with pytest.raises(ScenarioError, match="refers to the value that contains it"):
        parse_yaml("loop: &l [*l]\n", "f.yaml")
    with pytest.raises(ScenarioError, match="levels deep"):
        parse_yaml("deep: " + "[" * 1000 + "]" * 1000 + "\n", "f.yaml")
    with pytest.raises(ScenarioError, match="not a valid !!bool"):
        parse_yaml("flag: !!bool maybe\n", "f.yaml")


def test_an_extends_chain_is_bounded(tmp_path):
    from convoysim.scenario.loading import MAX_EXTENDS, read_source

    for i in range(MAX_EXTENDS + 5):
        (tmp_path / f"c{i}.yaml").write_text(f"extends: c{i + 1}.yaml\n")
    (tmp_path / f"c{MAX_EXTENDS + 5}.yaml").write_text("extends: baseline\n")
    with pytest.raises(ScenarioError, match="extends chain"):
        read_source(tmp_path / "c0.yaml")


# -- issue 23: extreme dates, multiplying factors, YAML tags with bad values ------------------------

from fuzzcases import BAD_TAGS, CONTROL, DATE_FIELDS, _has, multiplier_case  # noqa: E402

FUZZ23 = settings(max_examples=40, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ23
@given(field=st.sampled_from([p for p in DATE_FIELDS if _has(BASE, p)]), year=st.integers(1, 9999), late=st.booleans())
def test_a_date_in_any_year_is_refused_outside_the_calendar_or_runs(field, year, late):
    import datetime as dt

    when = dt.datetime(year, 12, 31, 23, 59, 59) if late else dt.datetime(year, 1, 1)
    data = _loads(_set(BASE, field, when))
    try:
        scenario = build_scenario(ScenarioSource(data))
    except ScenarioError as err:
        assert 1900 <= year <= 2199 or "outside 1900 to 2199" in err.reason
        return
    assert 1900 <= year <= 2199, f"{'.'.join(map(str, field))} in year {year} was accepted"
    plan = compile_plan(scenario)
    plan.start + dt.timedelta(hours=plan.horizon_h)  # the whole run's clock is a date


@FUZZ23
@given(seed=st.integers(0, 10**6))
def test_a_multiplying_factor_is_bounded_by_the_guard(seed):
    import random

    _, changes, _ = multiplier_case(random.Random(seed))
    data = _loads({**BASE, **{k: _merged(BASE.get(k), v) for k, v in changes.items()}})
    try:
        scenario = build_scenario(ScenarioSource(data))
    except ScenarioError:
        return
    try:
        work = check_work(compile_plan(scenario), 10, tracked=10)
    except WorkLimitError:
        return
    assert math.isfinite(work.events) and work.events <= 1_000_000


def _merged(base, change):
    """`change` merged into `base` as a variant's `extends:` merges mappings."""
    if isinstance(base, dict) and isinstance(change, dict):
        return {**base, **{k: _merged(base.get(k), v) for k, v in change.items()}}
    return change


@pytest.mark.parametrize("key, value", BAD_TAGS)
def test_a_tag_with_a_bad_value_is_refused_on_its_line(key, value):
    named = "" if key == "name" else "name: x\n"
    text = f"extends: baseline\n{named}{key}: {value}\n"
    with pytest.raises(ScenarioError) as caught:
        data, _ = parse_yaml(text, "s.yaml")
        build_scenario(ScenarioSource(data))
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 400


@pytest.mark.parametrize("char", [c for c in CONTROL if c != "\x85"])
def test_a_forbidden_character_is_refused_with_its_line(char):
    with pytest.raises(ScenarioError) as caught:
        parse_yaml(f"name: x\nnote: 'a{char}b'\n", "s.yaml")
    assert caught.value.line == 2 and "\n" not in str(caught.value)
