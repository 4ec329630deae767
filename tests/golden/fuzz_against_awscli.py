"""Differential fuzz: ``rclsim.reports.output.render`` against awscli's own formatters on random values.

Not part of the pytest run (the test venv has no awscli). Run it in a venv with awscli 1.46.3 and
hypothesis installed, from the repository root::

    /tmp/awscli-venv/bin/pip install awscli==1.46.3 hypothesis
    PYTHONPATH=. /tmp/awscli-venv/bin/python tests/golden/fuzz_against_awscli.py [EXAMPLES]

Wherever awscli prints something, rclsim must print the same string. Where awscli crashes (odd
shapes such as a list mixing objects and numbers), rclsim's table raises ``RclsimError`` and its
text output is free to print something.
"""

from __future__ import annotations

import argparse
import copy
import io
import sys

import jmespath
from awscli import table as awscli_table
from awscli.formatter import get_formatter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rclsim.reports.output import OUTPUT_FORMATS, render
from rclsim.service.errors import RclsimError

KEYS = st.sampled_from(["Name", "Confidence", "Geometry", "a", "B", "ResponseMetadata", "猫", "zz"])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False)
    | st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)
QUERIES = st.sampled_from([None, "@", "*", "[]", "a", "Name", "values(@)", "[*]", "B[0]"])


def awscli_output(data: object, fmt: str, query: str | None, width: int) -> str:
    awscli_table.determine_terminal_width = lambda default_width=80: width
    args = argparse.Namespace(query=jmespath.compile(query) if query else None, color="off")
    stream = io.StringIO()
    get_formatter(fmt, args)("Op", copy.deepcopy(data), stream=stream)
    return stream.getvalue()


@settings(
    max_examples=int(sys.argv[1]) if len(sys.argv) > 1 else 3000,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(VALUES, st.sampled_from(OUTPUT_FORMATS), QUERIES, st.integers(10, 200))
def check(data: object, fmt: str, query: str | None, width: int) -> None:
    try:
        want = awscli_output(data, fmt, query, width)
    except Exception:  # awscli crashed: rclsim may raise RclsimError (table) or print anything
        try:
            render(data, fmt, query, operation="Op", terminal_width=width)
        except RclsimError:
            pass
        return
    assert render(data, fmt, query, operation="Op", terminal_width=width) == want


if __name__ == "__main__":
    check()
    print("rclsim.reports.output agrees with awscli")
