"""``rclsim run [options] -- CMD ARGS``: run unchanged code with its Rekognition calls answered by the fake.

How: the options resolve as for every command (:func:`rclsim.config.resolve`, CLI defaults, so model
state lives in ``--state-dir``, default ``.rclsim`` here) and are handed to the command as ``RCLSIM_*``
variables with absolute paths. :mod:`rclsim.frontends.runboot` is put first on ``PYTHONPATH`` (the
user's entries kept after it), so every Python process of the command, also one a shell script starts,
imports its ``sitecustomize`` at startup; that one starts :func:`rclsim.mock` on the process's first
Rekognition call and imports the next ``sitecustomize`` on the path, if any. The command gets this
process's stdin, stdout and stderr, sees its own argv unchanged, and ``rclsim run`` exits with its exit
code (128+N when signal N ended it). SIGINT and SIGTERM sent to ``rclsim run`` are passed on to the
command; a Ctrl-C at a terminal reaches both already, so it is not passed twice.

Offline (choices, tested in tests/test_cli_run.py):

- AWS settings: the command gets dummy credentials (``testing``), ``AWS_EC2_METADATA_DISABLED=true``
  and AWS config and credentials files of its own (``[default]``, ``custom-labels-access``, the
  profile AWS's Custom Labels samples name, and ``AWS_PROFILE``'s or ``--profile``'s), each with the
  region of ``--region``/``RCLSIM_REGION``/``AWS_REGION``, else the user's, else us-east-1. So the
  samples' ``boto3.Session(profile_name='custom-labels-access')`` works and no real credential is
  ever read. Rekognition's endpoint (``AWS_ENDPOINT_URL_REKOGNITION``) is a closed local port: a
  process that cannot start the drop-in (a Python without rclsim; the AWS CLI v2) fails at once instead
  of reaching AWS. Record mode (``--backend aws --record-mode MODE``) keeps the user's AWS settings:
  it calls AWS on purpose. ``--backend aws`` alone is refused (nothing would be faked).
- S3: ``--s3-endpoint-url URL`` points the command's S3 (``AWS_ENDPOINT_URL_S3``, botocore >= 1.31)
  and the fake's at URL. Otherwise, when moto's server is installed (``moto[server]``), a
  ``ThreadedMotoServer`` on 127.0.0.1 (a free port) serves S3 for the command's lifetime, to the
  command and the fake alike, filled first from ``--s3-dir DIR`` (``DIR/BUCKET/KEY`` files); when the
  command ends, what it (or the fake: training output) made or changed there is written back into
  ``DIR``, which stands for S3 as it does for the fake's own writes (a changed object replaces its
  file; a file changed on disk during the run is kept); stderr names what was replaced or kept.
  One line on stderr says where S3 is.
  Otherwise the command's S3 goes to a closed local port (its S3 calls fail at once, locally), the fake
  reads ``--s3-dir`` itself, and stderr says so. In record mode S3 is left alone unless an S3 option is
  given.

What is not faked: every other AWS service (S3 aside, as above), Rekognition operations other than the
Custom Labels ones (they get a clear error), and programs that are not Python with rclsim installed
(point them at ``rclsim serve``).

Exit codes: the command's; 127 when it is not found, 126 when it cannot be executed, 2 for a usage
error (no command), 1 when rclsim's own options are bad (before the command runs).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from rclsim.frontends.cli.common import EXIT_USAGE, _backend, _say, _settings
from rclsim.frontends.runboot import BOOT_VARIABLE, FOLDER
from rclsim.service.errors import RclsimError

__all__ = ["add_parser", "cmd_run", "child_environment"]

#: A loopback address nothing listens on (port 1 needs root to listen): calls sent there fail at once.
CLOSED = "http://127.0.0.1:1"
DUMMY = "testing"
#: Profile names the child's AWS config always has: boto3's default and the one AWS's Custom Labels
#: samples name in ``boto3.Session(profile_name=...)``.
PROFILES = ("default", "custom-labels-access")
#: Credential sources other than the dummy keys, removed from a child that must stay offline.
_OTHER_CREDENTIALS = (
    "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CREDENTIAL_EXPIRATION",
)

_DESCRIPTION = """\
Run a program with every boto3/botocore Amazon Rekognition Custom Labels call it makes (DetectCustomLabels,
Start/Stop/DescribeProjectVersions, projects, datasets, training, ...) answered by rclsim's fake, offline,
with the options given here (backend, recordings, time scale, seed, manifest, region). Model state lives
in --state-dir (default .rclsim here), shared with 'rclsim start/stop/status' and every process of the
program. The program's own code is unchanged and sees its arguments unchanged.

The program gets dummy AWS credentials and an AWS config of its own (profiles default and
custom-labels-access), so it never reaches AWS by accident. Its S3 calls (and the fake's) go to
--s3-endpoint-url URL if given; else to a local moto server for the run, filled from --s3-dir DIR
(DIR/BUCKET/KEY files), when moto[server] is installed, and what the run made or changed there is
written back into DIR at the end, as S3 would keep it (stderr names what it replaced); else they fail
locally (said on stderr).

Not faked: other AWS services (S3 aside), other Rekognition operations (a clear error), and programs that
are not Python with rclsim installed (the AWS CLI v2: point it at 'rclsim serve' instead). With
--backend aws --record-mode MODE, DetectCustomLabels calls go to real AWS and are recorded."""

_EPILOG = """\
exit status: the program's (128+N if signal N ended it); 127 program not found; 2 no program given.

examples:
  rclsim run -- python train.py
  rclsim run --s3-dir s3data -- python describe.py   # s3data/BUCKET/KEY served as S3; new objects saved there
  rclsim start --project-version-arn ARN        # state in .rclsim/, shared with the program
  rclsim run -- python detect.py
  rclsim stop --project-version-arn ARN
  rclsim run --region ap-northeast-1 --time-scale 0.01 -- sh ./pipeline.sh
  rclsim run --backend sim --manifest train.manifest -- pytest tests/
"""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """The ``run`` command's parser (its S3 options are the common ``--s3-dir``/``--s3-endpoint-url``)."""
    r = sub.add_parser(
        "run",
        parents=[common],
        allow_abbrev=False,
        help="run a program with boto3's Rekognition calls answered by the fake",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="rclsim run [options] -- COMMAND [ARGS...]",
    )
    r.add_argument(
        "run_command",
        nargs=argparse.REMAINDER,
        metavar="COMMAND [ARGS...]",
        help="the program and its arguments, after --",
    )


def cmd_run(args: argparse.Namespace) -> int:
    command = list(getattr(args, "run_command", None) or [])
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        print(
            "rclsim run: error: no command given: rclsim run [options] -- COMMAND [ARGS...] "
            "(see 'rclsim run --help')",
            file=sys.stderr,
        )
        return EXIT_USAGE
    settings = _settings(args)
    if settings.backend == "aws" and settings.record_mode is None:
        raise RclsimError(
            f"rclsim run fakes Rekognition: {settings.option('backend')} aws alone would fake nothing; "
            f"add {settings.option('record_mode')} MODE to record live DetectCustomLabels calls, or run "
            "the program without rclsim to call AWS"
        )
    program = _find(command[0])
    if program is None:
        _say(f"rclsim run: {command[0]}: command not found")
        return 127
    _backend(args).close()  # bad settings (a missing manifest, a broken state file) stop us here
    with tempfile.TemporaryDirectory(prefix="rclsim-run-") as workdir, contextlib.ExitStack() as stack:
        env, _ = child_environment(settings, os.environ, workdir=Path(workdir), user_region=_user_region())
        _serve_s3(settings, env, stack)
        return _run_child(command, env)


def _find(name: str) -> str | None:
    """The program the command names, as the child's exec will find it (None: not found)."""
    if os.sep in name or (os.altsep and os.altsep in name):
        return name if os.path.exists(name) else None
    return shutil.which(name)


def _user_region() -> str | None:
    """The region the user's own AWS settings give (their profile's), before the child gets its own."""
    try:
        import botocore.session

        return botocore.session.Session().get_config_variable("region")  # type: ignore[no-any-return]
    except Exception:  # a broken profile: the child's own config decides
        return None


# -- the child's environment -----------------------------------------------------------------------
def _as_variable(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Path):
        return str(value.resolve())
    if isinstance(value, tuple):
        return os.pathsep.join(str(Path(v).resolve()) for v in value)
    return str(value)


def child_environment(
    settings: Any, environ: Mapping[str, str], *, workdir: Path, user_region: str | None = None
) -> tuple[dict[str, str], list[Path]]:
    """The command's environment: ``environ`` with the resolved settings as ``RCLSIM_*`` variables
    (absolute paths), runboot first on ``PYTHONPATH``, and, unless record mode, dummy AWS credentials,
    an AWS config of its own (written into ``workdir``; returned as the second item) and Rekognition's
    endpoint at a closed local port. S3 is set by :func:`_serve_s3`."""
    from rclsim.config import variables

    env = dict(environ)
    for variable, name in variables().items():
        value = _as_variable(getattr(settings, name, None))
        if value is None:
            env.pop(variable, None)
        else:
            env[variable] = value
    env[BOOT_VARIABLE] = json.dumps({"mask_account": bool(settings.mask_account)})
    user_path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = str(FOLDER) + (os.pathsep + user_path if user_path else "")
    if settings.record_mode is not None:  # calls AWS on purpose: the user's own AWS settings
        if settings.region is not None:
            env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = settings.region
        return env, []
    region = settings.region or env.get("AWS_DEFAULT_REGION") or user_region or "us-east-1"
    for name in _OTHER_CREDENTIALS:
        env.pop(name, None)
    env.update(
        AWS_ACCESS_KEY_ID=DUMMY,
        AWS_SECRET_ACCESS_KEY=DUMMY,
        AWS_SESSION_TOKEN=DUMMY,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_REGION=region,
        AWS_DEFAULT_REGION=region,
        AWS_ENDPOINT_URL_REKOGNITION=CLOSED,
    )
    profiles = list(PROFILES)
    for profile in (env.get("AWS_PROFILE"), env.get("AWS_DEFAULT_PROFILE"), settings.profile):
        if profile and profile not in profiles:
            profiles.append(profile)
    config = workdir / "aws-config"
    credentials = workdir / "aws-credentials"
    config.write_text(
        "".join(
            f"[{'default' if p == 'default' else 'profile ' + p}]\nregion = {region}\n\n" for p in profiles
        )
    )
    credentials.write_text(
        "".join(f"[{p}]\naws_access_key_id = {DUMMY}\naws_secret_access_key = {DUMMY}\n\n" for p in profiles)
    )
    env["AWS_CONFIG_FILE"] = str(config)
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(credentials)
    return env, [config, credentials]


# -- S3 ----------------------------------------------------------------------------------------------
def _moto_server_class() -> Any:
    """moto's ThreadedMotoServer, or None when moto[server] (flask) is not installed."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        return None
    return ThreadedMotoServer


def _serve_s3(settings: Any, env: dict[str, str], stack: contextlib.ExitStack) -> None:
    """Where the command's S3 goes (see the module's docstring); a moto server lives in ``stack``."""
    from rclsim.config import variables

    names = {name: variable for variable, name in variables().items()}
    s3_dir, s3_url = settings.s3_dir, settings.s3_endpoint_url
    if s3_url:
        env["AWS_ENDPOINT_URL_S3"] = s3_url
        return
    if settings.record_mode is not None and s3_dir is None:
        return  # record mode: the user's real S3
    server = _moto_server_class()
    if server is None:
        env["AWS_ENDPOINT_URL_S3"] = CLOSED
        where = f"; the fake reads S3 from the folder {s3_dir}" if s3_dir else ""
        _say(
            f"rclsim run: moto[server] is not installed (pip install 'rclsim[s3]'), so the program's S3 "
            f"calls fail locally ({CLOSED}); "
            f"give --s3-endpoint-url URL for an S3 of your own{where}"
        )
        return
    url, filled = stack.enter_context(_moto_s3(server, s3_dir))
    env["AWS_ENDPOINT_URL_S3"] = url
    env[names["s3_endpoint_url"]] = url  # the fake reads and writes the same S3 as the program
    env.pop(names["s3_dir"], None)
    source = f", filled from {s3_dir} ({filled})" if s3_dir else " (empty)"
    saved = (
        f"; what it makes or changes there is written back into {s3_dir} at the end"
        if s3_dir
        else "; what is written there ends with it"
    )
    _say(f"rclsim run: S3 is moto's server at {url}{source} for this run{saved}")


@contextlib.contextmanager
def _moto_s3(server_class: Any, s3_dir: Path | None) -> Iterator[tuple[str, str]]:
    import logging

    # werkzeug logs each request on stderr, into the program's own output: errors only.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = server_class(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        filled = _upload(url, s3_dir) if s3_dir else ""
        before = _listing(url) if s3_dir else {}
        yield url, filled
        if s3_dir is not None:
            saved = _save_new(url, s3_dir, before)
            if saved:
                _say(f"rclsim run: {saved}")
    finally:
        server.stop()


def _listing(url: str) -> dict[tuple[str, str], str]:
    """Every object in the S3 at ``url``, with its ETag."""
    client = _client(url)
    found = {}
    for bucket in (b["Name"] for b in client.list_buckets().get("Buckets", [])):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                found[(bucket, item["Key"])] = item.get("ETag", "")
    return found


def _save_new(url: str, folder: Path, before: dict[tuple[str, str], str]) -> str:
    """Write what the run made or changed in the S3 at ``url`` (objects not in ``before``, the listing
    taken once it was filled from ``folder``) back into ``folder/BUCKET/KEY``, so the next run (and the
    user) sees it: training output, say, whose location DescribeProjectVersions keeps giving. The
    folder stands for S3, so a changed object replaces its file, as the fake's own writes with
    ``--s3-dir`` do; but a file that changed on disk during the run is kept (and named). Returns what was
    done, or "" when nothing was."""
    import hashlib

    from rclsim.fake.objects import FolderObjects

    client = _client(url)
    store = FolderObjects(folder)
    written: list[str] = []
    replaced: list[str] = []
    kept: list[str] = []
    refused = 0
    for (bucket, key), etag in _listing(url).items():
        if before.get((bucket, key)) == etag:
            continue  # there before the run and unchanged
        data = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        try:
            existing: bytes | None = store.get(bucket, key)
        except KeyError:
            existing = None
        name = f"{bucket}/{key}"
        if existing == data:
            continue
        if existing is not None:
            uploaded = before.get((bucket, key), "").strip('"')
            if hashlib.md5(existing, usedforsecurity=False).hexdigest() != uploaded:
                kept.append(name)  # changed on disk meanwhile (or made there): the user's
                continue
        try:
            (folder / bucket).mkdir(exist_ok=True)
            store.put(bucket, key, data)
        except (OSError, RclsimError):
            refused += 1
            continue
        (replaced if existing is not None else written).append(name)
    parts = []
    if written:
        parts.append(f"saved {len(written)} new object{'s' * (len(written) != 1)} into {folder}")
    if replaced:
        parts.append(f"replaced {len(replaced)} the run changed ({_names(replaced)})")
    if kept:
        parts.append(
            f"kept {len(kept)} file{'s' * (len(kept) != 1)} changed on disk during the run ({_names(kept)})"
        )
    if refused:
        parts.append(
            f"{refused} object{'s' * (refused != 1)} could not be saved as files (key outside the folder)"
        )
    return "; ".join(parts)


def _names(names: list[str], shown: int = 3) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _client(url: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=DUMMY,
        aws_secret_access_key=DUMMY,
    )


def _upload(url: str, folder: Path) -> str:
    """Copy ``folder/BUCKET/KEY`` files into the S3 at ``url`` (buckets made); what was copied."""
    if not folder.is_dir():
        raise RclsimError(f"--s3-dir {folder}: not a folder (its sub-folders are the buckets)")
    client = _client(url)
    from botocore.exceptions import ClientError

    buckets = objects = 0
    for bucket in sorted(p for p in folder.iterdir() if p.is_dir()):
        try:
            client.create_bucket(Bucket=bucket.name)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise RclsimError(
                f"--s3-dir {folder}: the folder {bucket.name!r} cannot be a bucket: "
                f"{error.get('Code')}: {error.get('Message')}"
            ) from None
        buckets += 1
        for path in sorted(p for p in bucket.rglob("*") if p.is_file()):
            client.put_object(
                Bucket=bucket.name, Key=path.relative_to(bucket).as_posix(), Body=path.read_bytes()
            )
            objects += 1
    return f"{buckets} bucket{'s' * (buckets != 1)}, {objects} object{'s' * (objects != 1)}"


# -- the child -----------------------------------------------------------------------------------------
def _in_terminal_foreground() -> bool:
    """Whether this process is in its terminal's foreground process group: then a Ctrl-C reached the
    child (in the same group) from the terminal already, and passing SIGINT on would send it twice."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return False
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(fd)


def _run_child(command: list[str], env: dict[str, str]) -> int:
    try:
        proc = subprocess.Popen(command, env=env)
    except FileNotFoundError:
        _say(f"rclsim run: {command[0]}: command not found")
        return 127
    except PermissionError:
        _say(f"rclsim run: {command[0]}: permission denied (not executable)")
        return 126
    except OSError as exc:
        _say(f"rclsim run: {command[0]}: cannot execute ({exc.strerror or exc})")
        return 126

    def forward(signum: int, _frame: Any) -> None:
        if signum == signal.SIGINT and _in_terminal_foreground():
            return  # the terminal sent it to the child too
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signum)

    saved: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for forwarded in (signal.SIGINT, signal.SIGTERM):
            saved[forwarded] = signal.signal(forwarded, forward)
    try:
        code = proc.wait()
    finally:
        for restored, handler in saved.items():
            signal.signal(restored, handler)
        if proc.poll() is None:  # an exception in rclsim itself: do not leave the child behind
            proc.terminate()
            proc.wait()
    return 128 - code if code < 0 else code
