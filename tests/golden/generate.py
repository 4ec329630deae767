"""Regenerate the awscli golden files used by ``tests/test_output.py``.

The goldens in this folder were produced by awscli 1.46.3 (botocore 1.44.8, jmespath 1.1.0) on
Python 3.11 with::

    python3.11 -m venv /tmp/awscli-venv && /tmp/awscli-venv/bin/pip install awscli==1.46.3
    /tmp/awscli-venv/bin/python tests/golden/generate.py

For every case in ``cases.py`` and every format, it calls awscli's own formatter exactly as
``aws ... --output FMT [--query Q] --color off`` does after the service call::

    args = argparse.Namespace(query=jmespath.compile(Q) or None, color="off")
    awscli.formatter.get_formatter(FMT, args)(OPERATION_NAME, response, stream=io.StringIO())

(the CLI passes the operation's model name, e.g. ``DetectCustomLabels``, as the command name).
awscli's table sizes itself from the terminal width (80 when stdout is not a terminal); the
generator pins it to each case's width by patching ``awscli.table.determine_terminal_width``.
A formatter that raises writes ``<name>.<fmt>.error`` holding the exception message instead.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
from pathlib import Path

import awscli
import jmespath
from awscli import table as awscli_table
from awscli.formatter import get_formatter

HERE = Path(__file__).resolve().parent


def _cases():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("golden_cases", HERE / "cases.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    mod = _cases()
    for old in HERE.glob("*.json"):
        old.unlink()
    for old in list(HERE.glob("*.text")) + list(HERE.glob("*.table")) + list(HERE.glob("*.error")):
        old.unlink()
    for name in mod.cases():
        for fmt in mod.FORMATS:
            data, query, operation, width = mod.cases()[name]  # fresh copy: awscli mutates
            awscli_table.determine_terminal_width = lambda default_width=80, _w=width: _w
            args = argparse.Namespace(query=jmespath.compile(query) if query else None, color="off")
            stream = io.StringIO()
            try:
                get_formatter(fmt, args)(operation, data, stream=stream)
            except Exception as exc:  # noqa: BLE001 - the golden records what awscli raised
                (HERE / f"{name}.{fmt}.error").write_text(str(exc), encoding="utf-8")
                continue
            (HERE / f"{name}.{fmt}").write_bytes(stream.getvalue().encode("utf-8"))
    print(f"awscli {awscli.__version__}: goldens written to {HERE}")


if __name__ == "__main__":
    main()
