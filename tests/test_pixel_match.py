"""Re-encoded images (issue 12): the perceptual hash, the opt-in pixel match and default answer of the
recordings store, and the not-found message that says when a recording of the same size exists.

Images are made with OpenCV: photo-like 640x480 pictures (gradients, filled shapes, noise), re-encoded
as AWS's samples do (PIL's re-save is a JPEG at quality 75; the video sample's ``cv2.imencode`` is
quality 95)."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from rclsim.data.phash import MAX_DISTANCE, PHASH, PerceptualHash, distance, fingerprint
from rclsim.fake.core import FakeRekognition, ReplaySource
from rclsim.fake.recordings import ImageRef, RecordingStore
from rclsim.service.errors import RecordingError

ARN_A = "arn:aws:rekognition:us-east-1:111122223333:project/shop/version/shop.1/1700000000000"
ARN_B = "arn:aws:rekognition:us-east-1:111122223333:project/shop/version/shop.2/1700000000001"


# -- images --------------------------------------------------------------------------------------
def photo_like(seed: int, width: int = 640, height: int = 480) -> np.ndarray:
    """A picture with what photographs have: smooth gradients, hard-edged shapes and sensor noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.zeros((height, width, 3), np.float32)
    for c in range(3):
        a, b, p = rng.uniform(-1, 1, 3)
        img[..., c] = 128 + 60 * np.sin(a * x / 90 + b * y / 70 + p * 6)
    for _ in range(int(rng.integers(8, 16))):
        color = tuple(float(v) for v in rng.uniform(0, 255, 3))
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        if rng.random() < 0.5:
            cv2.circle(img, (cx, cy), int(rng.integers(15, 120)), color, -1, cv2.LINE_AA)
        else:
            corner = (cx + int(rng.integers(20, 200)), cy + int(rng.integers(20, 160)))
            cv2.rectangle(img, (cx, cy), corner, color, -1)
    img += rng.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def encode(img: np.ndarray, ext: str, quality: int | None = None) -> bytes:
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if quality is not None else []
    ok, buf = cv2.imencode(ext, img, params)
    assert ok
    return bytes(buf.tobytes())


def decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def bits_apart(a: bytes, b: bytes) -> int:
    fa, fb = fingerprint(a), fingerprint(b)
    assert fa is not None and fb is not None
    return distance(fa.bits, fb.bits)


SEEDS = (0, 1, 2, 3, 4)


# -- the hash ------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_jpeg_reencodes_and_format_changes_stay_within_the_limit(seed: int) -> None:
    img = photo_like(seed)
    png = encode(img, ".png")
    for quality in (75, 80, 85, 90, 95):
        assert bits_apart(png, encode(img, ".jpg", quality)) <= MAX_DISTANCE
    jpeg = encode(img, ".jpg", 95)
    as_png = encode(decode(jpeg), ".png")
    assert bits_apart(jpeg, as_png) <= MAX_DISTANCE  # JPEG -> PNG
    assert bits_apart(as_png, encode(decode(as_png), ".jpg", 75)) <= MAX_DISTANCE  # PNG -> JPEG
    assert bits_apart(jpeg, encode(decode(jpeg), ".jpg", 75)) <= MAX_DISTANCE  # PIL's re-save
    same = fingerprint(png)
    assert same is not None and (same.width, same.height) == (640, 480)


@pytest.mark.parametrize("seed", SEEDS)
def test_another_picture_a_crop_and_mirror_images_are_beyond_the_limit(seed: int) -> None:
    img = photo_like(seed)
    png = encode(img, ".png")
    h, w = img.shape[:2]
    crop = cv2.resize(img[h // 10 : h - h // 10, w // 10 : w - w // 10], (w, h), interpolation=cv2.INTER_AREA)
    assert bits_apart(png, encode(photo_like(seed + 100), ".png")) > MAX_DISTANCE
    assert bits_apart(png, encode(crop, ".png")) > MAX_DISTANCE
    assert bits_apart(png, encode(np.ascontiguousarray(img[:, ::-1]), ".png")) > MAX_DISTANCE
    assert bits_apart(png, encode(np.ascontiguousarray(img[::-1]), ".png")) > MAX_DISTANCE


def test_the_size_is_the_decoded_size_and_exif_orientation_is_ignored() -> None:
    fp = fingerprint(encode(photo_like(7, 200, 90), ".jpg", 90))
    assert fp is not None and (fp.width, fp.height) == (200, 90)


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0" + b"\x00" * 40],
)
def test_bytes_that_do_not_decode_give_none(data: bytes) -> None:
    assert fingerprint(data) is None


def test_a_truncated_jpeg_never_raises() -> None:
    jpeg = encode(photo_like(3), ".jpg", 90)
    for cut in (2, 10, 200, len(jpeg) // 2):
        fingerprint(jpeg[:cut])  # None or a hash of what decoded; never an exception


def test_the_limit_must_be_a_number_of_bits() -> None:
    with pytest.raises(ValueError, match="between 0 and 64"):
        PerceptualHash(max_distance=65)


small_images = st.builds(
    lambda w, h, seed: np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8),
    st.integers(8, 48),
    st.integers(8, 48),
    st.integers(0, 2**32 - 1),
)


@settings(max_examples=40, deadline=None)
@given(small_images, small_images)
def test_distance_is_symmetric_and_zero_for_identical_bytes(a: np.ndarray, b: np.ndarray) -> None:
    pa, pb = encode(a, ".png"), encode(b, ".png")
    fa, fb = fingerprint(pa), fingerprint(pb)
    assert fa is not None and fb is not None
    assert distance(fa.bits, fb.bits) == distance(fb.bits, fa.bits)
    assert 0 <= distance(fa.bits, fb.bits) <= 64
    again = fingerprint(bytes(pa))
    assert again == fa and distance(fa.bits, again.bits) == 0


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_give_a_fingerprint_or_none(data: bytes) -> None:
    result = fingerprint(data)
    assert result is None or 0 <= result.bits < 2**64


# -- recordings folders ----------------------------------------------------------------------------
def recording(arn: str, image: bytes, labels: list[dict[str, Any]], min_confidence: float = 0) -> dict:
    fp = fingerprint(image)
    assert fp is not None
    return {
        "format": "rclsim.recording",
        "format_version": 1,
        "operation": "DetectCustomLabels",
        "recorded_at": "2024-05-01T12:00:00Z",
        "region": "us-east-1",
        "request": {"ProjectVersionArn": arn, "MinConfidence": min_confidence, "MaxResults": None},
        "image": {"Sha256": hashlib.sha256(image).hexdigest(), "Width": fp.width, "Height": fp.height},
        "response": {"CustomLabels": labels},
    }


def lab(name: str, confidence: float) -> dict[str, Any]:
    return {"Name": name, "Confidence": confidence}


def core_of(folder: Path, match: str = "sha256", pixels: Any = PHASH) -> FakeRekognition:
    store = RecordingStore([folder], include_builtin=False, match=match, pixels=pixels)
    return FakeRekognition(ReplaySource(store))


def detect(core: FakeRekognition, arn: str, image: bytes) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = core.call("DetectCustomLabels", {"ProjectVersionArn": arn, "Image": {"Bytes": image}})
    return [label["Name"] for label in out["CustomLabels"]]


def not_found(core: FakeRekognition, arn: str, image: bytes) -> str:
    with pytest.raises(ClientError) as info:
        core.call("DetectCustomLabels", {"ProjectVersionArn": arn, "Image": {"Bytes": image}})
    assert info.value.response["Error"]["Code"] == "RecordingNotFoundException"
    return str(info.value.response["Error"]["Message"])


@pytest.fixture()
def shop(tmp_path: Path) -> dict[str, Any]:
    """A folder the way users lay one out: a plain response beside its PNG (the article's habit), and
    a recording of model A whose image was dropped elsewhere in the folder under another name."""
    folder = tmp_path / "recordings"
    (folder / "plain").mkdir(parents=True)
    (folder / "frames").mkdir()
    (folder / "shop.1").mkdir()
    plain = encode(photo_like(10), ".png")
    (folder / "plain" / "shelf.png").write_bytes(plain)
    (folder / "plain" / "shelf.json").write_text(json.dumps({"CustomLabels": [lab("shelf", 91.0)]}))
    frame = encode(photo_like(11), ".jpg", 95)
    (folder / "frames" / "frame-0001.jpg").write_bytes(frame)
    rec = recording(ARN_A, frame, [lab("cart", 88.0), lab("bag", 40.0)])
    (folder / "shop.1" / "frame-0001-abc.json").write_text(json.dumps(rec))
    return {"folder": folder, "plain": plain, "frame": frame}


def pil_resave(data: bytes) -> bytes:
    """What AWS's local-image sample sends: the image decoded and saved again (PIL: JPEG quality 75)."""
    return encode(decode(data), ".jpg", 75)


def test_by_default_only_the_exact_bytes_match_and_the_message_says_a_same_size_recording_exists(
    shop: dict[str, Any],
) -> None:
    core = core_of(shop["folder"])
    assert detect(core, ARN_A, shop["frame"]) == ["cart", "bag"]
    message = not_found(core, ARN_A, pil_resave(shop["frame"]))
    assert "same size, 640x480" in message
    assert "RCLSIM_MATCH=pixels" in message and "re-saves it with PIL" in message
    assert "frame-0001-abc.json" in message
    # Another size: nothing to say about sizes.
    other = not_found(core, ARN_A, encode(photo_like(11, 320, 240), ".jpg", 90))
    assert "same size" not in other and "RCLSIM_MATCH" not in other


def test_the_default_never_decodes_pixels(shop: dict[str, Any]) -> None:
    class Refuses:
        name = "refuses"
        max_distance = 6

        def fingerprint(self, data: Any) -> Any:
            raise AssertionError("the sha256 match decoded an image")

        def distance(self, a: int, b: int) -> int:
            raise AssertionError("the sha256 match compared hashes")

    core = core_of(shop["folder"], pixels=Refuses())
    assert detect(core, ARN_A, shop["frame"]) == ["cart", "bag"]
    not_found(core, ARN_A, pil_resave(shop["frame"]))


@pytest.mark.parametrize("quality", [75, 85, 95])
def test_pixel_match_answers_a_reencoded_frame_with_its_recording(shop: dict[str, Any], quality: int) -> None:
    core = core_of(shop["folder"], match="pixels")
    resent = encode(decode(shop["frame"]), ".jpg", quality)
    assert hashlib.sha256(resent).digest() != hashlib.sha256(shop["frame"]).digest()
    assert detect(core, ARN_A, resent) == ["cart", "bag"]
    # The recording is model A's: model B is not answered by it.
    assert "shop.2" in not_found(core, ARN_B, resent)


def test_pixel_match_answers_a_png_turned_jpeg_with_the_plain_response_for_any_model(
    shop: dict[str, Any],
) -> None:
    core = core_of(shop["folder"], match="pixels")
    as_jpeg = encode(decode(shop["plain"]), ".jpg", 75)
    assert detect(core, ARN_A, as_jpeg) == ["shelf"]
    assert detect(core, ARN_B, as_jpeg) == ["shelf"]


def test_pixel_match_does_not_answer_another_picture_and_says_how_far_it_was(shop: dict[str, Any]) -> None:
    core = core_of(shop["folder"], match="pixels")
    message = not_found(core, ARN_A, encode(photo_like(12), ".jpg", 90))
    assert "same size, 640x480" in message and "bits" in message and f"up to {MAX_DISTANCE}" in message
    mirrored = encode(np.ascontiguousarray(decode(shop["frame"])[:, ::-1]), ".jpg", 90)
    not_found(core, ARN_A, mirrored)
    # The same picture at another size is not the recorded image.
    smaller = encode(cv2.resize(decode(shop["frame"]), (320, 240), interpolation=cv2.INTER_AREA), ".jpg", 90)
    not_found(core, ARN_A, smaller)


def test_pixel_match_says_when_a_recordings_image_is_not_in_the_folder(tmp_path: Path) -> None:
    frame = encode(photo_like(13), ".jpg", 95)
    (tmp_path / "r.json").write_text(json.dumps(recording(ARN_A, frame, [lab("cart", 80.0)])))
    message = not_found(core_of(tmp_path, match="pixels"), ARN_A, pil_resave(frame))
    assert "same size" in message and "no image" in message
    (tmp_path / "the-frame.jpg").write_bytes(frame)  # the image it was recorded from, under any name
    assert detect(core_of(tmp_path, match="pixels"), ARN_A, pil_resave(frame)) == ["cart"]


def test_the_exact_match_comes_first_and_the_nearest_picture_next(tmp_path: Path) -> None:
    a = encode(photo_like(20), ".png")
    b = encode(photo_like(21), ".png")
    (tmp_path / "a.png").write_bytes(a)
    (tmp_path / "a.json").write_text(json.dumps({"CustomLabels": [lab("a", 90.0)]}))
    (tmp_path / "b.png").write_bytes(b)
    (tmp_path / "b.json").write_text(json.dumps({"CustomLabels": [lab("b", 90.0)]}))
    core = core_of(tmp_path, match="pixels")
    assert detect(core, ARN_A, a) == ["a"] and detect(core, ARN_A, b) == ["b"]
    assert detect(core, ARN_A, pil_resave(a)) == ["a"] and detect(core, ARN_A, pil_resave(b)) == ["b"]


def test_a_default_json_recording_answers_its_model_only_when_opted_in(shop: dict[str, Any]) -> None:
    folder = shop["folder"]
    anything = encode(photo_like(30, 300, 200), ".jpg", 90)
    default = recording(ARN_A, encode(photo_like(31), ".png"), [lab("nothing-recorded", 50.0)])
    (folder / "shop.1" / "default.json").write_text(json.dumps(default))
    message = not_found(core_of(folder), ARN_A, anything)
    assert "default.json" in message and "RCLSIM_MATCH=default" in message
    core = core_of(folder, match="default")
    assert detect(core, ARN_A, anything) == ["nothing-recorded"]
    assert detect(core, ARN_A, shop["frame"]) == ["cart", "bag"]  # a recording still comes first
    not_found(core, ARN_B, anything)  # another model's default is not this one's
    both = core_of(folder, match="pixels,default")
    assert detect(both, ARN_A, pil_resave(shop["frame"])) == ["cart", "bag"]  # pixels before the default
    assert detect(both, ARN_A, anything) == ["nothing-recorded"]
    s3 = {"S3Object": {"Bucket": "shop-bucket", "Name": "never/recorded.jpg"}}
    out = core.call("DetectCustomLabels", {"ProjectVersionArn": ARN_A, "Image": s3})
    assert [x["Name"] for x in out["CustomLabels"]] == ["nothing-recorded"]


def test_a_plain_default_json_answers_every_model(tmp_path: Path) -> None:
    (tmp_path / "default.json").write_text(json.dumps({"CustomLabels": [lab("fallback", 60.0)]}))
    core = core_of(tmp_path, match="default")
    image = encode(photo_like(40), ".jpg", 90)
    assert detect(core, ARN_A, image) == ["fallback"] and detect(core, ARN_B, image) == ["fallback"]


@pytest.mark.parametrize(
    ("match", "fragment"),
    [("pixel", "'pixel'"), ("", "one of"), ("sha256,nope", "'nope'")],
)
def test_a_bad_match_value_is_refused_with_the_values_it_takes(
    tmp_path: Path, match: str, fragment: str
) -> None:
    with pytest.raises(RecordingError, match=fragment) as info:
        RecordingStore([tmp_path], include_builtin=False, match=match, pixels=PHASH)
    assert "pixels" in str(info.value) and "default" in str(info.value)


def test_pixels_without_a_hasher_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="hasher"):
        RecordingStore([tmp_path], include_builtin=False, match="pixels")


def test_the_store_names_its_match(tmp_path: Path) -> None:
    assert RecordingStore([tmp_path], include_builtin=False).match == "sha256"
    both = RecordingStore([tmp_path], include_builtin=False, match=" default , pixels ", pixels=PHASH)
    assert both.match == "pixels,default"


def test_image_hashes_are_computed_once_per_file_and_again_when_it_changes(
    shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rclsim.caches.kept import forget_all

    calls: list[int] = []

    class Counting(PerceptualHash):
        name = "counting-" + PerceptualHash.name

        def fingerprint(self, data: Any) -> Any:
            calls.append(len(data))
            return super().fingerprint(data)

    counting = Counting()
    resent = pil_resave(shop["frame"])
    assert detect(core_of(shop["folder"], "pixels", counting), ARN_A, resent) == ["cart", "bag"]
    first = len(calls)
    assert first == 3  # the two images of the folder, and the request
    assert detect(core_of(shop["folder"], "pixels", counting), ARN_A, resent) == ["cart", "bag"]
    assert len(calls) == first + 1  # a new store: only the request is hashed again
    forget_all()  # as a new process: the hashes come from the cache folder
    assert detect(core_of(shop["folder"], "pixels", counting), ARN_A, resent) == ["cart", "bag"]
    assert len(calls) == first + 2
    # The frame is replaced by another picture: hashed again, and the old match is gone.
    (shop["folder"] / "frames" / "frame-0001.jpg").write_bytes(encode(photo_like(50), ".jpg", 95))
    not_found(core_of(shop["folder"], "pixels", counting), ARN_A, resent)


def test_image_ref_keeps_the_bytes_out_of_equality_and_repr() -> None:
    a = ImageRef(sha256="x", data=b"first-bytes")
    b = ImageRef(sha256="x", data=b"second-bytes")
    assert a == b and hash(a) == hash(b) and "first-bytes" not in repr(a)
