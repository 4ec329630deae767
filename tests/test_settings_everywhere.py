"""Every RCLSIM_* variable is read through rclsim.config's resolver, so each one means the same thing
wherever it is read (the CLI, get_backend, the cache, the price table): a blank variable is unset,
surrounding spaces are not part of the value, and a bad value is one line that names the variable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rclsim
from rclsim.fake.cost import PriceTable
from rclsim.frontends.cli import main
from rclsim.service.errors import RclsimError

ROOT = Path(__file__).resolve().parents[1]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    assert len(err.splitlines()) == 1 and err.startswith("rclsim: error: "), err
    assert "internal error" not in err and "Traceback" not in err, err
    return err


# -- RCLSIM_DEBUG -------------------------------------------------------------------------------------
def test_the_debug_variable_gives_a_traceback_from_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "missing.json"
    code, _, err = run(capsys, "--prices", str(missing), "cost")
    assert code == 1 and str(missing) in one_error_line(err)
    monkeypatch.setenv("RCLSIM_DEBUG", "1")
    with pytest.raises(RclsimError, match="missing.json"):
        main(["--prices", str(missing), "cost"])


def test_a_bad_debug_variable_is_one_line_naming_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RCLSIM_DEBUG", "maybe")
    code, _, err = run(capsys, "cost")
    assert code == 1 and "RCLSIM_DEBUG='maybe'" in one_error_line(err)


# -- RCLSIM_PRICES ------------------------------------------------------------------------------------
def test_a_blank_prices_variable_means_the_built_in_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RCLSIM_PRICES", "   ")
    code, out, err = run(capsys, "cost")
    assert code == 0 and "error" not in err, err
    assert "prices as of" in err and json.loads(out)  # the built-in table's note
    with rclsim.get_backend("replay") as backend:
        assert backend.bill().currency == "USD"
    assert PriceTable.load().origin == "built-in price table"


BAD_TABLES = {
    "missing": None,
    "malformed": b"{not json",
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "wrong form": json.dumps({"currency": "USD"}).encode(),
}


def _bad_table(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "prices.json"
    content = BAD_TABLES[kind]
    if content is not None:
        path.write_bytes(content)
    return path


@pytest.mark.parametrize("kind", BAD_TABLES)
def test_a_bad_price_table_from_the_variable_is_one_line_naming_it_in_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    path = _bad_table(tmp_path, kind)
    monkeypatch.setenv("RCLSIM_PRICES", str(path))
    for command in (["cost"], ["find-running"]):
        code, out, err = run(capsys, *command)
        assert (code, out) == (1, "")
        assert f"RCLSIM_PRICES={path}" in one_error_line(err)
    # Given as an option, the option's file is named as typed (no variable to blame).
    code, _, err = run(capsys, "--prices", str(path), "cost")
    assert code == 1 and str(path) in one_error_line(err) and "RCLSIM_PRICES" not in err


@pytest.mark.parametrize("kind", BAD_TABLES)
def test_a_bad_price_table_from_the_variable_names_it_in_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    path = _bad_table(tmp_path, kind)
    monkeypatch.setenv("RCLSIM_PRICES", str(path))
    with pytest.raises(RclsimError) as info:
        PriceTable.load()
    message = str(info.value)
    assert f"RCLSIM_PRICES={path}" in message and "\n" not in message


@pytest.mark.parametrize("kind", ["missing", "wrong form"])
def test_a_bad_price_table_from_the_variable_names_it_from_get_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    path = _bad_table(tmp_path, kind)
    monkeypatch.setenv("RCLSIM_PRICES", str(path))
    with pytest.raises(RclsimError) as info:
        rclsim.get_backend("replay")
    message = str(info.value)
    assert f"RCLSIM_PRICES={path}" in message and "\n" not in message


# -- RCLSIM_CACHE_DIR ---------------------------------------------------------------------------------
def test_the_cache_folder_is_the_resolved_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rclsim.caches.verdicts import cache_dir

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("RCLSIM_CACHE_DIR", "   ")
    assert cache_dir() == tmp_path / "xdg" / "rclsim"
    monkeypatch.setenv("RCLSIM_CACHE_DIR", f"  {tmp_path / 'mine'}  ")
    assert cache_dir() == tmp_path / "mine"


@pytest.mark.parametrize("value", ["   ", "\t"])
def test_a_blank_cache_variable_leaves_no_stray_folder_in_the_current_one(tmp_path: Path, value: str) -> None:
    """A blank RCLSIM_CACHE_DIR is unset, as every other variable: the CLI caches under
    $XDG_CACHE_HOME/rclsim, not in a folder named by spaces in the current folder."""
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCLSIM_")}
    env.update(RCLSIM_CACHE_DIR=value, XDG_CACHE_HOME=str(tmp_path / "xdg"), RCLSIM_STATE_DIR=str(tmp_path))
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from rclsim.frontends.cli import main; sys.exit(main(['find-running']))",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in work.iterdir()) == []
    assert (tmp_path / "xdg" / "rclsim" / "validated").is_dir()
