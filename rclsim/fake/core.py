"""The fake core: the one place that holds how the fake Rekognition behaves.

AWS-shaped parameters in, AWS-shaped responses out, or ``botocore.exceptions.ClientError`` with the
real error code. Every front-end (the Backend API, the CLI, and later the boto3 drop-in, the HTTP
endpoint and the pytest plugin) is a thin adapter over :class:`FakeRekognition`; none of them
re-implements a rule that lives here.

DetectCustomLabels checks in the service's order:

1. **parameters** - the model's constraints (``ValidationException``, or ``SerializationException`` for
   a value of the wrong type) and the ``Image`` rule: exactly one of ``Bytes`` or ``S3Object``
   (``InvalidParameterException``);
2. **the model** - a version neither declared nor answered for by the source is
   ``ResourceNotFoundException``; one that is not RUNNING is ``ResourceNotReadyException``;
3. **the image** - over 4 MiB of bytes is ``ImageTooLargeException``, bytes that are not PNG/JPEG are
   ``InvalidImageFormatException``, dimensions outside 64..4096 px or an aspect ratio over 20:1 are
   ``InvalidParameterException``. Images named by ``S3Object`` are checked only when the core has
   an S3 reader (the replay fake answers from the recording without the bytes);
4. **the answer** - the source's best recording, filtered at ``MinConfidence`` (labels ``>=`` it; when
   omitted, at each label's declared assumed threshold), sorted highest confidence first, cut to
   ``MaxResults``, and deep-copied.

Capacity is opt-in (``capacity=True``, or a version whose models.json declares it): between 2 and 3, a
call over what the version's inference units serve in the last second is
``ProvisionedThroughputExceededException`` (:mod:`rclsim.fake.capacity`; [U]: where the service counts
a call that also has a bad image is unknown; here refused calls never reach the image checks).

Start/Stop/DescribeProjectVersions/DescribeProjects go to the model lifecycle
(:mod:`rclsim.fake.lifecycle`), whose state lives in a :class:`~rclsim.fake.state.StateStore` and whose
transitions take the declared durations times the time scale. Response sources plug in through
:class:`ResponseSource`: recordings today, simulation later.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from rclsim.data.imageinfo import ImageInfo, NotAnImage, read_image_info, size_problem
from rclsim.fake.clock import Clock, SystemClock
from rclsim.fake.controlplane import ControlPlane
from rclsim.fake.cost import Bill, PriceTable, compute_bill
from rclsim.fake.declarations import Declarations
from rclsim.fake.labelcopy import Copier, copier_for, copy_labels
from rclsim.fake.lifecycle import Lifecycle
from rclsim.fake.objects import ObjectStore
from rclsim.fake.recordings import ImageRef, Recording, RecordingStore, image_ref_from_param, sha256_hex
from rclsim.fake.recordings.pixels import PixelHasher
from rclsim.fake.state import StateStore
from rclsim.service import apimodel
from rclsim.service.constraints import require_valid
from rclsim.service.errors import service_error

__all__ = [
    "FakeRekognition",
    "Layer",
    "ResponseSource",
    "ReplaySource",
    "RecordingMismatchWarning",
    "check_image_bytes",
]

DETECT = "DetectCustomLabels"


class RecordingMismatchWarning(UserWarning):
    """A recording answered parameters it cannot answer exactly (below its MinConfidence, or past a
    MaxResults cut). The answer is what the recording holds; ``strict`` turns this into an error."""


class Layer(Protocol):
    """Something around every call into the core (see :meth:`FakeRekognition.add_layer`)."""

    def __call__(
        self,
        operation: str,
        params: Mapping[str, Any],
        region: str | None,
        *,
        answer: Callable[[str, Mapping[str, Any], str | None], dict[str, Any]],
    ) -> dict[str, Any]: ...


class ResponseSource(Protocol):
    """Where the core's answers come from (recordings, simulation)."""

    def knows_model(self, project_version_arn: str) -> bool: ...

    def candidates(self, project_version_arn: str, image: ImageRef) -> Sequence[Recording]: ...

    def not_found_message(self, project_version_arn: str, image: ImageRef) -> str: ...


class ReplaySource:
    """Answers from a :class:`~rclsim.fake.recordings.RecordingStore`."""

    @property
    def fixed_answers(self) -> bool:
        """True: the store is read once and never changes, so the same question always has the same
        answer. Not for a subclass with its own ``candidates``, whose answers may change."""
        return type(self).candidates is ReplaySource.candidates

    def __init__(self, store: RecordingStore):
        self.store = store

    def knows_model(self, project_version_arn: str) -> bool:
        return self.store.knows_model(project_version_arn)

    def candidates(self, project_version_arn: str, image: ImageRef) -> Sequence[Recording]:
        return self.store.find(project_version_arn, image)

    def not_found_message(self, project_version_arn: str, image: ImageRef) -> str:
        return (
            f"rclsim replay has no recording for model {project_version_arn} and {image.describe()} "
            f"in {self.store.describe()}. To record it, run the same call with --backend aws "
            f"--record-mode once --recordings DIR (it calls AWS once); or save the service's response as "
            f"NAME.json beside the image NAME.jpg in a --recordings folder (docs/recordings.md)."
            + self.store.not_found_hint(project_version_arn, image)
        )


#: How many recently checked ``Bytes`` images the core remembers (each up to 4 MiB).
_CHECKED_IMAGES = 4
#: How many exact answers to S3-image questions the core remembers (then it starts again).
_KEPT_ANSWERS = 4096


def _question(params: Any) -> tuple[Any, ...] | None:
    """What a DetectCustomLabels request of an S3 image asks, as a key for kept answers (values and
    the types of the numbers: ``MinConfidence=True`` is not ``1``); None for any other request."""
    if type(params) is not dict:
        return None
    image = params.get("Image")
    if type(image) is not dict or "Bytes" in image:
        return None
    s3 = image.get("S3Object")
    if type(s3) is not dict:
        return None
    min_confidence, max_results = params.get("MinConfidence"), params.get("MaxResults")
    return (
        params.get("ProjectVersionArn"),
        s3.get("Bucket"),
        s3.get("Name"),
        s3.get("Version"),
        min_confidence,
        type(min_confidence),
        max_results,
        type(max_results),
    )


#: The members that name a resource by ARN (checked against the client's region).
_ARN_MEMBERS = (
    "ProjectVersionArn",
    "ProjectArn",
    "DatasetArn",
    "ResourceArn",
    "SourceProjectArn",
    "SourceProjectVersionArn",
    "DestinationProjectArn",
)


def _require_region(arn: Any, region: str, operation: str) -> None:
    """A client of one region sees only that region's models: another region's ARN is not found."""
    if not isinstance(arn, str):
        return
    arn_region = apimodel.region_of(arn)
    if arn_region != region:
        what = "project version" if "/version/" in arn else "dataset" if "/dataset/" in arn else "project"
        raise service_error(
            "ResourceNotFoundException",
            f"The {what} {arn} does not exist in {region}. (rclsim: the client's region is {region}; "
            f"the ARN is of {arn_region or 'no region'}: make the client in the model's region.)",
            operation,
        )


def _exactness(
    rec: Recording, min_confidence: float | None, max_results: int | None, thresholds: Mapping[str, float]
) -> str | None:
    """Why ``rec`` cannot answer these parameters exactly, or None when it can."""
    if min_confidence is None and thresholds and rec.min_confidence is not None:
        lowest = min(thresholds.values()) * 100
        if lowest < rec.confidence_floor:
            return (
                f"{rec.path} was recorded at MinConfidence {rec.confidence_floor:g} and cannot answer the "
                f"model's assumed threshold {lowest:g} exactly: labels between the two are unknown"
            )
    if min_confidence is not None and min_confidence < rec.confidence_floor:
        return (
            f"{rec.path} was recorded at MinConfidence {rec.confidence_floor:g} and cannot answer "
            f"MinConfidence {min_confidence:g} exactly: labels between the two are unknown"
        )
    if rec.max_results is not None and len(rec.labels) >= rec.max_results:
        # The recording was cut at MaxResults: labels past the cut are unknown. The answer is still
        # exact when the request's own cut falls inside what was recorded.
        floor = min_confidence if min_confidence is not None else -1.0
        kept = sum(1 for label in rec.labels if label["Confidence"] >= floor)
        if kept == len(rec.labels) and (max_results is None or max_results > len(rec.labels)):
            return (
                f"{rec.path} was recorded with MaxResults {rec.max_results} and cannot answer "
                f"MaxResults {max_results if max_results is not None else '(none)'} exactly"
            )
    return None


def check_image_bytes(
    data: bytes, limit: int = apimodel.MAX_IMAGE_BYTES, limit_text: str = "4 MiB as Bytes"
) -> ImageInfo:
    """The service's checks of an image's bytes, in its order: size (``ImageTooLargeException``),
    format (``InvalidImageFormatException``), dimensions and aspect ratio
    (``InvalidParameterException``). Returns what the header says (size, format). Record mode asks
    it too, so an image the service would refuse costs no live call."""
    if len(data) > limit:
        raise service_error(
            "ImageTooLargeException",
            f"Image size is too large: {len(data)} bytes is over the limit of {limit_text}",
            DETECT,
        )
    try:
        info = read_image_info(data)
    except NotAnImage as exc:
        raise service_error(
            "InvalidImageFormatException", f"Request has invalid image format: {exc}", DETECT
        ) from None
    problem = size_problem(
        info.width,
        info.height,
        apimodel.MIN_IMAGE_DIMENSION,
        apimodel.MAX_IMAGE_DIMENSION,
        apimodel.MAX_ASPECT_RATIO,
    )
    if problem is not None:
        raise service_error("InvalidParameterException", f"Request has invalid parameters: {problem}", DETECT)
    return info


class FakeRekognition:
    """The fake service. ``source`` answers DetectCustomLabels; ``strict`` makes inexact answers errors.

    ``objects`` lets the core read an image named by ``S3Object`` when nothing answers for its key,
    then check it and match recordings by its bytes (the drop-in sets one that reads from moto when
    moto is active); without it such images are taken on trust. Manifests and training output go
    through it too.
    ``declarations`` are the models it knows (besides those the source answers for), ``state`` where
    their statuses live (default: fresh, in memory), ``clock`` and ``time_scale`` how time passes
    (0: every transition is instant), ``prices`` the cost meter's price table, ``pixels`` the opt-in
    pixel match's hasher for versions trained here (``--match pixels``; recordings get theirs in the
    store), ``default_answer`` the opt-in default for them (``--match default``: an image a trained model
    never saw answers no labels) and ``match_hint(value)`` how the user's front-end spells that setting.
    """

    def __init__(
        self,
        source: ResponseSource,
        *,
        declarations: Declarations | None = None,
        state: StateStore | None = None,
        clock: Clock | None = None,
        time_scale: float = 0.0,
        strict: bool = False,
        objects: ObjectStore | None = None,
        prices: PriceTable | None = None,
        pixels: PixelHasher | None = None,
        match_hint: Callable[[str], str] | None = None,
        capacity: bool = False,
        default_answer: bool = False,
    ) -> None:
        self.source = source  # (the setter below also decides whether answers may be kept)
        self.strict = strict
        self.objects = objects
        self.clock: Clock = clock or SystemClock()
        self.declarations = declarations or Declarations()
        self.lifecycle = Lifecycle(
            self.declarations,
            state or StateStore(),
            clock=self.clock,
            time_scale=time_scale,
            implied=source.knows_model,
        )
        #: Projects, datasets, training, copies, tags and policies (:mod:`rclsim.fake.controlplane`).
        self.control = ControlPlane(self.lifecycle, objects=lambda: self.objects)
        self.control.pixels = pixels
        self.control.match_hint = match_hint
        self.control.default_answer = default_answer
        self._prices = prices
        # Images sent as Bytes that passed the image checks, with their SHA-256: a test that sends the
        # same image call after call has it checked and hashed once. Keyed by the bytes themselves
        # (immutable; the same object is found by identity, an equal copy by its hash), few kept.
        self._checked_images: dict[bytes, str] = {}
        self._memory_lock = threading.Lock()
        self._layers: tuple[Layer, ...] = ()
        self.capacity = capacity

    @property
    def source(self) -> ResponseSource:
        return self._source

    @source.setter
    def source(self, source: ResponseSource) -> None:
        self._source = source
        # Exact answers to S3-image questions, for sources whose answers never change (a replay
        # store is read once): the detect path then skips the lookup, choice and filter. A new
        # source starts afresh.
        self._answers: dict[tuple[Any, ...], tuple[tuple[dict[str, Any], ...], Copier]] | None = (
            {} if getattr(source, "fixed_answers", False) else None
        )

    @property
    def capacity(self) -> bool:
        """True: every RUNNING version serves only its inference units' calls per second
        (:mod:`rclsim.fake.capacity`); False (the default): only versions whose models.json declares
        their capacity do. Settable at any time. (The lifecycle holds it: it meters and bills.)"""
        return self.lifecycle.capacity_all

    @capacity.setter
    def capacity(self, on: bool) -> None:
        self.lifecycle.capacity_all = bool(on)

    @property
    def prices(self) -> PriceTable:
        if self._prices is None:
            self._prices = PriceTable.load()
        return self._prices

    # -- dispatch --------------------------------------------------------------------------------
    def call(self, operation: str, params: Mapping[str, Any], *, region: str | None = None) -> dict[str, Any]:
        """Run ``operation`` (its API name, e.g. ``"DetectCustomLabels"``) with AWS-shaped params, as
        asked by a client of ``region``. The only way into the fake: every front-end encodes its
        request into this call and decodes what it returns or raises.

        ``region``: the region of the client that asked (the drop-in's client, the endpoint's
        request signature, a backend's ``region=``). A model ARN of another region is
        ``ResourceNotFoundException``, as the service of one region knows only its own models. None
        (a backend given no region, an unsigned request) answers models of every region. A recording
        whose account was masked answers for any account ([U]; docs/fidelity.md).

        Layers added with :meth:`add_layer` (fault rules, the call history) see every call first."""
        if self._layers:
            return self._layered(operation, params, region)
        return self._answer_call(operation, params, region)

    # -- layers around the one way in ------------------------------------------------------------------
    def add_layer(self, layer: Layer) -> None:
        """Put ``layer`` around every call: ``layer(operation, params, region, answer)`` returns the
        response (usually ``answer(operation, params, region)``) or raises; the last added is
        outermost. Fault rules and the call history are layers; with none, calls pay one check."""
        self._layers = (*self._layers, layer)

    def remove_layer(self, layer: Layer) -> None:
        self._layers = tuple(x for x in self._layers if x is not layer)

    def _layered(self, operation: str, params: Mapping[str, Any], region: str | None) -> dict[str, Any]:
        answer: Callable[[str, Mapping[str, Any], str | None], dict[str, Any]] = self._answer_call
        for layer in self._layers:
            answer = functools.partial(layer, answer=answer)
        return answer(operation, params, region)

    def _answer_call(self, operation: str, params: Mapping[str, Any], region: str | None) -> dict[str, Any]:
        if operation == DETECT:
            return self._detect_custom_labels(params, region)
        handler = self._handlers.get(operation)
        if handler is None:
            raise service_error(
                "UnsupportedOperationException",
                f"rclsim fakes only {', '.join(self._handlers)} and {DETECT}; {operation} is not one of them",
                operation,
            )
        require_valid(operation, params)
        if region is not None:
            for name in _ARN_MEMBERS:
                arn = params.get(name)
                if arn is not None:
                    _require_region(arn, region, operation)
            for dataset in params.get("Datasets") or () if operation == "DistributeDatasetEntries" else ():
                _require_region(dataset.get("Arn"), region, operation)
        return handler(params, region)

    @functools.cached_property
    def _handlers(self) -> dict[str, Callable[[Mapping[str, Any], str | None], dict[str, Any]]]:
        lifecycle = self.lifecycle
        handlers: dict[str, Callable[[Mapping[str, Any], str | None], dict[str, Any]]] = {
            "StartProjectVersion": lambda p, r: lifecycle.start(p),
            "StopProjectVersion": lambda p, r: lifecycle.stop(p),
            "DescribeProjectVersions": lambda p, r: lifecycle.describe_versions(p),
        }
        handlers.update(self.control.handlers())
        return handlers

    # -- DetectCustomLabels ----------------------------------------------------------------------
    def _detect_custom_labels(self, params: Mapping[str, Any], region: str | None) -> dict[str, Any]:
        answers = self._answers
        key = _question(params) if answers is not None else None
        if answers is not None and key is not None:
            # Asked and answered exactly before: these values passed every check then and the
            # source's answers never change, so only the region and the model's state are asked again.
            try:
                known = answers.get(key)
            except TypeError:  # an unhashable value: not a question this can have kept
                known = key = None
            if known is not None:
                if region is not None:
                    _require_region(params["ProjectVersionArn"], region, DETECT)
                decl = self.lifecycle.require_running(params["ProjectVersionArn"], DETECT)
                if self.lifecycle.capacity_all or decl.capacity:
                    self.lifecycle.admit(decl, DETECT)
                labels, copy = known
                return {"CustomLabels": copy(labels)}
        require_valid(DETECT, params)
        image = params["Image"]
        s3 = image.get("S3Object")
        # A member given as None is absent, as the JSON protocol reads a null member.
        if (image.get("Bytes") is None) == (s3 is None):
            raise service_error(
                "InvalidParameterException",
                "Request has invalid parameters: Image must contain exactly one of Bytes or S3Object",
                DETECT,
            )
        if s3 is not None and not (s3.get("Bucket") and s3.get("Name")):
            raise service_error(
                "InvalidParameterException",
                "Request has invalid parameters: Image.S3Object needs both Bucket and Name",
                DETECT,
            )
        arn = params["ProjectVersionArn"]
        if region is not None:
            _require_region(arn, region, DETECT)
        decl = self.lifecycle.require_running(arn, DETECT)
        if self.lifecycle.capacity_all or decl.capacity:  # opt-in: the only cost when off is this check
            self.lifecycle.admit(decl, DETECT)
        source: ResponseSource = self.source
        if self.control.made(arn):
            source, key = self.control.source, None  # trained here: simulated from its ground truth
        ref = self._check_image(image)
        min_confidence = params.get("MinConfidence")
        max_results = params.get("MaxResults")
        if s3 is not None and self.objects is not None:
            # An S3 reader (moto's bucket, say): the object is read and checked as the service reads
            # it, then matched by key and bytes. A missing object leaves the key alone to decide
            # ([U]: a recording of the key still answers; without one, InvalidS3ObjectException).
            read = self._read_s3_image(image, missing_ok=True)
            key = None  # the object may change: read it every time
            if read is not None:
                ref = read
            elif not source.candidates(arn, ref):
                self._read_s3_image(image)  # raises the service's error for a missing object
        candidates = source.candidates(arn, ref)
        if not candidates:
            raise service_error("RecordingNotFoundException", source.not_found_message(arn, ref), DETECT)
        thresholds = decl.thresholds
        chosen, problem = self._choose(candidates, min_confidence, max_results, thresholds)
        if problem is not None:
            if self.strict:
                raise service_error("RecordingMismatchException", problem + " (strict mode)", DETECT)
            warnings.warn(problem + "; answering with what it holds", RecordingMismatchWarning, stacklevel=3)
        labels = self._answer(chosen, min_confidence, max_results, thresholds)
        if answers is not None and key is not None and problem is None:
            if len(answers) >= _KEPT_ANSWERS:
                answers.clear()
            answers[key] = (labels, copier_for(labels))
        return {"CustomLabels": copy_labels(labels)}

    # -- the cost meter ----------------------------------------------------------------------------
    def bill(self) -> Bill:
        """What the models would have cost so far: RUNNING time of versions started through the
        fake, plus the declared successful trainings (the built-in article's only once it is used)."""
        article_used = any(
            d.builtin and self.lifecycle.touched(d.arn) for d in self.declarations.versions.values()
        )
        trainings = [
            (decl.arn, decl.training_seconds)
            for decl in self.declarations.versions.values()
            if decl.training_seconds is not None
            and decl.status not in ("TRAINING_IN_PROGRESS", "TRAINING_FAILED")
            and (not decl.builtin or article_used)
        ]
        trainings.extend(self.control.trainings())
        return compute_bill(self.prices, self.lifecycle.usage(), trainings, self.clock.now())

    def _check_image(self, image: Mapping[str, Any]) -> ImageRef:
        if image.get("Bytes") is not None:
            data = bytes(image["Bytes"])
            digest = self._checked_images.get(data)
            if digest is None:
                check_image_bytes(data)
                digest = sha256_hex(data)
                with self._memory_lock:  # the local endpoint answers from several threads
                    if len(self._checked_images) >= _CHECKED_IMAGES:
                        del self._checked_images[next(iter(self._checked_images))]  # the oldest
                    self._checked_images[data] = digest
            return image_ref_from_param(image, digest)
        # An S3 image is looked up by its key first; its bytes are read only when needed.
        return image_ref_from_param(image)

    def _read_s3_image(self, image: Mapping[str, Any], *, missing_ok: bool = False) -> ImageRef | None:
        """The image's reference with its bytes' hash, once read and checked; None for a missing object
        when ``missing_ok``, else the service's ``InvalidS3ObjectException``."""
        assert self.objects is not None
        s3 = image["S3Object"]
        try:
            data = self.objects.get(s3["Bucket"], s3["Name"], s3.get("Version"))
        except KeyError:
            if missing_ok:
                return None
            raise service_error(
                "InvalidS3ObjectException",
                f"Unable to get object metadata from S3. Check object key, region and/or access "
                f"permissions. (s3://{s3['Bucket']}/{s3['Name']})",
                DETECT,
            ) from None
        check_image_bytes(data, apimodel.MAX_S3_IMAGE_BYTES, "15 MiB from S3")
        return image_ref_from_param(image, sha256_hex(data), data)

    @staticmethod
    def _choose(
        candidates: Sequence[Recording],
        min_confidence: float | None,
        max_results: int | None,
        thresholds: Mapping[str, float],
    ) -> tuple[Recording, str | None]:
        """The first candidate that answers exactly; else the one with the lowest floor, and why."""
        for rec in candidates:
            if _exactness(rec, min_confidence, max_results, thresholds) is None:
                return rec, None
        best = min(candidates, key=lambda r: r.confidence_floor)
        return best, _exactness(best, min_confidence, max_results, thresholds)

    @staticmethod
    def _answer(
        rec: Recording, min_confidence: float | None, max_results: int | None, thresholds: Mapping[str, float]
    ) -> tuple[dict[str, Any], ...]:
        """The recorded labels that answer these parameters (the recording's own, not copies)."""
        labels = rec.labels  # highest confidence first
        if min_confidence is not None:
            keep = 0
            for label in labels:
                if label["Confidence"] < min_confidence:
                    break
                keep += 1
            labels = labels[:keep]
        elif thresholds:
            # The service's behaviour with MinConfidence omitted: each label at its assumed threshold
            # (0-1 scale in the evaluation summary). Labels without a declared threshold are kept.
            labels = tuple(
                label
                for label in labels
                if label["Name"] not in thresholds or label["Confidence"] >= thresholds[label["Name"]] * 100
            )
        if max_results is not None:
            labels = labels[:max_results]
        return labels
