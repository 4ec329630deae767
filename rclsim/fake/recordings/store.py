"""The store: :class:`RecordingStore` finds the recordings that answer for a model and an image.

Its folders are the ones given (the front-ends resolve ``--recordings``/``RCLSIM_RECORDINGS`` through
:func:`rclsim.config.setting`) and by default the article's recordings shipped with rclsim
(:func:`builtin_recordings_dir`).

**How a request finds its recording** (``match``). Always first by the image's S3 location and the
sha256 of its bytes, exactly as before. Two fallbacks can be switched on, for code that re-encodes the
image before sending it (AWS's local-image sample re-saves it with PIL; its video sample
JPEG-encodes frames), so its bytes never match a recording:

* ``pixels``: a ``Bytes`` request (or an S3 one whose bytes the core read) that nothing matches is
  answered by the recordings of the image files in the folders with the same width and height and a
  perceptual hash within the hasher's distance (:mod:`rclsim.fake.recordings.pixels`;
  :mod:`rclsim.data.phash` documents the hash and its 6-bit limit), nearest first. The recordings
  still answer only for their own model.
* ``default``: a model's **default answer** is a recording named ``default.json`` (any case, any
  folder: the model is the one the recording names; record mode's ``<folder>/<version name>/`` is the
  natural place). It answers any image of that model that nothing else matches. A plain response
  named ``default.json`` (no model inside) is the default of every model, after the model's own.

``match`` is ``"sha256"`` (the default: no fallback) or a comma-separated list of ``pixels`` and
``default`` (``"pixels,default"``: pixels first). [U] The service has no such thing; both are test
conveniences, off unless asked, and the not-found message says when one would help (a recording of
the same model and image size exists, or a default is declared but not switched on).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from rclsim.config import example
from rclsim.data.imageinfo import NotAnImage, read_image_info
from rclsim.fake.recordings.answer_files import rank_by_key
from rclsim.fake.recordings.index import _FolderIndex
from rclsim.fake.recordings.pixels import FolderImages, PixelHasher
from rclsim.fake.recordings.recording import ImageRef, Recording
from rclsim.service.apimodel import account_of, mask_account, mask_account_everywhere, mask_arn
from rclsim.service.errors import RecordingError

__all__ = ["RecordingStore", "builtin_recordings_dir", "MATCH_FALLBACKS", "DEFAULT_NAME", "parse_match"]

#: The fallbacks ``match`` may name, in the order they are tried after the sha256/S3 match.
MATCH_FALLBACKS = ("pixels", "default")
#: The file name (compared in lower case) of a model's default answer.
DEFAULT_NAME = "default.json"


def parse_match(match: str) -> tuple[str, ...]:
    """The fallbacks a ``match`` value names, in the order they are tried: ``"sha256"`` names none,
    ``"pixels"``, ``"default"`` or both, comma-separated (``"sha256,pixels"`` is ``"pixels"``)."""
    names = [part.strip().lower() for part in str(match).split(",")]
    unknown = [name for name in names if name not in ("sha256", *MATCH_FALLBACKS)]
    if unknown or not any(names):
        what = f"{unknown[0]!r} is not a way to match" if unknown else "an empty match"
        raise RecordingError(
            f"recordings match: {what}; it is one of sha256 (the default: the image's bytes or S3 "
            f"location), pixels (also the same size and a perceptual hash), default (also the model's "
            f"{DEFAULT_NAME}), or pixels,default"
        )
    return tuple(name for name in MATCH_FALLBACKS if name in names)


@functools.lru_cache(maxsize=1)
def builtin_recordings_dir() -> Path:
    """The article's recordings, shipped as package data (``rclsim.fixtures``, which the wheel maps
    from the repository's top-level ``fixtures/``); imported from a source checkout instead, they are
    that folder itself."""
    try:
        return Path(str(resources.files("rclsim.fixtures").joinpath("article")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[3] / "fixtures" / "article"


class RecordingStore:
    """Recordings from one or more folders (searched in order) plus, by default, the built-in ones.

    Folders are scanned once, on first use; create a new store to see files added later.

    ``match`` switches on the fallbacks of the module docstring (``"sha256"``: none, the default;
    ``"pixels"``, ``"default"``, ``"pixels,default"``); ``pixels`` is the perceptual hasher the pixel
    match uses (:data:`rclsim.data.phash.PHASH`; handed in, as this layer may not import OpenCV), needed
    when ``match`` names ``pixels`` and used by the not-found message when given. ``match_hint(value)``
    says how the user sets ``match`` to ``value`` where they set it (the backend passes the
    front-end's spelling, ``--match pixels or RCLSIM_MATCH=pixels``; by default Python's, as
    :func:`rclsim.config.example` words it): the not-found message suggests it.
    """

    def __init__(
        self,
        dirs: Iterable[str | os.PathLike[str]] = (),
        *,
        include_builtin: bool = True,
        match: str = "sha256",
        pixels: PixelHasher | None = None,
        match_hint: Callable[[str], str] | None = None,
    ):
        self.dirs: list[Path] = [Path(d) for d in dirs]
        self._fallbacks = parse_match(match)
        self._match_hint = match_hint or functools.partial(example, "match")
        if "pixels" in self._fallbacks and pixels is None:
            raise RecordingError(
                "recordings match 'pixels' needs a pixel hasher (pixels=rclsim.data.phash.PHASH)"
            )
        for folder in self.dirs:
            if not folder.is_dir():
                raise RecordingError(f"{folder}: recordings folder does not exist or is not a folder")
        if include_builtin:
            self.dirs.append(builtin_recordings_dir())
        self._images = None if pixels is None else FolderImages(self.dirs, pixels)
        self._defaults: list[Recording] = []
        self._recordings: list[Recording] | None = None
        self._lock = threading.Lock()  # the local endpoint answers from several threads
        self._by_s3: dict[tuple[str, str], list[Recording]] = {}
        self._by_sha: dict[str, list[Recording]] = {}
        self._models: set[str] = set()
        self._sidecars: list[Recording] = []

    # -- loading -------------------------------------------------------------------------------
    def _load(self) -> list[Recording]:
        if self._recordings is not None:
            return self._recordings
        with self._lock:
            if self._recordings is None:
                self._scan()
        assert self._recordings is not None
        return self._recordings

    def _scan(self) -> None:
        loaded: list[Recording] = []
        for root in self.dirs:
            loaded.extend(_FolderIndex(root).recordings())
        for rec in loaded:
            if rec.project_version_arn is None:
                self._sidecars.append(rec)
            else:
                self._models.add(rec.project_version_arn)
            if rec.image.bucket is not None and rec.image.key is not None:
                self._by_s3.setdefault((rec.image.bucket, rec.image.key), []).append(rec)
            if rec.image.sha256 is not None:
                self._by_sha.setdefault(rec.image.sha256, []).append(rec)
            if rec.path.name.lower() == DEFAULT_NAME:
                self._defaults.append(rec)
        self._defaults.sort(key=lambda r: r.project_version_arn is None)  # stable: a model's own first
        self._recordings = loaded

    # -- queries -------------------------------------------------------------------------------
    def __iter__(self) -> Any:
        return iter(self._load())

    @property
    def match(self) -> str:
        """The ``match`` in force, normalised (``"sha256"``, ``"pixels"``, ``"default"`` or
        ``"pixels,default"``)."""
        return ",".join(self._fallbacks) or "sha256"

    def __len__(self) -> int:
        return len(self._load())

    def models(self) -> set[str]:
        """ARNs that some recording names."""
        self._load()
        return set(self._models)

    def knows_model(self, project_version_arn: str) -> bool:
        """True when a recording names this model (as asked, or with its account id masked: see
        :meth:`find`), or a sidecar response can answer for any model."""
        self._load()
        return any(arn in self._models for arn in _model_keys(project_version_arn)[0]) or bool(self._sidecars)

    def find(self, project_version_arn: str, image: ImageRef) -> list[Recording]:
        """Recordings that answer for this model and image, best match first: recordings made for
        this model before plain responses, an exact S3 version before a version-less one, a plain
        response whose image has these bytes before one matched by its name (:func:`rank_by_key`).

        Record mode masks the model's account id wherever it appears as a whole number (the ARN's
        account field, project and version names, the S3 bucket, key and version; the one rule of
        :func:`~rclsim.service.apimodel.mask_account_everywhere`), so a recording is also looked up with the
        request's ARN and S3 object masked that way. A masked recording answers for any account:
        ``000000000000`` no longer says whose it was."""
        self._load()
        arns, account = _model_keys(project_version_arn)
        exact: list[Recording] = []
        loose: list[Recording] = []
        bucket, key, version = image.bucket, image.key, image.version
        if bucket is not None and key is not None:
            recs: list[Recording] = self._by_s3.get((bucket, key), [])
            versions: tuple[str | None, ...] = (version,)
            # Cheap on the hot path: only an S3 object that names the account id is masked.
            if account is not None and (account in bucket or account in key or account in (version or "")):
                masked_bucket, masked_key, masked_version = _masked_location(account, bucket, key, version)
                versions = (version, masked_version)
                if (masked_bucket, masked_key) != (bucket, key):
                    recs = recs + self._by_s3.get((masked_bucket, masked_key), [])
            for rec in recs:
                (exact if rec.image.version in versions else loose).append(rec)
        if image.sha256 is not None:
            exact.extend(r for r in self._by_sha.get(image.sha256, []) if r not in exact)
        found = [r for r in exact + loose if r.project_version_arn in arns]
        if key is not None and self._sidecars:
            by_key = rank_by_key(
                key,
                (r for r in self._sidecars if r.sidecar_relpath is not None),
                lambda r: r.sidecar_relpath.parts,
            )
            found.extend(r for r in by_key if r not in found)
        if len(found) > 1:
            found.sort(key=lambda r: r.project_version_arn is None)  # stable: model-specific first
        if not found and self._fallbacks:
            return self._fallback(arns, image)
        return found

    def _fallback(self, arns: tuple[str | None, ...], image: ImageRef) -> list[Recording]:
        """The recordings the opt-in fallbacks find when nothing matched (module docstring)."""
        found: list[Recording] = []
        if "pixels" in self._fallbacks and self._images is not None and image.data is not None:
            fp = self._images.request(image.data, image.sha256)
            if fp is not None:
                limit = self._images.hasher.max_distance
                for dist, near in self._images.nearest(fp):
                    if dist > limit:
                        break
                    mine = [r for r in self._by_sha.get(near.sha256, ()) if r.project_version_arn in arns]
                    mine.sort(key=lambda r: r.project_version_arn is None)
                    found.extend(r for r in mine if r not in found)
        if not found and "default" in self._fallbacks:
            found = [r for r in self._defaults if r.project_version_arn in arns]
        return found

    def not_found_hint(self, project_version_arn: str, image: ImageRef) -> str:
        """What the not-found message adds when a fallback would help, or could not: a recording of
        this model is of an image of the same size (then the pixel match is suggested, or, when on,
        how far the nearest image of that size was), or this model has a default answer that is not
        switched on. Empty when there is nothing to say; else starts with a space."""
        self._load()
        arns = _model_keys(project_version_arn)[0]
        parts: list[str] = []
        size = _size_of(image.data)
        if size is not None:
            width, height = size
            same = [r for r in self._load() if r.project_version_arn in arns and (r.width, r.height) == size]
            if same:
                same.sort(key=lambda r: r.project_version_arn is None)  # stable: the model's own first
                more = f" and {len(same) - 1} more" if len(same) > 1 else ""
                said = (
                    f"A recording for this model is of an image of the same size, {width}x{height} "
                    f"({same[0].path}{more})"
                )
                if "pixels" not in self._fallbacks:
                    limit = "" if self._images is None else f" within {self._images.hasher.max_distance} bits"
                    parts.append(
                        f"{said}: if the image was re-encoded before it was sent (AWS's local-image "
                        f"sample re-saves it with PIL; its video sample JPEG-encodes frames), its bytes "
                        f"never match a recording; match by pixels instead ({self._match_hint('pixels')}: "
                        f"the same size and a perceptual hash{limit})."
                    )
                else:
                    parts.append(f"{said}, {self._pixel_verdict(image, width, height)}.")
        if "default" not in self._fallbacks:
            declared = [r for r in self._defaults if r.project_version_arn in arns]
            if declared:
                parts.append(
                    f"The model's default answer {declared[0].path} answers only when switched on: "
                    f"{self._match_hint('default')} (or pixels,default)."
                )
        return "".join(" " + part for part in parts)

    def _pixel_verdict(self, image: ImageRef, width: int, height: int) -> str:
        """Why the pixel match found nothing among the images of this size."""
        assert self._images is not None
        limit = self._images.hasher.max_distance
        fp = self._images.request(image.data, image.sha256)
        nearest = [] if fp is None else self._images.nearest(fp)
        if fp is None:
            return "but the image sent does not decode, so the pixel match cannot compare it"
        if not nearest:
            return (
                f"but no image file of {width}x{height} lies in the recordings folders, so the pixel match "
                f"has nothing to compare: put the image each recording was made from anywhere in its folder"
            )
        dist, near = nearest[0]
        if dist > limit:
            return (
                f"but the nearest image of that size, {near.path}, is {dist} bits from it by perceptual hash "
                f"and the pixel match takes up to {limit}: another picture"
            )
        return f"and the image {near.path} is {dist} bits from it, but no recording for this model is of it"

    def describe(self) -> str:
        return ", ".join(str(d) for d in self.dirs) or "(no folders)"


def _size_of(data: Any) -> tuple[int, int] | None:
    """(width, height) from the header of image bytes; None without bytes or a readable header."""
    if data is None:
        return None
    try:
        info = read_image_info(data if isinstance(data, bytes) else bytes(data))
    except (NotAnImage, TypeError, ValueError):
        return None
    return info.width, info.height


@functools.lru_cache(maxsize=1024)  # on the detect path: the same few ARNs, call after call
def _model_keys(arn: str) -> tuple[tuple[str | None, ...], str | None]:
    """The model ARNs a recording may name to answer for ``arn`` (itself; masked in the account field
    only, as record mode once did; masked everywhere, as it does now; None: a plain response), and
    the account id to mask in the S3 object (None: nothing to mask)."""
    arns = tuple(dict.fromkeys((arn, mask_account(arn), mask_arn(arn)))) + (None,)
    return arns, account_of(arn)


@functools.lru_cache(maxsize=1024)  # a test asks for the same few objects, call after call
def _masked_location(account: str, bucket: str, key: str, version: str | None) -> tuple[str, str, str | None]:
    """An S3 object's bucket, key and version with ``account`` masked, as record mode saves them."""
    masked: list[Any] = mask_account_everywhere([bucket, key, version], account)
    return masked[0], masked[1], masked[2]
