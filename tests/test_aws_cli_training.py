"""Issue 12's acceptance: the AWS CLI trains, evaluates and runs a model against ``rclsim serve``.

The AWS CLI (``python -m awscli``, the venv's awscli 1.x) runs, each step a process of its own, as a
user types it: create-project -> create-dataset (TRAIN and TEST, Ground Truth manifests in S3) ->
create-project-version -> ``wait project-version-training-completed`` -> describe-project-versions
(EvaluationResult present) -> start-project-version -> ``wait project-version-running`` ->
detect-custom-labels (an S3 image, and a local file with ``--image-bytes fileb://``) ->
stop-project-version -> describe (STOPPED).

S3 is a moto server this test starts on 127.0.0.1 (the dataset uploaded with boto3); ``rclsim serve``
reads and writes it (``--s3-endpoint-url``), and the training output it writes there is read back.
The CLI gets ``--endpoint-url``, ``--region us-east-1``, dummy credentials and
``AWS_EC2_METADATA_DISABLED=true`` from the environment. AWS CLI v1 has no ``--no-cli-pager`` option
(v2's; v1 never pages: it answers "Unknown options"), so ``AWS_PAGER`` is set empty instead, which
either version honours.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from .test_aws_samples import (
    DATA_BUCKET,
    IMAGES,
    OUTPUT_BUCKET,
    RCLSIM,
    TRAINING,
    _clean_env,
    _start_serve,
    _stop,
    image_bytes,
    labels_of,
    upload,
)


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[str]:
    """A moto server on 127.0.0.1 (a free port) with the dataset; its URL."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        upload(url)
        yield url
    finally:
        server.stop()


class Cli:
    """``aws --endpoint-url URL --region us-east-1 rekognition ...`` in processes of their own."""

    def __init__(self, url: str, cwd: Path) -> None:
        self.url = url
        self.cwd = cwd
        self.env = _clean_env()
        self.env.update(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_PAGER": "",
            }
        )
        self.env.pop("AWS_SESSION_TOKEN", None)
        self.env.pop("AWS_PROFILE", None)

    def __call__(self, *args: str, fail: bool = False) -> Any:
        """Run ``aws rekognition ARGS``; its JSON output (None when it prints nothing), or with ``fail``
        its stderr, and it must fail (v1 exits 255 on a service error, v2 254)."""
        argv = [sys.executable, "-m", "awscli", "--endpoint-url", self.url, "--region", "us-east-1"]
        argv += ["--output", "json", "rekognition", *args]
        proc = subprocess.run(argv, cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=120)
        failed = proc.returncode != 0
        assert failed == fail, f"aws rekognition {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}"
        if fail:
            return proc.stderr
        return json.loads(proc.stdout) if proc.stdout.strip() else None


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory, moto_s3: str) -> Iterator[Cli]:
    root = tmp_path_factory.mktemp("cli")
    argv = [RCLSIM, "serve", "--port", "0", "--s3-endpoint-url", moto_s3, "--state-dir", str(root / "state")]
    proc, url = _start_serve(argv, root, _clean_env())
    try:
        yield Cli(url, root)
    finally:
        _stop(proc)


def _manifest(kind: str) -> str:
    return json.dumps(
        {"GroundTruthManifest": {"S3Object": {"Bucket": DATA_BUCKET, "Name": f"manifests/{kind}.manifest"}}}
    )


def test_cli_create_train_wait_describe_start_detect_stop(cli: Cli, moto_s3: str, tmp_path: Path) -> None:
    project = cli("create-project", "--project-name", "cli-lot")["ProjectArn"]
    assert project.startswith("arn:aws:rekognition:us-east-1:") and ":project/cli-lot/" in project

    for kind, count in (("TRAIN", TRAINING), ("TEST", IMAGES - TRAINING)):
        created = cli("create-dataset", "--project-arn", project, "--dataset-type", kind,
                      "--dataset-source", _manifest(kind.lower()))  # fmt: skip
        dataset = cli("describe-dataset", "--dataset-arn", created["DatasetArn"])["DatasetDescription"]
        assert dataset["Status"] == "CREATE_COMPLETE", dataset
        assert (
            dataset["DatasetStats"]["TotalEntries"] == count and dataset["DatasetStats"]["TotalLabels"] == 2
        )

    output = f"S3Bucket={OUTPUT_BUCKET},S3KeyPrefix=cli/"
    created = cli(
        "create-project-version", "--project-arn", project, "--version-name", "v1", "--output-config", output
    )
    version = created["ProjectVersionArn"]
    assert (
        cli("wait", "project-version-training-completed", "--project-arn", project, "--version-names", "v1")
        is None
    )

    described = cli("describe-project-versions", "--project-arn", project, "--version-names", "v1")
    model = described["ProjectVersionDescriptions"][0]
    assert model["ProjectVersionArn"] == version
    assert model["Status"] == "TRAINING_COMPLETED", model
    assert model["BillableTrainingTimeInSeconds"] > 0
    evaluation = model["EvaluationResult"]
    assert 0.0 <= evaluation["F1Score"] <= 1.0
    summary = evaluation["Summary"]["S3Object"]
    assert summary["Bucket"] == OUTPUT_BUCKET and summary["Name"].startswith("cli/")
    # The summary the CLI's EvaluationResult names is in S3, per label, with the same F1 score.
    s3 = boto3.client("s3", endpoint_url=moto_s3, region_name="us-east-1")
    written = json.loads(s3.get_object(Bucket=summary["Bucket"], Key=summary["Name"])["Body"].read())
    assert {r["Label"] for r in written["LabelEvaluationResults"]} == {"car", "plate"}
    assert written["AggregatedEvaluationResults"]["Metrics"]["F1Score"] == pytest.approx(
        evaluation["F1Score"]
    )

    started = cli("start-project-version", "--project-version-arn", version, "--min-inference-units", "1")
    assert started["Status"] == "STARTING"
    assert cli("wait", "project-version-running", "--project-arn", project, "--version-names", "v1") is None

    image = json.dumps({"S3Object": {"Bucket": DATA_BUCKET, "Name": "images/18.jpg"}})
    found = cli("detect-custom-labels", "--project-version-arn", version, "--image", image)["CustomLabels"]
    assert sorted(label["Name"] for label in found) == sorted(labels_of(18))
    assert all(set(label["Geometry"]["BoundingBox"]) == {"Left", "Top", "Width", "Height"} for label in found)
    local = tmp_path / "19.jpg"
    local.write_bytes(image_bytes(19))
    found = cli("detect-custom-labels", "--project-version-arn", version, "--image-bytes", f"fileb://{local}",
                "--min-confidence", "0")["CustomLabels"]  # fmt: skip
    assert "car" in {label["Name"] for label in found}

    stopped = cli("stop-project-version", "--project-version-arn", version)
    assert stopped["Status"] == "STOPPING"
    final = cli("describe-project-versions", "--project-arn", project, "--version-names", "v1")
    assert final["ProjectVersionDescriptions"][0]["Status"] == "STOPPED"


def test_cli_errors_are_the_services(cli: Cli) -> None:
    """Bad input through the CLI gets the service's error codes and messages, not a crash."""
    err = cli("create-project-version", "--project-arn",
              "arn:aws:rekognition:us-east-1:123456789012:project/nope/1700000000000",
              "--version-name", "v1", "--output-config", f"S3Bucket={OUTPUT_BUCKET}", fail=True)  # fmt: skip
    assert "ResourceNotFoundException" in err and "CreateProjectVersion" in err
    project = cli("create-project", "--project-name", "cli-errors")["ProjectArn"]
    missing = json.dumps(
        {"GroundTruthManifest": {"S3Object": {"Bucket": DATA_BUCKET, "Name": "manifests/none"}}}
    )
    err = cli("create-dataset", "--project-arn", project, "--dataset-type", "TRAIN",
              "--dataset-source", missing, fail=True)  # fmt: skip
    # rclsim.fake.datasets' [U] choice: an unreadable manifest is refused at once, naming the object.
    assert "(InvalidS3ObjectException) when calling the CreateDataset operation" in err, err
    assert "s3://data/manifests/none" in err, err
