"""Kubernetes figures: requests served and lost over repeated disruptions under load, on a real cluster.

    .venv/bin/python -m bench.kubernetes              # 10 rounds (root without KUBECONFIG)
    .venv/bin/python -m bench.kubernetes --rounds 2   # to check the script

Drives harness/kubernetes.py itself, the steps the cluster tests use (no test is run, no file of
theirs read): the default project is baked, its two versions built and copied to the nodes, and
its base applied. Then each round, under load from harness/loadclient in a pod of the namespace
(16 clients through the Service's ClusterIP), once with a new connection per request and once with
keep-alive connections: a pod deleted, a rolling update to the other version, and `kubectl drain`
refused by the PodDisruptionBudget. A control rolls once more with the drain removed (no preStop
sleep, SHUTDOWN_DELAY=0): it must lose requests, or the load could not see a loss.

The cluster is the one KUBECONFIG names, else scripts/kube-cluster.sh's, started and stopped here.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import TEMPLATE_DIR, BenchError, bake, project_answers
from harness.docker import remove_images
from harness.golang_image import ensure_golang_image
from harness.kubernetes import (
    CLIENTS,
    DEFAULT,
    LOAD_CLIENT_IMAGE,
    Cluster,
    Deployed,
    LoadResult,
    build_load_client,
    build_project,
    delete_pod_under_load,
    drain_under_load,
    roll_to_other_version,
    rollout_without_drain,
)

DEFAULT_ROUNDS = 10
BUDGET_REFUSAL = "Cannot evict pod as it would violate the pod's disruption budget"


@dataclass(frozen=True)
class Disrupted:
    """One disruption under one load: what was served and lost, and whether it went as it should."""

    round: int  # 0 for the control
    disruption: str
    keep_alive: bool
    served: int
    lost: int
    seconds: float  # from the disruption to the Service routing to Ready pods only (and the load read)
    note: str = ""  # what went wrong besides lost requests


@dataclass(frozen=True)
class KubeFigures:
    """What one benchmark run on a cluster measured."""

    version: str
    provider: str  # "scripts/kube-cluster.sh" or "KUBECONFIG"
    cluster_up: float | None  # seconds, binaries already built; None for a given cluster
    apply_to_ready: float  # seconds from `kubectl apply -k` to the rollout complete
    clients: int
    rounds: list[Disrupted]
    control: Disrupted
    cluster_down: float | None

    @property
    def served(self) -> int:
        """Requests served over every round."""
        return sum(row.served for row in self.rounds)

    @property
    def lost(self) -> int:
        """Requests lost over every round."""
        return sum(row.lost for row in self.rounds)


def connections(keep_alive: bool) -> str:
    """Name the clients' connection mode."""
    return "keep-alive" if keep_alive else "new per request"


def result_row(
    number: int, disruption: str, keep_alive: bool, load: LoadResult, seconds: float, note: str = ""
) -> Disrupted:
    """One row from a load's result."""
    return Disrupted(number, disruption, keep_alive, load.served, load.failed_count, seconds, note)


def pod_deleted(cluster: Cluster, target: Deployed, number: int, keep_alive: bool) -> Disrupted:
    """Delete a pod under load."""
    deletion = delete_pod_under_load(cluster, target, keep_alive=keep_alive)
    exit_code = deletion.exit_codes.split()[-1:]
    note = "" if exit_code == ["0"] else f"container exit {exit_code or '?'}"
    return result_row(number, "pod deleted", keep_alive, deletion.load, time.time() - deletion.start, note)


def rolling_update(cluster: Cluster, target: Deployed, number: int, keep_alive: bool) -> Disrupted:
    """Roll to the other version under load."""
    rollout = roll_to_other_version(cluster, target, keep_alive=keep_alive)
    return result_row(number, "rolling update", keep_alive, rollout.load, time.time() - rollout.start)


def drain_refused(cluster: Cluster, target: Deployed, number: int, keep_alive: bool) -> Disrupted:
    """Drain the node under load: one pod evicted, the other kept by the budget."""
    drain = drain_under_load(cluster, target, keep_alive=keep_alive)
    refused = drain.command.returncode != 0 and BUDGET_REFUSAL in drain.output and len(drain.remaining) == 1
    note = "" if refused else f"drain not refused by the budget (exit {drain.command.returncode})"
    return result_row(number, "drain refused", keep_alive, drain.load, time.time() - drain.start, note)


DISRUPTIONS: tuple[Callable[[Cluster, Deployed, int, bool], Disrupted], ...] = (
    pod_deleted,
    rolling_update,
    drain_refused,
)


def progress(row: Disrupted) -> None:
    """Print a round's row as it is measured."""
    print(
        f"[{time.strftime('%H:%M:%S')}] round {row.round}: {row.disruption}, {connections(row.keep_alive)}: "
        f"{row.served} served, {row.lost} lost {row.note}".rstrip(),
        flush=True,
    )


def measure_on(cluster: Cluster, rounds: int, workdir: Path) -> tuple[float, list[Disrupted], Disrupted]:
    """Deploy the default project and run the rounds and the control; remove its images after."""
    golang_image = ensure_golang_image()
    tags = [LOAD_CLIENT_IMAGE]
    target = None
    try:
        client = build_load_client(cluster, golang_image)
        directory = bake(TEMPLATE_DIR, workdir / "bake", project_answers())
        target = build_project(cluster, DEFAULT, directory, golang_image, client)
        tags += target.images.values()
        target.deploy(cluster)
        rows = []
        for number in range(1, rounds + 1):
            for disruption in DISRUPTIONS:
                for keep_alive in (False, True):
                    rows.append(disruption(cluster, target, number, keep_alive))
                    progress(rows[-1])
        control_dir = workdir / "control"
        control_dir.mkdir()
        rollout = rollout_without_drain(cluster, target, control_dir)
        control = result_row(0, "rolling update, no preStop, SHUTDOWN_DELAY=0", False, rollout.load, 0.0)
        progress(control)
        return target.apply_to_ready, rows, control
    finally:
        if target is not None and Cluster.given() is not None:
            cluster.kubectl("delete", "-k", str(target.base), "--ignore-not-found", "--wait=false", check=False)
        remove_images(*tags)


def measure_kubernetes(rounds: int = DEFAULT_ROUNDS) -> KubeFigures:
    """Run the rounds on the cluster KUBECONFIG names, else on scripts/kube-cluster.sh's (started and stopped)."""
    if rounds < 1:
        raise BenchError(f"--rounds must be at least 1, got {rounds}")
    given = Cluster.given()
    if given is None and os.geteuid() != 0:
        raise BenchError("without KUBECONFIG the benchmark starts scripts/kube-cluster.sh, which needs root")
    with tempfile.TemporaryDirectory(prefix="bench-kube-") as tmp:
        if given is not None:
            apply_to_ready, rows, control = measure_on(given, rounds, Path(tmp))
            return KubeFigures(given.server_version(), "KUBECONFIG", None, apply_to_ready, CLIENTS, rows, control, None)
        start = time.monotonic()
        try:
            cluster = Cluster.start()
            cluster_up = time.monotonic() - start
            version = cluster.server_version()
            apply_to_ready, rows, control = measure_on(cluster, rounds, Path(tmp))
        finally:
            start = time.monotonic()
            Cluster.stop()
        cluster_down = time.monotonic() - start
    provider = "scripts/kube-cluster.sh"
    return KubeFigures(version, provider, cluster_up, apply_to_ready, CLIENTS, rows, control, cluster_down)


# --- The table ------------------------------------------------------------------------------

HEADER = ("Round", "Disruption", "Connections", "Served", "Lost", "Seconds to settled", "Note")


def table_rows(figures: KubeFigures) -> list[tuple[str, ...]]:
    """One row per disruption under load, the totals per disruption and connection mode, the total, the control."""

    def row(label: str, item: Disrupted) -> tuple[str, ...]:
        note = item.note
        return (
            label,
            item.disruption,
            connections(item.keep_alive),
            f"{item.served:,}",
            f"{item.lost:,}",
            f"{item.seconds:.1f}",
            note,
        )

    rows = [row(str(item.round), item) for item in figures.rounds]
    kinds = dict.fromkeys((item.disruption, item.keep_alive) for item in figures.rounds)
    for disruption, keep_alive in kinds:
        same = [item for item in figures.rounds if (item.disruption, item.keep_alive) == (disruption, keep_alive)]
        served, lost = sum(item.served for item in same), sum(item.lost for item in same)
        notes = sum(1 for item in same if item.note)
        note = f"{notes} round(s) with a note" if notes else ""
        rows.append(("total", disruption, connections(keep_alive), f"{served:,}", f"{lost:,}", "", note))
    rows.append(("total", "every round", "both", f"{figures.served:,}", f"{figures.lost:,}", "", ""))
    control = figures.control
    rows.append(
        (
            "control",
            control.disruption,
            connections(control.keep_alive),
            f"{control.served:,}",
            f"{control.lost:,}",
            "",
            "must lose: shows a loss is visible",
        )
    )
    return rows


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell."""
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, *rows]
    ]
    return "\n".join([lines[0], "  ".join("-" * width for width in widths), *lines[1:]])


def main() -> int:
    """Measure and print the table; exit 1 when a round lost a request or the control lost none."""
    parser = argparse.ArgumentParser(prog="python -m bench.kubernetes", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help=f"rounds (default {DEFAULT_ROUNDS})")
    args = parser.parse_args()
    figures = measure_kubernetes(args.rounds)
    print(f"\nKubernetes {figures.version} ({figures.provider}), {figures.clients} clients through the Service")
    print(text_table(HEADER, table_rows(figures)))
    faulty = figures.lost > 0 or any(item.note for item in figures.rounds) or figures.control.lost == 0
    return 1 if faulty else 0


if __name__ == "__main__":
    raise SystemExit(main())
