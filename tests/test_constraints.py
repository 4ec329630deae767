"""The fast yes/no parameter check agrees with the full, message-wording check.

``parameters_ok`` lets the detect path skip ``check_parameters`` (~6 µs of path and message building)
when a request is fine. It may only say yes when the full check finds nothing, and it should say yes
for every plain request the full check accepts, or the fast path is never taken.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rclsim.service.apimodel import OPERATIONS
from rclsim.service.constraints import _derived_inputs, _Shape, check_parameters, parameters_ok

from .conftest import ARTICLE_ARN, ARTICLE_S3

_PLAIN_LEAVES = (str, int, float, bool, bytes, bytearray)


def _plain(value: Any) -> bool:
    """Only the exact types the fast check takes on trust (no subclasses, no tuples for lists)."""
    if type(value) is dict:  # a member set to None: the fast check says "ask the full check"
        return all(v is not None and _plain(v) for v in value.values())
    if type(value) is list:
        return all(_plain(v) for v in value)
    return type(value) in _PLAIN_LEAVES


def _wrong() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**40), 2**40),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=5),
        st.binary(max_size=3),
        st.just([]),
        st.just({}),
    )


def _value(shape: _Shape, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values around ``shape``'s constraints: valid ones, values at and past each bound, wrong types."""
    meta = shape.metadata
    lo, hi = meta.get("min"), meta.get("max")
    kind = shape.type_name
    if kind == "structure":
        members = {name: _value(member, depth + 1) for name, member in shape.members.items()}
        required = set(shape.required_members)
        as_dict = st.fixed_dictionaries(
            {name: s for name, s in members.items() if name in required},
            optional={name: s for name, s in members.items() if name not in required},
        )
        with_unknown = as_dict.map(lambda d: {**d, "Unknown": 1})
        missing = as_dict.flatmap(
            lambda d: st.sampled_from(sorted(d) or [""]).map(lambda k: {x: v for x, v in d.items() if x != k})
        )
        return st.one_of(as_dict, as_dict, as_dict, with_unknown, missing, as_dict.map(OrderedDict), _wrong())
    if kind == "list":
        low, high = lo or 0, min(hi if hi is not None else 4, 4)
        items = st.lists(_value(shape.member, depth + 1), min_size=low, max_size=high)
        return st.one_of(items, items, items.map(tuple), st.lists(st.none(), max_size=2), _wrong())
    if kind == "string":
        if shape.enum:
            return st.one_of(st.sampled_from(shape.enum), st.sampled_from(shape.enum), _wrong())
        examples = {
            "ProjectVersionArn": [ARTICLE_ARN, ARTICLE_ARN.replace(":123456789012:", ":12345:")],
            "S3Bucket": [ARTICLE_S3["S3Object"]["Bucket"], "bad bucket!", "ab"],
            "ProjectArn": [ARTICLE_ARN.split("/version/")[0], "arn:nope"],
        }.get(shape.name, [])
        length = st.text(alphabet="abc-._0", min_size=max((lo or 0) - 1, 0), max_size=(lo or 0) + 3)
        return st.one_of(st.sampled_from(examples) if examples else length, length, _wrong())
    if kind in ("integer", "long"):
        bounds = [b + d for b in (lo, hi) if b is not None for d in (-1, 0, 1)]
        return st.one_of(
            st.sampled_from(bounds or [0]), st.integers(-3, 120), st.just(2**31), st.booleans(), _wrong()
        )
    if kind in ("float", "double"):
        bounds = [float(b) + d for b in (lo, hi) if b is not None for d in (-0.5, 0.0, 0.5)]
        return st.one_of(
            st.sampled_from(bounds or [0.0]),
            st.floats(-10, 110),
            st.integers(-3, 120),
            st.sampled_from([math.nan, math.inf]),
            _wrong(),
        )
    if kind == "blob":
        return st.one_of(st.binary(min_size=0, max_size=4), st.binary(max_size=2).map(bytearray), _wrong())
    if kind == "boolean":
        return st.one_of(st.booleans(), _wrong())
    return _wrong()


_DATA = _derived_inputs()
_REQUESTS = st.sampled_from(sorted(OPERATIONS)).flatmap(
    lambda op: st.tuples(st.just(op), _value(_Shape(_DATA["operations"][op], _DATA["shapes"])))
)


@settings(max_examples=600, deadline=None)
@given(_REQUESTS)
def test_fast_check_says_yes_exactly_when_the_full_check_finds_nothing(request: tuple[str, Any]) -> None:
    operation, params = request
    problems = check_parameters(operation, params)
    clean = not problems and not problems.unknown and _plain(params)
    assert parameters_ok(operation, params) == clean, (
        problems.type_errors,
        problems.violations,
        problems.unknown,
    )


def test_a_pattern_failure_is_not_remembered_as_a_pass() -> None:
    bad = {"ProjectVersionArn": ARTICLE_ARN.replace("arn:aws:", "arn:AWS:"), "Image": ARTICLE_S3}
    good = {"ProjectVersionArn": ARTICLE_ARN, "Image": ARTICLE_S3}
    for _ in range(3):  # the second and third answers come from the verdict cache, if anything does
        assert parameters_ok("DetectCustomLabels", good)
        assert not parameters_ok("DetectCustomLabels", bad)
        assert check_parameters("DetectCustomLabels", bad).violations
