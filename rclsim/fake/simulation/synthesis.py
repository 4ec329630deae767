"""One image's simulated answer: the noise model applied to its ground truth.

The article's response has this shape: two confident true boxes and 29 low-confidence ``vehicle``
boxes. Values are rounded as real responses are (wild README): confidences to 3 decimals and box values
to 5, then to the nearest float32. Classification manifests get one label per class, without
``Geometry``: the image's own classes from the hit distribution (or missed), the others from the
clutter distribution.

Determinism: the random stream of an image is seeded from SHA-256 of (seed, source-ref), never
``hash()``, and uses only :mod:`random`'s pure-Python draws, so the same seed, image and
parameters give byte-identical responses in any process on any machine.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import struct
from collections.abc import Sequence
from typing import Any

from rclsim.fake.simulation.noise import NoiseModel

__all__ = ["simulate_entry"]


def _f32(value: float, decimals: int) -> float:
    """Round as the service's responses are: to ``decimals`` places, then to the nearest float32."""
    result: float = struct.unpack("<f", struct.pack("<f", round(value, decimals)))[0]
    return result


def _rng(noise: NoiseModel, source_ref: str) -> random.Random:
    # The image's stream depends on the seed and the image alone: not on the manifest's name or
    # content, nor on Python's per-process string hashing.
    digest = hashlib.sha256(json.dumps([noise.seed, source_ref]).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: exact and deterministic for the small means used here.
    if mean <= 0:
        return 0
    limit, k, p = math.exp(-mean), 0, 1.0  # mean <= MAX_CLUTTER, checked
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _label(name: str, confidence: float, box: tuple[float, float, float, float] | None) -> dict[str, Any]:
    label: dict[str, Any] = {"Name": name, "Confidence": _f32(min(max(confidence, 0.0), 100.0), 3)}
    if box is not None:
        left, top, width, height = box
        label["Geometry"] = {
            "BoundingBox": {
                "Width": _f32(width, 5),
                "Height": _f32(height, 5),
                "Left": _f32(left, 5),
                "Top": _f32(top, 5),
            }
        }
    return label


def simulate_entry(
    entry: Any, arn: str, noise: NoiseModel, label_names: Sequence[str]
) -> list[dict[str, Any]]:
    """The simulated ``CustomLabels`` of one manifest entry, highest confidence first."""
    rng = _rng(noise, entry.source_ref)
    labels: list[dict[str, Any]] = []
    if entry.kind == "image-classification":
        own = set(entry.labels)
        for name in sorted(set(label_names) | own):
            p = noise.for_label(name)
            if name in own and rng.random() >= p["miss_rate"]:
                labels.append(_label(name, 100 * rng.betavariate(p["hit_alpha"], p["hit_beta"]), None))
            else:
                labels.append(
                    _label(name, 100 * rng.betavariate(p["clutter_alpha"], p["clutter_beta"]), None)
                )
    else:
        for box in entry.boxes:
            p = noise.for_label(box.name)
            missed = rng.random() < p["miss_rate"]
            jitters = [rng.gauss(0.0, noise.jitter) for _ in range(4)]
            confidence = 100 * rng.betavariate(p["hit_alpha"], p["hit_beta"])
            if missed or not entry.width or not entry.height:
                continue
            w, h = box.width, box.height
            x0 = box.left + jitters[0] * w
            x1 = box.left + w + jitters[1] * w
            y0 = box.top + jitters[2] * h
            y1 = box.top + h + jitters[3] * h
            ratio = (
                x0 / entry.width,
                y0 / entry.height,
                max(x1 - x0, 0.0) / entry.width,
                max(y1 - y0, 0.0) / entry.height,
            )
            labels.append(_label(box.name, confidence, ratio))
        names = list(label_names) or sorted({b.name for b in entry.boxes})
        weights = [noise.for_label(name)["clutter_weight"] for name in names]
        if not any(weights):
            names = []
        for _ in range(_poisson(rng, noise.clutter_per_image) if names else 0):
            name = rng.choices(names, weights)[0]
            lo, hi = math.log(noise.clutter_min_size), math.log(noise.clutter_max_size)
            side = math.exp(rng.uniform(lo, hi))
            aspect = math.exp(rng.uniform(-0.5, 0.5))
            width, height = min(side * aspect, 1.0), min(side / aspect, 1.0)
            left, top = rng.uniform(0, 1 - width), rng.uniform(0, 1 - height)
            p = noise.for_label(name)
            confidence = 100 * rng.betavariate(p["clutter_alpha"], p["clutter_beta"])
            labels.append(_label(name, confidence, (left, top, width, height)))
    labels.sort(key=lambda lab: -lab["Confidence"])
    return labels
