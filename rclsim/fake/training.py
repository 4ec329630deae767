"""Training in the fake: how long it takes, whether it fails, the evaluation, and the trained model.

CreateProjectVersion trains a model on a project's TRAIN and TEST datasets. The fake does not learn
anything: the trained model is the existing simulation (:func:`rclsim.fake.simulation.simulate_entry`,
a seeded noise model applied to each image's ground truth), and its evaluation is the existing scoring
(:func:`rclsim.data.evaluation.evaluate`) of that simulation on the TEST dataset, in the console's
summary format (:meth:`rclsim.data.evaluation.Report.to_summary`). So the numbers the console would
show, the assumed thresholds DetectCustomLabels applies without ``MinConfidence``, and the answers the
running model gives all come from one simulation and agree with each other.

* :func:`training_seconds`: the simulated duration (documented model below);
* :func:`train`: the failure rules, then the evaluation: a :class:`TrainingOutcome`;
* :class:`TrainedSource`: the response source (:class:`rclsim.fake.core.ResponseSource`) that answers
  DetectCustomLabels for trained versions, matching a request's image to a dataset image with
  :class:`EntryMatcher`.

**Duration** ([U] beyond the article). The article trained 500 images in 7 h 12 min and 8,157 in
8 h 45 min: 16 times the images took a fifth longer, so time is not proportional to images. rclsim
fits the simplest model through both points, a fixed overhead plus a per-image term::

    seconds = 25,920 + (images - 500) * 5,580 / 7,657      (about 25,556 s + 0.729 s per image)

rounded to the millisecond and clamped to the documented range "between 30 minutes and 24 hours"
(``tm-train-model``). The overhead is above 30 minutes, so only the upper clamp ever applies (past
about 83,500 images). ``images`` is what :func:`train` trains and tests on: the usable lines of both
datasets. A failed training stops after :data:`FAILURE_SECONDS` (10 minutes, [U]: the service
validates the datasets before training; it bills no failed training).

**Failure rules**, checked in this order ([D] messages from the guide's ``tm-debugging`` pages; the
service reports them as ``TRAINING_FAILED`` with the message as ``StatusMessage``). After the
documented message, rclsim adds a note in parentheses naming the dataset and the numbers ([U]: the
service's message is the documented sentence alone).

1. An empty training or testing dataset: "The manifest file is empty." (ERROR_EMPTY_MANIFEST).
2. More than 250,000 lines in a dataset: "The manifest file has too many rows."
   (ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM; the limit of ``limits.md``; [U] the higher classification
   quota is not modelled).
3. The use case. A training set may mix image-level (classification) and object-location (detection)
   lines; the service picks one and leaves the other lines out of both datasets. How it picks is
   undocumented: rclsim ([U]) picks the kind with more labelled training lines, detection on a tie.
4. Labels of each dataset (training first, then testing): fewer than 2 for classification or 1 for
   detection, "The manifest file has too few labels." (ERROR_MANIFEST_TOO_FEW_LABELS); more than
   250, "The manifest file has too many labels." The minimums are those of ``limits.md`` and the fact
   sheet ([U]: the ERROR_MANIFEST_TOO_FEW_USABLE_LABELS page states them the other way round).
5. Fewer than half of the testing labels among the training labels: "Less than 50% label overlap
   between the training and testing manifest files." (ERROR_INSUFFICIENT_LABEL_OVERLAP; the overlap
   is ``|test & train| / |test|``, [U]).

When step 3 left lines out of a dataset, steps 4 and 5 use the documented *usable* wording ("The
manifest file has too few usable labels.", "Less than 50% usable label overlap between the training
and testing manifest files.") ([U]: when the service says which). Per-image limits (size, boxes, the
1,000 testing images per label of ``limits.md``) are not checked here: bad lines are left out when
a dataset is created, and which error (if any) a testing label with more than 1,000 images gives is
undocumented ([U]).

**Success**: ``StatusMessage`` "The model is ready to run." ([D], the SDK's DescribeProjectVersions
example). The model's labels ([U]) are those of its usable lines, training and testing, sorted; they
are the ``label_names`` of the simulation both here and in a :class:`TrainedSource` given the
outcome's ``training_entries`` and ``testing_entries``, so the evaluated answers and the served ones
are the same. F1 (``EvaluationResult.F1Score``) is the summary's
aggregated F1Score; each label's assumed threshold is its summary ``Threshold`` (0-1). A label with no
ground truth in the testing set has no summary entry, hence no assumed threshold, and the core then
keeps its detections when ``MinConfidence`` is omitted ([U]). The summary's ``EvaluationDetails``
gets ``ProjectVersionArn`` and ``NumberOfTrainingImages`` as the guide's format has them;
``EvaluationEndTimestamp`` is the caller's (it owns the clock).

**Determinism**: the simulation seeds each image's random stream from the noise seed and the image's
source-ref, so the same datasets and noise model give the same outcome in any process.
"""

from __future__ import annotations

import functools
import hashlib
import operator
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from rclsim.config import example
from rclsim.data.evaluation import Prediction, Truth, evaluate
from rclsim.data.imageinfo import NotAnImage, read_image_info
from rclsim.data.manifest import CLASSIFICATION, DETECTION, ManifestEntry
from rclsim.fake.objects import HOW_TO_GIVE_ONE, ObjectStore, source_reader
from rclsim.fake.recordings import ImageRef, Recording
from rclsim.fake.recordings.pixels import PixelHasher
from rclsim.fake.simulation.noise import NoiseModel
from rclsim.fake.simulation.source import simulated_recording
from rclsim.fake.simulation.synthesis import simulate_entry

__all__ = [
    "training_seconds",
    "train",
    "TrainingOutcome",
    "TrainedSource",
    "EntryMatcher",
    "MIN_TRAINING_SECONDS",
    "MAX_TRAINING_SECONDS",
    "FAILURE_SECONDS",
    "READY_MESSAGE",
    "COMPLETED",
    "FAILED",
]

COMPLETED = "TRAINING_COMPLETED"
FAILED = "TRAINING_FAILED"
#: The documented range: "Training usually takes between 30 minutes and 24 hours".
MIN_TRAINING_SECONDS = 30 * 60.0
MAX_TRAINING_SECONDS = 24 * 3600.0
#: The article's two trainings, (images, seconds): the duration model goes through both.
ARTICLE_TRAININGS = ((500, 7 * 3600 + 12 * 60), (8157, 8 * 3600 + 45 * 60))
(_N0, _T0), (_N1, _T1) = ARTICLE_TRAININGS
#: Seconds per image of the duration model, and its fixed overhead (seconds at 0 images).
PER_IMAGE_SECONDS = (_T1 - _T0) / (_N1 - _N0)
OVERHEAD_SECONDS = _T0 - _N0 * PER_IMAGE_SECONDS
#: How long a failed training runs before it fails ([U]).
FAILURE_SECONDS = 10 * 60.0
#: StatusMessage of a successful training ([D]).
READY_MESSAGE = "The model is ready to run."
#: Limits of ``limits.md``: lines per dataset, labels per dataset, minimum labels per use case.
MAX_ROWS = 250_000
MAX_LABELS = 250
MIN_LABELS = {CLASSIFICATION: 2, DETECTION: 1}
#: The share of testing labels that must be training labels.
MIN_OVERLAP = 0.5
_USE_CASE = {CLASSIFICATION: "image-level (classification)", DETECTION: "object-location (detection)"}
_NO_S3 = f"rclsim has no S3 to read the dataset images from ({HOW_TO_GIVE_ONE})"


# -- duration ------------------------------------------------------------------------------------------
def training_seconds(images: int) -> float:
    """The simulated duration, in seconds, of a training on ``images`` images (see the module
    docstring: a fixed overhead plus a per-image term through the article's two trainings, clamped to
    the documented 30 minutes..24 hours). Monotone in ``images``; the caller scales it by its time
    scale."""
    if isinstance(images, bool):
        raise TypeError(f"images must be a whole number of images, not {images!r}")
    try:
        count = operator.index(images)
    except TypeError:
        raise TypeError(f"images must be a whole number of images, not {images!r}") from None
    if count < 0:
        raise ValueError(f"images must be 0 or more, got {count}")
    seconds = round(_T0 + (count - _N0) * PER_IMAGE_SECONDS, 3)
    return float(min(max(seconds, MIN_TRAINING_SECONDS), MAX_TRAINING_SECONDS))


# -- training ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainingOutcome:
    """How a training ended. ``status`` is ``TRAINING_COMPLETED`` or ``TRAINING_FAILED`` and
    ``status_message`` the version's StatusMessage; ``seconds`` how long it ran (documented seconds,
    before any time scale). Only a completed training has ``f1`` (EvaluationResult.F1Score),
    ``summary`` (the EvaluationSummary JSON, console format), assumed ``thresholds`` (label -> 0-1),
    the model's ``labels``, and the lines it was trained and tested on (``training_entries``,
    ``testing_entries``: those of its use case), which :class:`TrainedSource` should be given."""

    status: str
    status_message: str
    seconds: float
    f1: float | None = None
    summary: dict[str, Any] | None = None
    thresholds: Mapping[str, float] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    training_entries: tuple[ManifestEntry, ...] = field(default=(), repr=False)
    testing_entries: tuple[ManifestEntry, ...] = field(default=(), repr=False)

    @property
    def completed(self) -> bool:
        return self.status == COMPLETED


class _Failure(Exception):
    def __init__(self, message: str, note: str) -> None:
        super().__init__(f"{message} (rclsim: {note})")


def _labels(entries: Iterable[ManifestEntry]) -> set[str]:
    return {name for entry in entries for name in entry.labels}


def _names(labels: Iterable[str], most: int = 5) -> str:
    shown = sorted(labels)
    text = ", ".join(shown[:most])
    return text + (f" and {len(shown) - most} more" if len(shown) > most else "")


def _use_case(train: Sequence[ManifestEntry]) -> str:
    """The kind with more labelled training lines; detection on a tie ([U])."""
    labelled = [entry.kind for entry in train if entry.labels]
    return CLASSIFICATION if labelled.count(CLASSIFICATION) > labelled.count(DETECTION) else DETECTION


def _check(train: Sequence[ManifestEntry], test: Sequence[ManifestEntry]) -> str:
    """The failure rules of the module docstring, in order: the use case, or :class:`_Failure`."""
    for which, entries in (("training", train), ("testing", test)):
        if not entries:
            raise _Failure("The manifest file is empty.", f"the {which} dataset has no usable lines")
    for which, entries in (("training", train), ("testing", test)):
        if len(entries) > MAX_ROWS:
            raise _Failure(
                "The manifest file has too many rows.",
                f"the {which} dataset has {len(entries)} lines; the limit is {MAX_ROWS}",
            )
    use_case = _use_case(train)
    used = {
        "training": [e for e in train if e.kind == use_case],
        "testing": [e for e in test if e.kind == use_case],
    }
    left_out = {
        which: len(entries) - len(used[which]) for which, entries in (("training", train), ("testing", test))
    }
    usable = any(left_out.values())
    kind = _USE_CASE[use_case]
    for which, entries in used.items():
        labels = _labels(entries)
        dropped = f"; {left_out[which]} lines of the other kind left out" if left_out[which] else ""
        if len(labels) < MIN_LABELS[use_case]:
            message = (
                "The manifest file has too few usable labels."
                if left_out[which]
                else "The manifest file has too few labels."
            )
            have = f"{len(labels)} label{'s' if len(labels) != 1 else ''}"
            raise _Failure(
                message,
                f"the {which} dataset has {have}{': ' + _names(labels) if labels else ''}{dropped}; an "
                f"{kind} model needs at least {MIN_LABELS[use_case]}",
            )
        if len(labels) > MAX_LABELS:
            raise _Failure(
                "The manifest file has too many labels.",
                f"the {which} dataset has {len(labels)} labels; the limit is {MAX_LABELS}",
            )
    train_labels, test_labels = _labels(used["training"]), _labels(used["testing"])
    shared = test_labels & train_labels
    if len(shared) < MIN_OVERLAP * len(test_labels):
        word = "usable label" if usable else "label"
        raise _Failure(
            f"Less than {MIN_OVERLAP:.0%} {word} overlap between the training and testing manifest files.",
            f"{len(shared)} of the {len(test_labels)} testing labels are training labels; not in the "
            f"training dataset: {_names(test_labels - train_labels)}",
        )
    return use_case


def _require_entries(entries: Iterable[Any], which: str) -> list[ManifestEntry]:
    out = list(entries)
    for entry in out:
        if not isinstance(entry, ManifestEntry):
            raise TypeError(f"{which} entries must be ManifestEntry objects, not {type(entry).__name__}")
    return out


def train(
    train_entries: Sequence[ManifestEntry],
    test_entries: Sequence[ManifestEntry],
    *,
    version_arn: str,
    noise: NoiseModel | None = None,
) -> TrainingOutcome:
    """Train version ``version_arn`` on the good lines of its TRAIN and TEST datasets: the failure
    rules, then the simulated model's evaluation on the testing lines (module docstring).
    Deterministic: the same entries and noise model give an equal outcome."""
    if not isinstance(version_arn, str) or not version_arn:
        raise ValueError(f"version_arn must be the version's ARN, got {version_arn!r}")
    train_list = _require_entries(train_entries, "training")
    test_list = _require_entries(test_entries, "testing")
    try:
        use_case = _check(train_list, test_list)
    except _Failure as failure:
        return TrainingOutcome(FAILED, str(failure), FAILURE_SECONDS)
    train_used = [e for e in train_list if e.kind == use_case]
    test_used = [e for e in test_list if e.kind == use_case]
    noise = noise or NoiseModel()
    label_names = tuple(sorted(_labels(train_used) | _labels(test_used)))

    current: dict[str, list[dict[str, Any]]] = {}

    def truths() -> Iterator[Truth]:
        for entry in test_used:  # streamed: one simulated answer held at a time
            current[entry.source_ref] = simulate_entry(entry, version_arn, noise, label_names)
            yield Truth.of_entry(entry)

    def predict(image: str) -> Prediction:
        return Prediction(image, current.pop(image))

    summary = evaluate(truths(), predict).to_summary()
    details = summary["EvaluationDetails"]
    summary["EvaluationDetails"] = {
        "ProjectVersionArn": version_arn,
        "Labels": details["Labels"],
        "NumberOfTrainingImages": len(train_used),
        "NumberOfTestingImages": details["NumberOfTestingImages"],
    }
    f1 = summary["AggregatedEvaluationResults"]["Metrics"]["F1Score"]
    thresholds = {
        result["Label"]: float(result["Metrics"]["Threshold"])
        for result in summary["LabelEvaluationResults"]
        if result["Metrics"]["Threshold"] is not None
    }
    return TrainingOutcome(
        status=COMPLETED,
        status_message=READY_MESSAGE,
        seconds=training_seconds(len(train_used) + len(test_used)),
        f1=None if f1 is None else float(f1),
        summary=summary,
        thresholds=thresholds,
        labels=label_names,
        training_entries=tuple(train_used),
        testing_entries=tuple(test_used),
    )


# -- matching a request's image to a dataset image -----------------------------------------------------
class EntryMatcher:
    """Finds the manifest entry a DetectCustomLabels image names, the way the sim backend does: by
    ``s3://bucket/key`` source-ref; by file name for a bare source-ref (a file name only); and by the
    sha256 of the entries' image bytes, read through ``read(source_ref)`` (None: cannot be read, and
    the entry is skipped) the first time a request with a sha256 is not matched by its key.

    ``label_names`` are the entries' labels, sorted: the simulation's ``label_names``."""

    def __init__(
        self,
        entries: Iterable[ManifestEntry],
        read: Callable[[str], bytes | None],
        pixels: PixelHasher | None = None,
    ) -> None:
        self._read = read
        self._pixels = pixels
        self._by_size: dict[tuple[int, int], list[tuple[int, ManifestEntry]]] = {}
        self._sizes: set[tuple[int, int]] = set()  # of the readable dataset images
        self._by_ref: dict[str, ManifestEntry] = {}
        self._by_name: dict[str, list[ManifestEntry]] = {}
        names: set[str] = set()
        for entry in entries:
            self._by_ref.setdefault(entry.source_ref, entry)
            if "/" not in entry.source_ref:
                self._by_name.setdefault(entry.source_ref, []).append(entry)
            names.update(entry.labels)
        self.label_names: tuple[str, ...] = tuple(sorted(names))
        self._by_sha: dict[str, ManifestEntry] | None = None
        self.unreadable: int | None = None  # images that could not be read, once the index is built
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._by_ref)

    def source_refs(self) -> Iterator[str]:
        return iter(self._by_ref)

    def _sha_index(self) -> dict[str, ManifestEntry]:
        if self._by_sha is None:
            with self._lock:
                if self._by_sha is None:
                    by_sha: dict[str, ManifestEntry] = {}
                    unreadable = 0
                    for ref, entry in self._by_ref.items():
                        data = self._read(ref)
                        if data is None:
                            unreadable += 1
                            continue
                        by_sha.setdefault(hashlib.sha256(data).hexdigest(), entry)
                        try:
                            info = read_image_info(data)
                            self._sizes.add((info.width, info.height))
                        except NotAnImage:
                            pass
                        if self._pixels is not None:
                            fp = self._pixels.fingerprint(data)
                            if fp is not None:
                                self._by_size.setdefault((fp[0], fp[1]), []).append((fp[2], entry))
                    self.unreadable = unreadable
                    self._by_sha = by_sha
        return self._by_sha

    def find(self, image: ImageRef) -> ManifestEntry | None:
        if image.bucket is not None and image.key is not None:
            entry = self._by_ref.get(f"s3://{image.bucket}/{image.key}")
            if entry is not None:
                return entry
            bare = self._by_name.get(PurePosixPath(image.key).name)
            if bare:
                return bare[0]
        if image.sha256 is not None:
            found = self._sha_index().get(image.sha256)
            if found is not None or self._pixels is None or image.data is None:
                return found
            return self._nearest(image.data)
        return None

    def same_size(self, data: Any) -> tuple[int, int] | None:
        """The size of image bytes when a dataset image has it (then a re-encoded copy may be what was
        sent), else None."""
        try:
            info = read_image_info(bytes(data))
        except NotAnImage:
            return None
        size = (info.width, info.height)
        return size if size in self._sizes else None

    def _nearest(self, data: Any) -> ManifestEntry | None:
        """The opt-in pixel match (``--match pixels``): the dataset image of the same size whose
        perceptual hash is nearest, within the hasher's distance (a re-saved or re-encoded image)."""
        assert self._pixels is not None
        fp = self._pixels.fingerprint(data)
        if fp is None:
            return None
        best: tuple[int, ManifestEntry] | None = None
        for bits, entry in self._by_size.get((fp[0], fp[1]), ()):
            distance = self._pixels.distance(fp[2], bits)
            if distance <= self._pixels.max_distance and (best is None or distance < best[0]):
                best = (distance, entry)
        return best[1] if best is not None else None


# -- the trained model as a response source ------------------------------------------------------------
def _reader(store: ObjectStore | None) -> Callable[[str], bytes | None]:
    return source_reader(store) if store is not None else (lambda source_ref: None)


#: How many trained versions' matchers a source keeps (each holds its entries).
_KEPT_VERSIONS = 16


class TrainedSource:
    """Answers DetectCustomLabels for trained versions (a :class:`rclsim.fake.core.ResponseSource`).

    ``versions(arn)`` gives the entries (training and testing) of a trained version, or None for a
    version it does not know; ``objects()`` the object store the dataset images are read from (None:
    none yet). An image is matched to an entry by :class:`EntryMatcher`: by S3 key, else by the sha256
    of the dataset images, read once per version (and object store) and only when a request needs it.
    The answer is the simulation of the entry, handed to the core as a recording at MinConfidence 0,
    so the core applies MinConfidence, MaxResults and assumed thresholds exactly.

    A trained version's entries never change, so they are asked for once per version; :meth:`forget`
    drops a deleted version's.
    """

    def __init__(
        self,
        versions: Callable[[str], Sequence[ManifestEntry] | None],
        objects: Callable[[], ObjectStore | None],
        noise: NoiseModel | None = None,
        pixels: PixelHasher | None = None,
    ) -> None:
        self._versions = versions
        self._objects = objects
        #: The opt-in pixel match's hasher (``--match pixels``; handed in: this layer has no OpenCV).
        self.pixels = pixels
        #: The opt-in default answer (``--match default``): no labels for an image not in the datasets.
        self.default_answer = False
        #: How the user switches the pixel match on, in their front-end's words (for messages).
        self.match_hint: Callable[[str], str] = functools.partial(example, "match")
        self.noise = noise or NoiseModel()
        self._entries: dict[str, Sequence[ManifestEntry]] = {}
        self._matchers: dict[str, tuple[ObjectStore | None, EntryMatcher]] = {}
        self._lock = threading.Lock()

    def forget(self, project_version_arn: str) -> None:
        """Drop what is kept of a version (deleted, say): it is asked for again when next needed."""
        with self._lock:
            self._entries.pop(project_version_arn, None)
            self._matchers.pop(project_version_arn, None)

    def _matcher(self, arn: str) -> EntryMatcher | None:
        store = self._objects()
        with self._lock:
            kept = self._matchers.get(arn)
            if kept is not None and kept[0] is store:
                return kept[1]
            entries = self._entries.get(arn)
        if entries is None:
            found = self._versions(arn)
            if found is None:
                return None
            entries = tuple(found)
        matcher = EntryMatcher(entries, _reader(store), self.pixels)
        with self._lock:
            while len(self._entries) >= _KEPT_VERSIONS and arn not in self._entries:
                oldest = next(iter(self._entries))
                self._entries.pop(oldest)
                self._matchers.pop(oldest, None)
            self._entries[arn] = entries
            self._matchers[arn] = (store, matcher)
        return matcher

    # -- ResponseSource ----------------------------------------------------------------------------
    def knows_model(self, project_version_arn: str) -> bool:
        # Asked every time: whether a version exists is the caller's to say (it may be deleted).
        return self._versions(project_version_arn) is not None

    def candidates(self, project_version_arn: str, image: ImageRef) -> Sequence[Recording]:
        matcher = self._matcher(project_version_arn)
        entry = matcher.find(image) if matcher is not None else None
        path = Path(project_version_arn)
        if matcher is not None and entry is None and self.default_answer:
            # The opt-in default (--match default): an image the model never saw, answered as a model
            # that finds nothing in it would answer [U: a real model may find something].
            return [
                Recording(
                    path=path,
                    project_version_arn=project_version_arn,
                    region=None,
                    image=image,
                    width=None,
                    height=None,
                    min_confidence=0.0,
                    max_results=None,
                    recorded_at=None,
                    labels=(),
                )
            ]
        if matcher is None or entry is None:
            return []
        return [simulated_recording(entry, project_version_arn, self.noise, matcher.label_names, image, path)]

    def not_found_message(self, project_version_arn: str, image: ImageRef) -> str:
        matcher = self._matcher(project_version_arn)
        if matcher is None:
            return f"rclsim has no trained model {project_version_arn}"
        count = len(matcher)
        example = next(matcher.source_refs(), "")
        message = (
            f"the trained model {project_version_arn} knows {count} image{'s' if count != 1 else ''}: "
            f"the dataset images it was trained and tested on (such as {example}). It answers an "
            f"Image.S3Object naming one of them (the Bucket and Name of its source-ref) or the bytes of "
            f"one of them; {image.describe()} is none of them"
        )
        store = self._objects()
        if store is None:
            return f"{message}. Bytes cannot be matched: {_NO_S3}."
        if matcher.unreadable:
            message += (
                f". {matcher.unreadable} of its {count} dataset images could not be read from "
                f"{store.describe()}, so their bytes cannot be matched"
            )
        size = matcher.same_size(image.data) if self.pixels is None and image.data is not None else None
        if size is not None:
            message += (
                f". A dataset image has the same size ({size[0]}x{size[1]}): if the code re-encodes images "
                f"before sending them (AWS's local-image sample re-saves with PIL, its video sample "
                f"JPEG-encodes frames), opt in to the pixel match: {self.match_hint('pixels')}"
            )
        return message + "."
