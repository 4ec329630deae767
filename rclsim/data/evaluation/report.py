"""What :func:`rclsim.data.evaluation.evaluate` returns: the :class:`Report`, and its written forms.

Per-label :class:`LabelMetrics`, the micro and macro :class:`Average`, each label's threshold sweep
(:class:`SweepPoint`, built on request from a compact curve), and the report as a dict for JSON, as
the console's ``EvaluationSummary`` file, as CSV and as a plain-text table. Undefined ratios are None
everywhere: JSON ``null``, an empty CSV cell, ``-`` in the table.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rclsim.service.files import write_atomically

__all__ = ["SweepPoint", "LabelMetrics", "Average", "Report"]


@dataclass(frozen=True)
class SweepPoint:
    """Precision, recall and F1 when keeping a label's detections with ``Confidence >= threshold``."""

    threshold: float
    precision: float
    recall: float | None
    f1: float


@dataclass(frozen=True)
class LabelMetrics:
    """One label's scores. Counts and P/R/F1 are at ``threshold`` (the operating point).

    ``support`` is the number of ground-truth objects (detection) or images (classification);
    ``images`` the number of images whose truth has the label.
    """

    name: str
    support: int
    images: int
    threshold: float
    tp: int
    fp: int
    fn: int
    precision: float | None
    recall: float | None
    f1: float | None
    ap: float | None
    best_threshold: float | None
    best_f1: float | None


@dataclass(frozen=True)
class Average:
    """Micro (summed counts) or macro (mean of the labels' defined values) averages over labels."""

    name: str
    support: int
    tp: int | None
    fp: int | None
    fn: int | None
    precision: float | None
    recall: float | None
    f1: float | None
    ap: float | None


@dataclass(frozen=True)
class _Curve:
    """A label's sweep, compactly: distinct confidences (descending) and cumulative tp/fp at each."""

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    support: int

    def count_at(self, threshold: float) -> tuple[int, int]:
        """(tp, fp) among detections with ``Confidence >= threshold``."""
        kept = int(np.searchsorted(-self.thresholds, -threshold, side="right"))
        if kept == 0:
            return 0, 0
        return int(self.tp[kept - 1]), int(self.fp[kept - 1])

    def f1s(self) -> np.ndarray:
        return 2.0 * self.tp / (self.tp + self.fp + self.support)


_FIELDS = ("support", "tp", "fp", "fn", "precision", "recall", "f1", "ap")


@dataclass(frozen=True)
class Report:
    """What :func:`evaluate` found: per-label metrics (sorted by name), averages and the sweeps."""

    labels: tuple[LabelMetrics, ...]
    micro: Average
    macro: Average
    images: int
    detection_images: int
    classification_images: int
    iou_threshold: float
    min_confidence: float | None
    thresholds: Mapping[str, float] | None
    _curves: Mapping[str, _Curve] = field(repr=False, compare=False)

    def label(self, name: str) -> LabelMetrics:
        """The metrics of label ``name``; ``KeyError`` if no truth or prediction had it."""
        for metrics in self.labels:
            if metrics.name == name:
                return metrics
        raise KeyError(name)

    def sweep(self, name: str) -> list[SweepPoint]:
        """The label's precision/recall/F1 at each distinct confidence, highest threshold first.

        Built on request from the compact per-label arrays, so a large evaluation holds no per-point
        objects until someone asks for them.
        """
        curve = self._curves[name]
        f1s = curve.f1s()
        return [
            SweepPoint(
                threshold=float(t),
                precision=float(tp) / float(tp + fp),
                recall=float(tp) / curve.support if curve.support else None,
                f1=float(f1),
            )
            for t, tp, fp, f1 in zip(curve.thresholds, curve.tp, curve.fp, f1s, strict=True)
        ]

    def assumed_thresholds(self) -> dict[str, float]:
        """Each label's best threshold (0-100), ready for ``evaluate(thresholds=...)`` or a fake model."""
        return {m.name: m.best_threshold for m in self.labels if m.best_threshold is not None}

    def to_dict(self, *, sweep: bool = True) -> dict[str, Any]:
        """JSON-ready: settings, one entry per label (with its sweep unless ``sweep=False``), averages."""
        labels = []
        for metrics in self.labels:
            entry: dict[str, Any] = dict(vars(metrics))
            if sweep:
                entry["sweep"] = [dict(vars(point)) for point in self.sweep(metrics.name)]
            labels.append(entry)
        return {
            "images": self.images,
            "detection_images": self.detection_images,
            "classification_images": self.classification_images,
            "iou_threshold": self.iou_threshold,
            "min_confidence": self.min_confidence,
            "thresholds": dict(self.thresholds) if self.thresholds is not None else None,
            "labels": labels,
            "micro": dict(vars(self.micro)),
            "macro": dict(vars(self.macro)),
        }

    def to_summary(self) -> dict[str, Any]:
        """The evaluation in the shape of the console's ``EvaluationSummary-<project>-<version>.json``.

        As the console reports it: each label (those with ground truth, sorted by F1, best first) at its
        assumed threshold, given 0-1 like the service's ``Threshold``; aggregated metrics are the mean
        of the labels' (this reproduces the documented sample's numbers), plus ``AveragePrecision``
        (mAP) when any image was a detection image. ``AverageRecall`` and ``ConfusionMatrix`` are not
        computed. Undefined values are ``None`` as everywhere here.
        """
        results: list[dict[str, Any]] = []
        for metrics in self.labels:
            if metrics.support == 0:
                continue
            # A label with ground truth but no detection has recall 0, F1 0, precision undefined.
            precision, recall, f1, threshold = None, 0.0, 0.0, None
            if metrics.best_threshold is not None and metrics.best_f1 is not None:
                tp, fp = self._curves[metrics.name].count_at(metrics.best_threshold)
                precision, recall, f1 = tp / (tp + fp), tp / metrics.support, metrics.best_f1
                threshold = metrics.best_threshold / 100.0
            results.append(
                {
                    "Label": metrics.name,
                    "NumberOfTestingImages": metrics.images,
                    "Metrics": {
                        "Threshold": threshold,
                        "Precision": precision,
                        "Recall": recall,
                        "F1Score": f1,
                    },
                }
            )
        results.sort(key=lambda r: -r["Metrics"]["F1Score"])  # stable: equal F1 stay in name order
        aggregated: dict[str, Any] = {
            key: _mean([r["Metrics"][key] for r in results]) for key in ("Precision", "Recall", "F1Score")
        }
        if self.detection_images:
            aggregated["AveragePrecision"] = self.macro.ap
        return {
            "Version": 1,
            "EvaluationDetails": {
                "Labels": [r["Label"] for r in results],
                "NumberOfTestingImages": self.images,
            },
            "AggregatedEvaluationResults": {"Metrics": aggregated},
            "LabelEvaluationResults": results,
        }

    def _rows(self) -> list[tuple[str, str, Mapping[str, Any]]]:
        rows: list[tuple[str, str, Mapping[str, Any]]] = [("label", m.name, vars(m)) for m in self.labels]
        rows.append(("micro", "", vars(self.micro)))
        rows.append(("macro", "", vars(self.macro)))
        return rows

    def to_csv(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """One row per label, then ``micro`` and ``macro`` rows (column ``scope`` tells them apart, so a
        label called "micro" cannot be mistaken for the average). Full float precision; None is an
        empty cell. Refuses an existing file unless ``overwrite``.
        """
        columns = ("scope", "label", *_FIELDS, "best_threshold", "best_f1", "threshold", "images")
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for scope, name, values in self._rows():
            writer.writerow([scope, name, *(_csv_cell(values.get(c)) for c in columns[2:])])
        return _write_text(Path(path), buffer.getvalue(), overwrite)

    def table(self) -> str:
        """An aligned plain-text table: one line per label, then the micro and macro averages."""
        header = ["label", "support", "tp", "fp", "fn", "precision", "recall", "F1", "AP", "best thr"]
        lines = []
        for scope, name, values in self._rows():
            shown = name if scope == "label" else f"({scope})"
            lines.append(
                [shown]
                + [_cell(values.get(key), 4) for key in _FIELDS]
                + [_cell(values.get("best_threshold"), 3)]
            )
        widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]

        def fmt(row: list[str]) -> str:
            cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
            return "  ".join(cells).rstrip()

        rule = "-" * len(fmt(["-" * w for w in widths]))
        out = [fmt(header), rule]
        out += [fmt(row) for row in lines[: len(self.labels)]]
        out += [rule] + [fmt(row) for row in lines[len(self.labels) :]]
        return "\n".join(out) + "\n"


def _cell(value: Any, decimals: int) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{decimals}f}"
    return str(value)


def _csv_cell(value: Any) -> Any:
    return "" if value is None else value


def _mean(values: Iterable[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return math.fsum(defined) / len(defined) if defined else None


def _write_text(path: Path, text: str, overwrite: bool) -> Path:
    return write_atomically(path, text.encode("utf-8"), overwrite=overwrite)
