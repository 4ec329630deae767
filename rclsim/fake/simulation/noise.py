"""The noise model: how the simulated model errs, and how its parameters are loaded and checked.

The noise model (parameters in :class:`NoiseModel`, all documented there) for one image:

1. each ground-truth box is **missed** with probability ``miss_rate``;
2. a box that is found is **jittered**: each edge moves by a normal amount with standard deviation
   ``jitter`` times the box's width (left/right edges) or height (top/bottom edges);
3. its **confidence** is drawn from a Beta(``hit_alpha``, ``hit_beta``) distribution, times 100;
4. **clutter** (false positives): a Poisson(``clutter_per_image``) number of extra boxes, each with a
   label drawn from the manifest's labels, a square-ish box whose side is log-uniform between
   ``clutter_min_size`` and ``clutter_max_size`` (fractions of the image) at a uniform position, and a
   confidence from Beta(``clutter_alpha``, ``clutter_beta``) times 100.

The hit and clutter distributions, the miss rate and how often a label is picked for clutter
(``clutter_weight``) can be set per label (``labels``), so a simulation can have, like the article's
model, many low-confidence ``vehicle`` false positives and almost no false plates.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rclsim.service.errors import RclsimError
from rclsim.service.files import read_json_file

__all__ = ["NoiseModel", "LABEL_PARAMETERS", "MAX_CLUTTER"]


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
        """The parameters in the JSON file ``path`` (read by :func:`rclsim.service.files.read_json_file`: a
        file nested too deeply, with ``NaN`` or not UTF-8 is one line naming it), checked by
        :meth:`from_dict`."""
        return cls.from_dict(read_json_file(path), str(path))

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
