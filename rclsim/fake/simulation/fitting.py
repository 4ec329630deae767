"""Noise parameters fitted to a real model: :func:`fit_noise`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rclsim.fake.simulation.noise import MAX_CLUTTER, NoiseModel
from rclsim.service.errors import RclsimError

__all__ = ["fit_noise"]


def _beta_moments(values: Sequence[float]) -> tuple[float, float] | None:
    """Method-of-moments Beta(a, b) for values in (0, 1)."""
    xs = [min(max(v, 1e-6), 1 - 1e-6) for v in values]
    if len(xs) < 2:
        return None
    mean = sum(xs) / len(xs)
    var = sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)
    if var <= 0 or var >= mean * (1 - mean):
        return None
    common = mean * (1 - mean) / var - 1
    return mean * common, (1 - mean) * common


def fit_noise(
    pairs: Iterable[tuple[Any, Sequence[Mapping[str, Any]]]],
    *,
    seed: int = 0,
    iou_threshold: float = 0.5,
    min_samples: int = 20,
) -> NoiseModel:
    """Noise parameters that make the simulation look like a real model, from (manifest entry,
    CustomLabels of that image's real response) pairs of object-detection images.

    Matching as the evaluation does (greedy by confidence, IoU >= 0.5, same label): matched boxes give
    the hit confidences and the edge jitter, unmatched ground truth the miss rate, unmatched detections
    the clutter rate, confidences, sizes and labels. Beta parameters by the method of moments; the
    clutter size range from the smallest and largest false positives' sides (widened by the usual
    estimate of a uniform's bounds, on the log scale). Labels with at least ``min_samples`` hits,
    misses or false positives also get their own parameters. The responses must be unfiltered
    (recorded at MinConfidence 0): labels a threshold removed look like misses.
    """
    from rclsim.data.evaluation import match_detections

    hits: dict[str, list[float]] = {}
    clutter: dict[str, list[float]] = {}
    truth_count: dict[str, int] = {}
    miss_count: dict[str, int] = {}
    edges: list[float] = []
    log_sides: list[float] = []
    images = 0
    for entry, labels in pairs:
        if not entry.width or not entry.height:
            continue
        images += 1
        truth = [(b.name, entry.ratio_box(b)) for b in entry.boxes]
        for name, _ in truth:
            truth_count[name] = truth_count.get(name, 0) + 1
        detections = [lab for lab in labels if lab.get("Geometry", {}).get("BoundingBox")]
        matches, unmatched_truth, unmatched_det = match_detections(truth, detections, iou_threshold)
        for index in unmatched_truth:
            miss_count[truth[index][0]] = miss_count.get(truth[index][0], 0) + 1
        for det_index, truth_index in matches:
            det = detections[det_index]
            hits.setdefault(det["Name"], []).append(det["Confidence"] / 100)
            box = det["Geometry"]["BoundingBox"]
            t = truth[truth_index][1]
            w, h = t["Width"], t["Height"]
            if w > 0 and h > 0:
                edges.extend(
                    [
                        (box["Left"] - t["Left"]) / w,
                        (box["Left"] + box["Width"] - t["Left"] - w) / w,
                        (box["Top"] - t["Top"]) / h,
                        (box["Top"] + box["Height"] - t["Top"] - h) / h,
                    ]
                )
        for det_index in unmatched_det:
            det = detections[det_index]
            clutter.setdefault(det["Name"], []).append(det["Confidence"] / 100)
            box = det["Geometry"]["BoundingBox"]
            log_sides.append(0.5 * math.log(max(box["Width"] * box["Height"], 1e-12)))
    if images == 0:
        raise RclsimError("nothing to fit: no object-detection image has both ground truth and a response")
    base = NoiseModel(seed=seed)
    all_hits = [c for cs in hits.values() for c in cs]
    all_clutter = [c for cs in clutter.values() for c in cs]
    hit = _beta_moments(all_hits) or (base.hit_alpha, base.hit_beta)
    clut = _beta_moments(all_clutter) or (base.clutter_alpha, base.clutter_beta)
    jitter = math.sqrt(sum(e * e for e in edges) / len(edges)) if edges else base.jitter
    if len(log_sides) >= 2:
        lo, hi = min(log_sides), max(log_sides)
        pad = (hi - lo) / (len(log_sides) - 1)  # unbiased bounds of a uniform sample
        size = (max(math.exp(lo - pad), 1e-4), min(math.exp(hi + pad), 1.0))
    else:
        size = (base.clutter_min_size, base.clutter_max_size)
    gt_total = sum(truth_count.values())
    mean_clutter_per_label = len(all_clutter) / max(len(set(truth_count) | set(clutter)), 1)
    per_label: dict[str, dict[str, float]] = {}
    for name in sorted(set(truth_count) | set(clutter)):
        values: dict[str, float] = {}
        if truth_count.get(name, 0) >= min_samples:
            values["miss_rate"] = miss_count.get(name, 0) / truth_count[name]
        if len(hits.get(name, [])) >= min_samples and (fitted := _beta_moments(hits[name])):
            values["hit_alpha"], values["hit_beta"] = fitted
        if len(clutter.get(name, [])) >= min_samples and (fitted := _beta_moments(clutter[name])):
            values["clutter_alpha"], values["clutter_beta"] = fitted
        if all_clutter and mean_clutter_per_label > 0:
            values["clutter_weight"] = len(clutter.get(name, [])) / mean_clutter_per_label
        if values:
            per_label[name] = values
    model = NoiseModel(
        miss_rate=sum(miss_count.values()) / gt_total if gt_total else base.miss_rate,
        jitter=min(jitter, 1.0),
        hit_alpha=hit[0],
        hit_beta=hit[1],
        clutter_per_image=min(len(all_clutter) / images, MAX_CLUTTER),
        clutter_alpha=clut[0],
        clutter_beta=clut[1],
        clutter_min_size=size[0],
        clutter_max_size=size[1],
        seed=seed,
        labels=per_label,
    )
    model.check("fitted parameters")
    return model
