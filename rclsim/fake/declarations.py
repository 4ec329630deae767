"""Model declarations: the projects and versions the fake knows, from ``models.json`` files.

A ``models.json`` at the top of a recordings folder declares projects and versions: initial status,
training time and image count, per-label assumed thresholds, evaluation result, and how long starting
and stopping take (schema: ``rclsim/service/schemadata/models.schema.json``). Folders are read in the order
the store searches them, so a user's declaration of an ARN wins over the built-in one.

What DescribeProjectVersions reports about a version's training can be declared under the API's own
member names, each optional; :mod:`rclsim.fake.lifecycle` invents (and documents) whatever is not declared:

* ``EvaluationResult``: ``{"F1Score": float, "Summary": {"S3Object": {...}}}``; either part may be
  left out and is then filled in;
* ``OutputConfig``: ``{"S3Bucket", "S3KeyPrefix"}``; the invented file locations follow it;
* ``ManifestSummary``: ``{"S3Object": {...}}``;
* ``TrainingDataResult`` / ``TestingDataResult``: ``{"Input", "Output", "Validation"}``, each as the
  model shapes it (``Assets`` of ``GroundTruthManifest``; ``AutoCreate`` for testing data); a part not
  declared is filled in;
* ``MinInferenceUnits`` / ``MaxInferenceUnits``: for a version declared ``RUNNING``.

Capacity (:mod:`rclsim.fake.capacity`), rclsim's own keys; declaring either switches the version's
capacity on (it is off by default):

* ``TransactionsPerSecondPerInferenceUnit``: DetectCustomLabels calls per second one inference unit
  serves (integer >= 1; default 5, [D, dated]);
* ``AutoScaling``: ``{"ScaleUpSeconds": n, "ScaleDownSeconds": n}`` (integers >= 1, clock seconds;
  defaults 300 and 600, [U]).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rclsim.caches.verdicts import known_valid, remember_valid
from rclsim.service.apimodel import parse_version_arn, project_name_of
from rclsim.service.errors import RecordingError
from rclsim.service.files import read_json_bytes
from rclsim.service.schemas import models_problems

__all__ = ["VersionDecl", "ProjectDecl", "Declarations", "DECLARATIONS_FILE"]

DECLARATIONS_FILE = "models.json"
#: At time scale 1: the article's model took "a little under ten minutes" to start.
DEFAULT_START_SECONDS = 600.0
#: Stopping is quicker; not documented, so a choice ([U]).
DEFAULT_STOP_SECONDS = 60.0


def parse_timestamp(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class VersionDecl:
    arn: str
    project_arn: str
    status: str
    status_message: str | None = None
    description: str | None = None
    created: dt.datetime | None = None
    training_seconds: float | None = None
    training_images: int | None = None
    min_inference_units: int | None = None
    thresholds: Mapping[str, float] = field(default_factory=dict)
    evaluation: Mapping[str, Any] | None = None
    output_config: Mapping[str, Any] | None = None
    manifest_summary: Mapping[str, Any] | None = None
    training_data: Mapping[str, Any] | None = None
    testing_data: Mapping[str, Any] | None = None
    max_inference_units: int | None = None
    start_seconds: float = DEFAULT_START_SECONDS
    stop_seconds: float = DEFAULT_STOP_SECONDS
    start_outcome: str = "RUNNING"
    #: Capacity keys (None: not declared). Declaring either switches capacity on for the version.
    transactions_per_second: int | None = None
    auto_scaling: Mapping[str, int] | None = None
    #: True when either is declared: the detect path reads this one attribute.
    capacity: bool = False
    declared: bool = True  # False: known only because recordings name it (behaves as RUNNING)
    builtin: bool = False  # declared by rclsim's own fixtures (the article's project)

    @property
    def version_name(self) -> str:
        parsed = parse_version_arn(self.arn)
        return parsed.version_name if parsed else self.arn

    @property
    def region(self) -> str | None:
        parsed = parse_version_arn(self.arn)
        return parsed.region if parsed else None


@dataclass(frozen=True)
class ProjectDecl:
    arn: str
    created: dt.datetime | None
    versions: tuple[str, ...]
    declared: bool = True

    @property
    def name(self) -> str:
        return project_name_of(self.arn)


def _version(project_arn: str, raw: Mapping[str, Any]) -> VersionDecl:
    created = parse_timestamp(raw["CreationTimestamp"]) if "CreationTimestamp" in raw else None
    return VersionDecl(
        arn=raw["ProjectVersionArn"],
        project_arn=project_arn,
        status=raw["Status"],
        status_message=raw.get("StatusMessage"),
        description=raw.get("VersionDescription"),
        created=created,
        training_seconds=raw.get("TrainingSeconds"),
        training_images=raw.get("TrainingImages"),
        min_inference_units=raw.get("MinInferenceUnits"),
        thresholds=dict(raw.get("AssumedThresholds", {})),
        evaluation=raw.get("EvaluationResult"),
        output_config=raw.get("OutputConfig"),
        manifest_summary=raw.get("ManifestSummary"),
        training_data=raw.get("TrainingDataResult"),
        testing_data=raw.get("TestingDataResult"),
        max_inference_units=raw.get("MaxInferenceUnits"),
        start_seconds=float(raw.get("StartSeconds", DEFAULT_START_SECONDS)),
        stop_seconds=float(raw.get("StopSeconds", DEFAULT_STOP_SECONDS)),
        start_outcome=raw.get("StartOutcome", "RUNNING"),
        transactions_per_second=raw.get("TransactionsPerSecondPerInferenceUnit"),
        auto_scaling=dict(raw["AutoScaling"]) if "AutoScaling" in raw else None,
        capacity="TransactionsPerSecondPerInferenceUnit" in raw or "AutoScaling" in raw,
    )


def _same_project(version_arn: str, project_arn: str) -> bool:
    """A version belongs to a project when partition, region, account and project name agree (the
    project's creation number is not part of a version ARN)."""
    v = parse_version_arn(version_arn)
    if v is None:
        return False
    prefix = f"arn:{v.partition}:rekognition:{v.region}:{v.account}:project/{v.project}/"
    return project_arn.startswith(prefix) and project_arn[len(prefix) :].isdigit()


def models_file_problems(data: Any) -> list[str]:
    """What is wrong with a ``models.json``: its schema, then what a schema cannot say (every version
    inside the project that lists it, no version declared twice)."""
    problems = [f"fails the models schema at {p}" for p in models_problems(data)]
    if problems:
        return problems
    seen: set[str] = set()
    for project in data["projects"]:
        for raw in project["versions"]:
            arn = raw["ProjectVersionArn"]
            if not _same_project(arn, project["ProjectArn"]):
                problems.append(f"version {arn} is not in project {project['ProjectArn']}")
            if arn in seen:
                problems.append(f"version {arn} is declared twice")
            seen.add(arn)
    return problems


def _read_models_file(path: Path) -> bytes:
    """A ``models.json``'s bytes, once they have been parsed and checked against the schema."""
    # rclsim.service.files: one line naming the file for what no models.json holds (too deep, NaN, not UTF-8)
    data, raw = read_json_bytes(path, error=RecordingError)
    digest = hashlib.sha256(b"models:" + raw).hexdigest()
    if not known_valid(digest):
        problems = models_file_problems(data)
        if problems:
            raise RecordingError(f"{path}: {problems[0]}")
        remember_valid(digest)
    return raw


@functools.lru_cache(maxsize=8)
def _resolved(path: Path) -> Path:
    return path.resolve()


class Declarations:
    """Every declared project and version, plus the ones recordings imply."""

    def __init__(self) -> None:
        self.versions: dict[str, VersionDecl] = {}
        self.projects: dict[str, ProjectDecl] = {}

    @classmethod
    def load(cls, dirs: Iterable[Path]) -> Declarations:
        decls = cls()
        for folder in dirs:
            path = Path(folder) / DECLARATIONS_FILE
            if path.is_file():
                decls._load_file(path)
        return decls

    def _load_file(self, path: Path) -> None:
        from rclsim.caches.kept import kept
        from rclsim.fake.recordings import builtin_recordings_dir

        # Read and checked once per process while the file is unchanged (a fresh backend per test);
        # parsed afresh here, so nothing one backend does to its declarations reaches another.
        data = json.loads(kept("models", path, lambda: _read_models_file(path)))
        builtin = _resolved(path.parent.absolute()) == _resolved(builtin_recordings_dir())
        for raw_project in data["projects"]:
            self.add_project(raw_project, builtin=builtin)

    def add_project(self, raw_project: Mapping[str, Any], *, builtin: bool = False) -> None:
        """Add one project of a ``models.json`` (already checked against the schema): versions already
        known keep their first declaration."""
        project_arn = raw_project["ProjectArn"]
        arns = []
        for raw in raw_project["versions"]:
            arns.append(raw["ProjectVersionArn"])
            decl = _version(project_arn, raw)
            if builtin:
                decl = dataclasses.replace(decl, builtin=True)
            self.versions.setdefault(raw["ProjectVersionArn"], decl)
        if project_arn not in self.projects:
            created = raw_project.get("CreationTimestamp")
            self.projects[project_arn] = ProjectDecl(
                project_arn, parse_timestamp(created) if created else None, tuple(arns)
            )

    def implied(self, arn: str) -> VersionDecl:
        """A version no declaration names but recordings answer for: RUNNING, in a derived project."""
        parsed = parse_version_arn(arn)
        project_arn = parsed.project_arn if parsed else arn
        return VersionDecl(
            arn=arn,
            project_arn=project_arn,
            status="RUNNING",
            declared=False,
            status_message="The model is running (rclsim: implied by recordings).",
        )

    def project_of(self, project_arn: str) -> ProjectDecl | None:
        return self.projects.get(project_arn)

    def versions_in(self, project_arn: str) -> list[VersionDecl]:
        return [v for v in self.versions.values() if v.project_arn == project_arn]

    @staticmethod
    def belongs(version_arn: str, project_arn: str) -> bool:
        return _same_project(version_arn, project_arn)
