"""Kubernetes figures: time from `kubectl apply` to Ready pods, rollout duration, requests across the rollout.

They come from the cluster tests themselves (tests/test_cluster.py, the same cluster, images, load
and rollout; tests/test_kube_cluster.py for the provider's up and down), which write
build/kubernetes-measurements.json: this module runs those tests and reads the file, so the
benchmark and the proof share one machinery. Needs root.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

from bench.common import REPO_DIR, BenchError

MEASUREMENTS = REPO_DIR / "build" / "kubernetes-measurements.json"


@dataclass(frozen=True)
class KubeFigures:
    """What one run of the cluster tests measured."""

    version: str
    cluster_up: float  # seconds, binaries already built
    apply_to_ready: float  # seconds from `kubectl apply -k` to the rollout complete
    rollout: float  # seconds from applying the new image to the rollout complete
    clients: int
    served: int
    failed: int
    control_served: int  # the same rollout without preStop sleep and SHUTDOWN_DELAY
    control_failed: int
    cluster_down: float


def measure_kubernetes() -> KubeFigures:
    """Run the cluster tests and return their figures."""
    MEASUREMENTS.unlink(missing_ok=True)
    tests = ["tests/test_cluster.py", "tests/test_kube_cluster.py"]
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *tests]
    result = subprocess.run(command, cwd=REPO_DIR, capture_output=True, text=True, timeout=3600, check=False)
    if result.returncode != 0:
        raise BenchError(f"the cluster tests failed:\n{result.stdout[-4000:]}{result.stderr[-2000:]}")
    figures = json.loads(MEASUREMENTS.read_text(encoding="utf-8"))
    return KubeFigures(
        version=figures["kubernetes_version"],
        cluster_up=figures["cluster_up_seconds"],
        apply_to_ready=figures["apply_to_ready_seconds"],
        rollout=figures["rollout_seconds"],
        clients=figures["rollout_clients"],
        served=figures["rollout_served"],
        failed=figures["rollout_failed"],
        control_served=figures["control_rollout_served"],
        control_failed=figures["control_rollout_failed"],
        cluster_down=figures["cluster_down_seconds"],
    )
