"""Score DetectCustomLabels responses against ground truth, the way the Custom Labels console does.

After training, the console shows per-label precision, recall and F1 on the test set, and each label's
*assumed threshold*: the confidence at which its F1 is best. DetectCustomLabels without
``MinConfidence`` filters each label at that threshold. This package recomputes all of it offline from
plain data (one :class:`Truth` and one :class:`Prediction` per image), so a test suite can check that a
model, a fake or a post-processing step still scores what it used to. The inputs are plain data on
purpose: a manifest reader, a recording, or a live backend can all produce them.

AWS's documentation does not pin down how; each choice follows common practice (PASCAL VOC / COCO),
is written down in the module that makes it, and is checked against an independent brute-force
oracle in the tests:

* :mod:`rclsim.data.evaluation.matching`: boxes, IoU (:func:`ratio_iou`) and the greedy matching of one
  image's detections to its truth boxes (:func:`match_detections`, shared so that other modules count
  hits and misses exactly as the scores do);
* :mod:`rclsim.data.evaluation.scoring`: per-label counts, the threshold sweep, best thresholds, AP, the
  averages, and :func:`evaluate`, which streams the truths;
* :mod:`rclsim.data.evaluation.report`: the :class:`Report` it returns, and its table, JSON, CSV and
  console-summary forms.

The precision-recall plot (it needs OpenCV) is drawn by :func:`rclsim.reports.prplot.write_pr_plot`.
"""

from __future__ import annotations

from rclsim.data.evaluation.matching import match_detections, ratio_iou
from rclsim.data.evaluation.report import Average, LabelMetrics, Report, SweepPoint
from rclsim.data.evaluation.scoring import Prediction, Truth, evaluate

__all__ = [
    "Truth",
    "Prediction",
    "SweepPoint",
    "LabelMetrics",
    "Average",
    "Report",
    "evaluate",
    "ratio_iou",
    "match_detections",
]
