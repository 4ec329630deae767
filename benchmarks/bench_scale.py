#!/usr/bin/env python3
"""Simulation and evaluation at scale: images per second and peak memory on generated manifests.

Each size runs in a fresh child process, so the peak RSS it reports is that run's alone:
``rclsim manifest`` is streamed, every image is simulated through the sim backend's core (a real
DetectCustomLabels call at MinConfidence 0) and scored as it goes. The point is that memory stays
flat as the image count grows, apart from the per-label score lists the results need.

Usage: python benchmarks/bench_scale.py [--sizes 1000 10000]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
import rclsim
from rclsim.data.datasets import paired_responses
from rclsim.data.evaluation import Prediction, Truth, evaluate
from rclsim.data.manifest import iter_manifest

manifest = sys.argv[1]
backend = rclsim.get_backend("sim", manifest=manifest)
arn = backend.project_version_arn
start = time.perf_counter()
backend.source._load()          # the sim backend's image index (source-ref -> entry)
index_s = time.perf_counter() - start
start = time.perf_counter()
count = 0
for entry, labels in paired_responses(iter_manifest(manifest), backend=backend, project_version_arn=arn):
    count += 1
sim_s = time.perf_counter() - start
current = {}
def truths():
    for entry, labels in paired_responses(iter_manifest(manifest), backend=backend, project_version_arn=arn):
        current[entry.source_ref] = labels
        yield Truth(entry.source_ref, [(b.name, entry.ratio_box(b)) for b in entry.boxes])
start = time.perf_counter()
report = evaluate(truths(), lambda image: Prediction(image, current.pop(image)))
both_s = time.perf_counter() - start
print(json.dumps({"images": count, "index_s": index_s, "sim_s": sim_s, "sim_and_eval_s": both_s,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "micro_f1": report.micro.f1}))
"""


def make_manifest(path: Path, images: int) -> None:
    rng = random.Random(1)
    labels = ["car", "vehicle_registration_plate", "vehicle"]
    with path.open("w") as out:
        for i in range(images):
            annotations = []
            for slot in range(rng.randint(1, 4)):
                w, h = rng.randint(60, 200), rng.randint(40, 160)
                annotations.append(
                    {
                        "left": slot * 250 + rng.randint(0, 250 - w),
                        "top": rng.randint(0, 600 - h),
                        "width": w,
                        "height": h,
                        "class_id": rng.randrange(3),
                    }
                )
            used = sorted({a["class_id"] for a in annotations})
            out.write(
                json.dumps(
                    {
                        "source-ref": f"s3://bench/images/{i:06d}.jpg",
                        "bb": {
                            "image_size": [{"width": 1000, "height": 600, "depth": 3}],
                            "annotations": annotations,
                        },
                        "bb-metadata": {
                            "objects": [{"confidence": 1}] * len(annotations),
                            "class-map": {str(k): labels[k] for k in used},
                            "type": "groundtruth/object-detection",
                            "human-annotated": "yes",
                            "creation-date": "2024-01-01T00:00:00.000Z",
                        },
                    }
                )
                + "\n"
            )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"gen-{size}.manifest"
            started = time.perf_counter()
            make_manifest(path, size)
            gen_s = time.perf_counter() - started
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(path)],
                capture_output=True,
                text=True,
                timeout=900,
                check=True,
            )
            row = json.loads(out.stdout)
            row["size"] = size
            row["generate_s"] = gen_s
            rows.append(row)
    print(
        "Generated Ground Truth manifests, each size in a fresh process. index s: seconds to read the\n"
        "manifest; sim img/s: images simulated per second (one DetectCustomLabels call each); sim+eval\n"
        "img/s: simulated and scored against the manifest; peak RSS: the process's peak memory. micro F1\n"
        "is the evaluation's result on these noisy generated images (a check that scoring ran), not a target."
    )
    print(
        f"{'images':>8} {'index s':>8} {'sim img/s':>10} {'sim+eval img/s':>15} "
        f"{'peak RSS MB':>12} {'micro F1':>9}"
    )
    for r in rows:
        print(
            f"{r['images']:>8} {r['index_s']:>8.2f} {r['images'] / r['sim_s']:>10.0f} "
            f"{r['images'] / r['sim_and_eval_s']:>15.0f} {r['peak_rss_mb']:>12.1f} {r['micro_f1']:>9.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
