"""rclsim serve: the wire protocol on loopback, driven by boto3, raw HTTP and the real AWS CLI."""

from __future__ import annotations

import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

import rclsim
from rclsim.frontends.server import FakeServer

from .conftest import ARTICLE_ARN, ARTICLE_S3, DATA

PROJECT = rclsim.ARTICLE_PROJECT_ARN
FILTERED_75 = json.loads((DATA / "article_filtered_min_confidence_75.json").read_text())
IMAGE_JSON = '{"S3Object": {"Bucket": "my-bucket","Name": "test-qiita/9c5f2a31335627a0.jpg"}}'


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer(rclsim.get_backend("replay"), "127.0.0.1", 0) as srv:  # type: ignore[arg-type]
        yield srv


def client_for(server: FakeServer, **config: object):  # type: ignore[no-untyped-def]
    return boto3.client(
        "rekognition",
        endpoint_url=server.url,
        region_name="ap-northeast-1",
        config=Config(retries={"total_max_attempts": 1}, **config),
    )  # type: ignore[arg-type]


def post(
    server: FakeServer, target: str | None, body: bytes, conn: http.client.HTTPConnection | None = None
) -> tuple[int, dict, bytes]:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target is not None:
        headers["X-Amz-Target"] = target
    conn.request("POST", "/", body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    if own:
        conn.close()
    return resp.status, dict(resp.getheaders()), data


def test_boto3_runs_the_articles_sequence(server: FakeServer) -> None:
    client = client_for(server)
    with pytest.raises(client.exceptions.ResourceNotReadyException):
        client.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)
    client.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    client.get_waiter("project_version_running").wait(
        ProjectArn=PROJECT, VersionNames=["licence-plates.2021-01-01T00.00.00"]
    )
    response = client.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3, MinConfidence=75)
    assert response["CustomLabels"] == FILTERED_75["CustomLabels"]
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/x-amz-json-1.1"
    image = (DATA.parent.parent / "fixtures" / "article" / "9c5f2a31335627a0.jpg").read_bytes()
    by_bytes = client.detect_custom_labels(
        ProjectVersionArn=ARTICLE_ARN, Image={"Bytes": image}, MinConfidence=75
    )
    assert by_bytes["CustomLabels"] == FILTERED_75["CustomLabels"]
    assert client.stop_project_version(ProjectVersionArn=ARTICLE_ARN)["Status"] == "STOPPING"


def test_bodies_are_compact_json_as_the_service_sends(server: FakeServer) -> None:
    status, headers, body = post(
        server,
        "RekognitionService.StartProjectVersion",
        json.dumps({"ProjectVersionArn": ARTICLE_ARN, "MinInferenceUnits": 1}).encode(),
    )
    assert (status, body) == (200, b'{"Status":"STARTING"}')
    assert headers["Content-Length"] == str(len(body)) and headers["x-amzn-RequestId"]
    status, _, body = post(
        server,
        "RekognitionService.DetectCustomLabels",
        json.dumps({"ProjectVersionArn": ARTICLE_ARN, "Image": ARTICLE_S3, "MinConfidence": 75}).encode(),
    )
    assert body == json.dumps(FILTERED_75, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    ("target", "body", "status", "code"),
    [
        ("RekognitionService.DetectCustomLabels", b"{not json", 400, "SerializationException"),
        ("RekognitionService.DetectCustomLabels", b"[1, 2]", 400, "SerializationException"),
        (
            "RekognitionService.DetectCustomLabels",
            b'{"ProjectVersionArn": 5, "Image": {}}',
            400,
            "SerializationException",
        ),
        (
            "RekognitionService.DetectCustomLabels",
            json.dumps({"ProjectVersionArn": ARTICLE_ARN, "Image": {"Bytes": "***"}}).encode(),
            400,
            "SerializationException",
        ),
        (
            "RekognitionService.DetectCustomLabels",
            json.dumps(
                {"ProjectVersionArn": ARTICLE_ARN, "Image": ARTICLE_S3, "MinConfidence": 101}
            ).encode(),
            400,
            "ValidationException",
        ),
        ("RekognitionService.NoSuchThing", b"{}", 400, "UnknownOperationException"),
        ("RekognitionService.DetectLabels", b"{}", 400, "UnsupportedOperationException"),
        ("Other.DetectCustomLabels", b"{}", 400, "UnknownOperationException"),
        (None, b"{}", 400, "UnknownOperationException"),
    ],
)
def test_bad_requests_get_4xx_with_the_error_body(
    server: FakeServer, target: str | None, body: bytes, status: int, code: str
) -> None:
    got_status, _, got_body = post(server, target, body)
    assert got_status == status
    assert json.loads(got_body)["__type"] == code
    assert post(server, "RekognitionService.DescribeProjects", b"{}")[0] == 200  # still serving


def test_oversized_and_unsized_bodies(server: FakeServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    conn.putrequest("POST", "/")
    conn.putheader("X-Amz-Target", "RekognitionService.DetectCustomLabels")
    conn.putheader("Content-Length", str(64 * 1024 * 1024))
    conn.endheaders()  # the body is never sent: the server answers from the headers
    resp = conn.getresponse()
    assert resp.status == 400 and json.loads(resp.read())["__type"] == "ImageTooLargeException"
    conn.close()
    raw = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    raw.putrequest("POST", "/", skip_accept_encoding=True)
    raw.putheader("X-Amz-Target", "RekognitionService.DescribeProjects")
    raw.endheaders()
    resp = raw.getresponse()
    assert resp.status == 400 and json.loads(resp.read())["__type"] == "LengthRequiredException"
    raw.close()


def test_keep_alive_serves_many_requests_on_one_connection(server: FakeServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    for _ in range(5):
        status, headers, _ = post(server, "RekognitionService.DescribeProjects", b"{}", conn)
        assert status == 200 and headers.get("Connection") != "close"
    assert conn.sock is not None  # the same socket throughout
    conn.close()


def test_concurrent_starts_one_succeeds(server: FakeServer) -> None:
    results: list[str] = []
    barrier = threading.Barrier(2)

    def start() -> None:
        client = client_for(server)
        barrier.wait()
        try:
            client.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
            results.append("started")
        except client.exceptions.ResourceInUseException:
            results.append("in use")

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["in use", "started"]


def test_bounded_fuzz_never_crashes_the_server(server: FakeServer) -> None:
    """200 random bodies and targets to loopback; every answer is a well-formed HTTP response."""
    rng = random.Random(1234)
    targets = [
        "RekognitionService.DetectCustomLabels",
        "RekognitionService.StartProjectVersion",
        "RekognitionService.DescribeProjectVersions",
        "RekognitionService.X",
        "",
        "Rekognition",
    ]
    pieces = [
        b"{",
        b"}",
        b'"Image"',
        b":",
        b"[",
        b"]",
        b'"Bytes"',
        b'"S3Object"',
        b"null",
        b"1e999",
        b'"\\u0000"',
        b'"ProjectVersionArn"',
        json.dumps(ARTICLE_ARN).encode(),
        b",",
        b"\xff",
        b"-1",
        b"true",
    ]
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    deadline = time.monotonic() + 30
    for _ in range(200):
        assert time.monotonic() < deadline
        body = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        status, _, data = post(server, rng.choice(targets), body, conn)
        assert 200 <= status < 500, (status, body, data)
        if status >= 400:
            assert "__type" in json.loads(data)
    conn.close()


# -- the real AWS CLI ----------------------------------------------------------------------------
def aws(server: FakeServer, *args: str) -> subprocess.CompletedProcess[str]:
    """awscli installed in the test environment (not whatever 'aws' is on PATH)."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
    }
    return subprocess.run(
        [sys.executable, "-m", "awscli", *args, "--endpoint-url", server.url],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_the_articles_aws_cli_commands_unchanged_but_for_the_endpoint(server: FakeServer) -> None:
    started = aws(
        server,
        "rekognition",
        "start-project-version",
        "--project-version-arn",
        ARTICLE_ARN,
        "--min-inference-units",
        "1",
        "--region",
        "ap-northeast-1",
    )
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout) == {"Status": "STARTING"}
    detected = aws(
        server,
        "rekognition",
        "detect-custom-labels",
        "--project-version-arn",
        ARTICLE_ARN,
        "--image",
        IMAGE_JSON,
        "--region",
        "ap-northeast-1",
    )
    assert detected.returncode == 0, detected.stderr
    full = json.loads((DATA / "article_detect_custom_labels_response.json").read_text())
    assert json.loads(detected.stdout) == full  # the article's 31 labels, as the article printed them
    image = DATA.parent.parent / "fixtures" / "article" / "9c5f2a31335627a0.jpg"
    by_bytes = aws(
        server,
        "rekognition",
        "detect-custom-labels",
        "--project-version-arn",
        ARTICLE_ARN,
        "--image-bytes",
        f"fileb://{image}",
        "--min-confidence",
        "75",
        "--region",
        "ap-northeast-1",
    )
    assert json.loads(by_bytes.stdout) == FILTERED_75, by_bytes.stderr
    stopped = aws(
        server,
        "rekognition",
        "stop-project-version",
        "--project-version-arn",
        ARTICLE_ARN,
        "--region",
        "ap-northeast-1",
    )
    assert json.loads(stopped.stdout) == {"Status": "STOPPING"}
    not_ready = aws(
        server,
        "rekognition",
        "detect-custom-labels",
        "--project-version-arn",
        ARTICLE_ARN,
        "--image",
        IMAGE_JSON,
        "--region",
        "ap-northeast-1",
    )
    assert not_ready.returncode == 255
    assert (
        "An error occurred (ResourceNotReadyException) when calling the DetectCustomLabels operation"
        in not_ready.stderr
    )


def test_a_repeated_request_gets_the_answer_of_now_not_of_last_time(tmp_path: Path) -> None:
    """The wire reuses the JSON of an equal answer to the same request; a different answer, from the
    same bytes, is encoded afresh."""
    from rclsim.frontends.wire import encode_result, handle

    target = "RekognitionService.DetectCustomLabels"
    body = json.dumps({"ProjectVersionArn": ARTICLE_ARN, "Image": ARTICLE_S3}).encode()
    article = rclsim.get_backend("replay")
    article.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    encoded: dict = {}  # shared here on purpose: equal bytes, answers of two different fakes
    first, again = (handle(target, body, article.core.call, encoded) for _ in range(2))  # type: ignore[attr-defined]
    expected = encode_result(article.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3))
    assert first.status == again.status == 200 and first.body == again.body == expected
    recording = json.loads(
        (DATA.parent.parent / "fixtures" / "article" / "9c5f2a31335627a0.recording.json").read_text()
    )
    recording["response"]["CustomLabels"] = recording["response"]["CustomLabels"][:1]
    (tmp_path / "one.json").write_text(json.dumps(recording))
    other = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False)
    answer = handle(target, body, other.core.call, encoded)  # type: ignore[attr-defined]
    assert len(json.loads(answer.body)["CustomLabels"]) == 1
    article.stop_project_version(ProjectVersionArn=ARTICLE_ARN)
    stopped = handle(target, body, article.core.call, encoded)  # type: ignore[attr-defined]
    assert stopped.status == 400 and b"ResourceNotReadyException" in stopped.body
