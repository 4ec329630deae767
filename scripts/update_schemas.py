#!/usr/bin/env python3
"""Rewrite rclsim/service/schemadata/detect-custom-labels-response.schema.json from botocore's model.

Run after upgrading botocore when tests/test_schema.py reports that the committed schema and the model
differ; review the diff before committing it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rclsim.service.schemas import derive_response_schema  # noqa: E402


def main() -> int:
    target = ROOT / "rclsim" / "service" / "schemadata" / "detect-custom-labels-response.schema.json"
    text = json.dumps(derive_response_schema(), indent=2) + "\n"
    if target.exists() and target.read_text(encoding="utf-8") == text:
        print(f"{target.relative_to(ROOT)} is up to date")
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
