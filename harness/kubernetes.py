"""Drive the real single-node cluster of scripts/kube-cluster.sh: kubectl, images, load through a Service.

The tests and the benchmark share these helpers. Every request goes to a ClusterIP or a pod IP
inside the ranges that the script gives its own Service network and pod bridge, from the node
itself; every wait and every load loop is bounded in time and count.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.service import Outcome
from harness.waiting import wait_for

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "kube-cluster.sh"
# The address ranges that the script gives its Services and its pod bridge: the only targets of traffic.
SERVICE_NETWORK = ipaddress.ip_network("10.214.0.0/24")
POD_NETWORK = ipaddress.ip_network("10.213.0.0/24")
KUBE_VERSION = re.search(r"^readonly KUBE_VERSION=(\S+)$", SCRIPT.read_text(encoding="utf-8"), re.M)[1]  # type: ignore[index]


class KubernetesError(RuntimeError):
    """A cluster command that failed, with its output."""


def script(*args: str, timeout: float = 3600) -> str:
    """Run scripts/kube-cluster.sh; return its standard output, raise with its log on failure."""
    result = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise KubernetesError(f"kube-cluster.sh {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result.stdout


@dataclass(frozen=True)
class Cluster:
    """A running cluster: the environment lines that `kube-cluster.sh up` printed."""

    kubeconfig: str
    bin_dir: str

    @classmethod
    def up(cls) -> Cluster:
        """Start the cluster (building or reusing the binaries) and read the lines it prints."""
        exports = dict(re.findall(r"^export (\w+)=(\S+)$", script("up"), re.M))
        return cls(kubeconfig=exports["KUBECONFIG"], bin_dir=exports["PATH"].split(":")[0])

    @staticmethod
    def build() -> None:
        """Build the binaries, or find them in the cache."""
        script("build")

    @staticmethod
    def down() -> None:
        """Stop the cluster and undo its host changes."""
        script("down", timeout=300)

    @staticmethod
    def load(image: str) -> None:
        """Copy a local Docker image into the node's image store."""
        script("load", image, timeout=300)

    def kubectl(
        self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against the cluster; raise with its output when check is on and it fails."""
        result = subprocess.run(
            [f"{self.bin_dir}/kubectl", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "KUBECONFIG": self.kubeconfig},
        )
        if check and result.returncode != 0:
            raise KubernetesError(
                f"kubectl {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
            )
        return result

    def get(self, *args: str) -> dict[str, Any]:
        """Return `kubectl get ... -o json`."""
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def apply_kustomization(self, directory: Path) -> subprocess.CompletedProcess[str]:
        """Apply a kustomization directory as a user would: `kubectl apply -k`."""
        return self.kubectl("apply", "-k", str(directory))

    def ready_pods(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        """Return the pods matching the selector that are Ready and not terminating."""
        pods = self.get("pods", "-n", namespace, "-l", selector)["items"]
        return [pod for pod in pods if pod_ready(pod) and "deletionTimestamp" not in pod["metadata"]]

    def wait_rollout(self, namespace: str, deployment: str, *, timeout: float = 180) -> None:
        """Wait until the Deployment's rollout is complete."""
        self.kubectl(
            "rollout",
            "status",
            "-n",
            namespace,
            f"deployment/{deployment}",
            f"--timeout={int(timeout)}s",
            timeout=timeout + 10,
        )

    def cluster_ip(self, namespace: str, service: str) -> str:
        """Return the Service's ClusterIP, checked to lie in the cluster's own Service range."""
        address = self.get("service", "-n", namespace, service)["spec"]["clusterIP"]
        return own_address(address)

    def wait_serving(self, namespace: str, deployment: str, address: str, port: int, version: str) -> bool:
        """Wait until every Ready pod of the Deployment runs the version and the Service answers only with it."""

        def settled() -> bool:
            replies = [get_json(address, port, "/") for _ in range(12)]
            return all(reply is not None and reply.get("version") == version for reply in replies)

        return wait_for(settled, timeout=60, interval=0.5)


def pod_ready(pod: Mapping[str, Any]) -> bool:
    """Tell whether the pod's Ready condition is True."""
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def own_address(address: str) -> str:
    """Return the address if it is a ClusterIP or pod IP of this cluster; refuse any other target."""
    ip = ipaddress.ip_address(address)
    if ip not in SERVICE_NETWORK and ip not in POD_NETWORK:
        raise KubernetesError(f"{address} is outside the cluster's own Service and pod networks")
    return address


def get_json(address: str, port: int, path: str, *, timeout: float = 2) -> dict[str, Any] | None:
    """GET path on a fresh connection to a cluster address; the JSON body of a 200, else None."""
    conn = http.client.HTTPConnection(own_address(address), port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        response = conn.getresponse()
        body = response.read()
        return json.loads(body) if response.status == 200 else None
    except (OSError, http.client.HTTPException, json.JSONDecodeError):
        return None
    finally:
        conn.close()


def get_text(address: str, port: int, path: str, *, timeout: float = 2) -> tuple[int, str]:
    """GET path on a fresh connection to a cluster address; return the status and body."""
    conn = http.client.HTTPConnection(own_address(address), port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", errors="replace")
    finally:
        conn.close()


# --- Load through a Service ---------------------------------------------------------------


class ServiceLoad:
    """Send GET / back to back from many clients to a ClusterIP, one connection per request, keeping every outcome.

    kube-proxy balances connections, not requests: a new connection per request lets each one
    be routed afresh, as the pods come and go. Bounded: each client stops after max_requests or
    max_seconds, whichever comes first, or when stopped.
    """

    def __init__(
        self, address: str, port: int, *, clients: int, max_requests: int = 20000, max_seconds: float = 240
    ) -> None:
        """Prepare clients threads that will GET / on address:port."""
        self.address = own_address(address)
        self.port = port
        self.max_requests = max_requests
        self.deadline = 0.0
        self.max_seconds = max_seconds
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._outcomes: list[Outcome] = []
        self._threads = [threading.Thread(target=self._work, args=(n,), daemon=True) for n in range(clients)]

    def __enter__(self) -> ServiceLoad:
        """Start sending."""
        self.deadline = time.monotonic() + self.max_seconds
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop, if not done yet."""
        self.stop()

    def _work(self, number: int) -> None:
        for _ in range(self.max_requests):
            if self._stop.is_set() or time.monotonic() > self.deadline:
                return
            sent = time.monotonic()
            conn = http.client.HTTPConnection(self.address, self.port, timeout=10)
            try:
                conn.request("GET", "/", headers={"Connection": "close"})
                response = conn.getresponse()
                outcome = Outcome(number, sent, response.status, response.read(), None)
            except (OSError, http.client.HTTPException) as err:
                outcome = Outcome(number, sent, None, b"", f"{type(err).__name__}: {err}")
            finally:
                conn.close()
            with self._lock:
                self._outcomes.append(outcome)

    def stop(self, timeout: float = 30) -> list[Outcome]:
        """Stop sending, wait for the requests in flight, and return every outcome."""
        self._stop.set()
        end = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, end - time.monotonic()))
        if any(thread.is_alive() for thread in self._threads):
            raise KubernetesError(f"load clients still busy {timeout}s after stopping")
        return self.outcomes()

    def outcomes(self) -> list[Outcome]:
        """Return the outcomes so far."""
        with self._lock:
            return list(self._outcomes)


@dataclass(frozen=True)
class Verdict:
    """Every response of a load, checked: served (200 with the expected body) or failed, and the versions seen."""

    served: int
    failed: list[Outcome]
    versions: dict[str, int]


def check_responses(outcomes: Sequence[Outcome], name: str, versions: set[str]) -> Verdict:
    """Check each response: status 200 and a JSON body naming the service and one of the expected versions."""
    served = 0
    failed: list[Outcome] = []
    seen: dict[str, int] = {}
    for outcome in outcomes:
        body: Any = None
        if outcome.status == 200:
            try:
                body = json.loads(outcome.body)
            except json.JSONDecodeError:
                body = None
        if isinstance(body, dict) and body.get("name") == name and body.get("version") in versions:
            served += 1
            seen[body["version"]] = seen.get(body["version"], 0) + 1
        else:
            failed.append(outcome)
    return Verdict(served, failed, seen)


@contextmanager
def under_load(address: str, port: int, *, clients: int) -> Iterator[ServiceLoad]:
    """Run a ServiceLoad for a with block, waiting first until it has answers."""
    with ServiceLoad(address, port, clients=clients) as load:
        wait_for(lambda: len(load.outcomes()) >= clients, timeout=10)
        yield load


def loss_timeline(cluster: Cluster, namespace: str, failed: Sequence[Outcome], start: float) -> str:
    """The failed requests and the namespace's events, in seconds from start (monotonic): where each loss falls."""
    wall_offset = time.time() - time.monotonic()
    lines = []
    buckets: dict[tuple[float, str], int] = {}
    for outcome in failed:
        how = (outcome.error or f"{outcome.status} {outcome.body[:60]!r}").split(":")[0]
        key = (round(outcome.sent - start, 1), how)
        buckets[key] = buckets.get(key, 0) + 1
    lines += [f"{at:+7.1f}s request x{count} {how}" for (at, how), count in sorted(buckets.items())]
    for event in cluster.get("events", "-n", namespace)["items"]:
        stamp = event.get("eventTime") or event.get("lastTimestamp") or event.get("firstTimestamp")
        if not stamp:
            continue
        wall = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        at = wall - wall_offset - start
        if at > -30:
            name = event["involvedObject"].get("name", "")
            lines.append(f"{at:+7.1f}s event {event['reason']} {name}: {event.get('message', '')[:100]}")
    return "\n".join(sorted(lines, key=lambda line: float(line.split("s ", 1)[0])))


def timed(action: Callable[[], object]) -> float:
    """Run action and return how many seconds it took."""
    start = time.monotonic()
    action()
    return time.monotonic() - start


# --- The host, before and after -----------------------------------------------------------

COUNTERS = re.compile(r"counter packets \d+ bytes \d+")
# Where the cluster mounts anything (containers' root filesystems, /dev/shm, network namespaces);
# other work on this machine (Docker, BuildKit) mounts elsewhere, and comes and goes on its own.
CLUSTER_MOUNT_ROOTS = (
    "/var/lib/gss-kube",
    "/var/lib/kubelet",
    "/var/lib/cni",
    "/run/netns",
    "/var/run/netns",
    "/run/containerd",
    "/var/log",
    "/sys/fs/cgroup",
)


def command_output(*command: str) -> str:
    """Return a command's standard output ("" when it fails or is missing)."""
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False).stdout
    except FileNotFoundError:
        return ""


def docker_links() -> set[str]:
    """Names of the links enslaved to Docker's bridges: other containers of this machine come and go there."""
    names = set()
    for line in command_output("ip", "-o", "link", "show").splitlines():
        fields = line.split()
        if "master" in fields and fields[fields.index("master") + 1].startswith(("docker", "br-")):
            names.add(fields[1].rstrip(":").split("@")[0])
    return names


def host_snapshot() -> dict[str, frozenset[str]]:
    """What the cluster may change on the host: firewall, links, network namespaces, mounts, cgroups, directories.

    Docker's own containers (other work on this machine) are left out: their veth links and
    mounts come and go on their own, and so do packet counters.
    """
    ignored_links = docker_links()
    links = {
        line.split()[1].rstrip(":").split("@")[0] for line in command_output("ip", "-o", "link", "show").splitlines()
    }
    mounts = {
        line.split()[4]
        for line in Path("/proc/self/mountinfo").read_text(encoding="utf-8").splitlines()
        if line.split()[4].startswith(CLUSTER_MOUNT_ROOTS)
    }
    cgroups = {str(path) for path in Path("/sys/fs/cgroup").glob("*/kubepods")}
    directories = {
        path
        for path in (
            "/var/lib/kubelet",
            "/var/log/pods",
            "/var/log/containers",
            "/var/lib/cni",
            "/run/netns",
            "/var/lib/gss-kube",
            "/etc/kubernetes",
            "/opt/containerd",
        )
        if Path(path).exists()
    }
    sysctls = {
        f"{name}={Path('/proc/sys', *name.split('.')).read_text(encoding='utf-8').strip()}"
        for name in (
            "kernel.panic",
            "kernel.panic_on_oops",
            "vm.overcommit_memory",
            "vm.panic_on_oom",
            "kernel.keys.root_maxkeys",
            "kernel.keys.root_maxbytes",
            "net.ipv4.conf.all.route_localnet",
            "net.ipv4.ip_forward",
            "net.netfilter.nf_conntrack_max",
        )
        if Path("/proc/sys", *name.split(".")).exists()
    }
    return {
        "nft ruleset": frozenset(COUNTERS.sub("counter", command_output("nft", "list", "ruleset")).splitlines()),
        "links": frozenset(links - ignored_links),
        "network namespaces": frozenset(command_output("ip", "netns", "list").split()),
        "mounts": frozenset(mounts),
        "cgroups": frozenset(cgroups),
        "directories": frozenset(directories),
        "sysctls": frozenset(sysctls),
    }


def listening_sockets(pids: set[int]) -> set[str]:
    """Return the listening TCP sockets owned by any of the processes, as `address:port`."""
    sockets = set()
    for line in command_output("ss", "-ltnpH").splitlines():
        owners = {int(pid) for pid in re.findall(r"pid=(\d+)", line)}
        if owners & pids:
            sockets.add(line.split()[3])
    return sockets


def cluster_pids(state: Path = Path("/var/lib/gss-kube")) -> set[int]:
    """Return the PIDs of the cluster's daemons and of its containerd shims."""
    pids = {int(path.read_text(encoding="utf-8")) for path in (state / "pids").glob("*")}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "containerd-shim" in text and str(state) in text:
            pids.add(int(cmdline.parent.name))
    return pids


def alive(pid: int) -> bool:
    """Tell whether a process with that PID still exists."""
    return Path(f"/proc/{pid}").exists()
