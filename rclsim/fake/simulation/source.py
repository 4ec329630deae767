"""The sim backend's response source: a manifest, answered through the fake core.

:class:`SimSource` finds a request's image in the manifest (by ``s3://`` source-ref, bare file name,
or the bytes of a local image file the manifest names) and hands the core the simulated answer as a
recording made at MinConfidence 0. :func:`sim_arns` names the model it declares.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from rclsim.fake.recordings import ImageRef, Recording
from rclsim.fake.simulation.noise import NoiseModel
from rclsim.fake.simulation.synthesis import simulate_entry
from rclsim.service.errors import RclsimError

__all__ = ["SimSource", "sim_arns", "simulated_recording"]


def simulated_recording(
    entry: Any, arn: str, noise: NoiseModel, label_names: Sequence[str], image: ImageRef, path: Path
) -> Recording:
    """The simulated answer for a ground-truth entry, handed to the core as a recording made at
    MinConfidence 0 with no MaxResults, so the core filters it as it filters a real one."""
    labels = simulate_entry(entry, arn, noise, label_names)
    return Recording(
        path=path,
        project_version_arn=arn,
        region=None,
        image=image,
        width=entry.width,
        height=entry.height,
        min_confidence=0.0,
        max_results=None,
        recorded_at=None,
        labels=tuple(labels),
    )


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
    """A response source (see :class:`rclsim.fake.core.ResponseSource`) over one manifest."""

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
        from rclsim.data.manifest import iter_manifest

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
        return [simulated_recording(entry, self.arn, self.noise, self.label_names, image, self.path)]

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
