"""The simulation source: DetectCustomLabels answers synthesised from a Ground Truth manifest.

Replay answers only for recorded images; the ``sim`` backend answers for every image a manifest lists,
with a seeded noise model applied to the image's ground truth. The answer goes through the same fake
core as a recording (schema, ``MinConfidence``/``MaxResults``, lifecycle, errors): the simulator hands
the core a response "recorded" at MinConfidence 0, so any threshold is exact.

The noise model (parameters in :class:`NoiseModel`, all documented there) for one image:

1. each ground-truth box is **missed** with probability ``miss_rate``;
2. a box that is found is **jittered**: each edge moves by a normal amount with standard deviation
   ``jitter`` times the box's width (left/right edges) or height (top/bottom edges);
3. its **confidence** is drawn from a Beta(``hit_alpha``, ``hit_beta``) distribution, times 100;
4. **clutter** (false positives): a Poisson(``clutter_per_image``) number of extra boxes, each with a
   label drawn from the manifest's labels, a square-ish box whose side is log-uniform between
   ``clutter_min_size`` and ``clutter_max_size`` (fractions of the image) at a uniform position, and a
   confidence from Beta(``clutter_alpha``, ``clutter_beta``) times 100.

The article's response has this shape: two confident true boxes and 29 low-confidence ``vehicle``
boxes. Values are rounded as real responses are (wild README): confidences to 3 decimals and box values
to 5, then to the nearest float32. Classification manifests get one label per class, without
``Geometry``: the image's own classes from the hit distribution (or missed), the others from the
clutter distribution.

The hit and clutter distributions, the miss rate and how often a label is picked for clutter
(``clutter_weight``) can be set per label (``labels``), so a simulation can have, like the article's
model, many low-confidence ``vehicle`` false positives and almost no false plates.

Determinism: the random stream of an image is seeded from SHA-256 of (seed, source-ref), never
``hash()``, and uses only :mod:`random`'s pure-Python draws, so the same seed, image and
parameters give byte-identical responses in any process on any machine.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import random
import struct
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import RclsimError
from .recordings import ImageRef, Recording

__all__ = ["NoiseModel", "SimSource", "simulate_entry", "fit_noise", "sim_arns"]


@dataclass(frozen=True)
class NoiseModel:
    """How the simulated model errs. Defaults give a decent detector with some clutter."""

    #: Probability that a ground-truth box is not detected.
    miss_rate: float = 0.05
    #: Edge jitter: standard deviation as a fraction of the box's width/height.
    jitter: float = 0.03
    #: Beta distribution of a true detection's confidence (x100). Mean a/(a+b) = 0.9 by default.
    hit_alpha: float = 9.0
    hit_beta: float = 1.0
    #: Mean number of false positives per image (Poisson).
    clutter_per_image: float = 3.0
    #: Beta distribution of a false positive's confidence (x100). Mean 0.2 by default.
    clutter_alpha: float = 2.0
    clutter_beta: float = 8.0
    #: False positives' box side, log-uniform between these fractions of the image.
    clutter_min_size: float = 0.01
    clutter_max_size: float = 0.3
    #: The seed of every image's random stream.
    seed: int = 0
    #: Per-label overrides: ``{"vehicle": {"clutter_weight": 10, "clutter_alpha": 2, ...}}``. Keys are
    #: :data:`LABEL_PARAMETERS`; ``clutter_weight`` (default 1) is how often the label is picked for
    #: a false positive relative to the others.
    labels: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> NoiseModel:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise RclsimError(f"{path}: cannot read noise parameters: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise RclsimError(f"{path}: malformed JSON: {exc}") from None
        return cls.from_dict(data, str(path))

    @classmethod
    def from_dict(cls, data: Any, origin: str = "noise parameters") -> NoiseModel:
        """Parameters from JSON, checked: numbers must be real numbers (not text, not booleans), the
        seed a whole number; nothing is converted or capped silently."""
        if not isinstance(data, Mapping):
            raise RclsimError(f"{origin}: expected a JSON object of noise parameters")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise RclsimError(f"{origin}: unknown noise parameters {sorted(unknown)}; known: {sorted(names)}")
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key == "labels":
                values[key] = _label_overrides(value, origin)
            elif key == "seed":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise RclsimError(f"{origin}: seed must be a whole number, got {value!r}")
                values[key] = value
            else:
                values[key] = _number(value, key, origin)
        model = cls(**values)
        model.check(origin)
        return model

    def check(self, origin: str = "noise parameters") -> None:
        problems = []
        if not 0 <= self.miss_rate <= 1:
            problems.append("miss_rate must be in 0..1")
        if not 0 <= self.jitter <= 1:
            problems.append("jitter must be in 0..1 (a fraction of the box's size)")
        if not 0 <= self.clutter_per_image <= MAX_CLUTTER:
            problems.append(f"clutter_per_image must be in 0..{MAX_CLUTTER:g}")
        for name in ("hit_alpha", "hit_beta", "clutter_alpha", "clutter_beta"):
            if not 0 < getattr(self, name) < 1e6:
                problems.append(f"{name} must be > 0 (and below a million)")
        if not 0 < self.clutter_min_size <= self.clutter_max_size <= 1:
            problems.append("need 0 < clutter_min_size <= clutter_max_size <= 1")
        for label, overrides in self.labels.items():
            for key, value in overrides.items():
                if key == "miss_rate" and not 0 <= value <= 1:
                    problems.append(f"labels.{label}.miss_rate must be in 0..1")
                elif key == "clutter_weight" and not 0 <= value < 1e6:
                    problems.append(f"labels.{label}.clutter_weight must be >= 0")
                elif key not in ("miss_rate", "clutter_weight") and not 0 < value < 1e6:
                    problems.append(f"labels.{label}.{key} must be > 0")
        if problems:
            raise RclsimError(f"{origin}: " + "; ".join(problems))

    def for_label(self, name: str) -> dict[str, float]:
        """The effective per-label parameters (:data:`LABEL_PARAMETERS`) of ``name``."""
        base = {key: float(getattr(self, key)) for key in LABEL_PARAMETERS if key != "clutter_weight"}
        base["clutter_weight"] = 1.0
        base.update(self.labels.get(name, {}))
        return base

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["labels"] = {name: dict(values) for name, values in self.labels.items()}
        return data


#: What can be set per label in :attr:`NoiseModel.labels`.
LABEL_PARAMETERS = ("miss_rate", "hit_alpha", "hit_beta", "clutter_alpha", "clutter_beta", "clutter_weight")
#: More false positives per image than this is not a model worth simulating (and Poisson draws get slow).
MAX_CLUTTER = 50.0


def _number(value: Any, key: str, origin: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RclsimError(f"{origin}: {key} must be a finite number, got {value!r}")
    return float(value)


def _label_overrides(value: Any, origin: str) -> dict[str, dict[str, float]]:
    if not isinstance(value, Mapping):
        raise RclsimError(f"{origin}: labels must be an object of per-label parameters")
    out: dict[str, dict[str, float]] = {}
    for label, overrides in value.items():
        if not isinstance(overrides, Mapping):
            raise RclsimError(f"{origin}: labels.{label} must be an object")
        unknown = set(overrides) - set(LABEL_PARAMETERS)
        if unknown:
            raise RclsimError(
                f"{origin}: labels.{label}: unknown {sorted(unknown)}; known: {list(LABEL_PARAMETERS)}"
            )
        out[str(label)] = {k: _number(v, f"labels.{label}.{k}", origin) for k, v in overrides.items()}
    return out


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


def sim_arns(manifest: str | os.PathLike[str], region: str = "us-east-1") -> tuple[str, str]:
    """The (version ARN, project ARN) the sim backend declares for a manifest. They are derived from
    the manifest's file name only, so editing the manifest (adding lines, say) keeps the model and a
    ``models.json`` that declares it; another file name is another model."""
    name = "".join(c if c.isalnum() or c in "-_." else "-" for c in Path(manifest).stem)[:100] or "manifest"
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()
    number = str(1_000_000_000_000 + int(digest[:10], 16) % 9_000_000_000_000)
    base = f"arn:aws:rekognition:{region}:000000000000:project/sim-{name}"
    return f"{base}/version/sim-{name}.v1/{number}", f"{base}/{number}"


class SimSource:
    """A response source (see :class:`rclsim.core.ResponseSource`) over one manifest."""

    def __init__(self, manifest: str | os.PathLike[str], noise: NoiseModel | None = None) -> None:
        self.path = Path(manifest)
        if not self.path.is_file():
            raise RclsimError(f"{self.path}: no such manifest")
        self.noise = noise or NoiseModel()
        self.arn, self.project_arn = sim_arns(self.path)
        self._lock = threading.Lock()
        self._index: dict[str, Any] | None = None
        self._by_name: dict[str, list[Any]] = {}
        self._by_sha: dict[str, Any] | None = None
        self.label_names: list[str] = []
        self.problems: list[Any] = []

    # -- the manifest ------------------------------------------------------------------------------
    def entries(self) -> Iterator[Any]:
        """The manifest's good lines, streamed (bad ones land in :attr:`problems`)."""
        from .manifest import iter_manifest

        self.problems = []
        return iter_manifest(self.path, self.problems)

    def _load(self) -> dict[str, Any]:
        if self._index is not None:
            return self._index
        with self._lock:
            if self._index is None:
                index: dict[str, Any] = {}
                names: set[str] = set()
                for entry in self.entries():
                    index.setdefault(entry.source_ref, entry)
                    self._by_name.setdefault(PurePosixPath(entry.source_ref).name, []).append(entry)
                    names.update(entry.labels)
                    names.update(b.name for b in entry.boxes)
                self.label_names = sorted(names)
                self._index = index
        return self._index

    def _local_file(self, source_ref: str) -> Path | None:
        if source_ref.startswith("s3://"):
            return None
        ref = source_ref[len("file://") :] if source_ref.startswith("file://") else source_ref
        candidate = Path(ref) if Path(ref).is_absolute() else self.path.parent / ref
        return candidate if candidate.is_file() else None

    def _sha_index(self) -> dict[str, Any]:
        """sha256 of local image files the manifest names (only built when a Bytes request comes)."""
        if self._by_sha is None:
            by_sha: dict[str, Any] = {}
            for entry in self._load().values():
                local = self._local_file(entry.source_ref)
                if local is not None:
                    by_sha.setdefault(hashlib.sha256(local.read_bytes()).hexdigest(), entry)
            self._by_sha = by_sha
        return self._by_sha

    def find_entry(self, image: ImageRef) -> Any | None:
        index = self._load()
        if image.bucket is not None and image.key is not None:
            entry = index.get(f"s3://{image.bucket}/{image.key}")
            if entry is not None:
                return entry
            # Bare source-refs (a file name only) match an S3 key with that file name.
            for candidate in self._by_name.get(PurePosixPath(image.key).name, []):
                if "/" not in candidate.source_ref and not candidate.source_ref.startswith("s3://"):
                    return candidate
        if image.sha256 is not None:
            return self._sha_index().get(image.sha256)
        return None

    # -- ResponseSource ----------------------------------------------------------------------------
    def knows_model(self, project_version_arn: str) -> bool:
        return project_version_arn == self.arn

    def candidates(self, project_version_arn: str, image: ImageRef) -> Sequence[Recording]:
        entry = self.find_entry(image)
        if entry is None or project_version_arn != self.arn:
            return []
        labels = simulate_entry(entry, self.arn, self.noise, self.label_names)
        return [
            Recording(
                path=self.path,
                project_version_arn=self.arn,
                region=None,
                image=image,
                width=entry.width,
                height=entry.height,
                min_confidence=0.0,
                max_results=None,
                recorded_at=None,
                labels=tuple(labels),
            )
        ]

    def not_found_message(self, project_version_arn: str, image: ImageRef) -> str:
        if project_version_arn != self.arn:
            return f"the sim backend's model for {self.path} is {self.arn}, not {project_version_arn}"
        bad = (
            f"; {len(self.problems)} of its lines are invalid (rclsim validate {self.path})"
            if self.problems
            else ""
        )
        return (
            f"the manifest {self.path} does not list {image.describe()} (the sim backend answers for "
            f"s3:// source-refs, bare file names, and local image files named in the manifest){bad}"
        )


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
    from .evaluation import match_detections

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
