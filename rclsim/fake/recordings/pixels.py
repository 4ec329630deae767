"""The images of a store's folders by their pixels: what the opt-in pixel match compares a request to.

Every PNG/JPEG file under a recordings folder (``.png``/``.jpg``/``.jpeg``, any case, any depth) is
an image some recording may have been made from: the image beside a plain response ``NAME.json``,
or, for a recording, any file whose bytes have the recording's ``Sha256`` (record mode saves no image,
so the user drops the image anywhere in the folder, under any name). A request that no recording
matches by its bytes is compared with each image of the same width and height by perceptual hash; the
images within the hasher's distance stand for the request, nearest first, and the recordings of their
sha256 answer it as if those exact bytes had been sent.

Cost: nothing until a pixel match is needed. Then each image file is read and hashed once per process
while its stamp is unchanged (:func:`rclsim.caches.kept.kept`, the one staleness rule for files), and
its hash is also kept in the user's cache folder under the sha256 of its bytes and the hasher's name,
so a later process only reads the file (about a millisecond for a photo, against several to decode
it). A file that does not decode is skipped; it can still answer by its bytes.

The hasher is handed in (:class:`PixelHasher`; :data:`rclsim.data.phash.PHASH`): the fake core's layer
may not import OpenCV.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rclsim.caches.kept import kept
from rclsim.caches.verdicts import cache_dir
from rclsim.fake.recordings.answer_files import IMAGE_EXTENSIONS
from rclsim.service.errors import RclsimError

__all__ = ["PixelHasher", "ImageFile", "FolderImages"]


class PixelHasher(Protocol):
    """What the pixel match needs of a perceptual hash (:class:`rclsim.data.phash.PerceptualHash`)."""

    name: str  # changes whenever the hash of an image would: it names the cached hashes
    max_distance: int  # the largest distance still taken for the same picture

    def fingerprint(self, data: Any) -> tuple[int, int, int] | None:
        """(width, height, hash bits) of image bytes; None when they do not decode."""
        ...

    def distance(self, a: int, b: int) -> int: ...


@dataclass(frozen=True)
class ImageFile:
    """One image file of a recordings folder, by its pixels."""

    path: Path
    sha256: str
    width: int
    height: int
    bits: int


#: Requests' hashes kept per store (by the sha256 of their bytes): a test sends the same few images.
_KEPT_REQUESTS = 16


class FolderImages:
    """The image files under some folders, hashed on first use (see the module docstring)."""

    def __init__(self, roots: Iterable[Path], hasher: PixelHasher) -> None:
        self.roots = list(roots)
        self.hasher = hasher
        self._images: list[ImageFile] | None = None
        self._by_size: dict[tuple[int, int], list[ImageFile]] = {}
        self._requests: OrderedDict[str, tuple[int, int, int] | None] = OrderedDict()
        self._lock = threading.Lock()

    def _load(self) -> dict[tuple[int, int], list[ImageFile]]:
        if self._images is None:
            with self._lock:
                if self._images is None:
                    images = [image for root in self.roots for image in self._scan(root)]
                    for image in images:
                        self._by_size.setdefault((image.width, image.height), []).append(image)
                    self._images = images
        return self._by_size

    def _scan(self, root: Path) -> list[ImageFile]:
        found: list[ImageFile] = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                    path = Path(dirpath) / name
                    image = kept(f"pixels:{self.hasher.name}", path, functools.partial(self._hash_file, path))
                    if image is not None:
                        found.append(image)
        return found

    def _hash_file(self, path: Path) -> ImageFile | None:
        try:
            data = path.read_bytes()
        except OSError:
            return None  # unreadable: the folder's index reports it if a response depends on it
        sha = hashlib.sha256(data).hexdigest()
        cached = self._cache_path(sha)
        try:
            width, height, bits = (int(part) for part in cached.read_text("ascii").split())
            return ImageFile(path, sha, width, height, bits)
        except (OSError, ValueError):
            pass
        fp = self.hasher.fingerprint(data)
        if fp is None:
            return None
        width, height, bits = fp
        try:
            from rclsim.service.files import write_atomically

            cached.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(cached, f"{width} {height} {bits}".encode("ascii"), overwrite=True)
        except (OSError, RclsimError):
            pass  # only a cache: the next process hashes the file again
        return ImageFile(path, sha, width, height, bits)

    def _cache_path(self, sha: str) -> Path:
        return cache_dir() / "pixels" / f"{self.hasher.name}-{sha}"

    def request(self, data: Any, sha256: str | None) -> tuple[int, int, int] | None:
        """(width, height, bits) of a request's bytes, kept by their sha256 for the next request."""
        key = sha256 or hashlib.sha256(data).hexdigest()
        with self._lock:
            if key in self._requests:
                self._requests.move_to_end(key)
                return self._requests[key]
        fp = self.hasher.fingerprint(data)
        with self._lock:
            self._requests[key] = fp
            if len(self._requests) > _KEPT_REQUESTS:
                self._requests.popitem(last=False)
        return fp

    def of_size(self, width: int, height: int) -> list[ImageFile]:
        return list(self._load().get((width, height), ()))

    def nearest(self, fp: tuple[int, int, int]) -> list[tuple[int, ImageFile]]:
        """The images of the same size as ``fp``, each with its distance, nearest first (then folder
        order)."""
        width, height, bits = fp
        scored = [(self.hasher.distance(bits, image.bits), image) for image in self.of_size(width, height)]
        return sorted(scored, key=lambda pair: pair[0])
