"""``rclsim.reports.output`` prints what the AWS CLI prints.

The golden files in ``tests/golden/`` were produced by awscli 1.46.3's own formatters (botocore
1.44.8, jmespath 1.1.0, Python 3.11) by ``tests/golden/generate.py``, which calls
``awscli.formatter.get_formatter(fmt, Namespace(query=jmespath.compile(q), color="off"))(operation,
response, stream)`` for every case in ``tests/golden/cases.py``, with the terminal width pinned per
case. ``tests/golden/fuzz_against_awscli.py`` compares against awscli on random values (run
separately: it needs awscli installed).
"""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from typing import Any

import jmespath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rclsim.reports.output import OUTPUT_FORMATS, render
from rclsim.service.errors import RclsimError

GOLDEN = Path(__file__).resolve().parent / "golden"


def _load_cases() -> Any:
    spec = importlib.util.spec_from_file_location("golden_cases", GOLDEN / "cases.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CASES = _load_cases()
ARTICLE = json.loads((GOLDEN / "inputs" / "article.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("fmt", OUTPUT_FORMATS)
@pytest.mark.parametrize("name", sorted(CASES.cases()))
def test_matches_awscli_golden(name: str, fmt: str) -> None:
    data, query, operation, width = CASES.cases()[name]
    error = GOLDEN / f"{name}.{fmt}.error"
    if error.exists():  # awscli crashed on this shape; rclsim reports it as a user error
        with pytest.raises(RclsimError):
            render(data, fmt, query, operation=operation, terminal_width=width)
        return
    want = (GOLDEN / f"{name}.{fmt}").read_bytes().decode("utf-8")
    assert render(data, fmt, query, operation=operation, terminal_width=width) == want


def test_goldens_cover_every_case_and_format() -> None:
    for name in CASES.cases():
        for fmt in OUTPUT_FORMATS:
            assert (GOLDEN / f"{name}.{fmt}").exists() or (GOLDEN / f"{name}.{fmt}.error").exists(), (
                name,
                fmt,
            )


def test_output_formats() -> None:
    assert OUTPUT_FORMATS == ("json", "text", "table")


def test_defaults_are_json_without_query() -> None:
    assert render(ARTICLE) == json.dumps(ARTICLE, indent=4) + "\n"


def test_query_examples_spelled_out() -> None:
    names = "CustomLabels[?Confidence>=`75`].Name"
    assert render(ARTICLE, "text", names) == "vehicle_registration_plate\tcar\n"
    assert render(ARTICLE, "json", names) == '[\n    "vehicle_registration_plate",\n    "car"\n]\n'
    assert render(ARTICLE, "json", "length(CustomLabels)") == "31\n"
    assert render(ARTICLE, "text", "length(CustomLabels)") == "31\n"
    assert render(ARTICLE, "json", "NoSuchKey") == "null\n"
    assert render(ARTICLE, "text", "NoSuchKey") == "None\n"
    assert render(ARTICLE, "table", "NoSuchKey") == ""


def test_response_metadata_dropped_before_query_without_mutating_input() -> None:
    response = {"CustomLabels": [], "ResponseMetadata": {"RequestId": "r", "HTTPStatusCode": 200}}
    before = copy.deepcopy(response)
    for fmt in OUTPUT_FORMATS:
        assert "RequestId" not in render(response, fmt)
        assert "RequestId" not in render(response, fmt, "@")
    assert render(response, "json", "ResponseMetadata") == "null\n"
    assert response == before


def test_only_top_level_response_metadata_is_dropped() -> None:
    assert json.loads(render({"A": {"ResponseMetadata": 1}})) == {"A": {"ResponseMetadata": 1}}


@pytest.mark.parametrize("bad", ["CustomLabels[", "foo bar", "`", ""])
def test_bad_query_is_a_one_line_user_error(bad: str) -> None:
    with pytest.raises(RclsimError) as info:
        render(ARTICLE, "json", bad)
    message = str(info.value)
    assert message.startswith(f"Bad value for --query {bad}: ")
    assert "\n" not in message


def test_query_type_error_is_a_one_line_user_error() -> None:
    with pytest.raises(RclsimError, match=r"^In function length\(\), invalid type") as info:
        render({"A": 5}, "json", "length(A)")
    assert "\n" not in str(info.value)


def test_unknown_output_format() -> None:
    with pytest.raises(RclsimError, match="--output"):
        render(ARTICLE, "yaml")


def test_table_width_only_changes_layout_of_wide_tables() -> None:
    living = {"CustomLabels": [{"Name": "living_space", "Confidence": 83.41299819946289}]}
    assert render(living, "table", terminal_width=41) == render(living, "table", terminal_width=300)
    narrow = render(ARTICLE, "table", terminal_width=80)
    assert narrow != render(ARTICLE, "table", terminal_width=200)
    assert narrow.splitlines()[0] == "-" * 48


# --- properties --------------------------------------------------------------------------------------

KEYS = st.sampled_from(["Name", "Confidence", "Geometry", "BoundingBox", "a", "ResponseMetadata", "猫"])
# No newline inside strings: a newline in a value splits a table row in two, in awscli too.
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**9), 10**9)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_characters="\n"), max_size=10)
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=16,
)
QUERIES = st.sampled_from([None, "@", "CustomLabels", "[*]", "*", "Name", "[0]", "CustomLabels[].Name"])


@settings(max_examples=300, deadline=None)
@given(JSONISH, QUERIES)
def test_json_round_trips_to_the_queried_data(data: Any, query: str | None) -> None:
    expected = {k: v for k, v in data.items() if k != "ResponseMetadata"} if isinstance(data, dict) else data
    if query is not None:
        expected = jmespath.search(query, expected)
    out = render(data, "json", query)
    if expected == {}:
        assert out == ""  # the AWS CLI prints nothing for an empty object
    else:
        assert out.endswith("\n")
        assert json.loads(out) == expected  # floats print as repr, so they come back exactly


@settings(max_examples=300, deadline=None)
@given(JSONISH, QUERIES)
def test_text_never_raises_and_ends_lines(data: Any, query: str | None) -> None:
    out = render(data, "text", query)
    assert out == "" or out.endswith("\n")


@settings(max_examples=300, deadline=None)
@given(JSONISH, st.integers(1, 300))
def test_table_draws_or_raises_a_user_error(data: Any, width: int) -> None:
    try:
        out = render(data, "table", terminal_width=width)
    except RclsimError:
        return
    if out:
        lines = out.split("\n")
        assert lines[-1] == "" and set(lines[0]) == {"-"}
        assert all(line[0] in "|+" for line in lines[1:-1])


@given(st.lists(st.text(st.characters(exclude_characters="\t\n")), min_size=1))
def test_text_prints_a_list_of_strings_on_one_tab_separated_line(names: list[str]) -> None:
    out = render({"Names": names}, "text", "Names")
    assert out.count("\n") == 1 and out[:-1].split("\t") == names
