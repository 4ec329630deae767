"""Imported by Python at startup in every program ``rclsim run`` runs (its folder is first on PYTHONPATH).

Starts rclsim's drop-in for Rekognition (:func:`rclsim.frontends.runboot.boot`), then runs the next
``sitecustomize`` on ``sys.path``, the one Python would have imported without rclsim, so a user's or a
distribution's own keeps working. A Python that cannot import rclsim (another interpreter than the one
rclsim is installed in) says so on stderr and runs unfaked: ``rclsim run`` pointed its Rekognition
endpoint at a closed local port, so its calls fail at once instead of reaching AWS.
"""

import importlib.machinery
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.realpath(__file__))


def _boot_rclsim() -> None:
    try:
        from rclsim.frontends.runboot import boot
    except ImportError as exc:
        print(
            f"rclsim run: {sys.executable} cannot import rclsim ({exc}); its Rekognition calls are not "
            "faked and fail locally (run it with the Python rclsim is installed in)",
            file=sys.stderr,
        )
        return
    boot()


def _chain() -> None:
    """Import the next ``sitecustomize`` on ``sys.path`` (skipping this folder) in this one's place."""
    rest = [p for p in sys.path if os.path.realpath(p or os.curdir) != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module  # the import system hands this one out from now on
    spec.loader.exec_module(module)


_boot_rclsim()
_chain()
