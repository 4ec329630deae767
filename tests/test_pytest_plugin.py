"""The pytest plugin, tested with pytest's own pytester."""

from __future__ import annotations

import json
import shutil

import pytest

from .conftest import DATA, ROOT

pytest_plugins = ["pytester"]

USER_TEST = """
import pytest

ARN = "arn:aws:rekognition:ap-northeast-1:123456789012:project/licence-plates/version/licence-plates.2021-01-01T00.00.00/1609459200000"
IMAGE = {"S3Object": {"Bucket": "my-bucket", "Name": "test-qiita/9c5f2a31335627a0.jpg"}}

def test_the_article_with_a_plain_client(rcl_client):
    rcl_client.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
    labels = rcl_client.detect_custom_labels(ProjectVersionArn=ARN, Image=IMAGE, MinConfidence=75)["CustomLabels"]
    rcl_client.stop_project_version(ProjectVersionArn=ARN)
    assert [x["Name"] for x in labels] == ["vehicle_registration_plate", "car"]

@pytest.mark.rcl_leaves_running(ARN, reason="shows that the next test starts from fresh state")
def test_state_is_fresh_for_every_test(rcl_backend):
    # would raise ResourceInUseException if the model were still running from the test above
    assert rcl_backend.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1) == {"Status": "STARTING"}
"""


def test_fixtures_answer_from_the_fake_with_fresh_state(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")  # rcl_client's region: the article model's
    monkeypatch.delenv(
        "RCLSIM_STATE_DIR", raising=False
    )  # (set by conftest) rcl_backend would share that folder's state
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_live_aws_tests_need_the_charges_flag(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_live="""
import os, pytest

@pytest.mark.live_aws
def test_live():
    assert os.environ.get("WHO_RAN_ME") == "the flag"
"""
    )
    skipped = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs")
    skipped.assert_outcomes(skipped=1)
    skipped.stdout.fnmatch_lines(["*--rcl-live-aws-may-incur-charges*"])
    ran = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--rcl-live-aws-may-incur-charges", "-o", "addopts="
    )
    ran.assert_outcomes(failed=1)  # it ran (and fails here, since nobody set WHO_RAN_ME)


def test_help_says_what_live_tests_may_cost(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(
        ["*--rcl-backend*", "*--rcl-record-mode*", "*--rcl-recordings*", "*--rcl-live-aws-may-incur-charges*"]
    )
    assert "per inference unit per hour" in " ".join(result.stdout.str().split())  # help text wraps


def test_recordings_option_and_record_mode_rules(pytester: pytest.Pytester) -> None:
    folder = pytester.mkdir("recs")
    shutil.copy(DATA / "wild" / "responses" / "06-flowers-rose.json", folder / "rose.json")
    shutil.copy(ROOT / "fixtures" / "article" / "9c5f2a31335627a0.jpg", folder / "rose.jpg")
    pytester.makepyfile(
        test_rose="""
def test_rose(rcl_client):
    arn = "arn:aws:rekognition:us-east-1:111122223333:project/flowers/version/flowers.1/1700000000000"
    got = rcl_client.detect_custom_labels(ProjectVersionArn=arn, Image={"S3Object": {"Bucket": "b-1", "Name": "x/rose.jpg"}})
    assert [l["Name"] for l in got["CustomLabels"]] == ["rose"]
"""
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--rcl-recordings", str(folder)).assert_outcomes(
        passed=1
    )
    bad = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--rcl-record-mode", "once")
    assert bad.ret != 0
    bad.stderr.fnmatch_lines(["*--rcl-record-mode*needs --rcl-backend aws*"])


def test_the_aws_backend_with_record_mode_none_replays_without_aws(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")
    folder = pytester.mkdir("recs")
    recording = json.loads((ROOT / "fixtures" / "article" / "9c5f2a31335627a0.recording.json").read_text())
    (folder / "article.json").write_text(json.dumps(recording))
    pytester.makepyfile(
        test_none=USER_TEST.split("@pytest.mark.rcl_leaves_running")[0]
        .replace("    rcl_client.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)\n", "")
        .replace("    rcl_client.stop_project_version(ProjectVersionArn=ARN)\n", "")
    )
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--rcl-backend",
        "aws",
        "--rcl-record-mode",
        "none",
        "--rcl-recordings",
        str(folder),
    )
    result.assert_outcomes(passed=1)


def test_the_aws_backend_needs_the_charges_flag(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x(rcl_backend):\n    pass\n")
    refused = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--rcl-backend", "aws")
    assert refused.ret != 0
    refused.stderr.fnmatch_lines(["*--rcl-backend aws calls real AWS*--rcl-live-aws-may-incur-charges*"])


def test_rcl_mock_fakes_every_client_the_code_makes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_code="""
import boto3

def code_under_test(arn):                 # makes its own client, as a Lambda handler does
    client = boto3.client("rekognition", region_name="ap-northeast-1")
    client.start_project_version(ProjectVersionArn=arn, MinInferenceUnits=1)
    found = client.describe_projects()["ProjectDescriptions"][0]["ProjectArn"]
    client.stop_project_version(ProjectVersionArn=arn)  # else rclsim's guardrail fails the session
    return found

def test_code(rcl_mock):
    arn = "arn:aws:rekognition:ap-northeast-1:123456789012:project/licence-plates/version/licence-plates.2021-01-01T00.00.00/1609459200000"
    assert code_under_test(arn).endswith("project/licence-plates/1609459100000")
"""
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_sim_backend_from_the_command_line(pytester: pytest.Pytester) -> None:
    manifest = DATA / "wild" / "manifests" / "02-dannymorris-bcbs-logo.manifest"
    pytester.makepyfile(
        test_sim="""
def test_sim(rcl_backend, rcl_client):
    arn = rcl_backend.project_version_arn
    first = rcl_backend.source.entries().__next__().source_ref
    bucket, key = first[len("s3://"):].split("/", 1)
    got = rcl_client.detect_custom_labels(ProjectVersionArn=arn, Image={"S3Object": {"Bucket": bucket, "Name": key}})
    assert isinstance(got["CustomLabels"], list)
"""
    )
    pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--rcl-backend", "sim", "--rcl-manifest", str(manifest)
    ).assert_outcomes(passed=1)


def test_the_refusal_of_live_aws_suggests_what_works(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The way round the charges flag that the refusal offers runs the article's whole lifecycle
    (start, describe, detect) offline; record mode none would replay DetectCustomLabels only."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")
    monkeypatch.delenv("RCLSIM_STATE_DIR", raising=False)
    pytester.makepyfile(test_user=USER_TEST)
    refused = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--rcl-backend", "aws")
    message = " ".join(refused.stderr.str().split())
    assert "--rcl-backend replay" in message and "--rcl-record-mode none" not in message.split("(")[0]
    folder = pytester.mkdir("recs")
    suggested = ["--rcl-backend", "replay", "--rcl-recordings", str(folder)]
    pytester.runpytest_subprocess("-p", "no:cacheprovider", *suggested).assert_outcomes(passed=2)


def test_the_cost_warning_quotes_the_price_table(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--help says what a live test's model costs per hour from rclsim's price table (RCLSIM_PRICES
    here), not a figure of its own."""
    table = json.loads((ROOT / "rclsim" / "pricing.json").read_text())
    for prices in table["regions"].values():
        prices["InferenceUnitHour"] = 7.5
    path = pytester.path / "prices.json"
    path.write_text(json.dumps(table))
    monkeypatch.setenv("RCLSIM_PRICES", str(path))
    text = " ".join(pytester.runpytest_subprocess("--help").stdout.str().split())
    assert "USD 7.50 per inference unit per hour" in text
    monkeypatch.setenv("RCLSIM_PRICES", str(pytester.path / "missing.json"))  # a bad table: help still works
    broken = pytester.runpytest_subprocess("--help")
    assert broken.ret == 0 and "--rcl-live-aws-may-incur-charges" in broken.stdout.str()
