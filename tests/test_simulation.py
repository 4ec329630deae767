"""The sim backend: seeded, float32-rounded, through the same core; and fit recovers its parameters."""

from __future__ import annotations

import json
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

import rclsim
from rclsim.fake.simulation import NoiseModel, fit_noise, simulate_entry

from .conftest import DATA


def make_manifest(
    path: Path, images: int, *, seed: int = 7, labels: tuple[str, ...] = ("car", "plate")
) -> Path:
    """A synthetic object-detection manifest: 1-3 well-separated boxes per image."""
    rng = random.Random(seed)
    with path.open("w") as out:
        for i in range(images):
            width, height = 1000, 800
            annotations = []
            for slot in range(rng.randint(1, 3)):
                w, h = rng.randint(120, 250), rng.randint(100, 200)
                left = slot * 320 + rng.randint(0, 320 - w)
                top = rng.randint(0, height - h)
                annotations.append(
                    {
                        "class_id": rng.randrange(len(labels)),
                        "left": left,
                        "top": top,
                        "width": w,
                        "height": h,
                    }
                )
            line = {
                "source-ref": f"s3://sim-bucket/images/{i:05d}.jpg",
                "boxes": {
                    "image_size": [{"width": width, "height": height, "depth": 3}],
                    "annotations": annotations,
                },
                "boxes-metadata": {
                    "objects": [{"confidence": 1}] * len(annotations),
                    "class-map": {str(k): v for k, v in enumerate(labels)},
                    "type": "groundtruth/object-detection",
                    "human-annotated": "yes",
                    "creation-date": "2024-01-01T00:00:00.000Z",
                    "job-name": "labeling-job/x",
                },
            }
            used = {a["class_id"] for a in annotations}
            line["boxes-metadata"]["class-map"] = {str(k): labels[k] for k in sorted(used)}
            out.write(json.dumps(line) + "\n")
    return path


def image(i: int) -> dict:
    return {"S3Object": {"Bucket": "sim-bucket", "Name": f"images/{i:05d}.jpg"}}


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    return make_manifest(tmp_path / "lot.manifest", 50)


def test_answers_for_every_listed_image_through_the_core(manifest: Path) -> None:
    backend = rclsim.get_backend("sim", manifest=manifest)
    arn = backend.project_version_arn  # type: ignore[attr-defined]
    full = backend.detect_custom_labels(ProjectVersionArn=arn, Image=image(3))["CustomLabels"]
    assert rclsim.service.schemas.response_problems({"CustomLabels": full}) == []  # type: ignore[attr-defined]
    confidences = [x["Confidence"] for x in full]
    assert confidences == sorted(confidences, reverse=True)
    cut = backend.detect_custom_labels(ProjectVersionArn=arn, Image=image(3), MinConfidence=50, MaxResults=2)
    assert cut["CustomLabels"] == [x for x in full if x["Confidence"] >= 50][:2]
    with pytest.raises(ClientError) as info:
        backend.detect_custom_labels(ProjectVersionArn=arn, Image=image(999))
    assert info.value.response["Error"]["Code"] == "RecordingNotFoundException"
    assert str(manifest) in info.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as info:
        backend.detect_custom_labels(ProjectVersionArn=rclsim.ARTICLE_MODEL_ARN, Image=image(3))
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    backend.stop_project_version(ProjectVersionArn=arn)  # it runs from the start; stopping works
    with pytest.raises(ClientError) as info:
        backend.detect_custom_labels(ProjectVersionArn=arn, Image=image(3))
    assert info.value.response["Error"]["Code"] == "ResourceNotReadyException"


def test_values_are_float32_rounded_like_real_responses(manifest: Path) -> None:
    backend = rclsim.get_backend("sim", manifest=manifest)
    arn = backend.project_version_arn  # type: ignore[attr-defined]
    for i in range(10):
        for label in backend.detect_custom_labels(ProjectVersionArn=arn, Image=image(i))["CustomLabels"]:
            c = label["Confidence"]
            assert c == struct.unpack("<f", struct.pack("<f", round(c, 3)))[0]
            for v in label["Geometry"]["BoundingBox"].values():
                assert v == struct.unpack("<f", struct.pack("<f", round(v, 5)))[0]


def test_true_boxes_are_confident_and_clutter_is_not(manifest: Path) -> None:
    from rclsim.data.manifest import iter_manifest

    entries = list(iter_manifest(manifest))
    hits, clutter = [], []
    from rclsim.data.evaluation import match_detections

    for entry in entries:
        labels = simulate_entry(entry, "arn", NoiseModel(), ["car", "plate"])
        truth = [(b.name, entry.ratio_box(b)) for b in entry.boxes]
        matches, _, unmatched = match_detections(truth, labels, 0.5)
        hits += [labels[d]["Confidence"] for d, _ in matches]
        clutter += [labels[d]["Confidence"] for d in unmatched]
    assert sum(hits) / len(hits) > 80 and sum(clutter) / len(clutter) < 30  # the article's shape


def test_same_seed_same_bytes_in_another_process(manifest: Path, tmp_path: Path) -> None:
    backend = rclsim.get_backend("sim", manifest=manifest)
    arn = backend.project_version_arn  # type: ignore[attr-defined]
    exe = Path(sys.executable).parent / "rclsim"

    def run(seed: str) -> str:
        result = subprocess.run(
            [
                str(exe),
                "detect",
                "--backend",
                "sim",
                "--manifest",
                str(manifest),
                "--seed",
                seed,
                "--state-dir",
                str(tmp_path / f"state-{seed}"),
                "--project-version-arn",
                arn,
                "--image",
                "s3://sim-bucket/images/00007.jpg",
                "--min-confidence",
                "5",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    first, again, other = run("0"), run("0"), run("1")
    assert first == again and first != other
    in_process = backend.detect_custom_labels(ProjectVersionArn=arn, Image=image(7), MinConfidence=5)
    assert json.loads(first) == in_process


def test_a_declaration_beside_the_manifest_sets_the_models_status(manifest: Path) -> None:
    arn = rclsim.get_backend("sim", manifest=manifest).project_version_arn  # type: ignore[attr-defined]
    project = arn.split("/version/")[0] + "/" + arn.rsplit("/", 1)[1]
    (manifest.parent / "models.json").write_text(
        json.dumps(
            {
                "format": "rclsim.models",
                "format_version": 1,
                "projects": [
                    {
                        "ProjectArn": project,
                        "versions": [{"ProjectVersionArn": arn, "Status": "TRAINING_COMPLETED"}],
                    }
                ],
            }
        )
    )
    backend = rclsim.get_backend("sim", manifest=manifest)
    with pytest.raises(ClientError) as info:
        backend.detect_custom_labels(ProjectVersionArn=arn, Image=image(1))
    assert info.value.response["Error"]["Code"] == "ResourceNotReadyException"
    backend.start_project_version(ProjectVersionArn=arn, MinInferenceUnits=1)
    assert backend.detect_custom_labels(ProjectVersionArn=arn, Image=image(1))["CustomLabels"]


def test_every_wild_manifest_can_be_simulated() -> None:
    for path in sorted((DATA / "wild" / "manifests").glob("*.manifest")):
        backend = rclsim.get_backend("sim", manifest=path)
        entry = next(backend.source.entries())  # type: ignore[attr-defined]
        arn = backend.project_version_arn  # type: ignore[attr-defined]
        if entry.source_ref.startswith("s3://"):
            bucket, key = entry.source_ref[5:].split("/", 1)
            ref = {"S3Object": {"Bucket": bucket, "Name": key}}
        else:  # a bare file name matches any bucket's key with that name
            ref = {"S3Object": {"Bucket": "any-bucket", "Name": f"frames/{entry.source_ref}"}}
        backend.detect_custom_labels(ProjectVersionArn=arn, Image=ref)


def test_classification_manifests_get_labels_without_geometry(tmp_path: Path) -> None:
    path = tmp_path / "flowers.manifest"
    lines = []
    for i, name in enumerate(["rose", "lotus", "rose"]):
        lines.append(
            json.dumps(
                {
                    "source-ref": f"s3://flowers/{i}.jpg",
                    "flower": 0,
                    "flower-metadata": {
                        "class-name": name,
                        "confidence": 1,
                        "type": "groundtruth/image-classification",
                        "human-annotated": "yes",
                        "creation-date": "2024-01-01T00:00:00",
                        "job-name": "labeling-job/flowers",
                    },
                }
            )
        )
    path.write_text("\n".join(lines) + "\n")
    backend = rclsim.get_backend("sim", manifest=path)
    arn = backend.project_version_arn  # type: ignore[attr-defined]
    got = backend.detect_custom_labels(
        ProjectVersionArn=arn, Image={"S3Object": {"Bucket": "flowers", "Name": "1.jpg"}}
    )
    assert {x["Name"] for x in got["CustomLabels"]} == {"rose", "lotus"}
    assert all("Geometry" not in x for x in got["CustomLabels"])


def test_fit_recovers_known_parameters_within_ten_percent(tmp_path: Path) -> None:
    from rclsim.data.manifest import iter_manifest

    truth = NoiseModel(
        miss_rate=0.1,
        jitter=0.02,
        hit_alpha=8.0,
        hit_beta=2.0,
        clutter_per_image=2.0,
        clutter_alpha=2.0,
        clutter_beta=6.0,
        clutter_min_size=0.02,
        clutter_max_size=0.2,
        seed=11,
    )
    entries = list(iter_manifest(make_manifest(tmp_path / "fit.manifest", 1500, seed=3)))
    pairs = [(e, simulate_entry(e, "arn:fit", truth, ["car", "plate"])) for e in entries]
    fitted = fit_noise(pairs)
    for name in (
        "miss_rate",
        "jitter",
        "hit_alpha",
        "hit_beta",
        "clutter_per_image",
        "clutter_alpha",
        "clutter_beta",
        "clutter_min_size",
        "clutter_max_size",
    ):
        want, got = getattr(truth, name), getattr(fitted, name)
        assert abs(got - want) <= 0.1 * want, (name, want, got)


def test_noise_parameters_are_checked(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps({"miss_rate": 2}))
    with pytest.raises(rclsim.RclsimError, match="miss_rate"):
        NoiseModel.load(bad)
    bad.write_text(json.dumps({"colour": 1}))
    with pytest.raises(rclsim.RclsimError, match="unknown noise parameters"):
        NoiseModel.load(bad)


def test_cli_sim_info_evaluate_manifest_and_validate(
    manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rclsim.frontends.cli import main

    assert (
        main(
            ["sim", "info", "--manifest", str(manifest), "--query", "[Images, Kinds[0]]", "--output", "text"]
        )
        == 0
    )
    assert capsys.readouterr().out == "50\tobject-detection\n"
    out = tmp_path / "out"
    assert (
        main(
            [
                "evaluate",
                "--backend",
                "sim",
                "--manifest",
                str(manifest),
                "--json",
                f"{out}.json",
                "--csv",
                f"{out}.csv",
                "--plot",
                f"{out}.png",
            ]
        )
        == 0
    )
    table, err = capsys.readouterr()
    assert "(micro)" in table and "50 of 50 images had a response" in err
    report = json.loads(Path(f"{out}.json").read_text())
    assert {label["name"] for label in report["labels"]} == {"car", "plate"}
    assert Path(f"{out}.png").stat().st_size > 0 and "car" in Path(f"{out}.csv").read_text()
    assert main(["evaluate", "--backend", "sim", "--manifest", str(manifest), "--json", f"{out}.json"]) == 1
    assert "--overwrite" in capsys.readouterr().err
    written = tmp_path / "predicted.manifest"
    assert (
        main(
            [
                "manifest",
                "write",
                "--backend",
                "sim",
                "--manifest",
                str(manifest),
                "-o",
                str(written),
                "--min-confidence",
                "60",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["validate", str(written)]) == 0
    assert "valid manifest (50 lines)" in capsys.readouterr().out
    responses = tmp_path / "responses"
    responses.mkdir()
    backend = rclsim.get_backend("sim", manifest=manifest)
    for i in range(5):
        labels = backend.detect_custom_labels(
            ProjectVersionArn=backend.project_version_arn,  # type: ignore[attr-defined]
            Image=image(i),
        )
        (responses / f"{i:05d}.json").write_text(json.dumps({"CustomLabels": labels["CustomLabels"]}))
    assert main(["evaluate", "--manifest", str(manifest), "--responses", str(responses)]) == 0
    assert "5 of 50 images had a response" in capsys.readouterr().err
    assert main(["sim", "fit", "--manifest", str(manifest), "--responses", str(responses)]) == 0
    assert set(json.loads(capsys.readouterr().out)) >= {"miss_rate", "jitter", "hit_alpha"}


def test_per_label_noise_is_simulated_and_fitted(tmp_path: Path) -> None:
    from rclsim.data.manifest import iter_manifest

    truth = NoiseModel(
        clutter_per_image=4.0,
        seed=5,
        labels={
            "plate": {"clutter_weight": 9.0, "hit_alpha": 4.0, "hit_beta": 4.0},
            "car": {"clutter_weight": 1.0},
        },
    )
    entries = list(iter_manifest(make_manifest(tmp_path / "labels.manifest", 1200, seed=9)))
    pairs = [(e, simulate_entry(e, "arn:fit", truth, ["car", "plate"])) for e in entries]
    fitted = fit_noise(pairs)
    plate, car = fitted.for_label("plate"), fitted.for_label("car")
    assert plate["clutter_weight"] / car["clutter_weight"] == pytest.approx(9.0, rel=0.15)
    plate_mean = plate["hit_alpha"] / (plate["hit_alpha"] + plate["hit_beta"])
    car_mean = car["hit_alpha"] / (car["hit_alpha"] + car["hit_beta"])
    assert plate_mean == pytest.approx(0.5, rel=0.1) and car_mean == pytest.approx(0.9, rel=0.1)
    again = NoiseModel.from_dict(json.loads(json.dumps(fitted.to_dict())))  # the file round-trips
    assert again == fitted


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"miss_rate": "0.5"}, "finite number"),
        ({"hit_alpha": True}, "finite number"),
        ({"seed": 1.7}, "whole number"),
        ({"jitter": 1e300}, "jitter"),
        ({"clutter_per_image": 200}, "clutter_per_image"),
        (None, "JSON object"),
        ({"labels": {"car": {"colour": 1}}}, "unknown"),
        ({"labels": {"car": {"miss_rate": 3}}}, "miss_rate"),
    ],
)
def test_noise_values_are_never_coerced(data: object, fragment: str) -> None:
    with pytest.raises(rclsim.RclsimError, match=fragment):
        NoiseModel.from_dict(data)  # type: ignore[arg-type]


def test_responses_are_paired_by_path_and_never_reused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rclsim.frontends.cli import main

    lines = []
    for key, boxes in (("x/a.jpg", 2), ("y/a.jpg", 0)):
        annotations = [
            {"class_id": 0, "left": 10 + 100 * i, "top": 10, "width": 50, "height": 50} for i in range(boxes)
        ]
        lines.append(
            json.dumps(
                {
                    "source-ref": f"s3://bk/{key}",
                    "b": {
                        "image_size": [{"width": 640, "height": 480, "depth": 3}],
                        "annotations": annotations,
                    },
                    "b-metadata": {
                        "objects": [{"confidence": 1}] * boxes,
                        "class-map": {"0": "car"} if boxes else {},
                        "type": "groundtruth/object-detection",
                        "human-annotated": "yes",
                        "creation-date": "2024-01-01T00:00:00",
                    },
                }
            )
        )
    manifest = tmp_path / "two.manifest"
    manifest.write_text("\n".join(lines) + "\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "a.json").write_text(json.dumps({"CustomLabels": []}))
    assert main(["evaluate", "--manifest", str(manifest), "--responses", str(shared)]) == 1
    assert "would answer for both s3://bk/x/a.jpg and s3://bk/y/a.jpg" in capsys.readouterr().err
    mirrored = tmp_path / "mirrored"
    (mirrored / "x").mkdir(parents=True)
    (mirrored / "y").mkdir()
    (mirrored / "x" / "a.json").write_text(
        json.dumps(
            {
                "CustomLabels": [
                    {
                        "Name": "car",
                        "Confidence": 90.0,
                        "Geometry": {
                            "BoundingBox": {
                                "Left": 10 / 640,
                                "Top": 10 / 480,
                                "Width": 50 / 640,
                                "Height": 50 / 480,
                            }
                        },
                    }
                ]
            }
        )
    )
    (mirrored / "y" / "a.json").write_text(json.dumps({"CustomLabels": []}))
    (mirrored / "notes.json").write_text(json.dumps({"comment": "not a response"}))  # skipped
    assert (
        main(
            [
                "evaluate",
                "--manifest",
                str(manifest),
                "--responses",
                str(mirrored),
                "--query",
                "labels[0].[tp, fp, fn]",
                "--output",
                "text",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == "1\t0\t1\n"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["evaluate", "--manifest", str(manifest), "--responses", str(empty)]) == 1
    assert "nothing to score" in capsys.readouterr().err
    assert main(["evaluate", "--manifest", str(manifest), "--responses", str(mirrored), "--iou", "0"]) == 1
    assert "--iou" in capsys.readouterr().err
