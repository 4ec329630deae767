"""``rclsim run -- CMD ARGS``: unchanged code under the drop-in, with the CLI's options and state.

The parent runs in-process (``main([...])``) and only the child is a new process, so each test pays
one interpreter start. Children are guarded by a ``sitecustomize`` of the user's own (chained by
rclsim's) that refuses every connection to a non-loopback address, as the suite's conftest does for
this process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rclsim import ARTICLE_PROJECT_ARN
from rclsim.frontends.cli import main
from tests.conftest import ARTICLE_ARN, ARTICLE_S3, ROOT

#: The user's own sitecustomize: proves the chain (prints a marker) and keeps the child offline.
_USER_SITECUSTOMIZE = """\
import ipaddress, socket, sys

print("user-sitecustomize ran", file=sys.stderr)
_real = socket.socket.connect

def _loopback(host):
    try:
        return host == "localhost" or ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False

def _guarded(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
        raise OSError(f"child tried to reach {address!r}: only loopback is allowed")
    return _real(self, address)

socket.socket.connect = _guarded
"""


@pytest.fixture
def user_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PYTHONPATH folder of the user's, holding a sitecustomize and a module of theirs."""
    folder = tmp_path / "usersite"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(_USER_SITECUSTOMIZE)
    (folder / "usermod.py").write_text("VALUE = 'from the user PYTHONPATH'\n")
    monkeypatch.setenv("PYTHONPATH", str(folder))
    return folder


def _script(path: Path, body: str) -> str:
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_detect_in_a_child_shares_state_with_start_and_stop(
    tmp_path: Path, user_site: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    state = str(tmp_path / "st")
    assert main(["start", "--project-version-arn", ARTICLE_ARN, "--state-dir", state]) == 0
    capfd.readouterr()
    script = _script(
        tmp_path / "detect.py",
        f"""\
        import json, os, sys
        import boto3
        import usermod

        # As AWS's samples: a named profile, no region in the code.
        session = boto3.Session(profile_name="custom-labels-access")
        client = session.client("rekognition")
        response = client.detect_custom_labels(
            ProjectVersionArn={ARTICLE_ARN!r}, Image={ARTICLE_S3!r}, MinConfidence=75
        )
        print("LABELS", json.dumps(sorted(label["Name"] for label in response["CustomLabels"])))
        print("ARGV", json.dumps(sys.argv[1:]))
        print("USERMOD", usermod.VALUE)
        print("KEY", os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_EC2_METADATA_DISABLED"])
        client.stop_project_version(ProjectVersionArn={ARTICLE_ARN!r})
        sys.exit(3)
        """,
    )
    code = main(
        ["run", "--state-dir", state, "--region", "ap-northeast-1", "--", sys.executable, script]
        + ["a b", "--seed", "7", "--"]
    )
    out, err = capfd.readouterr()
    assert code == 3, err  # the child's exit code
    assert 'LABELS ["car", "vehicle_registration_plate"]' in out, out  # the article's answer at 75
    assert 'ARGV ["a b", "--seed", "7", "--"]' in out  # argv unchanged, rclsim's options not eaten
    assert "USERMOD from the user PYTHONPATH" in out  # the user's PYTHONPATH kept
    assert "user-sitecustomize ran" in err  # and their sitecustomize chained
    assert "KEY testing true" in out  # dummy credentials, no metadata probing
    # The child stopped the model: the CLI sees it through the same state dir.
    assert main(["status", "--project-version-arn", ARTICLE_ARN, "--state-dir", state]) == 0
    status = capfd.readouterr().out
    assert '"STOPPING"' in status or '"STOPPED"' in status, status


def test_a_model_started_in_a_child_is_running_for_the_cli(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Default state dir is the CLI's (.rclsim here), also for a shell script that runs python
    (PYTHONPATH is inherited), and a child killed by a signal exits 128+signal."""
    script = _script(
        tmp_path / "start.py",
        f"""\
        import boto3
        client = boto3.client("rekognition", region_name="ap-northeast-1")
        client.start_project_version(ProjectVersionArn={ARTICLE_ARN!r}, MinInferenceUnits=1)
        client.get_waiter("project_version_running").wait(
            ProjectArn={ARTICLE_PROJECT_ARN!r}, VersionNames=["licence-plates.2021-01-01T00.00.00"]
        )
        print("STARTED")
        """,
    )
    # A Python that ignores PYTHONPATH (-E) runs unfaked: its Rekognition calls fail locally.
    unfaked = _script(
        tmp_path / "unfaked.py",
        """\
        import boto3, botocore.config, botocore.exceptions
        client = boto3.client("rekognition", config=botocore.config.Config(retries={"max_attempts": 1}))
        try:
            client.describe_projects()
        except botocore.exceptions.EndpointConnectionError as exc:
            print("UNFAKED FAILS LOCALLY", "127.0.0.1:1" in str(exc))
        """,
    )
    shell = tmp_path / "go.sh"
    shell.write_text(
        f'#!/bin/sh\n"{sys.executable}" "{script}" || exit 9\n'
        f'"{sys.executable}" -E "{unfaked}"\nkill -TERM $$\n'
    )
    shell.chmod(0o755)
    code = main(["run", "--s3-endpoint-url", "http://127.0.0.1:1", "--", str(shell)])
    out, err = capfd.readouterr()
    assert "STARTED" in out, err
    assert "UNFAKED FAILS LOCALLY True" in out, err
    assert code == 128 + signal.SIGTERM
    assert main(["status", "--project-version-arn", ARTICLE_ARN]) == 0  # default --state-dir .rclsim
    assert '"RUNNING"' in capfd.readouterr().out


def test_s3_dir_is_served_by_a_local_moto_server(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("moto.server")
    data = tmp_path / "s3data" / "my-bucket" / "test-qiita"
    data.mkdir(parents=True)
    (data / "note.txt").write_bytes(b"hello from s3data")
    images = tmp_path / "s3data" / "my-images"
    images.mkdir()
    (images / "copy.jpg").write_bytes((ROOT / "fixtures" / "article" / "9c5f2a31335627a0.jpg").read_bytes())
    script = _script(
        tmp_path / "s3.py",
        """\
        import os
        import boto3
        s3 = boto3.client("s3")
        body = s3.get_object(Bucket="my-bucket", Key="test-qiita/note.txt")["Body"].read()
        print("BODY", body.decode())
        s3.put_object(Bucket="my-bucket", Key="out.txt", Body=b"x")
        s3.put_object(Bucket="my-bucket", Key="test-qiita/note.txt", Body=b"changed in the run")
        print("KEYS", sorted(o["Key"] for o in s3.list_objects_v2(Bucket="my-bucket")["Contents"]))
        print("SAME", os.environ["AWS_ENDPOINT_URL_S3"] == os.environ.get("RCLSIM_S3_ENDPOINT_URL"))
        # The fake reads the image from the same S3 (no recording has this key: matched by content).
        rek = boto3.client("rekognition", region_name="ap-northeast-1")
        rek.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
        image = {"S3Object": {"Bucket": "my-images", "Name": "copy.jpg"}}
        labels = rek.detect_custom_labels(ProjectVersionArn=ARN, Image=image, MinConfidence=75)
        print("LABELS", sorted(label["Name"] for label in labels["CustomLabels"]))
        """.replace("ARN", repr(ARTICLE_ARN)),
    )
    code = main(["run", "--s3-dir", str(tmp_path / "s3data"), "--", sys.executable, script])
    out, err = capfd.readouterr()
    assert code == 0, err
    assert "BODY hello from s3data" in out
    assert "KEYS ['out.txt', 'test-qiita/note.txt']" in out
    assert "SAME True" in out  # the fake reads the same S3 as the user's code
    served = [line for line in err.splitlines() if "http://127.0.0.1:" in line]
    assert len(served) == 1 and "S3" in served[0] and "s3data" in served[0], err
    assert "LABELS ['car', 'vehicle_registration_plate']" in out
    # the folder stands for S3: a new object is saved, a changed one replaces its file, both said
    assert (tmp_path / "s3data" / "my-bucket" / "out.txt").read_bytes() == b"x"
    assert (data / "note.txt").read_bytes() == b"changed in the run"
    assert (
        "saved 1 new object" in err and "replaced 1 the run changed (my-bucket/test-qiita/note.txt)" in err
    ), err
    assert "PUT /" not in err  # the server's request log stays out of the program's stderr
    (tmp_path / "s3data" / "x").mkdir()  # not a valid bucket name: one line, nothing run
    assert main(["run", "--s3-dir", str(tmp_path / "s3data"), "--", sys.executable, script]) == 1
    err = capfd.readouterr().err
    assert "'x' cannot be a bucket" in err and "LABELS" not in err


def test_without_a_local_s3_the_childs_s3_calls_fail_locally(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rclsim.frontends.cli import run

    monkeypatch.setattr(run, "_moto_server_class", lambda: None)  # as if moto[server] were not installed
    script = _script(
        tmp_path / "s3.py",
        """\
        import os
        import boto3, botocore.config, botocore.exceptions
        s3 = boto3.client("s3", config=botocore.config.Config(retries={"max_attempts": 1}))
        try:
            s3.list_buckets()
        except botocore.exceptions.EndpointConnectionError:
            print("REFUSED", os.environ["AWS_ENDPOINT_URL_S3"])
        """,
    )
    code = main(["run", "--", sys.executable, script])
    out, err = capfd.readouterr()
    assert code == 0, err
    assert "REFUSED http://127.0.0.1:" in out
    assert "S3" in err and "fail" in err


def test_no_command_is_a_usage_error(capfd: pytest.CaptureFixture[str]) -> None:
    for argv in (["run"], ["run", "--"], ["run", "--seed", "3", "--"]):
        assert main(argv) == 2
        err = capfd.readouterr().err
        assert "no command" in err and "rclsim run" in err and len(err.strip().splitlines()) == 1


def test_a_command_not_found_exits_127(capfd: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["run", "--", "rclsim-no-such-command-xyz", "--flag"]) == 127
    err = capfd.readouterr().err.strip()
    assert "rclsim-no-such-command-xyz" in err and "not found" in err and len(err.splitlines()) == 1
    assert main(["run", "--", str(tmp_path / "missing.py")]) == 127
    assert "missing.py" in capfd.readouterr().err


def test_the_aws_backend_alone_is_refused(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--backend", "aws", "--", "true"]) == 1
    err = capfd.readouterr().err
    assert "--record-mode" in err


def test_help_says_what_is_faked_and_where_state_lives(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for needed in (
        "Custom Labels",
        "rclsim run -- python train.py",
        "rclsim run --s3-dir s3data -- python describe.py",
        ".rclsim",
        "not faked",
        "moto",
        "--state-dir",
    ):
        assert needed in text or needed in text.lower(), needed


def test_child_environment_offline_and_record_mode(tmp_path: Path) -> None:
    """The variables the child gets: resolved settings with absolute paths, dummy credentials and a
    config of its own unless record mode, which keeps the user's AWS settings."""
    from rclsim.config import resolve
    from rclsim.frontends.cli.run import child_environment

    user = {"PATH": "/bin", "PYTHONPATH": "/u1" + os.pathsep + "/u2", "AWS_PROFILE": "mine", "HOME": "/h"}
    settings = resolve("cli", environ=user, seed=5, recordings=["recs"], time_scale=0.5)
    env, files = child_environment(settings, user, workdir=tmp_path)
    assert env["PYTHONPATH"].split(os.pathsep)[1:] == ["/u1", "/u2"]
    assert Path(env["PYTHONPATH"].split(os.pathsep)[0], "sitecustomize.py").is_file()
    assert env["RCLSIM_STATE_DIR"] == str(Path(".rclsim").resolve())
    assert env["RCLSIM_RECORDINGS"] == str(Path("recs").resolve())
    assert env["RCLSIM_SEED"] == "5" and float(env["RCLSIM_TIME_SCALE"]) == 0.5
    assert env["RCLSIM_BACKEND"] == "replay"
    assert env["AWS_ACCESS_KEY_ID"] == "testing" and env["AWS_EC2_METADATA_DISABLED"] == "true"
    assert env["AWS_ENDPOINT_URL_REKOGNITION"].startswith("http://127.0.0.1:")
    config = Path(env["AWS_CONFIG_FILE"]).read_text()
    assert "[profile custom-labels-access]" in config and "[profile mine]" in config
    assert str(tmp_path) in env["AWS_CONFIG_FILE"] and files
    record = resolve("cli", environ=user, backend="aws", record_mode="once", recordings=["recs"])
    env, _ = child_environment(record, user, workdir=tmp_path)
    assert "AWS_ACCESS_KEY_ID" not in env and env["AWS_PROFILE"] == "mine" and "AWS_CONFIG_FILE" not in env
    assert env["RCLSIM_RECORD_MODE"] == "once" and "AWS_ENDPOINT_URL_REKOGNITION" not in env


def test_sigterm_to_rclsim_run_reaches_the_child(tmp_path: Path) -> None:
    script = _script(
        tmp_path / "wait.py",
        """\
        import signal, sys, time
        signal.signal(signal.SIGTERM, lambda *a: (print("CHILD GOT TERM", flush=True), sys.exit(5)))
        print("READY", flush=True)
        time.sleep(60)
        """,
    )
    exe = Path(sys.executable).parent / "rclsim"
    proc = subprocess.Popen(
        [str(exe), "run", "--s3-endpoint-url", "http://127.0.0.1:1", "--", sys.executable, script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "READY"
        time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "CHILD GOT TERM" in out, err
    assert proc.returncode == 5  # the child's own exit code, after it handled the signal


def test_only_what_the_run_made_or_changed_is_saved_into_the_s3_dir(tmp_path: Path) -> None:
    """The S3 server may hold objects the run did not make (another test's, in this process): they
    are not written into the user's folder; new and changed ones are, but never over a file that
    changed on disk during the run."""
    server_class = pytest.importorskip("moto.server").ThreadedMotoServer
    from rclsim.frontends.cli import run

    folder = tmp_path / "s3data"
    (folder / "mine").mkdir(parents=True)
    (folder / "mine" / "kept.txt").write_bytes(b"the user's")
    server = server_class(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        s3 = run._client(url)
        s3.create_bucket(Bucket="someone-elses")
        s3.put_object(Bucket="someone-elses", Key="old.txt", Body=b"not the run's")
        run._upload(url, folder)
        before = run._listing(url)
        s3.put_object(Bucket="mine", Key="new/out.json", Body=b"{}")  # made by the run
        s3.put_object(Bucket="mine", Key="kept.txt", Body=b"changed")  # changed by the run...
        (folder / "mine" / "kept.txt").write_bytes(b"edited meanwhile")  # ...and by the user on disk
        said = run._save_new(url, folder, before)
    finally:
        server.stop()
    assert (folder / "mine" / "new" / "out.json").read_bytes() == b"{}"
    assert (folder / "mine" / "kept.txt").read_bytes() == b"edited meanwhile"
    assert not (folder / "someone-elses").exists()
    assert said.startswith("saved 1 new object") and "kept 1 file changed on disk during the run" in said


def test_fault_rules_reach_the_program_and_botocore_retries_them(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """rclsim run --faults FILE: the program's own boto3 client sees the faults and botocore's standard
    retry mode retries them (the program sets its backoff to 0 so the test does not sleep)."""
    rules = tmp_path / "faults.json"
    rules.write_text(
        '[{"operation": "DescribeProjects", "error": "ThrottlingException", "calls": [1, 2]},'
        ' {"operation": "DescribeProjectVersions", "error": "InternalServerError"}]'
    )
    script = _script(
        tmp_path / "retrying.py",
        """\
        import boto3
        import botocore.retries.standard as standard
        from botocore.config import Config
        from botocore.exceptions import ClientError
        standard.ExponentialBackoff.delay_amount = lambda self, context: 0  # no real sleeps in a test
        standard_mode = Config(retries={"mode": "standard"})
        client = boto3.client("rekognition", region_name="ap-northeast-1", config=standard_mode)
        answer = client.describe_projects()
        print("ATTEMPTS", answer["ResponseMetadata"]["RetryAttempts"] + 1)
        try:
            client.describe_project_versions(ProjectArn=PROJECT)
        except ClientError as exc:
            attempts = exc.response["ResponseMetadata"]["RetryAttempts"] + 1
            print("GAVE UP", exc.response["Error"]["Code"], attempts)
        """.replace("PROJECT", repr(ARTICLE_PROJECT_ARN)),
    )
    code = main(["run", "--faults", str(rules), "--", sys.executable, script])
    out, err = capfd.readouterr()
    assert code == 0, err
    assert "ATTEMPTS 3" in out  # two throttled attempts, then the answer
    assert "GAVE UP InternalServerError 3" in out  # standard mode: 3 attempts in all
