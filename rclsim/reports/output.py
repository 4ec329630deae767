"""Print a response the way the AWS CLI (v1) would: ``--output json|text|table`` and ``--query``.

Why: scripts written against ``aws rekognition detect-custom-labels ... --output text --query ...``
should work unchanged against ``rclsim detect ...``, so rclsim must reproduce the AWS CLI's bytes,
not just "similar" output. This module reimplements the behaviour of awscli's ``formatter.py``,
``text.py`` and ``table.py`` (checked byte for byte against awscli 1.46.3 by the golden files in
``tests/golden/``):

* ``ResponseMetadata`` is dropped from a dict response first, then ``--query`` (JMESPath) applies.
* **json**: ``json.dumps(indent=4, ensure_ascii=False)`` plus a newline; datetimes as ISO 8601,
  bytes as base64. An empty object prints nothing; ``None`` prints ``null``.
* **text**: scalars of an object on one tab-separated line, in key order, prefixed by the
  upper-cased key the object hangs under; lists of objects use the union of their scalar keys.
* **table**: a box per object or list of objects, titled with the operation name. The AWS CLI
  fits it to the terminal (80 columns when stdout is not a terminal): a table wider than
  ``terminal_width`` is redrawn with every one-row section turned vertical.

Where awscli itself crashes on odd shapes, ``text`` prints something sensible instead (a list that
mixes objects with other values) and ``table`` raises :class:`~rclsim.service.errors.RclsimError`.
"""

from __future__ import annotations

import base64
import datetime
import json
import unicodedata
from collections.abc import Mapping
from typing import Any

from rclsim.service.errors import RclsimError

__all__ = ["OUTPUT_FORMATS", "render"]

OUTPUT_FORMATS = ("json", "text", "table")


def render(
    data: Any,
    output: str = "json",
    query: str | None = None,
    *,
    operation: str = "DetectCustomLabels",
    terminal_width: int = 80,
) -> str:
    """Return exactly what ``aws ... --output OUTPUT [--query QUERY]`` prints for ``data``.

    ``operation`` is the API operation name the table format uses as its title. ``terminal_width``
    only matters for ``table`` (the AWS CLI uses the terminal's width, 80 when piped). The result
    ends with a newline, or is empty where the AWS CLI prints nothing. A bad ``query`` or a value
    the table format cannot draw raises :class:`RclsimError` with a one-line message.
    """
    if output not in OUTPUT_FORMATS:
        raise RclsimError(
            f"argument --output: Invalid choice {output!r}, valid choices are: {' | '.join(OUTPUT_FORMATS)}"
        )
    if isinstance(data, Mapping) and "ResponseMetadata" in data:
        data = {k: v for k, v in data.items() if k != "ResponseMetadata"}
    if query is not None:
        data = _search(query, data)
    if output == "json":
        return _to_json(data)
    if output == "text":
        out: list[str] = []
        _text(data, None, None, out)
        return "".join(out)
    return _Table(operation, terminal_width).render(data)


def _one_line(message: str) -> str:
    # jmespath's messages repeat the expression with a caret line under it; keep the words only.
    lines = [ln.strip() for ln in message.splitlines()]
    return " ".join(ln for ln in lines if ln and set(ln) != {"^"})


def _search(query: str, data: Any) -> Any:
    import jmespath  # comes with boto3; imported here so json-only callers never pay for it
    from jmespath.exceptions import JMESPathError

    try:
        expression = jmespath.compile(query)
    except Exception as exc:  # the AWS CLI catches everything here too
        raise RclsimError(f"Bad value for --query {query}: {_one_line(str(exc))}") from exc
    try:
        return expression.search(data)
    except JMESPathError as exc:  # e.g. length() of a number: a type error found while searching
        raise RclsimError(_one_line(str(exc))) from exc


# --- json ------------------------------------------------------------------------------------------


def _json_default(obj: Any) -> Any:
    if isinstance(obj, datetime.datetime):
        return obj.isoformat()
    if isinstance(obj, (bytes, bytearray)):
        return base64.b64encode(obj).decode("utf-8")
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _to_json(data: Any) -> str:
    # The AWS CLI skips only the empty object (operations with no response body); null, [] and
    # 0 are printed.
    if data == {}:
        return ""
    return json.dumps(data, indent=4, ensure_ascii=False, default=_json_default) + "\n"


# --- text ------------------------------------------------------------------------------------------


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def _text(item: Any, identifier: str | None, scalar_keys: list[str] | None, out: list[str]) -> None:
    if isinstance(item, dict):
        _text_dict(item, identifier, scalar_keys, out)
    elif isinstance(item, list):
        _text_list(item, identifier, out)
    else:
        out.append(f"{item}\n")


def _text_list(items: list[Any], identifier: str | None, out: list[str]) -> None:
    if not items:
        return
    if any(isinstance(el, dict) for el in items):
        # One column per scalar key seen in any of the objects, so rows line up. (awscli crashes
        # when such a list also holds non-objects; those are printed on their own here.)
        keys = sorted({k for el in items if isinstance(el, dict) for k, v in el.items() if _is_scalar(v)})
        for el in items:
            _text(el, identifier, keys, out)
    elif any(isinstance(el, list) for el in items):
        scalars = [el for el in items if _is_scalar(el)]
        if scalars:
            _text_scalars(scalars, identifier, out)
        for el in items:
            if not _is_scalar(el):
                _text(el, identifier, None, out)
    else:
        _text_scalars(items, identifier, out)


def _text_scalars(items: list[Any], identifier: str | None, out: list[str]) -> None:
    if identifier is None:
        out.append("\t".join(str(el) for el in items) + "\n")
    else:
        out.extend(f"{identifier.upper()}\t{el}\n" for el in items)


def _text_dict(
    item: dict[str, Any], identifier: str | None, scalar_keys: list[str] | None, out: list[str]
) -> None:
    if scalar_keys is None:
        pairs = sorted(item.items(), key=lambda kv: kv[0])
        scalars = [str(v) for _, v in pairs if _is_scalar(v)]
        nested = [(k, v) for k, v in pairs if not _is_scalar(v)]
    else:
        scalars = [str(item.get(k, "")) for k in scalar_keys]
        nested = [(k, item[k]) for k in sorted(set(item) - set(scalar_keys))]
    if scalars:
        prefix = [identifier.upper()] if identifier is not None else []
        out.append("\t".join(prefix + scalars) + "\n")
    for key, value in nested:
        _text(value, key, None, out)


# --- table -----------------------------------------------------------------------------------------


def _width(text: Any) -> int:
    # Display width as awscli measures it: East Asian wide, full-width *and ambiguous* count 2.
    return sum(2 if unicodedata.east_asian_width(ch) in "WFA" else 1 for ch in str(text))


def _centered(text: str, length: int, left: str = "|", right: str = "|") -> str:
    start = length // 2 - _width(text) // 2 - 1
    used = len(left) + start + _width(text)
    return left + " " * start + text + " " * (length - len(right) - used) + right


def _left_aligned(text: str, length: int, left: str, right: str = "|") -> str:
    pad = 2 if length - (_width(text) + 2 + len(left) + len(right)) >= 0 else 0
    used = len(left) + pad + _width(text)
    return left + " " * pad + text + " " * (length - used - len(right)) + right


class _Section:
    """One box of the table: a centred title, optional column headers, rows of strings."""

    def __init__(self, title: str | None = "", indent: int = 0) -> None:
        # A list of objects nested in a list opens sections titled None: awscli draws no title
        # but still counts "None" (4 columns) towards the table's width. Kept for byte equality.
        self.title = title
        self.indent = indent
        self.headers: list[str] = []
        self.rows: list[list[str]] = []
        self.widths: list[int] = []  # natural width of each column
        self.columns: int | None = None

    def _grow(self, cells: list[str]) -> None:
        if not self.widths:
            self.widths = [_width(c) for c in cells]
        elif len(cells) > len(self.widths):
            raise RclsimError(
                "--output table cannot draw this value (rows of different lengths); use json or text"
            )
        else:
            for i, cell in enumerate(cells):
                self.widths[i] = max(self.widths[i], _width(cell))

    def add_headers(self, headers: list[str]) -> None:
        self._grow(headers)
        if self.columns is None:
            self.columns = len(headers)
        self.headers = headers

    def add_row(self, row: list[Any]) -> None:
        if self.columns is None:
            self.columns = len(row)
        if len(row) != self.columns:
            raise RclsimError(
                f"--output table cannot draw this value (a row should have {self.columns} elements, "
                f"instead it has {len(row)}); use json or text"
            )
        cells = [str(cell) for cell in row]
        self.rows.append(cells)
        self._grow(cells)

    def natural_width(self) -> int:
        columns = sum(w + 4 for w in self.widths) + 2 + 2 * self.indent
        return max(_width(self.title) + 2 + 2 * self.indent, columns)

    def column_widths(self, total: int) -> list[int]:
        """Stretch the columns (4 of padding each) to exactly ``total``, as awscli rounds them."""
        natural = [w + 4 for w in self.widths]
        if not natural:
            return []
        scale = total / float(sum(natural))
        scaled = [int(round(scale * w)) for w in natural]
        off_by = sum(scaled) - total
        while off_by != 0:
            # Too wide: take from the first columns; too narrow: give to the last ones.
            order = range(len(scaled)) if off_by > 0 else reversed(range(len(scaled)))
            for i in order:
                step = 1 if off_by > 0 else -1
                scaled[i] -= step
                off_by -= step
                if off_by == 0:
                    break
        return scaled

    def vertical(self) -> _Section:
        """A one-row section with headers, redrawn as ``header | value`` rows."""
        flipped = _Section(self.title, self.indent)
        for header, value in zip(self.headers, self.rows[0], strict=False):
            flipped.add_row([header, value])
        return flipped

    def lines(self, total: int) -> list[str]:
        width = total - 2 * self.indent
        out: list[str] = []
        if self.title:
            out.append(_centered(self.title, width))
            if not self.headers and not self.rows:
                out.append("+" + "-" * (width - 2) + "+")
        widths = self.column_widths(width)
        rule = (
            ("+" + "-" * (widths[0] - 2) + "+" + "".join("-" * (w - 1) + "+" for w in widths[1:]))
            if widths
            else ""
        )
        if self.headers:
            out.append(rule)
            out.append(
                "".join(
                    _centered(h, w, "|" if i == 0 else "")
                    for i, (w, h) in enumerate(zip(widths, self.headers, strict=False))
                )
            )
        if self.rows and widths:
            out.append(rule)
            for row in self.rows:
                out.append(
                    "".join(
                        _left_aligned(c, w, "|" if i == 0 else "")
                        for i, (w, c) in enumerate(zip(widths, row, strict=False))
                    )
                )
            out.append(rule)
        bar = "|" * self.indent
        return [bar + line + bar for line in out]


class _Table:
    """Builds sections from a JSON-like value like awscli's ``TableFormatter``, then draws them."""

    def __init__(self, title: str, terminal_width: int) -> None:
        self.title = title
        self.terminal_width = terminal_width
        self.sections: list[_Section] = []

    @property
    def current(self) -> _Section:
        return self.sections[-1]  # never empty: the top level always opens a titled section

    def render(self, data: Any) -> str:
        if not self._build(self.title, data, 0):
            return ""
        total = max(s.natural_width() for s in self.sections)
        if total > self.terminal_width:
            self.sections = [s.vertical() if len(s.rows) == 1 and s.headers else s for s in self.sections]
            total = max(s.natural_width() for s in self.sections)
        lines = ["-" * total]
        for section in self.sections:
            lines.extend(section.lines(total))
        return "\n".join(lines) + "\n"

    def _build(self, title: str | None, value: Any, indent: int) -> bool:
        if not value:
            return False
        if title is not None:
            self.sections.append(_Section(title, indent))
        if isinstance(value, list):
            if isinstance(value[0], dict):
                self._list_of_dicts(title, value, indent)
            else:
                for item in value:
                    if _is_scalar(item):
                        self.current.add_row([item])
                    elif all(_is_scalar(el) for el in item):
                        # A flat list is one row. (So is a dict here: awscli iterates it, giving its keys.)
                        self.current.add_row(list(item))
                    else:
                        self._build(None, item, 0)
        elif isinstance(value, dict):
            self._dict(value, indent)
        return True

    def _dict(self, value: dict[str, Any], indent: int) -> None:
        headers = sorted(k for k, v in value.items() if _is_scalar(v))
        nested = sorted(k for k, v in value.items() if not _is_scalar(v))
        if len(headers) == 1:
            self.current.add_row([headers[0], value[headers[0]]])
        elif headers:
            self.current.add_headers(headers)
            self.current.add_row([value[k] for k in headers])
        for key in nested:
            self._build(key, value[key], indent + 1)

    def _list_of_dicts(self, title: str | None, items: list[Any], indent: int) -> None:
        dicts = [el for el in items if isinstance(el, dict)]
        headers = sorted({k for el in dicts for k, v in el.items() if _is_scalar(v)})
        nested = sorted({k for el in dicts for k, v in el.items() if not _is_scalar(v)})
        # awscli copes with an empty list or string among the objects (an empty row) as long as no
        # object has a scalar; anything else non-object makes it crash.
        others = [el for el in items if not isinstance(el, dict)]
        if others and (headers or any(el not in ([], "") for el in others)):
            raise RclsimError(
                "--output table cannot draw a list mixing objects and other values; use json or text"
            )
        self.current.add_headers(headers)
        for i, element in enumerate(items):
            if i and nested:
                # Objects with nested values get a box each, so their children sit right below them.
                self.sections.append(_Section(title, indent))
                self.current.add_headers(headers)
            self.current.add_row([element.get(h, "") for h in headers])
            for key in nested:
                if key in element:
                    self._build(key, element[key], indent + 1)
