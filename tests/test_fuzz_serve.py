"""Fuzz ``rclsim serve`` over loopback: whatever arrives, an HTTP answer in the service's shape.

A server is started in the test (the article's model running, state in memory) and gets fuzzed
request lines, targets, headers and bodies: JSON shaped like each operation's input (from botocore's
model, so the fuzz reaches past the first type check) with wrong types, nulls, lone surrogates, huge
numbers (``1e400``, ``10**400``), deep nesting, and raw bytes. Requests are written as raw bytes on a
socket and answers read with ``http.client`` (so the bytes are exactly the fuzz's). Every answer must:

* arrive (no connection dropped without an answer);
* carry ``x-amzn-RequestId``;
* never be a 5xx from the fake's own code (``InternalServerError`` never);
* when it is an error, be JSON ``{"__type": code, "Message": text}``; when 200, a JSON object.

Bounded for CI: a fixed number of examples per property, no deadline, loopback only.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rclsim
from rclsim.frontends.server import FakeServer
from rclsim.frontends.wire import CONTENT_TYPE, MAX_JSON_DEPTH, TARGET_PREFIX
from rclsim.service.apimodel import OPERATIONS, operation_model

from .conftest import ARTICLE_ARN, ROOT

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

PROJECT = rclsim.ARTICLE_PROJECT_ARN
IMAGE = (ROOT / "fixtures" / "article" / "9c5f2a31335627a0.jpg").read_bytes()


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    backend = rclsim.get_backend("replay")
    backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    # A short idle timeout: a fuzzed Content-Length larger than the body sent ends in seconds.
    with FakeServer(backend, "127.0.0.1", 0, idle_timeout=1.0) as srv:  # type: ignore[arg-type]
        yield srv


# -- sending and checking ---------------------------------------------------------------------------
def exchange(server: FakeServer, data: bytes, method: str = "POST") -> tuple[int, dict[str, str], bytes]:
    """Write ``data`` as is; read one answer. A connection closed or reset without one fails."""
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=15) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything: read its answer
        resp = http.client.HTTPResponse(sock, method=method)
        try:
            resp.begin()
            body = resp.read()
        except (http.client.RemoteDisconnected, ConnectionError) as exc:
            pytest.fail(f"connection dropped without an answer ({type(exc).__name__}) for {data[:300]!r}")
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body


def request(target: str | None, body: bytes, extra: list[tuple[bytes, bytes]] = ()) -> bytes:  # type: ignore[assignment]
    lines = [b"POST / HTTP/1.1", b"Host: 127.0.0.1", b"Content-Type: " + CONTENT_TYPE.encode()]
    if target is not None:
        lines.append(b"X-Amz-Target: " + target.encode("latin-1"))
    lines += [name + b": " + value for name, value in extra]
    lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def check(status: int, headers: dict[str, str], body: bytes, sent: Any, method: str = "POST") -> None:
    assert headers.get("x-amzn-requestid"), (status, headers, sent)
    if method == "HEAD":
        assert body == b""
        return
    doc = json.loads(body)
    assert isinstance(doc, dict), (body, sent)
    if status == 200:
        return
    assert set(doc) == {"__type", "Message"}, (doc, sent)
    assert isinstance(doc["__type"], str) and isinstance(doc["Message"], str) and doc["Message"]
    assert doc["__type"] != "InternalServerError", (status, doc, sent)
    assert status < 500 or status in (501, 505), (status, doc, sent)  # 501/505: HTTP's own errors


# -- JSON shaped like the operations' inputs -----------------------------------------------------------
#: Number tokens json.dumps cannot write: placed as strings "@@N@@", swapped for the token after dumps.
RAW_NUMBERS = [
    "1e400", "-1e400", "1e-400", "10" + "0" * 400, "-" + "9" * 400, "1" + "0" * 5000, "1E+2", "-0",
    "0.0", "123456789012345678901234567890.5", "4294967296", "2147483648", "-2147483649", "1e2", "75.0",
]  # fmt: skip
text_any = st.text(st.characters(exclude_categories=()), max_size=20)  # lone surrogates included
strings = st.one_of(
    text_any,
    text_any.map(lambda t: t + "\udc80"),  # a lone surrogate in most examples that draw text
    st.sampled_from(
        [
            ARTICLE_ARN,
            PROJECT,
            ARTICLE_ARN.replace("ap-northeast-1", "us-east-1"),
            ARTICLE_ARN + "x",
            "licence-plates.2021-01-01T00.00.00",
            "licence-plates",
            "my-bucket",
            "test-qiita/9c5f2a31335627a0.jpg",
            "",
            "\ud800",
            "CUSTOM_LABELS",
            "CONTENT_MODERATION",
            "a" * 3000,
        ]
    ),
)
raw_numbers = st.sampled_from(RAW_NUMBERS).map(lambda token: f"@@{token}@@")
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 1, 5, 100, 101, -1, 0.5, 75, 1000, 2**31, 2**31 - 1]),
    raw_numbers,
)
scalars = st.one_of(st.none(), st.booleans(), numbers, strings)
any_json = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(strings, inner, max_size=5),
    max_leaves=20,
)
blobs = st.one_of(
    st.just(base64.b64encode(IMAGE).decode()),
    st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()),
    st.sampled_from(["", "***", "AAA", "=", "ü", "\ud800"]),
)


def shaped(shape: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values for ``shape``: mostly of its type, sometimes anything (null and wrong types included)."""
    t = shape.type_name
    if t == "structure" and depth < 4:
        typed: st.SearchStrategy[Any] = st.fixed_dictionaries(
            {}, optional={name: shaped(member, depth + 1) for name, member in shape.members.items()}
        )
    elif t == "list" and depth < 4:
        typed = st.lists(st.one_of(shaped(shape.member, depth + 1), st.none()), max_size=4)
    elif t == "blob":
        typed = blobs
    elif t in ("integer", "long", "float", "double"):
        typed = numbers
    elif t == "string":
        enum = list(getattr(shape, "enum", []) or [])
        typed = st.sampled_from(enum) | strings if enum else strings
    elif t == "boolean":
        typed = st.booleans()
    else:
        typed = any_json
    return st.one_of(typed, typed, typed, st.none(), any_json)


def dumps(value: Any) -> bytes:
    text = json.dumps(value)  # ensure_ascii: lone surrogates as \\udXXX escapes, valid JSON text
    for token in RAW_NUMBERS:
        text = text.replace(f'"@@{token}@@"', token)
    return text.encode()


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


operations = st.sampled_from(sorted(OPERATIONS))


IMAGE_B64 = base64.b64encode(IMAGE).decode()
#: A valid request per operation: near-valid requests change a few of its members, so the fuzz gets
#: past the parameter checks into the model, image and answer checks.
VALID: dict[str, dict[str, Any]] = {
    "DetectCustomLabels": {
        "ProjectVersionArn": ARTICLE_ARN,
        "Image": {"S3Object": {"Bucket": "my-bucket", "Name": "test-qiita/9c5f2a31335627a0.jpg"}},
        "MinConfidence": 75,
        "MaxResults": 5,
    },
    "StartProjectVersion": {"ProjectVersionArn": ARTICLE_ARN, "MinInferenceUnits": 1, "MaxInferenceUnits": 2},
    "StopProjectVersion": {"ProjectVersionArn": ARTICLE_ARN},
    "DescribeProjectVersions": {
        "ProjectArn": PROJECT,
        "VersionNames": ["licence-plates.2021-01-01T00.00.00"],
        "MaxResults": 10,
    },
    "DescribeProjects": {"ProjectNames": ["licence-plates"], "Features": ["CUSTOM_LABELS"], "MaxResults": 5},
    "CreateProject": {"ProjectName": "fuzzed", "Feature": "CUSTOM_LABELS", "Tags": {"team": "cv"}},
    "DeleteProject": {"ProjectArn": PROJECT},
    "CreateProjectVersion": {
        "ProjectArn": PROJECT,
        "VersionName": "fuzzed.v1",
        "OutputConfig": {"S3Bucket": "out", "S3KeyPrefix": "runs/"},
        "TrainingData": {"Assets": [{"GroundTruthManifest": {"S3Object": {"Bucket": "b", "Name": "m"}}}]},
        "TestingData": {"AutoCreate": True},
    },
    "DeleteProjectVersion": {"ProjectVersionArn": ARTICLE_ARN},
    "CopyProjectVersion": {
        "SourceProjectArn": PROJECT,
        "SourceProjectVersionArn": ARTICLE_ARN,
        "DestinationProjectArn": PROJECT,
        "VersionName": "copy.v1",
        "OutputConfig": {"S3Bucket": "out", "S3KeyPrefix": "copies/"},
    },
    "CreateDataset": {
        "ProjectArn": PROJECT,
        "DatasetType": "TRAIN",
        "DatasetSource": {"GroundTruthManifest": {"S3Object": {"Bucket": "b", "Name": "train.manifest"}}},
    },
    "DescribeDataset": {"DatasetArn": PROJECT.rsplit("/", 1)[0] + "/dataset/train/1610000000000"},
    "ListDatasetEntries": {
        "DatasetArn": PROJECT.rsplit("/", 1)[0] + "/dataset/train/1610000000000",
        "Labeled": True,
        "MaxResults": 10,
    },
    "ListDatasetLabels": {"DatasetArn": PROJECT.rsplit("/", 1)[0] + "/dataset/test/1610000000000"},
    "UpdateDatasetEntries": {
        "DatasetArn": PROJECT.rsplit("/", 1)[0] + "/dataset/train/1610000000000",
        "Changes": {"GroundTruth": base64.b64encode(b'{"source-ref":"s3://b/a.jpg"}\n').decode()},
    },
    "DistributeDatasetEntries": {
        "Datasets": [
            {"Arn": PROJECT.rsplit("/", 1)[0] + "/dataset/train/1610000000000"},
            {"Arn": PROJECT.rsplit("/", 1)[0] + "/dataset/test/1610000000000"},
        ]
    },
    "DeleteDataset": {"DatasetArn": PROJECT.rsplit("/", 1)[0] + "/dataset/test/1610000000000"},
    "PutProjectPolicy": {
        "ProjectArn": PROJECT,
        "PolicyName": "share",
        "PolicyDocument": '{"Version":"2012-10-17","Statement":[]}',
    },
    "ListProjectPolicies": {"ProjectArn": PROJECT, "MaxResults": 5},
    "DeleteProjectPolicy": {"ProjectArn": PROJECT, "PolicyName": "share"},
    "TagResource": {"ResourceArn": PROJECT, "Tags": {"team": "cv"}},
    "UntagResource": {"ResourceArn": PROJECT, "TagKeys": ["team"]},
    "ListTagsForResource": {"ResourceArn": ARTICLE_ARN},
}
images = st.one_of(
    st.just({"Bytes": IMAGE_B64}),
    st.just({"S3Object": {"Bucket": "my-bucket", "Name": "test-qiita/9c5f2a31335627a0.jpg"}}),
    st.fixed_dictionaries(
        {}, optional={"Bucket": strings, "Name": strings, "Version": st.one_of(strings, st.none())}
    ).map(lambda s3: {"S3Object": s3}),
    blobs.map(lambda b: {"Bytes": b}),
    st.just({"Bytes": IMAGE_B64, "S3Object": {"Bucket": "my-bucket", "Name": "a.jpg"}}),
    st.just({"Bytes": base64.b64encode(IMAGE[:100]).decode()}),  # a truncated JPEG
    st.just({"Bytes": base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 40).decode()}),
)


@st.composite
def near_valid(draw: st.DrawFn, operation: str) -> dict[str, Any]:
    shape = operation_model(operation).input_shape
    params = dict(VALID[operation])
    for name in draw(st.lists(st.sampled_from(sorted(shape.members)), max_size=3, unique=True)):
        change = draw(st.integers(0, 3))
        if change == 0:
            params.pop(name, None)
        elif name == "Image" and change < 3:
            params[name] = draw(images)
        else:
            params[name] = draw(shaped(shape.members[name]))
    return params


@st.composite
def operation_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    operation = draw(operations)
    if draw(st.booleans()):
        params = draw(near_valid(operation))
    else:
        params = draw(shaped(operation_model(operation).input_shape))
    if not isinstance(params, dict) or draw(st.integers(0, 9)) == 0:
        return operation, dumps(params)
    params.update(draw(st.dictionaries(strings, any_json, max_size=2)))  # unknown members
    body = dumps(params)
    if draw(st.integers(0, 5)) == 0:  # one member nested deep, around the limit
        depth = draw(st.sampled_from([MAX_JSON_DEPTH - 2, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 980, 5000]))
        member = draw(st.sampled_from(["Image", "ProjectVersionArn", "VersionNames", "Extra"]))
        body = body[:-1] + (b", " if len(body) > 2 else b"") + f'"{member}": {nested(depth)}}}'.encode()
    return operation, body


# -- properties ---------------------------------------------------------------------------------------
@FUZZ
@given(case=operation_bodies())
def test_json_shaped_like_each_operation_gets_an_aws_answer(
    server: FakeServer, case: tuple[str, bytes]
) -> None:
    operation, body = case
    status, headers, answer = exchange(server, request(TARGET_PREFIX + operation, body))
    check(status, headers, answer, (operation, body))


@FUZZ
@given(
    operation=operations,
    body=st.one_of(
        st.binary(max_size=300),
        st.text(st.characters(exclude_categories=()), max_size=100).map(
            lambda t: t.encode("utf-8", "surrogatepass")
        ),
        st.sampled_from(
            [
                b"",
                b"null",
                b"[]",
                b"1e400",
                b'"\\ud800"',
                b"{" * 100_000,
                nested(100_000).encode(),
                b'{"a":' * 3000 + b"1" + b"}" * 3000,
                b"\xef\xbb\xbf{}",
                b'{"ProjectVersionArn": "\xed\xa0\x80"}',
                b'{"Image": {"Bytes": null}, "ProjectVersionArn": null}',
                b'{"ProjectVersionArn": "\\ud800", "Image": {"S3Object": {"Bucket": "b", "Name": "\\udf"}}}',
                b'{"ProjectArn": "\\ud800x", "VersionNames": ["\\udc00"], "ProjectNames": ["\\ud800"]}',
                b"{'a': 1}",
                b'{"a": NaN}',
                b'{"a": Infinity}',
            ]
        ),
    ),
)
def test_raw_bodies_get_an_aws_answer(server: FakeServer, operation: str, body: bytes) -> None:
    status, headers, answer = exchange(server, request(TARGET_PREFIX + operation, body))
    check(status, headers, answer, (operation, body))


header_names = st.sampled_from(
    [b"X-Amz-Target", b"Content-Type", b"Authorization", b"X-Amz-Date", b"Expect", b"Connection",
     b"Transfer-Encoding", b"Content-Encoding", b"Host", b"X-Junk", b"Accept-Encoding"]
)  # fmt: skip
header_values = st.one_of(
    st.binary(max_size=60).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
    st.sampled_from(
        [b"100-continue", b"close", b"keep-alive", b"gzip", b"chunked", b"identity",
         b"AWS4-HMAC-SHA256 Credential=AKID/20260101/ap-northeast-1/rekognition/aws4_request, Signature=x",
         b"AWS4-HMAC-SHA256 Credential=AKID/20260101/\xff\xfe/rekognition/aws4_request",
         b"RekognitionService.DetectCustomLabels", b"application/json", b""]
    ),
)  # fmt: skip
targets = st.one_of(
    st.none(),
    st.sampled_from([TARGET_PREFIX + op for op in OPERATIONS]),
    st.sampled_from(
        [
            TARGET_PREFIX,
            TARGET_PREFIX + "DetectLabels",
            "DynamoDB_20120810.GetItem",
            "RekognitionService",
            TARGET_PREFIX + "X" * 5000,
            "rekognitionservice.DetectCustomLabels",
            " " + TARGET_PREFIX + "DescribeProjects",
        ]
    ),  # fmt: skip
    st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=40),
)


@FUZZ
@given(
    target=targets,
    extra=st.lists(st.tuples(header_names, header_values), max_size=4),
    body=st.one_of(st.just(b"{}"), st.builds(dumps, any_json)),
)
def test_fuzzed_targets_and_headers_get_an_aws_answer(
    server: FakeServer, target: str | None, extra: list[tuple[bytes, bytes]], body: bytes
) -> None:
    status, headers, answer = exchange(server, request(target, body, extra))
    check(status, headers, answer, (target, extra, body))


@FUZZ
@given(
    operation=operations,
    length=st.sampled_from(
        [
            "abc",
            "-1",
            "+2",
            " 2 ",
            "1_0",
            "\uff12",
            "99999999999999999999999",
            "1e3",
            "0x10",
            "",
            "2, 2",
            "9" * 5000,
            str(8 * 1024 * 1024 + 1),
            "0",
        ]
    ),  # fmt: skip
    body=st.sampled_from([b"{}", b"", b"{}" * 10]),
)
def test_fuzzed_content_lengths_get_an_aws_answer(
    server: FakeServer, operation: str, length: str, body: bytes
) -> None:
    data = request(TARGET_PREFIX + operation, b"").replace(
        b"Content-Length: 0", b"Content-Length: " + length.encode()
    )
    status, headers, answer = exchange(server, data + body)
    check(status, headers, answer, (operation, length, body))


methods = st.one_of(
    st.sampled_from(["GET", "PUT", "POST", "HEAD", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT"]),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=10),
)
paths = st.one_of(
    st.sampled_from(["/", "*", "/my-bucket/test-qiita/9c5f2a31335627a0.jpg", "//x", "/?a=b", "/%00%ff"]),
    st.text(st.characters(min_codepoint=33, max_codepoint=255), min_size=1, max_size=80),
    st.integers(60_000, 70_000).map(lambda n: "/" + "a" * n),
)
versions = st.sampled_from(
    ["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/x.y", "HTTP/1.1.1", "FTP/1.0", "HTTP/01.01"]
)


@FUZZ
@given(
    method=methods,
    path=paths,
    version=st.one_of(versions, st.none()),
    body=st.one_of(st.just(b""), st.just(b"{}"), st.binary(max_size=50)),
)
def test_fuzzed_request_lines_get_an_aws_answer(
    server: FakeServer, method: str, path: str, version: str | None, body: bytes
) -> None:
    line = f"{method} {path}" + (f" {version}" if version else "")
    data = line.encode("latin-1") + b"\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    read_as = "HEAD" if method == "HEAD" else "POST"  # an answer to HEAD has no body to read
    status, headers, answer = exchange(server, data, method=read_as)
    assert status != 200, (line[:200], answer)  # nothing here is a Rekognition request
    check(status, headers, answer, line[:200], read_as)


def test_the_server_still_serves_after_the_fuzz(server: FakeServer) -> None:
    status, headers, answer = exchange(server, request(TARGET_PREFIX + "DescribeProjects", b"{}"))
    assert status == 200 and PROJECT in answer.decode()
