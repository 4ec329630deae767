#!/usr/bin/env python3
"""Throughput: what a RUNNING version serves per inference unit, and auto-scaling, on a ManualClock.

Capacity is switched on (``core.capacity = True``: 5 calls per second per inference unit, the default of
:mod:`rclsim.fake.capacity`). Two runs, both on simulated time (nothing sleeps; every loop is bounded):

1. **fixed units**: 1, 2 and 4 inference units, each offered 2..40 calls per second spread evenly over
   each second for ``--seconds`` seconds; served calls per second against offered;
2. **auto-scaling**: Min 1, Max 4, the default delays (up after 300 s over, down after 600 s within one
   unit fewer), a load profile over simulated minutes (quiet, busy, very busy, quiet again); per minute
   the offered and served calls per second and the units in service, then the bill beside Min-only and
   Max-always.

Prints the tables and writes a PNG plot of both (OpenCV, as ``rclsim.reports.prplot`` draws) to
``--plot`` (default ``benchmarks/out/throughput.png``, numbered rather than overwritten when it exists;
a path you give is refused if it exists unless ``--overwrite``).

Usage: python benchmarks/bench_throughput.py [--quick] [--seconds N] [--plot PATH] [--overwrite]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ARN = (
    "arn:aws:rekognition:ap-northeast-1:123456789012:project/licence-plates/version/"
    "licence-plates.2021-01-01T00.00.00/1609459200000"
)
IMAGE = {"S3Object": {"Bucket": "my-bucket", "Name": "test-qiita/9c5f2a31335627a0.jpg"}}
RATES = (2, 4, 5, 8, 10, 15, 20, 25, 30, 40)
UNITS = (1, 2, 4)
#: (minutes, calls per second) of the auto-scaling run.
PROFILE = ((3, 3), (12, 9), (12, 18), (30, 3))
PROFILE_QUICK = ((2, 3), (8, 9), (8, 18), (22, 3))


def backend(clock: Any, min_units: int, max_units: int | None = None) -> Any:
    import rclsim

    made = rclsim.get_backend("replay", clock=clock)
    made.core.capacity = True
    start: dict[str, Any] = {"ProjectVersionArn": ARN, "MinInferenceUnits": min_units}
    if max_units is not None:
        start["MaxInferenceUnits"] = max_units
    made.start_project_version(**start)
    return made


def offer_second(made: Any, clock: Any, rate: int) -> int:
    """``rate`` calls spread evenly over one clock second; how many were served."""
    from botocore.exceptions import ClientError

    served = 0
    start = clock.now()
    for i in range(rate):
        clock.advance(start + i / rate - clock.now())
        try:
            made.detect_custom_labels(ProjectVersionArn=ARN, Image=IMAGE)
            served += 1
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ProvisionedThroughputExceededException":
                raise
    clock.advance(start + 1 - clock.now())
    return served


def fixed_units(seconds: int) -> dict[int, list[tuple[int, float]]]:
    from rclsim.fake.clock import ManualClock

    out: dict[int, list[tuple[int, float]]] = {}
    for units in UNITS:
        rows = []
        for rate in RATES:
            clock = ManualClock()
            made = backend(clock, units)
            served = sum(offer_second(made, clock, rate) for _ in range(seconds))
            rows.append((rate, served / seconds))
        out[units] = rows
    return out


def auto_scaling(profile: tuple[tuple[int, int], ...]) -> tuple[list[tuple[float, int, float, int]], Any]:
    """Per simulated minute: (minute, offered/s, served/s, units in service at its end); and the bill."""
    from rclsim.fake.clock import ManualClock

    clock = ManualClock()
    made = backend(clock, 1, 4)
    lifecycle = made.core.lifecycle
    rows = []
    minute = 0
    for minutes, rate in profile:
        for _ in range(minutes):
            served = sum(offer_second(made, clock, rate) for _ in range(60))
            rows.append((minute, rate, served / 60, lifecycle.units_in_service(ARN) or 0))
            minute += 1
    made.stop_project_version(ProjectVersionArn=ARN)
    return rows, made.bill()


# -- the plot -------------------------------------------------------------------------------------------
COLORS = {1: (200, 90, 30), 2: (40, 150, 40), 4: (40, 40, 210)}  # BGR


def draw(fixed: dict[int, list[tuple[int, float]]], scaling: list[tuple[float, int, float, int]]) -> Any:
    import cv2

    width, height = 1200, 520
    image = np.full((height, width, 3), 255, dtype=np.uint8)
    font, scale, black, grey = cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), (215, 215, 215)

    def text(s: str, x: int, y: int, color: tuple[int, int, int] = black, anchor: str = "left") -> None:
        (tw, th), _ = cv2.getTextSize(s, font, scale, 1)
        x -= tw // 2 if anchor == "center" else tw if anchor == "right" else 0
        cv2.putText(image, s, (x, y + th // 2), font, scale, color, 1, cv2.LINE_AA)

    def panel(x0: int, x1: int, y0: int, y1: int, xmax: float, ymax: float, xlabel: str, title: str) -> Any:
        def at(x: float, y: float) -> tuple[int, int]:
            return round(x0 + x / xmax * (x1 - x0)), round(y1 - y / ymax * (y1 - y0))

        for i in range(6):
            gx, gy = at(xmax * i / 5, ymax * i / 5)
            cv2.line(image, (gx, y0), (gx, y1), grey, 1)
            cv2.line(image, (x0, gy), (x1, gy), grey, 1)
            text(f"{xmax * i / 5:g}", gx, y1 + 14, anchor="center")
            text(f"{ymax * i / 5:g}", x0 - 6, gy, anchor="right")
        cv2.rectangle(image, (x0, y0), (x1, y1), black, 1)
        text(xlabel, (x0 + x1) // 2, y1 + 34, anchor="center")
        text(title, (x0 + x1) // 2, y0 - 16, anchor="center")
        return at

    # Left: served vs offered per fixed unit count, with y = x for reference.
    at = panel(70, 540, 50, 440, 40, 40, "offered calls/s", "served calls/s vs offered (5 TPS per IU)")
    cv2.line(image, at(0, 0), at(40, 40), grey, 1, cv2.LINE_AA)
    for k, (units, rows) in enumerate(fixed.items()):
        points = np.array([at(rate, served) for rate, served in rows], dtype=np.int32).reshape(-1, 1, 2)
        cv2.polylines(image, [points], False, COLORS[units], 2, cv2.LINE_AA)
        text(f"{units} IU", 90, 70 + 18 * k, COLORS[units])

    # Right: the auto-scaling run over simulated minutes.
    minutes = max(1, len(scaling))
    at = panel(640, 1150, 50, 440, minutes, 20, "simulated minutes", "auto-scaling Min 1 Max 4: calls/s")
    offered = [at(m + 0.5, rate) for m, rate, _, _ in scaling]
    served = [at(m + 0.5, s) for m, _, s, _ in scaling]
    capacity = []
    for m, _, _, units in scaling:
        capacity += [at(m, units * 5), at(m + 1, units * 5)]
    for pts, color in ((capacity, (160, 160, 160)), (offered, (40, 40, 210)), (served, (40, 150, 40))):
        cv2.polylines(image, [np.array(pts, dtype=np.int32).reshape(-1, 1, 2)], False, color, 2, cv2.LINE_AA)
    text("offered", 660, 70, (40, 40, 210))
    text("served", 660, 88, (40, 150, 40))
    text("units in service x 5", 660, 106, (130, 130, 130))
    text("rclsim bench_throughput: ManualClock, capacity on", width // 2, height - 18, anchor="center")
    return image


def plot_path(given: str | None) -> Path:
    if given:
        return Path(given)
    folder = ROOT / "benchmarks" / "out"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "throughput.png"
    n = 2
    while path.exists():  # a plot of an earlier run is kept
        path = folder / f"throughput-{n}.png"
        n += 1
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer seconds per rate, a shorter profile")
    parser.add_argument(
        "--seconds", type=int, help="simulated seconds per offered rate (default 20, quick 5)"
    )
    parser.add_argument("--plot", help="PNG to write (default benchmarks/out/throughput.png, numbered)")
    parser.add_argument("--overwrite", action="store_true", help="replace --plot if it exists")
    args = parser.parse_args(argv)
    seconds = args.seconds or (5 if args.quick else 20)
    if not 1 <= seconds <= 600:
        parser.error("--seconds must be 1..600")
    sys.path.insert(0, str(ROOT))
    from rclsim.reports.drawing import write_image

    path = plot_path(args.plot)
    if path.exists() and not args.overwrite:
        parser.error(f"{path} exists; pass --overwrite to replace it, or another --plot")

    started = time.perf_counter()
    fixed = fixed_units(seconds)
    print(f"served calls/s vs offered, {seconds} simulated s per rate (capacity on, 5 TPS per IU)")
    print("offered/s " + "".join(f"{f'{u} IU':>9}" for u in UNITS))
    for i, rate in enumerate(RATES):
        print(f"{rate:>9} " + "".join(f"{fixed[u][i][1]:>9.1f}" for u in UNITS))
    profile = PROFILE_QUICK if args.quick else PROFILE
    scaling, bill = auto_scaling(profile)
    print()
    print("auto-scaling Min 1 Max 4 (up after 300 s over, down after 600 s within one unit fewer)")
    print(f"{'minute':>6} {'offered/s':>9} {'served/s':>9} {'units':>5}")
    for minute, rate, served, units in scaling:
        print(f"{minute:>6} {rate:>9} {served:>9.1f} {units:>5}")
    (line,) = [x for x in bill.lines if x.item == "inference"]
    hours = len(scaling) / 60
    print(
        f"billed {line.quantity:.3f} inference-unit hours ({bill.currency} {line.amount:.2f}) over "
        f"{hours:.2f} h: Min-only would be {hours:.3f} IU-h, Max-always {4 * hours:.3f} IU-h"
    )
    written = write_image(path, draw(fixed, scaling), overwrite=args.overwrite)
    print(f"plot: {written}  ({time.perf_counter() - started:.1f} s wall)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
