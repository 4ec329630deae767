"""What tests that start a process (``rclsim serve``, say) share."""

from __future__ import annotations

import subprocess


def stop(proc: subprocess.Popen[str] | subprocess.Popen[bytes], timeout: float = 30) -> None:
    """End ``proc`` as Ctrl-C or ``docker stop`` would (SIGTERM), and kill it if it will not go."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
