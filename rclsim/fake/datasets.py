"""Custom Labels datasets in the fake core: CreateDataset, DescribeDataset, ListDatasetEntries,
ListDatasetLabels, UpdateDatasetEntries, DistributeDatasetEntries, DeleteDataset.

A dataset is one ``"dataset"`` resource in the state store (its parent is the project's ARN). Its doc
holds the type, the status as (Status, NextStatus, ReadyAt) resolved when read, and the entries: each
JSON line as ListDatasetEntries returns it (with the service's ``errors`` lists) and the same line
without broken boxes, which training reads. Manifests are judged by
:func:`rclsim.data.manifest.service_check.check_manifest`, the same check as ``rclsim manifest check``,
and images are read through the object store when it has them.

Rules and where they come from ([M] botocore's model and its docs, [D] the guide, [U] rclsim's choice):

* ARNs: ``{project ARN without its /number}/dataset/{train|test}/{epoch ms}`` [M pattern].
* CreateDataset: the project must exist (ResourceNotFoundException) [M]; ``GroundTruthManifest`` and
  ``DatasetArn`` together answer InvalidParameterException [M doc]; neither makes an empty dataset [M];
  a manifest that cannot be read answers InvalidS3ObjectException at once [U: the service may fail
  the import instead], also when rclsim has no object store (the message says how to give one); a
  second TRAIN (or TEST) dataset in a project answers ResourceAlreadyExistsException [U]; a copied
  dataset (``DatasetArn``) that does not exist is ResourceNotFoundException and one that failed to
  import InvalidParameterException [U]. Images are read while the manifest is checked when the object
  store has them [U: the choice ``check_images``; without images, ERROR_INVALID_IMAGE would spoil every
  line, so a store lacking the first line's image is taken as "images not uploaded" and images are then
  trusted].
* Durations [U]: creating, updating and distributing take :data:`CREATE_SECONDS`,
  :data:`UPDATE_SECONDS` and :data:`DISTRIBUTE_SECONDS` times ``time_scale`` (0: instant, the Python
  API's default). A terminal manifest error ends in CREATE_FAILED (UPDATE_FAILED for an update) with
  StatusMessageCode CLIENT_ERROR and the error code and message in StatusMessage [U wording]; success
  ends with SUCCESS and "The dataset was created successfully." / "... updated successfully." [U].
* While CREATE_IN_PROGRESS, ListDatasetEntries and ListDatasetLabels answer ResourceNotReadyException
  [U]; while UPDATE_IN_PROGRESS, ResourceInUseException [U] (both are in the model's list).
  UpdateDatasetEntries and DeleteDataset of a dataset being created or updated answer
  ResourceInUseException [M doc for delete, U for update]; deletion is immediate [U].
* UpdateDatasetEntries: ``Changes.GroundTruth`` is JSON lines; a line whose ``source-ref`` is in the
  dataset replaces that entry, others are added [M doc]; the 20% rule applies to the changes [U].
* ListDatasetEntries filters [M]: ``ContainsLabels`` (any of them), ``Labeled``, ``SourceRefContains``
  (substring of source-ref), ``HasErrors`` (False: only entries without errors [U]); entries in
  dataset order, 100 per page by default, ``NextToken`` tied to the query.
* ListDatasetLabels: labels of usable entries, sorted by name [U], with EntryCount and BoundingBoxCount.
* DistributeDatasetEntries: the two ARNs must be one project's TRAIN and TEST datasets
  (InvalidParameterException otherwise) [M doc], both existing (ResourceNotFoundException) and settled
  (ResourceNotReadyException) [U], the TEST one empty (InvalidParameterException) [M doc]; 20% of the
  training entries move [M doc], chosen by a hash of their source-ref (:func:`split_for_test`, stable
  whatever the order) [U]; fewer than 2 labeled entries end both in UPDATE_FAILED with
  ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_DISTRIBUTE [D code, U threshold].
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rclsim.data.manifest.entries import ManifestEntry
from rclsim.data.manifest.service_check import CheckedLine, ManifestCheck, check_uploaded
from rclsim.data.manifest.validation import _LineError, _parse
from rclsim.fake.clock import Clock, utc
from rclsim.fake.lifecycle import page
from rclsim.fake.objects import HOW_TO_GIVE_ONE, ObjectStore, source_reader
from rclsim.fake.state import Resource, StateStore
from rclsim.service.errors import service_error

__all__ = [
    "Datasets",
    "DATASET",
    "CREATE_SECONDS",
    "UPDATE_SECONDS",
    "DISTRIBUTE_SECONDS",
    "split_for_test",
]

DATASET = "dataset"
#: Simulated seconds (times ``time_scale``) [U]: the service gives no figure.
CREATE_SECONDS = 60.0
UPDATE_SECONDS = 30.0
DISTRIBUTE_SECONDS = 60.0
#: Share of training entries DistributeDatasetEntries (and AutoCreate) moves to the test set [M doc].
TEST_SHARE = 0.2

_BUSY = ("CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS")
_NO_S3 = f"rclsim has no S3 ({HOW_TO_GIVE_ONE})"


def _rank(source_ref: str) -> str:
    return hashlib.sha256(source_ref.encode("utf-8")).hexdigest()


def _test_share(count: int) -> int:
    return int(round(count * TEST_SHARE)) if count > 1 else 0


def split_for_test(entries: Sequence[ManifestEntry]) -> tuple[list[ManifestEntry], list[ManifestEntry]]:
    """The (train, test) split of DistributeDatasetEntries and ``TestingData.AutoCreate``: 20% of the
    entries, the ones whose source-ref hashes lowest, go to test; both keep the given order. The same
    entries always split the same way, whatever their order [U]."""
    chosen = set(
        sorted(range(len(entries)), key=lambda i: _rank(entries[i].source_ref))[: _test_share(len(entries))]
    )
    train = [e for i, e in enumerate(entries) if i not in chosen]
    test = [e for i, e in enumerate(entries) if i in chosen]
    return train, test


def _stored(line: CheckedLine) -> dict[str, Any]:
    """One entry as the doc keeps it: what the service shows and what training reads."""
    boxes: dict[str, int] = {}
    if line.entry is not None:
        for box in line.entry.boxes:
            boxes[box.name] = boxes.get(box.name, 0) + 1
    return {
        "ref": line.source_ref,
        "record": line.record,
        "clean": line.clean if line.entry is not None and not line.ignored else None,
        "labels": list(line.entry.labels) if line.entry is not None else [],
        "boxes": boxes,
        "errors": line.has_errors,
    }


def _failure(check: ManifestCheck) -> tuple[str, str]:
    assert check.terminal_error is not None
    code, message = check.terminal_error
    return code, f"{code}: {message}"


class Datasets:
    """The dataset operations, one method per operation ``(params, op) -> response``.

    ``objects`` is asked for the object store each time (None: no S3); ``project_exists`` says whether
    a project ARN exists; ``tags`` (a :class:`rclsim.fake.tagging.Tags`) takes CreateDataset's
    ``Tags``; ``check_images`` reads each image through the object store while a manifest is checked.
    """

    def __init__(
        self,
        state: StateStore,
        clock: Clock,
        *,
        time_scale: float,
        objects: Callable[[], ObjectStore | None],
        project_exists: Callable[[str], bool],
        tags: Any = None,
        check_images: bool = True,
    ) -> None:
        self.state = state
        self.clock = clock
        self.time_scale = time_scale
        self.objects = objects
        self.project_exists = project_exists
        self.tags = tags
        self.check_images = check_images

    # -- status -------------------------------------------------------------------------------------
    def _settle(self, doc: dict[str, Any]) -> dict[str, Any]:
        """``doc`` with a transition whose time has come applied (it is not written back here)."""
        ready = doc.get("ReadyAt")
        if doc.get("NextStatus") and ready is not None and self.clock.now() >= ready:
            doc = {**doc, **doc["Next"], "Status": doc["NextStatus"], "NextStatus": None, "ReadyAt": None}
            doc.pop("Next", None)
            doc["LastUpdated"] = ready
        return doc

    def _transition(
        self,
        doc: dict[str, Any],
        busy: str,
        final: str,
        seconds: float,
        message: str,
        code: str,
        **final_doc: Any,
    ) -> dict[str, Any]:
        """Start ``busy`` now, ending in ``final`` (with ``final_doc`` merged in) after ``seconds``."""
        now = self.clock.now()
        ready = now + seconds * self.time_scale
        end = {"StatusMessage": message, "StatusMessageCode": code, **final_doc}
        if ready <= now:
            return {**doc, **end, "Status": final, "NextStatus": None, "ReadyAt": None, "LastUpdated": now}
        return {
            **doc,
            "Status": busy,
            "StatusMessage": None,
            "StatusMessageCode": None,
            "NextStatus": final,
            "ReadyAt": ready,
            "Next": end,
            "LastUpdated": now,
        }

    def _get(self, txn: Any, arn: Any, op: str) -> Resource:
        found = txn.get_resource(DATASET, arn) if isinstance(arn, str) else None
        if found is None:
            raise service_error("ResourceNotFoundException", f"The dataset {arn} does not exist.", op)
        return Resource(found.kind, found.arn, found.parent, found.created_at, self._settle(found.doc))

    def _entries_of(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        """The entries visible now (a pending create or update shows its result only when done)."""
        return list(doc.get("Entries", []))

    def exists(self, arn: str) -> bool:
        with self.state.transaction() as txn:
            return txn.get_resource(DATASET, arn) is not None

    # -- reading manifests ----------------------------------------------------------------------------
    def _read_image(self, store: ObjectStore | None) -> Callable[[str], bytes | None] | None:
        if store is None or not self.check_images:
            return None
        return source_reader(store)

    def _check(self, data: bytes, *, whole: bool) -> ManifestCheck:
        return check_uploaded(data, self._read_image(self.objects()), whole=whole)[0]

    def _manifest_bytes(self, s3: Mapping[str, Any], op: str) -> bytes:
        where = f"s3://{s3.get('Bucket')}/{s3.get('Name')}"
        store = self.objects()
        if store is None:
            raise service_error(
                "InvalidS3ObjectException", f"Unable to get object metadata from S3 ({where}): {_NO_S3}.", op
            )
        try:
            return store.get(s3["Bucket"], s3["Name"], s3.get("Version"))
        except KeyError:
            raise service_error(
                "InvalidS3ObjectException",
                f"Unable to get object metadata from S3. Check object key, region and/or access permissions. "
                f"({where}: {store.describe()} has no such object)",
                op,
            ) from None

    # -- operations ----------------------------------------------------------------------------------
    def create(self, params: Mapping[str, Any], op: str = "CreateDataset") -> dict[str, Any]:
        project_arn = params["ProjectArn"]
        kind = params["DatasetType"]
        source = params.get("DatasetSource") or {}
        manifest, copy_from = source.get("GroundTruthManifest"), source.get("DatasetArn")
        if manifest is not None and copy_from is not None:
            raise service_error(
                "InvalidParameterException",
                "Request has invalid parameters: DatasetSource takes GroundTruthManifest or DatasetArn, "
                "not both.",
                op,
            )
        if manifest is not None and not manifest.get("S3Object"):
            raise service_error(
                "InvalidParameterException",
                "Request has invalid parameters: GroundTruthManifest has no S3Object.",
                op,
            )
        tags = params.get("Tags")
        if tags and self.tags is not None:
            self.tags.validate(tags, op)
        if not self.project_exists(project_arn):
            raise service_error("ResourceNotFoundException", f"The project {project_arn} does not exist.", op)
        entries: list[dict[str, Any]] = []
        failure: tuple[str, str] | None = None
        if manifest is not None:
            check = self._check(self._manifest_bytes(manifest["S3Object"], op), whole=True)
            if check.terminal_error is not None:
                failure = _failure(check)
            else:
                entries = [_stored(line) for line in check.lines]
        now = self.clock.now()
        with self.state.transaction() as txn:
            if copy_from is not None:
                other = self._get(txn, copy_from, op)
                if other.doc["Status"] == "CREATE_FAILED":
                    raise service_error(
                        "InvalidParameterException",
                        f"Request has invalid parameters: the dataset {copy_from} failed to create.",
                        op,
                    )
                entries = self._entries_of(other.doc)
            for existing in txn.resources(DATASET, parent=project_arn):
                if existing.doc["DatasetType"] == kind:
                    raise service_error(
                        "ResourceAlreadyExistsException",
                        f"The project {project_arn} already has a {kind} dataset ({existing.arn}).",
                        op,
                    )
            base = project_arn.rsplit("/", 1)[0]
            stamp = int(round(now * 1000))
            while txn.get_resource(DATASET, arn := f"{base}/dataset/{kind.lower()}/{stamp}") is not None:
                stamp += 1
            doc: dict[str, Any] = {"DatasetType": kind, "Entries": []}
            if failure is not None:
                doc = self._transition(
                    doc, "CREATE_IN_PROGRESS", "CREATE_FAILED", CREATE_SECONDS, failure[1], "CLIENT_ERROR"
                )
            else:
                doc = self._transition(
                    doc,
                    "CREATE_IN_PROGRESS",
                    "CREATE_COMPLETE",
                    CREATE_SECONDS,
                    "The dataset was created successfully.",
                    "SUCCESS",
                    Entries=entries,
                )
            if tags and self.tags is not None:
                self.tags.set_initial(txn, arn, tags, op)
            txn.put_resource(Resource(DATASET, arn, project_arn, now, doc))
        return {"DatasetArn": arn}

    def describe(self, params: Mapping[str, Any], op: str = "DescribeDataset") -> dict[str, Any]:
        with self.state.transaction() as txn:
            found = self._get(txn, params["DatasetArn"], op)
        doc = found.doc
        entries = self._entries_of(doc)
        labels = {label for e in entries for label in e["labels"]}
        description: dict[str, Any] = {
            "CreationTimestamp": utc(found.created_at),
            "LastUpdatedTimestamp": utc(doc.get("LastUpdated", found.created_at)),
            "Status": doc["Status"],
        }
        if doc.get("StatusMessage"):
            description["StatusMessage"] = doc["StatusMessage"]
        if doc.get("StatusMessageCode"):
            description["StatusMessageCode"] = doc["StatusMessageCode"]
        description["DatasetStats"] = {
            "LabeledEntries": sum(1 for e in entries if e["labels"]),
            "TotalEntries": len(entries),
            "TotalLabels": len(labels),
            "ErrorEntries": sum(1 for e in entries if e["errors"]),
        }
        return {"DatasetDescription": description}

    def _readable(self, params: Mapping[str, Any], op: str) -> list[dict[str, Any]]:
        with self.state.transaction() as txn:
            found = self._get(txn, params["DatasetArn"], op)
        status = found.doc["Status"]
        if status == "CREATE_IN_PROGRESS":
            raise service_error(
                "ResourceNotReadyException", f"The dataset {found.arn} is still being created ({status}).", op
            )
        if status == "UPDATE_IN_PROGRESS":
            raise service_error(
                "ResourceInUseException", f"The dataset {found.arn} is being updated ({status}).", op
            )
        return self._entries_of(found.doc)

    def list_entries(self, params: Mapping[str, Any], op: str = "ListDatasetEntries") -> dict[str, Any]:
        entries = self._readable(params, op)
        wanted = set(params.get("ContainsLabels") or ())
        labeled, errors, part = (
            params.get("Labeled"),
            params.get("HasErrors"),
            params.get("SourceRefContains"),
        )
        chosen = [
            e["record"]
            for e in entries
            if (not wanted or wanted.intersection(e["labels"]))
            and (labeled is None or bool(e["labels"]) == labeled)
            and (errors is None or e["errors"] == errors)
            and (part is None or part in e["ref"])
        ]
        query = {
            k: params.get(k)
            for k in ("DatasetArn", "ContainsLabels", "Labeled", "HasErrors", "SourceRefContains")
        }
        items, token = page(chosen, params, query, op)
        out: dict[str, Any] = {"DatasetEntries": items}
        if token:
            out["NextToken"] = token
        return out

    def list_labels(self, params: Mapping[str, Any], op: str = "ListDatasetLabels") -> dict[str, Any]:
        entries = self._readable(params, op)
        counts: dict[str, list[int]] = {}
        for e in entries:
            for label in e["labels"]:
                counts.setdefault(label, [0, 0])[0] += 1
            for label, n in e["boxes"].items():
                counts.setdefault(label, [0, 0])[1] += n
        rows = [
            {"LabelName": name, "LabelStats": {"EntryCount": c[0], "BoundingBoxCount": c[1]}}
            for name, c in sorted(counts.items())
        ]
        items, token = page(rows, params, {"DatasetArn": params["DatasetArn"]}, op)
        out: dict[str, Any] = {"DatasetLabelDescriptions": items}
        if token:
            out["NextToken"] = token
        return out

    def update_entries(self, params: Mapping[str, Any], op: str = "UpdateDatasetEntries") -> dict[str, Any]:
        blob = params["Changes"]["GroundTruth"]
        data = blob.encode("utf-8") if isinstance(blob, str) else bytes(blob)
        arn = params["DatasetArn"]
        with self.state.transaction() as txn:
            found = self._get(txn, arn, op)  # an unknown ARN is answered before the lines are read
            self._require_settled(found, op, "updated")
        check = self._check(data, whole=False)
        with self.state.transaction() as txn:
            found = self._get(txn, arn, op)
            self._require_settled(found, op, "updated")
            doc = found.doc
            if check.terminal_error is not None:
                doc = self._transition(
                    doc,
                    "UPDATE_IN_PROGRESS",
                    "UPDATE_FAILED",
                    UPDATE_SECONDS,
                    _failure(check)[1],
                    "CLIENT_ERROR",
                )
            else:
                entries = self._entries_of(doc)
                where = {e["ref"]: i for i, e in enumerate(entries)}
                for line in check.lines:
                    stored = _stored(line)
                    if line.source_ref in where:
                        entries[where[line.source_ref]] = stored
                    else:
                        where[line.source_ref] = len(entries)
                        entries.append(stored)
                doc = self._transition(
                    {**doc, "Entries": entries},
                    "UPDATE_IN_PROGRESS",
                    "UPDATE_COMPLETE",
                    UPDATE_SECONDS,
                    "The dataset was updated successfully.",
                    "SUCCESS",
                )
            txn.put_resource(Resource(DATASET, found.arn, found.parent, found.created_at, doc))
        return {}

    @staticmethod
    def _require_settled(found: Resource, op: str, what: str) -> None:
        status = found.doc["Status"]
        if status in _BUSY:
            raise service_error(
                "ResourceInUseException",
                f"The dataset {found.arn} cannot be {what} while it is {status}.",
                op,
            )

    def distribute(self, params: Mapping[str, Any], op: str = "DistributeDatasetEntries") -> dict[str, Any]:
        arns = [d.get("Arn") for d in params["Datasets"]]
        with self.state.transaction() as txn:
            found = [self._get(txn, arn, op) for arn in arns]
            by_type = {r.doc["DatasetType"]: r for r in found}
            if set(by_type) != {"TRAIN", "TEST"} or found[0].parent != found[1].parent:
                raise service_error(
                    "InvalidParameterException",
                    "Request has invalid parameters: Datasets must be the TRAIN and the TEST dataset of one "
                    "project.",
                    op,
                )
            for r in found:
                if r.doc["Status"] in _BUSY or r.doc["Status"] == "CREATE_FAILED":
                    raise service_error(
                        "ResourceNotReadyException", f"The dataset {r.arn} is {r.doc['Status']}.", op
                    )
            train, test = by_type["TRAIN"], by_type["TEST"]
            if self._entries_of(test.doc):
                raise service_error(
                    "InvalidParameterException",
                    f"Request has invalid parameters: the test dataset {test.arn} must be empty.",
                    op,
                )
            entries = self._entries_of(train.doc)
            if sum(1 for e in entries if e["labels"]) < 2:
                message = (
                    "ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_DISTRIBUTE: The manifest file doesn't have "
                    "enough labeled images to distribute the dataset."
                )
                docs = {
                    r.arn: self._transition(
                        r.doc,
                        "UPDATE_IN_PROGRESS",
                        "UPDATE_FAILED",
                        DISTRIBUTE_SECONDS,
                        message,
                        "CLIENT_ERROR",
                    )
                    for r in found
                }
            else:
                order = sorted(range(len(entries)), key=lambda i: _rank(entries[i]["ref"]))
                moved = set(order[: _test_share(len(entries))])
                keep = [e for i, e in enumerate(entries) if i not in moved]
                move = [e for i, e in enumerate(entries) if i in moved]
                done = "The dataset was updated successfully."
                docs = {
                    train.arn: self._transition(
                        {**train.doc, "Entries": keep},
                        "UPDATE_IN_PROGRESS",
                        "UPDATE_COMPLETE",
                        DISTRIBUTE_SECONDS,
                        done,
                        "SUCCESS",
                    ),
                    test.arn: self._transition(
                        {**test.doc, "Entries": move},
                        "UPDATE_IN_PROGRESS",
                        "UPDATE_COMPLETE",
                        DISTRIBUTE_SECONDS,
                        done,
                        "SUCCESS",
                    ),
                }
            for r in found:
                txn.put_resource(Resource(DATASET, r.arn, r.parent, r.created_at, docs[r.arn]))
        return {}

    def delete(self, params: Mapping[str, Any], op: str = "DeleteDataset") -> dict[str, Any]:
        with self.state.transaction() as txn:
            found = self._get(txn, params["DatasetArn"], op)
            self._require_settled(found, op, "deleted")
            txn.delete_resource(DATASET, found.arn)
            if self.tags is not None:
                self.tags.forget(txn, found.arn)
        return {}

    # -- for the rest of the fake -------------------------------------------------------------------
    def entries(self, dataset_arn: str) -> list[ManifestEntry]:
        """The entries training reads: usable, labeled lines, without their broken boxes."""
        with self.state.transaction() as txn:
            found = txn.get_resource(DATASET, dataset_arn)
        if found is None:
            return []
        out = []
        for i, e in enumerate(self._entries_of(self._settle(found.doc)), start=1):
            if e["clean"] is None or not e["labels"]:
                continue
            try:
                out.append(_parse(e["clean"].encode("utf-8"), i))
            except _LineError:  # pragma: no cover - stored lines passed the same rules
                continue
        return out

    def of_project(self, project_arn: str) -> list[dict[str, Any]]:
        """DatasetMetadata of the project's datasets, for DescribeProjects (oldest first)."""
        with self.state.transaction() as txn:
            found = txn.resources(DATASET, parent=project_arn)
        out = []
        for r in found:
            doc = self._settle(r.doc)
            row: dict[str, Any] = {
                "CreationTimestamp": utc(r.created_at),
                "DatasetType": doc["DatasetType"],
                "DatasetArn": r.arn,
                "Status": doc["Status"],
            }
            if doc.get("StatusMessage"):
                row["StatusMessage"] = doc["StatusMessage"]
            if doc.get("StatusMessageCode"):
                row["StatusMessageCode"] = doc["StatusMessageCode"]
            out.append(row)
        return out

    def delete_all(self, txn: Any, project_arn: str) -> int:
        """Delete every dataset of a project inside the caller's transaction (DeleteProject)."""
        found = txn.resources(DATASET, parent=project_arn)
        for r in found:
            txn.delete_resource(DATASET, r.arn)
            if self.tags is not None:
                self.tags.forget(txn, r.arn)
        return len(found)
