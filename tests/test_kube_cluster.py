"""scripts/kube-cluster.sh, the cluster provider of this repository's own tests: `down` undoes `up`.

The script runs etcd, the API server, controller manager, scheduler, kubelet and kube-proxy (built
from the Go module proxy) on containerd, runc and the CNI bridge plugin, and changes the host: the
firewall (through iptables-nft), links, network namespaces, mounts, cgroups, directories and
sysctls. Started and stopped here, on its own: `down` must stop every process and leave each of
those as it was before `up`, whether or not an earlier run of the cluster had created them.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from harness.kubernetes import (
    Cluster,
    KubernetesError,
    alive,
    cluster_pids,
    host_snapshot,
    listening_sockets,
    pod_ready,
)
from harness.tools import run

pytestmark = [pytest.mark.kubernetes, pytest.mark.slow, pytest.mark.xdist_group("kubernetes")]

DAEMONS = 7  # containerd, etcd, apiserver, controller manager, scheduler, kubelet, kube-proxy
STATE = Path(os.environ.get("KUBE_CLUSTER_DIR", "/var/lib/gss-kube"))


def test_down_stops_every_process_and_restores_the_host() -> None:
    """`kube-cluster.sh down` stops every process of the cluster that `up` started and leaves the host as it was."""
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("kube-cluster.sh needs root")
        pytest.skip("kube-cluster.sh needs root")
    if os.environ.get("KUBECONFIG"):
        pytest.skip("KUBECONFIG names the cluster under test: the tier starts no cluster of its own")
    if STATE.exists():
        pytest.skip(f"a cluster of kube-cluster.sh is running ({STATE}): this test starts and stops its own")
    before = host_snapshot()
    try:
        cluster = Cluster.start()
        (node,) = cluster.get("nodes")["items"]
        assert pod_ready(node), node["status"].get("conditions")
        pids = cluster_pids(STATE)
        sockets = listening_sockets(pids)
    except (KubernetesError, subprocess.SubprocessError, AssertionError):
        Cluster.stop()
        raise
    assert len(pids) >= DAEMONS, pids
    assert sockets, pids
    Cluster.stop()
    assert [pid for pid in pids if alive(pid)] == []
    still_listening = {line.split()[3] for line in run(["ss", "-ltnH"], cwd=Path("/")).splitlines()}
    assert sockets & still_listening == set()
    after = host_snapshot()
    for aspect, was in before.items():
        now = after[aspect]
        assert now == was, f"{aspect}: added {sorted(now - was)}, removed {sorted(was - now)}"
    assert not re.search(r"\bKUBE-|\bCNI-", "\n".join(after["nft ruleset"]))
