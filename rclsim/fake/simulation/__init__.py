"""The simulation source: DetectCustomLabels answers synthesised from a Ground Truth manifest.

Replay answers only for recorded images; the ``sim`` backend answers for every image a manifest lists,
with a seeded noise model applied to the image's ground truth. The answer goes through the same fake
core as a recording (schema, ``MinConfidence``/``MaxResults``, lifecycle, errors): the simulator hands
the core a response "recorded" at MinConfidence 0, so any threshold is exact.

* :mod:`rclsim.fake.simulation.noise`: the noise model (:class:`NoiseModel`), its parameters and how they
  are loaded and checked;
* :mod:`rclsim.fake.simulation.synthesis`: one image's simulated answer (:func:`simulate_entry`), seeded
  and deterministic;
* :mod:`rclsim.fake.simulation.source`: the response source over one manifest (:class:`SimSource`) and the
  model ARNs it declares (:func:`sim_arns`);
* :mod:`rclsim.fake.simulation.fitting`: noise parameters fitted to a real model's responses
  (:func:`fit_noise`).
"""

from __future__ import annotations

from rclsim.fake.simulation.fitting import fit_noise
from rclsim.fake.simulation.noise import (
    LABEL_PARAMETERS as LABEL_PARAMETERS,  # importable here, as before the split
)
from rclsim.fake.simulation.noise import MAX_CLUTTER as MAX_CLUTTER
from rclsim.fake.simulation.noise import NoiseModel
from rclsim.fake.simulation.source import SimSource, sim_arns
from rclsim.fake.simulation.synthesis import simulate_entry

__all__ = ["NoiseModel", "SimSource", "simulate_entry", "fit_noise", "sim_arns"]
