"""The sim backend: the fake core answering from a simulation of a Ground Truth manifest.

It declares one model per manifest (``rclsim sim info`` prints its ARN), running from the start unless
a ``models.json`` beside the manifest declares that ARN otherwise, and answers DetectCustomLabels for
every image the manifest lists (see :mod:`rclsim.fake.simulation` for the noise model).
"""

from __future__ import annotations

import os
from typing import Any

from rclsim.backends.fake import FakeBackend, fake_core
from rclsim.fake.clock import Clock
from rclsim.fake.cost import PriceTable
from rclsim.fake.objects import ObjectStore
from rclsim.fake.simulation import NoiseModel, SimSource

__all__ = ["SimBackend"]


class SimBackend(FakeBackend):
    """The fake core over a simulation of ``manifest``; reads and writes S3 objects (datasets'
    manifests and images, training output, images named by ``S3Object``) through ``objects`` (see
    :mod:`rclsim.fake.objects`; None: no S3)."""

    name = "sim"

    def __init__(
        self,
        manifest: str | os.PathLike[str],
        *,
        noise: NoiseModel | None = None,
        strict: bool = False,
        time_scale: float = 0.0,
        state_dir: str | os.PathLike[str] | None = None,
        clock: Clock | None = None,
        prices: PriceTable | None = None,
        region: str | None = None,
        objects: ObjectStore | None = None,
    ) -> None:
        self.source = SimSource(manifest, noise)
        super().__init__(
            fake_core(
                self.source,
                [self.source.path.parent],
                state_dir=state_dir,
                clock=clock,
                time_scale=time_scale,
                strict=strict,
                prices=prices,
                objects=objects,
            ),
            region=region,
        )

    @property
    def project_version_arn(self) -> str:
        return self.source.arn

    @property
    def project_arn(self) -> str:
        return self.source.project_arn

    def info(self) -> dict[str, Any]:
        """What ``rclsim sim info`` prints: the model, the manifest's images and labels, the noise."""
        images = 0
        boxes: dict[str, int] = {}
        kinds: set[str] = set()
        for entry in self.source.entries():
            images += 1
            kinds.add(entry.kind)
            for name in [b.name for b in entry.boxes] or list(entry.labels):
                boxes[name] = boxes.get(name, 0) + 1
        return {
            "ProjectVersionArn": self.source.arn,
            "ProjectArn": self.source.project_arn,
            "Manifest": str(self.source.path),
            "Images": images,
            "Kinds": sorted(kinds),
            "Labels": [{"Name": name, "Count": count} for name, count in sorted(boxes.items())],
            "BadLines": len(self.source.problems),
            "Noise": self.source.noise.to_dict(),
        }
