"""The control plane: projects, model versions made by training or copying, and what hangs on them.

The model lifecycle (:mod:`rclsim.fake.lifecycle`) moves versions between statuses; this module makes
them. It holds the operations that create and delete resources, keeps them in the state store (so the
CLI, ``rclsim serve`` and several processes see the same projects) and tells the lifecycle about the
versions it made (it is the lifecycle's :class:`~rclsim.fake.lifecycle.Catalog`). Datasets
(:mod:`rclsim.fake.datasets`), tags (:mod:`rclsim.fake.tagging`), project policies
(:mod:`rclsim.fake.policies`) and the training model (:mod:`rclsim.fake.training`) are parts it
composes; every front-end reaches them only through :meth:`rclsim.fake.core.FakeRekognition.call`.

Choices where the service's behaviour is not verified ([U]), documented in docs/fidelity.md:

* the account of every ARN rclsim makes is ``123456789012`` (moto's default account, so code that mixes
  moto and rclsim sees one account); the region is the client's (``us-east-1`` for a client of none);
* a project is ``CREATED`` at once; a second project of the same name in a region is
  ``ResourceInUseException``; ``DeleteProject`` of a project with model versions is
  ``ResourceInUseException`` (its datasets, policies and tags go with it) and the project is gone at
  once (``Status: DELETING`` is answered);
* projects and versions declared in ``models.json`` or implied by recordings are read-only: deleting
  them is ``InvalidParameterException`` naming the file to edit;
* ``CreateProjectVersion``: a version name used in the project is ``ResourceInUseException``; training
  data that cannot be read, or a manifest the service would refuse, ends in ``TRAINING_FAILED`` with
  the reason in ``StatusMessage`` (as the service reports import errors), not in an error of the call;
  the training's duration and outcome come from :mod:`rclsim.fake.training`; the training output
  (evaluation summary, manifest summary, ground-truth and with-validation manifests, at the locations
  DescribeProjectVersions names) is written through the object store when training completes, the
  manifest summary also when it fails; when it cannot be written the version still completes and
  ``rclsim`` says so in its ``StatusMessage``;
* ``StopProjectVersion`` of a version that is training ends it at once in ``TRAINING_FAILED``
  (``StatusMessage`` says it was stopped; nothing is billed); the call answers ``TRAINING_FAILED``;
* ``DeleteProjectVersion`` of a version that is training, starting, running or stopping is
  ``ResourceInUseException``; otherwise the version is gone at once (``Status: DELETING`` answered);
* ``CopyProjectVersion`` copies a version rclsim trained (status ``TRAINING_COMPLETED`` or later) into
  a project of the same account: ``COPYING_IN_PROGRESS`` for :data:`COPY_SECONDS` (times the time
  scale), then ``COPYING_COMPLETED``; the copy answers DetectCustomLabels as its source does.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rclsim.fake.clock import Clock, utc
from rclsim.fake.declarations import VersionDecl
from rclsim.fake.lifecycle import NEVER_TRAINED, STATUS_MESSAGES, Lifecycle, OutputFiles, page
from rclsim.fake.objects import HOW_TO_GIVE_ONE, ObjectStore
from rclsim.fake.state import Resource, StateStore, VersionState
from rclsim.service.apimodel import project_name_of, region_of
from rclsim.service.errors import RclsimError, service_error

if TYPE_CHECKING:  # pragma: no cover
    from rclsim.data.manifest import ManifestEntry
    from rclsim.fake.datasets import Datasets
    from rclsim.fake.policies import Policies
    from rclsim.fake.tagging import Tags
    from rclsim.fake.training import TrainedSource

__all__ = ["ControlPlane", "ACCOUNT", "DEFAULT_REGION", "COPY_SECONDS"]

#: The account of every ARN rclsim makes ([U]: moto's default account).
ACCOUNT = "123456789012"
#: The region of resources made by a client that names none.
DEFAULT_REGION = "us-east-1"
#: How long copying a version takes at time scale 1 ([U]: not documented).
COPY_SECONDS = 600.0

PROJECT, VERSION = "project", "version"
#: Statuses in which a version cannot be deleted.
_BUSY = frozenset({"TRAINING_IN_PROGRESS", "STARTING", "RUNNING", "STOPPING", "COPYING_IN_PROGRESS"})


#: The manifest summary's code for a manifest that cannot be read.
_INACCESSIBLE = "ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT"


def _merge_summary(summary: dict[str, Any], more: Mapping[str, Any]) -> None:
    """Add one manifest's summary (``errors``, ``statistics`` by dataset) to a version's."""
    summary["errors"].extend(more.get("errors", []))
    for name, section in (more.get("statistics") or {}).items():
        summary["statistics"].setdefault(name, section)


def _account_region(region: str | None) -> tuple[str, str]:
    return ACCOUNT, region or DEFAULT_REGION


class ControlPlane:
    """Projects and versions made through the API, over the lifecycle's state store.

    ``objects`` is asked for the object store each time (the drop-in sets moto's while a moto mock
    is on). Its parts (``datasets``, ``tags``, ``policies``, and ``source``, which answers trained
    versions' DetectCustomLabels) are made on first use.
    """

    def __init__(self, lifecycle: Lifecycle, *, objects: Callable[[], ObjectStore | None]) -> None:
        self.lifecycle = lifecycle
        self.state: StateStore = lifecycle.state
        self.clock: Clock = lifecycle.clock
        self.objects = objects
        self._decls: dict[str, tuple[float, VersionDecl]] = {}
        self._entries: dict[str, tuple[ManifestEntry, ...]] = {}
        self._lock = threading.Lock()
        #: The opt-in pixel match's hasher for trained versions (the core passes the backend's).
        self.pixels: Any = None
        #: The opt-in default answer for trained versions (``--match default``; the core passes it).
        self.default_answer = False
        #: How the user switches the pixel match on, in their front-end's words (None: Python's).
        self.match_hint: Callable[[str], str] | None = None
        lifecycle.catalog = self

    # The parts are made when first used: a process that only detects never imports them (training
    # brings the evaluation code and numpy).
    @functools.cached_property
    def tags(self) -> Tags:
        from rclsim.fake.tagging import Tags

        return Tags(self.state, self.clock, exists=self.resource_exists)

    @functools.cached_property
    def policies(self) -> Policies:
        from rclsim.fake.policies import Policies

        return Policies(self.state, self.clock, project_exists=self.project_exists)

    @functools.cached_property
    def datasets(self) -> Datasets:
        from rclsim.fake.datasets import Datasets

        return Datasets(
            self.state,
            self.clock,
            time_scale=self.time_scale,
            objects=self.objects,
            project_exists=self.project_exists,
            tags=self.tags,
        )

    @functools.cached_property
    def source(self) -> TrainedSource:
        """Answers DetectCustomLabels for the versions trained here, from their ground truth."""
        from rclsim.fake.training import TrainedSource

        source = TrainedSource(self.version_entries, self.objects, pixels=self.pixels)
        source.default_answer = self.default_answer
        if self.match_hint is not None:
            source.match_hint = self.match_hint
        return source

    def made(self, arn: str) -> bool:
        """True for a version this control plane made (known through :meth:`version`)."""
        return arn in self._decls

    @property
    def time_scale(self) -> float:
        return self.lifecycle.time_scale

    def _now_ms(self) -> int:
        return int(round(self.clock.now() * 1000))

    # -- what exists ---------------------------------------------------------------------------------
    def project(self, arn: str) -> Resource | None:
        with self.state.transaction() as txn:
            return txn.get_resource(PROJECT, arn)  # type: ignore[no-any-return]

    def project_exists(self, arn: str) -> bool:
        """Made through the API, declared in models.json, or implied by a version's recordings."""
        return arn in self.lifecycle.project_arns()

    def resource_exists(self, arn: str) -> bool:
        """For tags: a project, a version or a dataset that exists."""
        if "/version/" in arn:
            return self.lifecycle.known(arn) is not None
        if "/dataset/" in arn:
            return self.datasets.exists(arn)
        return self.project_exists(arn)

    def _require_project(self, arn: str, op: str) -> None:
        if not self.project_exists(arn):
            raise service_error("ResourceNotFoundException", f"The project {arn} does not exist.", op)

    # -- the Catalog the lifecycle asks --------------------------------------------------------------
    def version(self, arn: str) -> VersionDecl | None:
        """The declaration of a version this control plane made (None for any other ARN). Read from
        the state store, so a version made by another process is known here too."""
        if "/version/" not in arn:
            return None
        resource = self.state.peek_resource(VERSION, arn)
        if resource is None:
            self._decls.pop(arn, None)
            return None
        kept = self._decls.get(arn)
        if kept is not None and kept[0] == resource.created_at:
            return kept[1]
        decl = self._decl(resource)
        self._decls[arn] = (resource.created_at, decl)
        return decl

    def projects(self) -> dict[str, dt.datetime | None]:
        """The projects made through the API, with their creation times."""
        return {r.arn: utc(r.created_at) for r in self.state.peek_resources(PROJECT)}

    def settled(self, decl: VersionDecl, state: VersionState) -> VersionState:
        """A transition of a version made here just completed: write its training output when it
        finished training. Returns the state to keep (its message may say the output was not
        written)."""
        if state.status not in ("TRAINING_COMPLETED", "TRAINING_FAILED"):
            return state
        resource = self.state.peek_resource(VERSION, decl.arn)
        if resource is None or "Output" not in resource.doc:
            return state
        problem = self._write_output(decl, resource.doc["Output"])
        if problem:
            return state.evolve(status_message=f"{state.status_message or ''} (rclsim: {problem})".strip())
        return state

    def _decl(self, resource: Resource) -> VersionDecl:
        doc = resource.doc
        outcome = doc.get("Outcome", {})
        completed = outcome.get("Status") == "TRAINING_COMPLETED"
        files = OutputFiles(
            VersionDecl(
                arn=resource.arn,
                project_arn=resource.parent or "",
                status="TRAINING_IN_PROGRESS",
                output_config=doc.get("OutputConfig"),
            )
        )
        evaluation = None
        if completed:
            evaluation = {
                "F1Score": float(outcome.get("F1Score") or 0.0),
                "Summary": files.asset("EvaluationResultSummary"),
            }
        return VersionDecl(
            arn=resource.arn,
            project_arn=resource.parent or "",
            status=doc.get("InitialStatus", "TRAINING_IN_PROGRESS"),
            status_message=outcome.get("StatusMessage"),
            description=doc.get("VersionDescription"),
            created=utc(resource.created_at),
            training_seconds=float(outcome.get("Seconds", 0.0)) if completed else None,
            training_images=outcome.get("Images"),
            thresholds=dict(outcome.get("Thresholds") or {}),
            evaluation=evaluation,
            output_config=doc.get("OutputConfig"),
            manifest_summary=files.asset("ManifestSummary"),
            training_data=doc.get("TrainingDataResult"),
            testing_data=doc.get("TestingDataResult"),
        )

    def version_entries(self, arn: str) -> Sequence[ManifestEntry] | None:
        """The ground truth a version made here was trained on (training and test images), for the
        source that answers its DetectCustomLabels; None for a version not made here."""
        kept = self._entries.get(arn)
        if kept is not None:
            return kept
        resource = self.state.peek_resource(VERSION, arn)
        if resource is None:
            return None
        from rclsim.data.manifest.validation import _LineError, _parse

        lines = resource.doc.get("Entries", [])
        entries = []
        for number, line in enumerate(lines, start=1):
            try:
                entries.append(_parse(line.encode("utf-8"), number))
            except _LineError:  # stored by rclsim from checked entries: cannot happen, skip if it does
                continue
        with self._lock:
            self._entries[arn] = tuple(entries)
        return self._entries[arn]

    def trainings(self) -> list[tuple[str, float]]:
        """Successful trainings of versions made here (not copies), for the cost meter."""
        out = []
        with self.state.transaction() as txn:
            for resource in self.state.peek_resources(VERSION):
                outcome = resource.doc.get("Outcome", {})
                if resource.doc.get("CopiedFrom") or outcome.get("Status") != "TRAINING_COMPLETED":
                    continue
                decl = self.version(resource.arn)
                if decl is not None and self.lifecycle.current(txn, decl).status not in NEVER_TRAINED:
                    out.append((resource.arn, float(outcome.get("Seconds", 0.0))))
        return out

    # -- projects ------------------------------------------------------------------------------------
    def create_project(
        self, params: Mapping[str, Any], region: str | None, op: str = "CreateProject"
    ) -> dict[str, Any]:
        name = params["ProjectName"]
        feature = params.get("Feature") or "CUSTOM_LABELS"
        if params.get("AutoUpdate") is not None and feature != "CONTENT_MODERATION":
            raise service_error(
                "InvalidParameterException",
                "Request has invalid parameters: AutoUpdate applies only to CONTENT_MODERATION projects",
                op,
            )
        account, region = _account_region(region)
        for arn in self.lifecycle.project_arns():
            if project_name_of(arn) == name and region_of(arn) == region:
                raise service_error(
                    "ResourceInUseException", f"A project named {name} already exists in {region}.", op
                )
        arn = f"arn:aws:rekognition:{region}:{account}:project/{name}/{self._now_ms()}"
        doc: dict[str, Any] = {"Name": name, "Feature": feature}
        if feature == "CONTENT_MODERATION":
            doc["AutoUpdate"] = params.get("AutoUpdate") or "DISABLED"
        with self.state.transaction() as txn:
            if params.get("Tags"):
                self.tags.set_initial(txn, arn, params["Tags"], op)
            txn.put_resource(Resource(PROJECT, arn, None, self.clock.now(), doc))
        return {"ProjectArn": arn}

    def delete_project(self, params: Mapping[str, Any], op: str = "DeleteProject") -> dict[str, Any]:
        arn = params["ProjectArn"]
        resource = self.project(arn)
        if resource is None:
            if self.project_exists(arn):
                raise service_error(
                    "InvalidParameterException",
                    f"rclsim: the project {arn} is declared in a models.json (or implied by recordings) "
                    f"and cannot be deleted through the API; remove it from the file instead.",
                    op,
                )
            raise service_error("ResourceNotFoundException", f"The project {arn} does not exist.", op)
        versions = self.lifecycle.project_versions(arn)
        if versions:
            raise service_error(
                "ResourceInUseException",
                f"The project {arn} has {len(versions)} model version(s); delete them with "
                f"DeleteProjectVersion first.",
                op,
            )
        with self.state.transaction() as txn:
            self.datasets.delete_all(txn, arn)
            self.policies.forget_project(txn, arn)
            self.tags.forget(txn, arn)
            txn.delete_resource(PROJECT, arn)
        return {"Status": "DELETING"}

    def describe_projects(
        self, params: Mapping[str, Any], region: str | None, op: str = "DescribeProjects"
    ) -> dict[str, Any]:
        """The projects (made here, declared, implied), oldest first, in pages; ``region``: only that
        region's, None: every region's. ``Features`` picks CUSTOM_LABELS and/or CONTENT_MODERATION."""
        features = params.get("Features") or ["CUSTOM_LABELS"]
        names = params.get("ProjectNames")
        made = {r.arn: r for r in self.state.peek_resources(PROJECT)}
        rows = []
        for arn, created in self.lifecycle.project_arns().items():
            name = project_name_of(arn)
            if names is not None and name not in names:
                continue
            if region is not None and region_of(arn) != region:
                continue
            resource = made.get(arn)
            feature = resource.doc.get("Feature", "CUSTOM_LABELS") if resource else "CUSTOM_LABELS"
            if feature not in features:
                continue
            row: dict[str, Any] = {"ProjectArn": arn}
            if created is not None:
                row["CreationTimestamp"] = created
            row["Status"] = "CREATED"
            if resource is not None:
                if feature == "CUSTOM_LABELS":
                    row["Datasets"] = self.datasets.of_project(arn)
                row["Feature"] = feature
                if "AutoUpdate" in resource.doc:
                    row["AutoUpdate"] = resource.doc["AutoUpdate"]
            rows.append(row)
        epoch = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
        rows.sort(key=lambda r: (r.get("CreationTimestamp") or epoch, r["ProjectArn"]))
        rows_page, token = page(rows, params, {"n": names, "f": features}, op)
        out: dict[str, Any] = {"ProjectDescriptions": rows_page}
        if token:
            out["NextToken"] = token
        return out

    # -- training ------------------------------------------------------------------------------------
    def _read_manifest(
        self, s3: Mapping[str, Any], dataset: str, summary: dict[str, Any]
    ) -> tuple[list[ManifestEntry], str | None]:
        """The good entries of a manifest named by an S3Object, or why it cannot be used; what the
        service's manifest check says goes into ``summary`` (the manifest summary file)."""
        where = f"s3://{s3.get('Bucket')}/{s3.get('Name')}"
        store = self.objects()
        problem = None
        if store is None:
            problem = f"The manifest file {where} could not be read: rclsim has no S3 ({HOW_TO_GIVE_ONE})."
        else:
            try:
                data = store.get(s3["Bucket"], s3["Name"], s3.get("Version"))
            except KeyError:
                missing = f"{store.describe()} has no such object"
                problem = f"The manifest file {where} could not be accessed ({missing})."
        if problem is not None:
            summary["errors"].append({"code": _INACCESSIBLE, "message": problem})
            return [], f"{_INACCESSIBLE}: {problem}"
        from rclsim.data.manifest.service_check import check_manifest

        checked = check_manifest(data)
        _merge_summary(summary, checked.summary(dataset))
        if checked.terminal_error is not None:
            code, message = checked.terminal_error
            return [], f"{code}: {message} ({where})"
        return list(checked.entries), None

    def _entries_from_assets(
        self, data: Mapping[str, Any], dataset: str, summary: dict[str, Any]
    ) -> tuple[list[ManifestEntry], str | None]:
        entries: list[ManifestEntry] = []
        for asset in data.get("Assets") or []:
            s3 = (asset.get("GroundTruthManifest") or {}).get("S3Object")
            if not s3:
                return [], "An asset has no GroundTruthManifest.S3Object."
            more, problem = self._read_manifest(s3, dataset, summary)
            if problem:
                return [], problem
            entries.extend(more)
        return entries, None

    def _training_data(
        self, params: Mapping[str, Any], project_arn: str, op: str, summary: dict[str, Any]
    ) -> tuple[list[ManifestEntry], list[ManifestEntry], str | None, dict[str, Any]]:
        """The training and test entries, why training will fail (or None), and what describe shows;
        the manifest checks' findings go into ``summary``."""
        training, testing = params.get("TrainingData"), params.get("TestingData")
        datasets = self.datasets.of_project(project_arn)
        shown: dict[str, Any] = {}
        if training is not None or testing is not None:
            if datasets:
                raise service_error(
                    "InvalidParameterException",
                    "Request has invalid parameters: TrainingData and TestingData can be given only for a "
                    "project without datasets; this project has datasets.",
                    op,
                )
            if training is None or testing is None:
                raise service_error(
                    "InvalidParameterException",
                    "Request has invalid parameters: give both TrainingData and TestingData, or neither "
                    "(then the project's datasets are used).",
                    op,
                )
            shown["TrainingDataResult"] = {"Input": dict(training)}
            shown["TestingDataResult"] = {"Input": dict(testing)}
            train, problem = self._entries_from_assets(training, "training", summary)
            if problem:
                return [], [], problem, shown
            if testing.get("AutoCreate"):
                if testing.get("Assets"):
                    raise service_error(
                        "InvalidParameterException",
                        "Request has invalid parameters: TestingData has both Assets and AutoCreate.",
                        op,
                    )
                from rclsim.fake.datasets import split_for_test

                train, test = split_for_test(train)
                return train, test, None, shown
            test, problem = self._entries_from_assets(testing, "testing", summary)
            return train, test, problem, shown
        by_type = {d["DatasetType"]: d for d in datasets}
        missing = [t for t in ("TRAIN", "TEST") if t not in by_type]
        if missing:
            raise service_error(
                "InvalidParameterException",
                f"Request has invalid parameters: the project has no {' and no '.join(missing)} dataset; "
                f"create it with CreateDataset (or give TrainingData and TestingData to a project without "
                f"datasets).",
                op,
            )
        for dataset in by_type.values():
            if dataset.get("Status") not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
                raise service_error(
                    "ResourceInUseException",
                    f"The dataset {dataset['DatasetArn']} is {dataset.get('Status')}; wait until it is "
                    f"CREATE_COMPLETE or UPDATE_COMPLETE.",
                    op,
                )
        train = list(self.datasets.entries(by_type["TRAIN"]["DatasetArn"]))
        test = list(self.datasets.entries(by_type["TEST"]["DatasetArn"]))
        # The datasets were checked when imported: the summary describes the entries training uses [U].
        from rclsim.data.manifest.service_check import check_manifest
        from rclsim.data.manifest.writing import manifest_line

        for name, entries in (("training", train), ("testing", test)):
            body = "".join(manifest_line(e) + "\n" for e in entries).encode("utf-8")
            _merge_summary(summary, check_manifest(body).summary(name))
        return train, test, None, shown

    def create_version(self, params: Mapping[str, Any], op: str = "CreateProjectVersion") -> dict[str, Any]:
        project_arn = params["ProjectArn"]
        self._require_project(project_arn, op)
        name = params["VersionName"]
        if any(d.version_name == name for d in self.lifecycle.project_versions(project_arn)):
            raise service_error(
                "ResourceInUseException", f"A model version named {name} already exists in {project_arn}.", op
            )
        if params.get("Tags"):
            self.tags.validate(params["Tags"], op)  # before any training work
        manifest_summary: dict[str, Any] = {"errors": [], "statistics": {}}
        train, test, problem, shown = self._training_data(params, project_arn, op, manifest_summary)
        base = project_arn.rsplit("/", 1)[0]
        arn = f"{base}/version/{name}/{self._now_ms()}"
        from rclsim.data.manifest.writing import manifest_line
        from rclsim.fake.training import FAILURE_SECONDS
        from rclsim.fake.training import train as run_training

        outcome = run_training(train, test, version_arn=arn) if problem is None else None
        doc: dict[str, Any] = {
            "VersionName": name,
            "OutputConfig": dict(params["OutputConfig"]),
            "Output": {"ManifestSummary": manifest_summary},
            **shown,
        }
        if outcome is None:
            status, duration = "TRAINING_FAILED", FAILURE_SECONDS
            doc["Outcome"] = {"Status": status, "StatusMessage": problem, "Seconds": duration}
        else:
            status, duration = outcome.status, outcome.seconds
            used = (*outcome.training_entries, *outcome.testing_entries)
            doc["Outcome"] = {
                "Status": status,
                "StatusMessage": outcome.status_message,
                "Seconds": outcome.seconds,
                "F1Score": outcome.f1,
                "Thresholds": dict(outcome.thresholds),
                "Images": len(used),
            }
            if outcome.completed:
                doc["Entries"] = [manifest_line(e) for e in used]
                doc["Output"] = {
                    "ManifestSummary": manifest_summary,
                    "EvaluationResultSummary": outcome.summary,
                    "TrainingGroundTruth": [manifest_line(e) for e in outcome.training_entries],
                    "TestingGroundTruth": [manifest_line(e) for e in outcome.testing_entries],
                }
        for key in ("VersionDescription", "KmsKeyId", "FeatureConfig"):
            if params.get(key) is not None:
                doc[key] = params[key]
        self._put_version(arn, project_arn, doc, params, op, "TRAINING_IN_PROGRESS", status, duration)
        return {"ProjectVersionArn": arn}

    def _put_version(
        self,
        arn: str,
        project_arn: str,
        doc: dict[str, Any],
        params: Mapping[str, Any],
        op: str,
        status: str,
        next_status: str,
        seconds: float,
    ) -> None:
        """Store a new version (training or copying) with its tags, ``status`` until ``seconds`` (times
        the time scale) from now, then ``next_status``."""
        now = self.clock.now()
        with self.state.transaction() as txn:
            if params.get("Tags"):
                self.tags.set_initial(txn, arn, params["Tags"], op)
            txn.put_resource(Resource(VERSION, arn, project_arn, now, doc))
            txn.put(
                VersionState(
                    arn=arn,
                    status=status,
                    changed_at=now,
                    status_message=STATUS_MESSAGES[status],
                    next_status=next_status,
                    ready_at=now + seconds * self.time_scale,
                )
            )

    def _write_output(self, decl: VersionDecl, output: Mapping[str, Any]) -> str | None:
        """Write a trained version's output files under its OutputConfig; why not, or None."""
        store = self.objects()
        files = OutputFiles(decl)
        if store is None:
            return f"the training output was not written: no S3 ({HOW_TO_GIVE_ONE})"
        written: list[tuple[dict[str, str], bytes]] = []
        if output.get("ManifestSummary") is not None:
            written.append(
                (files.s3_object("ManifestSummary"), json.dumps(output["ManifestSummary"]).encode())
            )
        summary = output.get("EvaluationResultSummary")
        if summary is not None:
            summary = dict(summary)
            details = dict(summary.get("EvaluationDetails") or {})
            end = decl.created + dt.timedelta(seconds=decl.training_seconds or 0) if decl.created else None
            if end is not None:
                details["EvaluationEndTimestamp"] = end.isoformat().replace("+00:00", "Z")
            summary["EvaluationDetails"] = details
            written.append((files.s3_object("EvaluationResultSummary"), json.dumps(summary).encode()))
        for which in ("Training", "Testing"):
            if f"{which}GroundTruth" not in output:
                continue
            body = "".join(line + "\n" for line in output[f"{which}GroundTruth"]).encode("utf-8")
            # The lines training used; "with validation" is the same lines, as none of them has an
            # error left (lines with errors were not used) [U].
            written.append((files.s3_object(f"{which}GroundTruth"), body))
            written.append((files.s3_object(f"{which}ManifestWithValidation"), body))
        try:
            for where, body in written:
                store.put(where["Bucket"], where["Name"], body)
        except KeyError:
            return (
                f"the training output could not be written: {store.describe()} has no bucket "
                f"{files.config['S3Bucket']!r} (OutputConfig.S3Bucket; make it first, as on AWS)"
            )
        except (OSError, ValueError, RclsimError) as exc:
            return f"the training output could not be written to {store.describe()}: {exc}"
        return None

    def delete_version(self, params: Mapping[str, Any], op: str = "DeleteProjectVersion") -> dict[str, Any]:
        arn = params["ProjectVersionArn"]
        decl = self.lifecycle.known(arn)
        if decl is None:
            raise service_error("ResourceNotFoundException", f"The project version {arn} does not exist.", op)
        if self.version(arn) is None:
            raise service_error(
                "InvalidParameterException",
                f"rclsim: the project version {arn} is declared in a models.json (or implied by "
                f"recordings) and cannot be deleted through the API; remove it from the file instead.",
                op,
            )
        with self.state.transaction() as txn:
            status = self.lifecycle.current(txn, decl).status
            if status in _BUSY:
                raise service_error(
                    "ResourceInUseException",
                    f"The project version {arn} is {status}; stop it (or wait for training) before "
                    f"deleting it.",
                    op,
                )
            txn.delete(arn)
            txn.delete_resource(VERSION, arn)
            self.tags.forget(txn, arn)
        self._decls.pop(arn, None)
        self._entries.pop(arn, None)
        if "source" in self.__dict__:
            self.source.forget(arn)
        return {"Status": "DELETING"}

    def stop_training(self, arn: str, op: str = "StopProjectVersion") -> dict[str, Any] | None:
        """StopProjectVersion of a version that is training: ends it in TRAINING_FAILED. None when the
        version is not a training one (the lifecycle's stop applies)."""
        decl = self.version(arn)
        if decl is None:
            return None
        with self.state.transaction() as txn:
            state = self.lifecycle.current(txn, decl)
            if state.status != "TRAINING_IN_PROGRESS":
                return None
            txn.put(
                state.evolve(
                    status="TRAINING_FAILED",
                    changed_at=self.clock.now(),
                    status_message="The model training was stopped (StopProjectVersion).",
                    next_status=None,
                    ready_at=None,
                )
            )
            resource = txn.get_resource(VERSION, arn)
            if resource is not None:
                resource.doc["Outcome"]["Status"] = "TRAINING_FAILED"
                resource.doc.pop("Output", None)
                txn.put_resource(resource)
        self._decls.pop(arn, None)
        return {"Status": "TRAINING_FAILED"}

    def copy_version(self, params: Mapping[str, Any], op: str = "CopyProjectVersion") -> dict[str, Any]:
        source_arn = params["SourceProjectVersionArn"]
        source_project = params["SourceProjectArn"]
        destination = params["DestinationProjectArn"]
        self._require_project(source_project, op)
        self._require_project(destination, op)
        decl = self.lifecycle.known(source_arn)
        if decl is None or decl.project_arn != source_project:
            raise service_error(
                "ResourceNotFoundException",
                f"The project version {source_arn} does not exist in {source_project}.",
                op,
            )
        with self.state.transaction() as txn:
            source = txn.get_resource(VERSION, source_arn)
            status = self.lifecycle.current(txn, decl).status
        if source is None:
            raise service_error(
                "InvalidParameterException",
                f"rclsim copies only versions it trained; {source_arn} is declared in a models.json or "
                f"implied by recordings.",
                op,
            )
        if status in NEVER_TRAINED or status.startswith("COPYING_"):
            raise service_error(
                "ResourceInUseException",
                f"The project version {source_arn} is {status} and cannot be copied.",
                op,
            )
        name = params["VersionName"]
        if any(d.version_name == name for d in self.lifecycle.project_versions(destination)):
            raise service_error(
                "ResourceInUseException", f"A model version named {name} already exists in {destination}.", op
            )
        arn = f"{destination.rsplit('/', 1)[0]}/version/{name}/{self._now_ms()}"
        doc = dict(source.doc)
        doc.update(
            VersionName=name,
            OutputConfig=dict(params["OutputConfig"]),
            CopiedFrom=source_arn,
            InitialStatus="COPYING_IN_PROGRESS",
        )
        for key in ("KmsKeyId",):
            if params.get(key) is not None:
                doc[key] = params[key]
        self._put_version(
            arn, destination, doc, params, op, "COPYING_IN_PROGRESS", "COPYING_COMPLETED", COPY_SECONDS
        )
        return {"ProjectVersionArn": arn}

    # -- tags: the resource must exist -----------------------------------------------------------------
    def handlers(self) -> dict[str, Callable[[Mapping[str, Any], str | None], dict[str, Any]]]:
        """Every operation this control plane answers, as ``(params, region) -> response``."""
        out: dict[str, Callable[[Mapping[str, Any], str | None], dict[str, Any]]] = {
            "CreateProject": self.create_project,
            "DeleteProject": lambda p, r: self.delete_project(p),
            "DescribeProjects": self.describe_projects,
            "CreateProjectVersion": lambda p, r: self.create_version(p),
            "DeleteProjectVersion": lambda p, r: self.delete_version(p),
            "CopyProjectVersion": lambda p, r: self.copy_version(p),
        }
        parts = {
            "datasets": {
                "CreateDataset": "create",
                "DescribeDataset": "describe",
                "ListDatasetEntries": "list_entries",
                "ListDatasetLabels": "list_labels",
                "UpdateDatasetEntries": "update_entries",
                "DistributeDatasetEntries": "distribute",
                "DeleteDataset": "delete",
            },
            "tags": {"TagResource": "tag", "UntagResource": "untag", "ListTagsForResource": "list"},
            "policies": {
                "PutProjectPolicy": "put",
                "ListProjectPolicies": "list",
                "DeleteProjectPolicy": "delete",
            },
        }
        for part, names in parts.items():
            for operation, method in names.items():
                out[operation] = self._adapt(part, method, operation)
        return out

    def _adapt(
        self, part: str, method: str, operation: str
    ) -> Callable[[Mapping[str, Any], str | None], dict[str, Any]]:
        """A part's ``method(params, op)`` as a handler ``(params, region)``; the part is made on the
        first call."""

        def handler(params: Mapping[str, Any], region: str | None) -> dict[str, Any]:
            return getattr(getattr(self, part), method)(params, operation)  # type: ignore[no-any-return]

        return handler
