"""``rclsim manifest check M``: the service's dataset import checks of a manifest, offline.

What CreateDataset would say of the manifest file ``M``
(:func:`rclsim.data.manifest.service_check.check_manifest`, the fake core's own check): on stderr the
counts, each line with errors (its number, codes, source-ref and why), the terminal error that would
fail the import and errors training would report; on stdout the ``manifest_summary.json`` the service
writes, in the ``--output`` format (``--query`` applies). Exit 0 when the import would succeed, 1 when
it would fail.

``--images-dir DIR`` checks the images too, as the service does: ``s3://B/K`` is read from ``DIR/B/K``
(the local S3 folder's layout); without it images are taken on trust. ``M`` may also be ``s3://B/K``:
the manifest and its images are then read from the fake's S3 (``--s3-dir``, ``--s3-endpoint-url``).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rclsim.frontends.cli.common import EXIT_USER_ERROR, _print, _say
from rclsim.service.errors import RclsimError

if TYPE_CHECKING:
    from rclsim.data.manifest.service_check import ManifestCheck

#: How many line errors are listed before "... and N more" (all are in the summary).
_SHOWN = 50


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``manifest check`` on the ``manifest`` command's parser."""
    parser.add_argument("manifest_file", nargs="?", metavar="M", help="manifest check: the manifest to check")
    parser.add_argument(
        "--images-dir",
        metavar="DIR",
        help="manifest check: also check the images, reading s3://B/K from DIR/B/K",
    )
    parser.add_argument(
        "--as",
        dest="dataset_role",
        choices=("training", "testing"),
        default="training",
        help="manifest check: the summary section to fill (default training)",
    )


def _reader(folder: str | None) -> Callable[[str], bytes | None] | None:
    """``s3://B/K`` read from ``folder/B/K``, as the fake's ``--s3-dir`` reads it."""
    if folder is None:
        return None
    if not Path(folder).is_dir():
        raise RclsimError(f"--images-dir {folder}: not a folder")
    from rclsim.fake.objects import FolderObjects, source_reader

    return source_reader(FolderObjects(folder))


def cmd_manifest_check(args: argparse.Namespace) -> int:
    from rclsim.data.manifest.service_check import DEFAULT_LIMITS, MESSAGES, ManifestCheck, check_uploaded
    from rclsim.service.files import read_file_bytes

    if not args.manifest_file:
        raise RclsimError("manifest check needs the manifest file: rclsim manifest check M")
    path = args.manifest_file
    if path.startswith("s3://"):
        return _check_in_s3(args, path)
    try:
        size = os.stat(path).st_size
    except OSError:
        size = 0  # read_file_bytes words the problem
    if size > DEFAULT_LIMITS.max_bytes:
        code = "ERROR_MANIFEST_SIZE_TOO_LARGE"
        check = ManifestCheck(terminal_error=(code, MESSAGES[code]), file_error=True)
    else:
        data = read_file_bytes(path, what="manifest", cap=DEFAULT_LIMITS.max_bytes)
        check, read = check_uploaded(data, _reader(args.images_dir))
        if args.images_dir and not read:
            _say(
                f"the first line's image is not in --images-dir {args.images_dir} (s3://B/K is "
                f"{args.images_dir}/B/K): taken as not uploaded yet, so no image was checked, as the "
                f"fake's import does"
            )
    _report(check, path, args.images_dir)
    _print(check.summary(args.dataset_role), args, "ManifestSummary")
    return 0 if check.ok else EXIT_USER_ERROR


def _check_in_s3(args: argparse.Namespace, uri: str) -> int:
    """``rclsim manifest check s3://B/K``: the manifest and its images read from the fake's S3
    (``--s3-dir``, ``--s3-endpoint-url``), as CreateDataset reads them."""
    from rclsim.data.manifest.service_check import check_uploaded
    from rclsim.fake.objects import HOW_TO_GIVE_ONE, objects_from_settings, source_reader
    from rclsim.frontends.cli.common import _settings

    store = objects_from_settings(_settings(args))
    if store is None:
        raise RclsimError(f"{uri}: rclsim has no S3 ({HOW_TO_GIVE_ONE})")
    bucket, _, key = uri[len("s3://") :].partition("/")
    try:
        data = store.get(bucket, key)
    except KeyError:
        raise RclsimError(f"{uri}: {store.describe()} has no such object") from None

    check, checked = check_uploaded(data, source_reader(store))
    if not checked:
        _say(
            f"the first line's image is not in {store.describe()}: taken as not uploaded yet, so no "
            f"image was checked"
        )
    _report(check, uri)
    _print(check.summary(args.dataset_role), args, "ManifestSummary")
    return 0 if check.ok else EXIT_USER_ERROR


def _report(check: ManifestCheck, path: str, images_dir: str | None = None) -> None:
    if not check.file_error:
        s = check.stats
        _say(
            f"{path}: {s['total_json_lines']} lines: {s['valid_json_lines']} valid, "
            f"{s['invalid_json_lines']} invalid, {s['ignored_json_lines']} ignored; "
            f"{len(check.labels)} labels ({check.use_case})"
        )
        for error in check.line_errors[:_SHOWN]:
            fate = "removed" if error.removed else ("invalid" if error.invalid else "boxes dropped")
            source_ref = error.source_ref or ""
            ref = f" {source_ref}" if source_ref else ""
            detail = error.detail.removeprefix(f"{source_ref}: ") if source_ref else error.detail
            if detail == "no such object" and images_dir and source_ref.startswith("s3://"):
                local = Path(images_dir, *source_ref[len("s3://") :].split("/"))
                detail = f"no such object: {local} does not exist (--images-dir is the folder of the buckets)"
            _say(f"line {error.line}: {', '.join(error.codes)} ({fate}){ref}: {detail}")
        if len(check.line_errors) > _SHOWN:
            _say(f"... and {len(check.line_errors) - _SHOWN} more lines with errors (all in the summary)")
    for code, message in check.training_errors:
        _say(f"training would fail: {code}: {message}")
    if check.terminal_error is not None:
        code, message = check.terminal_error
        _say(f"the import would fail: {code}: {message}")
    else:
        _say("the import would succeed")
