"""The layers of shared/design/architecture.md hold: import-linter's contracts (.importlinter) are kept,
and importing a light module loads nothing heavy."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT


def test_the_import_contracts_are_kept() -> None:
    """Each layer imports only from the layers below it; the core never imports a front-end, OpenCV or
    the aws backend; geometry is pure Python (see .importlinter)."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports())",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _loaded_after(statement: str) -> set[str]:
    code = f"{statement}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_importing_geometry_loads_neither_the_core_nor_botocore() -> None:
    loaded = _loaded_after("import rclsim.geometry")
    heavy = {
        "rclsim.fake.core",
        "rclsim.frontends.dropin",
        "rclsim.backends",
        "botocore",
        "boto3",
        "cv2",
        "jsonschema",
    }
    assert not heavy & loaded, sorted(heavy & loaded)


def test_importing_rclsim_loads_only_the_hook_and_names_load_on_use() -> None:
    loaded = _loaded_after("import rclsim")
    assert {m for m in loaded if m.startswith("rclsim")} == {
        "rclsim",
        "rclsim.frontends",
        "rclsim.frontends.hook",
    }
    assert "botocore" not in loaded
    loaded = _loaded_after("import rclsim\nrclsim.get_backend\nrclsim.mock")
    assert {"rclsim.backends", "rclsim.frontends.dropin"} <= loaded and "cv2" not in loaded
