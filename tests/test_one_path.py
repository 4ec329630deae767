"""One way into the fake: every front-end gives the same answers, because each only encodes and decodes
around ``FakeRekognition.call``.

The same calls go through the Backend API, the CLI, the boto3 drop-in, the local endpoint and the
pytest plugin's client; their results (and errors) must be equal. The drop-in's answers are what
botocore's own parser makes of the fake's wire answer (timestamps in ``tzlocal()`` as boto3 gives them).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from dateutil.tz import tzlocal

import rclsim
from rclsim.frontends.cli import main
from rclsim.frontends.server import FakeServer

from .conftest import ARTICLE_ARN, ARTICLE_S3

pytest_plugins = ["pytester"]

PROJECT = rclsim.ARTICLE_PROJECT_ARN
VERSION = "licence-plates.2021-01-01T00.00.00"
REGION = "ap-northeast-1"
UNKNOWN_ARN = ARTICLE_ARN.replace("1609459200000", "1609459299999")

# Each entry: (operation, params). Run in this order on fresh state; errors are compared by code.
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("DetectCustomLabels", {"ProjectVersionArn": ARTICLE_ARN, "Image": ARTICLE_S3}),  # not running yet
    ("StartProjectVersion", {"ProjectVersionArn": ARTICLE_ARN, "MinInferenceUnits": 1}),
    ("DetectCustomLabels", {"ProjectVersionArn": ARTICLE_ARN, "Image": ARTICLE_S3, "MinConfidence": 75}),
    (
        "DetectCustomLabels",
        {"ProjectVersionArn": ARTICLE_ARN, "Image": ARTICLE_S3, "MinConfidence": 10, "MaxResults": 3},
    ),
    ("DetectCustomLabels", {"ProjectVersionArn": ARTICLE_ARN, "Image": ARTICLE_S3, "MinConfidence": 101}),
    ("DetectCustomLabels", {"ProjectVersionArn": UNKNOWN_ARN, "Image": ARTICLE_S3}),
    ("DescribeProjectVersions", {"ProjectArn": PROJECT, "VersionNames": [VERSION]}),
    ("DescribeProjects", {}),
    ("StopProjectVersion", {"ProjectVersionArn": ARTICLE_ARN}),
]


def _normalise(result: Any) -> Any:
    """What a caller compares: no ResponseMetadata, timestamps as instants (each front-end's own
    ``now`` differs by milliseconds, so they are rounded to the second)."""
    if isinstance(result, dict):
        return {k: _normalise(v) for k, v in result.items() if k != "ResponseMetadata"}
    if isinstance(result, list):
        return [_normalise(v) for v in result]
    if isinstance(result, dt.datetime):
        return round(result.timestamp())
    return result


def _outcome(run: Callable[[], Any]) -> Any:
    try:
        return ("ok", _normalise(run()))
    except ClientError as exc:
        return ("error", exc.response["Error"]["Code"])


def _via_client(client: Any) -> list[Any]:
    out = []
    for operation, params in CALLS:
        method = getattr(client, _snake(operation))
        out.append(_outcome(lambda m=method, p=params: m(**p)))
    return out


def _snake(operation: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")


def via_backend_api() -> list[Any]:
    backend = rclsim.get_backend("replay", state_dir=None)
    try:
        return [_outcome(lambda o=op, p=params: backend.call(o, p)) for op, params in CALLS]
    finally:
        backend.close()


def via_dropin() -> list[Any]:
    with rclsim.mock():
        return _via_client(boto3.client("rekognition", region_name=REGION))


def via_endpoint() -> list[Any]:
    with FakeServer(rclsim.get_backend("replay"), port=0) as server:
        client = boto3.client("rekognition", region_name=REGION, endpoint_url=server.url)
        return _via_client(client)


def via_cli(tmp_path: Any) -> list[Any]:
    """The CLI's JSON output, parsed back as the AWS CLI's would be by a script."""
    from botocore.model import ServiceModel  # noqa: F401 - botocore present, as for every front-end

    state = ["--state-dir", str(tmp_path / "cli-state")]
    out: list[Any] = []
    for operation, params in CALLS:
        if operation == "DescribeProjects":  # no CLI command of its own
            out.append(None)
            continue
        argv = _cli_args(operation, params) + state + ["--output", "json"]
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(argv)
        if code == 0:
            out.append(("ok", _normalise(_cli_result(operation, json.loads(stdout.getvalue())))))
        else:
            text = stderr.getvalue()
            out.append(("error", text.split("(")[1].split(")")[0] if "(" in text else text))
    return out


def _cli_args(operation: str, params: dict[str, Any]) -> list[str]:
    if operation == "DetectCustomLabels":
        argv = [
            "detect",
            "--project-version-arn",
            params["ProjectVersionArn"],
            "--image",
            json.dumps(ARTICLE_S3),
        ]
        if "MinConfidence" in params:
            argv += ["--min-confidence", str(params["MinConfidence"])]
        if "MaxResults" in params:
            argv += ["--max-results", str(params["MaxResults"])]
        return argv
    if operation == "StartProjectVersion":
        return ["start", "--project-version-arn", ARTICLE_ARN, "--min-inference-units", "1", "--no-wait"]
    if operation == "StopProjectVersion":
        return ["stop", "--project-version-arn", ARTICLE_ARN]
    if operation == "DescribeProjectVersions":
        return ["status", "--project-version-arn", ARTICLE_ARN]
    raise LookupError(operation)


def _cli_result(operation: str, data: Any) -> Any:
    return data


@pytest.fixture
def utc_and_tokyo() -> Iterator[None]:
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


def test_the_dropin_and_the_endpoint_answer_alike() -> None:
    dropin, endpoint = via_dropin(), via_endpoint()
    assert dropin == endpoint
    codes = [kind if kind == "ok" else value for kind, value in dropin]
    assert codes == [
        "ResourceNotReadyException",
        "ok",
        "ok",
        "ok",
        "ValidationException",
        "ResourceNotFoundException",
        "ok",
        "ok",
        "ok",
    ]


def test_the_backend_api_answers_as_the_dropin() -> None:
    assert via_backend_api() == via_dropin()


def test_the_dropins_timestamps_are_botocores_own_tzlocal(utc_and_tokyo: None) -> None:
    with rclsim.mock():
        client = boto3.client("rekognition", region_name=REGION)
        described = client.describe_project_versions(ProjectArn=PROJECT, VersionNames=[VERSION])
    with FakeServer(rclsim.get_backend("replay"), port=0) as server:
        wire = boto3.client("rekognition", region_name=REGION, endpoint_url=server.url)
        over_http = wire.describe_project_versions(ProjectArn=PROJECT, VersionNames=[VERSION])
    stamp = described["ProjectVersionDescriptions"][0]["CreationTimestamp"]
    http_stamp = over_http["ProjectVersionDescriptions"][0]["CreationTimestamp"]
    assert isinstance(stamp.tzinfo, tzlocal)
    assert stamp.utcoffset() == dt.timedelta(hours=9)
    assert stamp == http_stamp and stamp.tzinfo == http_stamp.tzinfo


def test_the_pytest_plugins_client_answers_as_the_dropin(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)  # the client's region, as boto3 reads it
    pytester.makepyfile(
        test_user="""
import json
from tests_expected import CALLS, run_all

def test_same(rcl_client):
    print("RESULT=" + json.dumps(run_all(rcl_client), default=str))
"""
    )
    pytester.makepyfile(
        tests_expected=f"""
import datetime as dt
from botocore.exceptions import ClientError
CALLS = {CALLS!r}

def _snake(op):
    return "".join("_" + c.lower() if c.isupper() else c for c in op).lstrip("_")

def _norm(r):
    if isinstance(r, dict):
        return {{k: _norm(v) for k, v in r.items() if k != "ResponseMetadata"}}
    if isinstance(r, list):
        return [_norm(v) for v in r]
    if isinstance(r, dt.datetime):
        return round(r.timestamp())
    return r

def run_all(client):
    out = []
    for op, params in CALLS:
        try:
            out.append(["ok", _norm(getattr(client, _snake(op))(**params))])
        except ClientError as exc:
            out.append(["error", exc.response["Error"]["Code"]])
    return out
"""
    )
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    line = next(x for x in result.outlines if "RESULT=" in x)
    assert json.loads(line.split("RESULT=", 1)[1]) == json.loads(json.dumps(via_dropin(), default=str))


def test_the_cli_answers_as_the_backend_api(tmp_path: Any) -> None:
    expected = via_backend_api()
    got = via_cli(tmp_path)
    # The CLI covers detect, start, status and stop; compare those calls.
    for (operation, _), want, have in zip(CALLS, expected, got, strict=True):
        if operation in ("DescribeProjects",):
            continue
        if operation in ("StartProjectVersion", "StopProjectVersion"):
            assert have[0] == want[0], operation
            continue
        if operation == "DescribeProjectVersions":
            assert have[0] == "ok"
            assert (
                have[1]["ProjectVersionDescriptions"][0]["Status"]
                == (want[1]["ProjectVersionDescriptions"][0]["Status"])
            )
            continue
        assert have == want, operation


# -- the region matters ------------------------------------------------------------------------------


def test_a_model_of_another_region_is_not_found_through_the_dropin() -> None:
    with rclsim.mock():
        tokyo = boto3.client("rekognition", region_name=REGION)
        virginia = boto3.client("rekognition", region_name="us-east-1")
        tokyo.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
        assert len(
            tokyo.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)["CustomLabels"]
        )
        with pytest.raises(virginia.exceptions.ResourceNotFoundException):
            virginia.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)
        with pytest.raises(virginia.exceptions.ResourceNotFoundException):
            virginia.describe_project_versions(ProjectArn=PROJECT)
        with pytest.raises(virginia.exceptions.ResourceNotFoundException):
            virginia.stop_project_version(ProjectVersionArn=ARTICLE_ARN)
        projects = virginia.describe_projects()["ProjectDescriptions"]
        assert PROJECT not in [p["ProjectArn"] for p in projects]
        assert PROJECT in [p["ProjectArn"] for p in tokyo.describe_projects()["ProjectDescriptions"]]


def test_a_model_of_another_region_is_not_found_through_the_endpoint() -> None:
    with FakeServer(rclsim.get_backend("replay"), port=0) as server:
        tokyo = boto3.client("rekognition", region_name=REGION, endpoint_url=server.url)
        virginia = boto3.client("rekognition", region_name="us-east-1", endpoint_url=server.url)
        tokyo.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
        with pytest.raises(virginia.exceptions.ResourceNotFoundException):
            virginia.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)


def test_a_backend_given_a_region_answers_only_that_regions_models() -> None:
    backend = rclsim.get_backend("replay", region="us-east-1")
    with pytest.raises(ClientError) as info:
        backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    tokyo = rclsim.get_backend("replay", region=REGION)
    tokyo.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)


def test_the_dropins_answers_are_botocores_parse_and_the_callers_own() -> None:
    """A repeated answer is botocore's parse of the same wire body, each caller's to change, with the
    ResponseMetadata botocore makes of its own headers."""
    from botocore.awsrequest import AWSResponse
    from botocore.endpoint import convert_to_response_dict
    from botocore.parsers import create_parser

    bodies: list[tuple[object, bytes]] = []
    with rclsim.mock():
        client = boto3.client("rekognition", region_name=REGION)
        client.meta.events.register(
            "after-call.rekognition.DetectCustomLabels",
            lambda http_response, **kw: bodies.append((http_response, http_response.content)),
        )
        client.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
        answers = [
            client.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3) for _ in range(3)
        ]
        answers[0]["CustomLabels"][0]["Geometry"]["BoundingBox"]["Left"] = -5.0
        answers[0]["CustomLabels"].pop()
        again = client.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)
    model = client.meta.service_model.operation_model("DetectCustomLabels")
    for (http, _), answer in zip(bodies[1:], answers[1:] + [again], strict=True):
        assert isinstance(http, AWSResponse)
        fresh = create_parser("json").parse(convert_to_response_dict(http, model), model.output_shape)
        fresh["ResponseMetadata"]["RetryAttempts"] = 0
        assert answer == fresh
    assert (
        len(again["CustomLabels"]) == 31 and again["CustomLabels"][0]["Geometry"]["BoundingBox"]["Left"] > 0
    )
    ids = {a["ResponseMetadata"]["RequestId"] for a in answers + [again]}
    assert len(ids) == 4


def test_bytes_images_sent_in_turn_each_get_their_own_answer(article_image_bytes: bytes) -> None:
    """The wire keeps a few decoded blobs; each image sent as Bytes is still answered for itself."""
    not_an_image = b"\x00" * 2048
    with rclsim.mock():
        client = boto3.client("rekognition", region_name=REGION)
        client.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
        for _ in range(3):
            got = client.detect_custom_labels(
                ProjectVersionArn=ARTICLE_ARN, Image={"Bytes": article_image_bytes}, MinConfidence=75
            )
            assert len(got["CustomLabels"]) == 2
            with pytest.raises(client.exceptions.InvalidImageFormatException):
                client.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image={"Bytes": not_an_image})


def test_record_mode_replays_only_the_live_regions_models(tmp_path: Any) -> None:
    """Record mode's replay asks as a client of the live backend's region."""
    import shutil

    from .conftest import ROOT

    shutil.copy(ROOT / "fixtures" / "article" / "9c5f2a31335627a0.recording.json", tmp_path / "a.json")
    virginia = rclsim.get_backend("aws", region="us-east-1", record_mode="none", recordings=[tmp_path])
    tokyo = rclsim.get_backend("aws", region=REGION, record_mode="none", recordings=[tmp_path])
    try:
        with pytest.raises(ClientError) as info:
            virginia.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)
        assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert len(
            tokyo.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)["CustomLabels"]
        )
    finally:
        virginia.close()
        tokyo.close()


@pytest.mark.parametrize("zones", [("America/Halifax", "America/Santiago")])
def test_timestamps_follow_a_time_zone_change(zones: tuple[str, str]) -> None:
    """Two zones with the same offsets but other daylight rules: each parse is the zone's own."""
    saved = os.environ.get("TZ")
    try:
        with rclsim.mock():
            client = boto3.client("rekognition", region_name=REGION)
            for zone in zones:
                os.environ["TZ"] = zone
                time.tzset()
                row = client.describe_project_versions(ProjectArn=PROJECT, VersionNames=[VERSION])
                stamp = row["ProjectVersionDescriptions"][0]["CreationTimestamp"]
                assert (
                    stamp.utcoffset() == dt.datetime.fromtimestamp(stamp.timestamp(), tzlocal()).utcoffset()
                )
                assert stamp.timestamp() == 1609459200
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


def test_only_blobs_an_image_check_can_pass_are_kept() -> None:
    import base64

    from rclsim.frontends import wire

    big = base64.b64encode(b"\xff" * (5 * 1024 * 1024)).decode("ascii")
    small = base64.b64encode(b"\xff" * 1024).decode("ascii")
    assert len(wire._blob(big, "Image.Bytes")) == 5 * 1024 * 1024
    assert len(wire._blob(small, "Image.Bytes")) == 1024
    assert big not in wire._BLOBS and small in wire._BLOBS
