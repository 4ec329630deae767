"""rclsim serve under requests that are not Rekognition's, malformed HTTP, hostile JSON and load.

Every answer is an HTTP response with the service's error shape (a JSON body with ``__type`` and
``Message``, an ``x-amzn-RequestId`` header), whatever reached the endpoint; the server never answers
200 to something that is not a Rekognition request, never 5xx for bad input, and never drops a
connection without an answer.
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import rclsim
from rclsim.frontends import wire
from rclsim.frontends.server import FakeServer

from .conftest import ARTICLE_ARN

DETECT = "RekognitionService.DetectCustomLabels"


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer(rclsim.get_backend("replay"), "127.0.0.1", 0) as srv:  # type: ignore[arg-type]
        yield srv


def exchange(server: FakeServer, data: bytes, method: str = "POST") -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read one HTTP response (headers lower-cased)."""
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=10) as sock:
        sock.sendall(data)
        resp = http.client.HTTPResponse(sock, method=method)
        resp.begin()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body


def post(server: FakeServer, target: str | None, body: bytes) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    headers = {"Content-Type": wire.CONTENT_TYPE}
    if target is not None:
        headers["X-Amz-Target"] = target
    conn.request("POST", "/", body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data


def aws_error(status: int, headers: dict[str, str], body: bytes) -> str:
    """The error code of an AWS-shaped error answer (asserting its shape)."""
    assert 400 <= status < 600, (status, body)
    assert headers.get("x-amzn-requestid"), headers
    assert headers.get("content-type") == wire.CONTENT_TYPE, headers
    doc = json.loads(body)
    assert set(doc) == {"__type", "Message"} and doc["Message"], doc
    return str(doc["__type"])


def still_serving(server: FakeServer) -> bool:
    return post(server, "RekognitionService.DescribeProjects", b"{}")[0] == 200


# -- 1. only Rekognition's protocol ---------------------------------------------------------------
@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /my-bucket/test-qiita/9c5f2a31335627a0.jpg HTTP/1.1\r\nHost: x\r\n\r\n",  # S3 GetObject
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"PUT /my-bucket/key HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        b"DELETE /my-bucket/key HTTP/1.1\r\nHost: x\r\n\r\n",
        b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
        b"PATCH / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    ],
)
def test_requests_that_are_not_rekognitions_get_405_unknown_operation(
    server: FakeServer, request_bytes: bytes
) -> None:
    status, headers, body = exchange(server, request_bytes)
    assert status == 405 and headers.get("allow") == "POST"
    assert aws_error(status, headers, body) == "UnknownOperationException"
    assert "AWS_ENDPOINT_URL_REKOGNITION" in json.loads(body)["Message"]
    assert still_serving(server)


def test_head_gets_405_headers_without_a_body(server: FakeServer) -> None:
    status, headers, body = exchange(server, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", method="HEAD")
    assert status == 405 and body == b"" and headers.get("x-amzn-requestid")


def test_an_s3_client_sent_here_by_a_global_endpoint_gets_an_error_not_a_banner(server: FakeServer) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=server.url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}),
    )
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket="my-bucket", Key="test-qiita/9c5f2a31335627a0.jpg")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 405
    with pytest.raises(ClientError) as info:  # S3's POSTs carry no X-Amz-Target
        s3.delete_objects(Bucket="my-bucket", Delete={"Objects": [{"Key": "a"}]})
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_post_without_a_target_says_how_to_point_only_rekognition_here(server: FakeServer) -> None:
    status, headers, body = post(server, None, b"<Delete/>")
    assert aws_error(status, headers, body) == "UnknownOperationException"
    assert "AWS_ENDPOINT_URL_REKOGNITION" in json.loads(body)["Message"]


# -- 2. errors of the HTTP layer ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414, "SerializationException"),
        (b"POST / HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n", 431, "SerializationException"),
        (
            b"POST / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(120)) + b"\r\n",
            431,
            "SerializationException",
        ),
        (b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n", 501, "UnknownOperationException"),
        (b"POST / HTTP/x.y\r\n\r\n", 400, "SerializationException"),
        (b"POST / HTTP/1.1 extra\r\n\r\n", 400, "SerializationException"),
        (b"POST / HTTP/2.0\r\n\r\n", 505, "SerializationException"),
        (b"GET /\r\n\r\n", 400, "SerializationException"),  # HTTP/0.9
        (b"nonsense\r\n\r\n", 400, "SerializationException"),
        (b"\x00\xff\xfe garbage \x80\r\n\r\n", 400, "SerializationException"),
    ],
)
def test_http_layer_errors_are_aws_shaped_json(
    server: FakeServer, request_bytes: bytes, status: int, code: str
) -> None:
    got_status, headers, body = exchange(server, request_bytes)
    assert got_status == status, body
    assert aws_error(got_status, headers, body) == code
    assert headers.get("connection") == "close"
    assert still_serving(server)


# -- 3. an image too large ------------------------------------------------------------------------
def test_a_body_over_the_limit_is_image_too_large_without_being_read(server: FakeServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    conn.putrequest("POST", "/")
    conn.putheader("X-Amz-Target", DETECT)
    conn.putheader("Content-Length", str(10**12))  # never sent: the answer comes from the headers
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    assert resp.status == 400
    assert aws_error(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body) == (
        "ImageTooLargeException"
    )
    conn.close()
    assert still_serving(server)


def test_image_too_large_through_serve_as_through_the_drop_in(
    server: FakeServer, article_image_bytes: bytes
) -> None:
    """A 7 MiB image: its request body is over the endpoint's limit (it is sent, then refused), and
    the client sees the same error as in-process; a 5 MiB one is read and refused by the core."""
    client = boto3.client(
        "rekognition",
        endpoint_url=server.url,
        region_name="ap-northeast-1",
        config=Config(retries={"total_max_attempts": 1}),
    )
    client.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    for size in (5, 7):
        image = article_image_bytes + b"\0" * (size * 1024 * 1024 - len(article_image_bytes))
        with pytest.raises(client.exceptions.ImageTooLargeException) as over_wire:
            client.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image={"Bytes": image})
        assert over_wire.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        with rclsim.mock():
            local = boto3.client("rekognition", region_name="ap-northeast-1")
            local.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
            with pytest.raises(local.exceptions.ImageTooLargeException):
                local.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image={"Bytes": image})
    assert still_serving(server)


def test_a_large_body_of_another_operation_is_a_validation_error(server: FakeServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    conn.putrequest("POST", "/")
    conn.putheader("X-Amz-Target", "RekognitionService.DescribeProjects")
    conn.putheader("Content-Length", str(9 * 1024 * 1024))
    conn.endheaders()
    resp = conn.getresponse()
    assert aws_error(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()) == (
        "ValidationException"
    )
    conn.close()


# -- 4. JSON null -----------------------------------------------------------------------------------
def recording_call() -> tuple[list[dict[str, Any]], wire.Call]:
    seen: list[dict[str, Any]] = []

    def call(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        seen.append(params)
        return {}

    return seen, call


def test_the_wire_treats_a_null_member_as_absent() -> None:
    seen, call = recording_call()
    body = b'{"ProjectVersionArn": "arn", "Image": {"Bytes": null, "S3Object": null}, "MinConfidence": null}'
    assert wire.handle(DETECT, body, call).status == 200
    assert seen == [{"ProjectVersionArn": "arn", "Image": {}}]


def test_the_wire_refuses_null_in_a_list() -> None:
    seen, call = recording_call()
    answer = wire.handle("RekognitionService.DescribeProjects", b'{"ProjectNames": ["a", null]}', call)
    assert answer.status == 400 and seen == []
    assert json.loads(answer.body)["__type"] == "SerializationException"
    assert "ProjectNames[1]" in json.loads(answer.body)["Message"]


def test_null_image_bytes_through_serve_is_the_services_4xx(server: FakeServer) -> None:
    body = json.dumps({"ProjectVersionArn": ARTICLE_ARN, "Image": {"Bytes": None}}).encode()
    status, headers, data = post(server, DETECT, body)
    assert status == 400
    assert aws_error(status, headers, data) in ("InvalidParameterException", "ValidationException")


# -- 5. lone surrogates ---------------------------------------------------------------------------
def test_a_lone_surrogate_gets_a_json_answer(server: FakeServer) -> None:
    body = b'{"ProjectVersionArn": "\\ud800", "Image": {"S3Object": {"Bucket": "b", "Name": "\\udfff"}}}'
    status, headers, data = post(server, DETECT, body)
    assert aws_error(status, headers, data) in ("ValidationException", "InvalidParameterException")
    assert still_serving(server)


def test_answers_with_lone_surrogates_are_valid_json() -> None:
    answer = wire.error_response("ValidationException", "value '\ud800' is bad")
    assert json.loads(answer.body)["Message"] == "value '\ud800' is bad"
    assert json.loads(wire.encode_result({"Name": "x\udfff"})) == {"Name": "x\udfff"}
    assert wire.encode_result({"Name": "ラベル"}) == '{"Name":"ラベル"}'.encode()  # still UTF-8 as is


# -- 6. deep nesting --------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [wire.MAX_JSON_DEPTH + 1, 980, 100_000])
def test_over_deep_bodies_are_refused_before_parsing(server: FakeServer, depth: int) -> None:
    body = b'{"ProjectVersionArn": "a", "Image": ' + b"[" * depth + b"]" * depth + b"}"
    status, headers, data = post(server, DETECT, body)
    assert status == 400 and aws_error(status, headers, data) == "SerializationException"
    assert f"{wire.MAX_JSON_DEPTH} levels" in json.loads(data)["Message"]


def test_the_depth_limit_counts_brackets_of_json_not_of_strings() -> None:
    seen, call = recording_call()
    inside = wire.MAX_JSON_DEPTH - 1  # the body's own object is one level
    ok = b'{"X": ' + b"[" * inside + b"]" * inside + b', "S": "' + b"[{" * 500 + b'\\"[[["}'
    assert wire.handle(DETECT, ok, call).status == 200 and len(seen) == 1
    for too_deep in (
        b'{"X": ' + b"[" * (inside + 1) + b"]" * (inside + 1) + b"}",
        b'{"X": ' + b'{"a": ' * (inside + 1) + b"1" + b"}" * (inside + 1) + b"}",
    ):
        answer = wire.handle(DETECT, too_deep, call)
        assert answer.status == 400 and json.loads(answer.body)["__type"] == "SerializationException"
    assert len(seen) == 1


# -- 7. load, idle connections, leaving clients, SIGTERM -----------------------------------------
def test_a_burst_of_200_connections_is_queued_not_dropped() -> None:
    srv = FakeServer(rclsim.get_backend("replay"), "127.0.0.1", 0)  # type: ignore[arg-type]
    socks: list[socket.socket] = []
    serving = False
    try:
        # Not serving yet: every connection waits in the listen queue, none is refused or stalled.
        for _ in range(200):
            socks.append(socket.create_connection(("127.0.0.1", srv.server_address[1]), timeout=2))
        srv.start_in_thread()
        serving = True
        request = b"POST / HTTP/1.1\r\nX-Amz-Target: RekognitionService.DescribeProjects\r\n"
        request += b"Content-Length: 2\r\nConnection: close\r\n\r\n{}"
        for sock in socks:
            sock.sendall(request)
        for sock in socks:
            resp = http.client.HTTPResponse(sock)
            resp.begin()
            assert resp.status == 200
            resp.read()
    finally:
        for sock in socks:
            sock.close()
        if serving:
            srv.stop()
        else:
            srv.server_close()


def test_idle_keep_alive_connections_are_closed(article_image_bytes: bytes) -> None:
    with FakeServer(rclsim.get_backend("replay"), "127.0.0.1", 0, idle_timeout=0.3) as srv:  # type: ignore[arg-type]
        conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=10)
        conn.request("POST", "/", b"{}", {"X-Amz-Target": "RekognitionService.DescribeProjects"})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200
        assert conn.sock is not None
        conn.sock.settimeout(5)
        started = time.monotonic()
        assert conn.sock.recv(1) == b""  # the server closed the idle connection
        assert time.monotonic() - started < 3
        conn.close()
    assert FakeServer.idle_timeout >= 5 and FakeServer.request_queue_size >= 200  # the defaults


def test_a_body_shorter_than_its_content_length_gets_an_answer_after_the_idle_timeout() -> None:
    with FakeServer(rclsim.get_backend("replay"), "127.0.0.1", 0, idle_timeout=0.3) as srv:  # type: ignore[arg-type]
        data = b"POST / HTTP/1.1\r\nX-Amz-Target: RekognitionService.DescribeProjects\r\n"
        status, headers, body = exchange(srv, data + b"Content-Length: 10\r\n\r\n{}")
        assert status == 408 and aws_error(status, headers, body) == "RequestTimeoutException"
        assert headers.get("connection") == "close"


def test_a_client_leaving_mid_answer_leaves_no_traceback(
    server: FakeServer, capfd: pytest.CaptureFixture[str]
) -> None:
    request = b"POST / HTTP/1.1\r\nX-Amz-Target: RekognitionService.DescribeProjects\r\n"
    request += b"Content-Length: 2\r\n\r\n{}"
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=10)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.sendall(request * 200)  # pipelined: answers keep coming after the reset
        sock.close()  # with linger 0: a reset
    time.sleep(0.5)
    assert still_serving(server)
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err and "Error" not in captured.err, captured.err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_stops_rclsim_serve_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    exe = Path(sys.executable).parent / "rclsim"
    proc = subprocess.Popen(
        [str(exe), "serve", "--port", "0", "--state-dir", str(tmp_path)],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "serving the fake Rekognition on http://127.0.0.1:" in line
        url = line.split(" on ", 1)[1].split()[0]
        client = boto3.client("rekognition", endpoint_url=url, region_name="ap-northeast-1")
        assert client.describe_projects()["ProjectDescriptions"]
        client.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopp" in err and "Traceback" not in err
    assert not (tmp_path / "state.sqlite3-journal").exists()
    backend = rclsim.get_backend("replay", state_dir=tmp_path)
    try:  # what the server did is kept
        status = backend.describe_project_versions(ProjectArn=rclsim.ARTICLE_PROJECT_ARN)
        assert {v["Status"] for v in status["ProjectVersionDescriptions"]} & {"STARTING", "RUNNING"}
    finally:
        backend.close()  # type: ignore[attr-defined]


def test_concurrent_requests_still_answer_during_a_flood_of_bad_ones(server: FakeServer) -> None:
    errors: list[BaseException] = []

    def bad() -> None:
        try:
            for _ in range(20):
                exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=bad) for _ in range(5)]
    for t in threads:
        t.start()
    assert still_serving(server)
    for t in threads:
        t.join(30)
    assert errors == []


def test_only_a_sigv4_credential_scope_names_the_region(server: FakeServer) -> None:
    """A SigV4A header (no region in its scope) is answered as unsigned: every region's models."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    body = json.dumps({"ProjectArn": rclsim.ARTICLE_PROJECT_ARN}).encode()
    conn.request(
        "POST",
        "/",
        body,
        {
            "X-Amz-Target": "RekognitionService.DescribeProjectVersions",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": "AWS4-ECDSA-P256-SHA256 Credential=AKID/20240101/rekognition/aws4_request, "
            "SignedHeaders=host, Signature=00",
        },
    )
    answer = conn.getresponse()
    assert answer.status == 200, answer.read()
    conn.close()
