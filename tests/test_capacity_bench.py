"""The throughput bench (benchmarks/bench_throughput.py) runs bounded, shows the per-IU limit and
auto-scaling, writes its PNG, and never replaces a file it was not told to."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_throughput", ROOT / "benchmarks" / "bench_throughput.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bench_shows_the_limit_and_scaling_and_writes_a_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plot = tmp_path / "tp.png"
    assert bench().main(["--quick", "--seconds", "2", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line[:9].strip().isdigit()}
    assert rows["40"][:3] == ["5.0", "10.0", "20.0"]  # 1, 2, 4 IU at 40 offered/s
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "inference-unit hours" in out
    scaling = [line.split() for line in out.splitlines() if len(line.split()) == 4]
    units = [int(cols[3]) for cols in scaling if cols[0].isdigit() and cols[3].isdigit()]
    assert max(units) > 1 and units[-1] == 1  # scaled up under load, back to Min when quiet


def test_the_bench_refuses_an_existing_plot(tmp_path: Path) -> None:
    plot = tmp_path / "mine.png"
    plot.write_bytes(b"the user's")
    with pytest.raises(SystemExit):
        bench().main(["--quick", "--seconds", "1", "--plot", str(plot)])
    assert plot.read_bytes() == b"the user's"
