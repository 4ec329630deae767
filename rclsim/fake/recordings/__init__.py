"""The recordings store: recorded DetectCustomLabels responses on disk, found by (model, image).

Two kinds of file answer requests:

* **Recordings** (``*.json`` whose ``format`` is ``rclsim.recording``): one request and its response,
  with the model ARN, region, image identity and size, the request's ``MinConfidence`` and
  ``MaxResults`` and when it was recorded. Schema: ``rclsim/service/schemadata/recording.schema.json``.
* **The article's habit**: a plain AWS response ``NAME.json`` answers for the image ``NAME.jpg`` (or
  ``.jpeg``/``.png``, in any case), for any model ARN.

* :mod:`rclsim.fake.recordings.answer_files`: which file of a folder answers which image, the one rule for
  ``rclsim detect --recordings`` and ``rclsim evaluate``/``sim fit``/``manifest write --responses``;
* :mod:`rclsim.fake.recordings.recording`: one recording (:class:`Recording`, :class:`ImageRef`), built
  from a file checked against its schema;
* :mod:`rclsim.fake.recordings.index`: the on-disk index of a folder's recordings and the in-process cache
  of folders already read;
* :mod:`rclsim.fake.recordings.store`: :class:`RecordingStore`, which finds the recordings that answer for a
  model and an image, and the built-in folder it also reads; its opt-in ``match`` fallbacks for
  re-encoded images (``pixels``, ``default``) and the not-found hint;
* :mod:`rclsim.fake.recordings.pixels`: the folders' image files by their pixels, for the pixel match
  (the perceptual hasher, :mod:`rclsim.data.phash`, is handed in: this layer may not import OpenCV).

The store hands out its data only through the core, which copies it, so no caller can change a
recording by mutating a response.
"""

from __future__ import annotations

from rclsim.fake.recordings.answer_files import (
    IMAGE_EXTENSIONS as IMAGE_EXTENSIONS,  # importable here, as before the split
)
from rclsim.fake.recordings.answer_files import (
    FolderFile,
    answer_kind,
    folder_files,
    key_name_parts,
    rank_by_key,
    read_answer_json,
)
from rclsim.fake.recordings.pixels import PixelHasher
from rclsim.fake.recordings.recording import ImageRef, Recording
from rclsim.fake.recordings.recording import (
    image_ref_from_param as image_ref_from_param,  # used by the core and the recorder
)
from rclsim.fake.recordings.recording import sha256_hex as sha256_hex
from rclsim.fake.recordings.store import (
    DEFAULT_NAME,
    MATCH_FALLBACKS,
    RecordingStore,
    builtin_recordings_dir,
    parse_match,
)

__all__ = [
    "ImageRef",
    "Recording",
    "RecordingStore",
    "builtin_recordings_dir",
    "PixelHasher",
    "parse_match",
    "MATCH_FALLBACKS",
    "DEFAULT_NAME",
    "FolderFile",
    "folder_files",
    "answer_kind",
    "key_name_parts",
    "rank_by_key",
    "read_answer_json",
]
