"""Kubernetes for real: the generated base on a real single-node cluster keeps its promises.

scripts/kube-cluster.sh starts etcd, the API server, controller manager, scheduler, kubelet and
kube-proxy (built from the Go module proxy) on containerd, runc and the CNI bridge plugin, once
for this module. Two generated projects are built into images with Docker and loaded into the
node: the default one, and a vendored one with Prometheus metrics. Each is deployed as its README
says (`kustomize edit set image`, then `kubectl apply -k deploy/kubernetes`), into the namespace
of the base, which enforces the restricted Pod Security Standard.

The tests then run in file order on that one cluster, each leaving the default deployment Ready
for the next: admission refuses a pod missing one restricted setting; a rolling update under load
through the Service loses no request; deleting a pod under load loses none and its logs show the
drain; `kubectl drain` stops at the PodDisruptionBudget; the same rollout without the drain (no
preStop sleep, SHUTDOWN_DELAY=0) loses requests, the control that shows the load can see a loss.
Last, `kube-cluster.sh down` stops every process and the host is as it was.

Traffic goes only from the node to ClusterIPs and pod IPs of the cluster's own networks; every
load is bounded. Timings are written to build/kubernetes-measurements.json (reported by
`python -m bench.run --kubernetes`), never asserted.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.docker import build_image, remove_images
from harness.kubernetes import (
    KUBE_VERSION,
    Cluster,
    KubernetesError,
    alive,
    check_responses,
    cluster_pids,
    get_json,
    get_text,
    host_snapshot,
    listening_sockets,
    loss_timeline,
    own_address,
    timed,
    under_load,
)
from harness.project import TEMPLATE_DIR, bake_with
from harness.tools import require_tool, run
from harness.waiting import wait_for

pytestmark = [
    pytest.mark.kubernetes,
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.xdist_group("kubernetes"),
]

CLIENTS = 16  # concurrent clients of the load through the Service
FIRST, SECOND = "1.0.0", "1.1.0"  # the image versions of the rolling updates
REPLICAS = 2
DAEMONS = 7  # containerd, etcd, apiserver, controller manager, scheduler, kubelet, kube-proxy
SERVICE_PORT = 80
IMAGE_PREFIX = "gss-kube-test-"
MEASUREMENTS = TEMPLATE_DIR / "build" / "kubernetes-measurements.json"
POD_SECURITY = 'violates PodSecurity "restricted:latest"'


@dataclass(frozen=True)
class Project:
    """A generated project to deploy: its answers and the versions of its image."""

    id: str
    answers: dict[str, Any]
    slug: str
    versions: tuple[str, ...]
    metrics: bool


DEFAULT = Project("default", {}, "go-scratch-service", (FIRST, SECOND), metrics=False)
VENDORED_METRICS = Project(
    "vendored-metrics",
    {"project_name": "Metrics Service", "vendor_dependencies": True, "prometheus_metrics": True},
    "metrics-service",
    (FIRST,),
    metrics=True,
)
PROJECTS = (DEFAULT, VENDORED_METRICS)


def image(project: Project, version: str) -> str:
    """The local image name of a project's version."""
    return f"{IMAGE_PREFIX}{project.slug}:{version}"


def record(**values: float | int | str) -> None:
    """Add figures to build/kubernetes-measurements.json for the benchmark report."""
    MEASUREMENTS.parent.mkdir(parents=True, exist_ok=True)
    figures = json.loads(MEASUREMENTS.read_text(encoding="utf-8")) if MEASUREMENTS.exists() else {}
    MEASUREMENTS.write_text(json.dumps({**figures, **values}, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# --- The cluster, once for the module ----------------------------------------------------------


@dataclass
class ClusterRun:
    """The module's cluster, with the host as it was before `up`."""

    cluster: Cluster
    before: dict[str, frozenset[str]]
    stopped: bool = False

    def down(self) -> None:
        """Tear the cluster down, once."""
        if not self.stopped:
            self.stopped = True
            Cluster.down()


@pytest.fixture(scope="module")
def cluster_run() -> Iterator[ClusterRun]:
    """Start the cluster (root needed: under CI=true a failure, elsewhere a skip); tear it down afterwards."""
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("the cluster tests need root")
        pytest.skip("the cluster tests need root")
    before = host_snapshot()
    try:
        build = timed(Cluster.build)
        start = time.monotonic()
        cluster = Cluster.up()
        up = time.monotonic() - start
    except KubernetesError as err:
        Cluster.down()
        pytest.fail(str(err))
    record(kubernetes_version=KUBE_VERSION, build_seconds=round(build, 1), cluster_up_seconds=round(up, 1))
    run_ = ClusterRun(cluster, before)
    yield run_
    run_.down()


@pytest.fixture(scope="module")
def cluster(cluster_run: ClusterRun) -> Cluster:
    """The running cluster."""
    if cluster_run.stopped:
        pytest.fail("the cluster was already torn down")
    return cluster_run.cluster


# --- The projects, built, loaded and deployed --------------------------------------------------


@dataclass
class Deployed:
    """A project deployed from its kustomize base: where it runs and how to reach it."""

    project: Project
    directory: Path  # the generated project
    address: str  # the Service's ClusterIP
    apply_to_ready: float
    images: dict[str, str] = field(default_factory=dict)  # version -> local image

    @property
    def namespace(self) -> str:
        """The namespace of the base (the slug)."""
        return self.project.slug

    @property
    def selector(self) -> str:
        """The label selector of the project's pods."""
        return f"app.kubernetes.io/name={self.project.slug}"

    def kustomize_set_image(self, version: str) -> None:
        """Point the base at one version of the image, as the README tells users."""
        name = self.project.slug
        run(
            [require_tool("kustomize"), "edit", "set", "image", f"{name}={self.images[version]}"],
            cwd=self.directory / "deploy" / "kubernetes",
        )


@pytest.fixture(scope="module")
def deployments(cluster: Cluster, golang_image: str, cookies_session: Any) -> Iterator[dict[str, Deployed]]:
    """Bake, build and load each project's images, then apply its base with only the image changed."""
    built: list[str] = []
    deployed: dict[str, Deployed] = {}
    try:
        for project in PROJECTS:
            directory = bake_with(cookies_session, project.answers)
            images = {}
            for version in project.versions:
                tag = image(project, version)
                build_args = {"GOLANG_IMAGE": golang_image, "VERSION": version}
                build_image(directory, tag, build_args=build_args, network="none")
                built.append(tag)
                cluster.load(tag)
                images[version] = tag
            target = Deployed(project, directory, "", 0.0, images)
            base = (directory / "deploy" / "kubernetes" / "kustomization.yaml").read_text(encoding="utf-8")
            target.kustomize_set_image(FIRST)
            assert_only_the_image_changed(base, target)
            start = time.monotonic()
            cluster.apply_kustomization(directory / "deploy" / "kubernetes")
            cluster.wait_rollout(project.slug, project.slug)
            target.apply_to_ready = time.monotonic() - start
            target.address = cluster.cluster_ip(project.slug, project.slug)
            # kube-proxy programs a new Service about a second after its pods are Ready: poll.
            assert cluster.wait_serving(project.slug, project.slug, target.address, SERVICE_PORT, FIRST)
            deployed[project.id] = target
        record(apply_to_ready_seconds=round(deployed[DEFAULT.id].apply_to_ready, 1))
        yield deployed
    finally:
        remove_images(*built)


def assert_only_the_image_changed(base: str, target: Deployed) -> None:
    """The kustomization differs from the generated one in its image entry only."""
    before = yaml.safe_load(base)
    after = yaml.safe_load((target.directory / "deploy" / "kubernetes" / "kustomization.yaml").read_text("utf-8"))
    assert {k: v for k, v in before.items() if k != "images"} == {k: v for k, v in after.items() if k != "images"}
    (entry,) = after["images"]
    assert entry["name"] == target.project.slug
    assert f"{entry['newName']}:{entry['newTag']}" == target.images[FIRST]


@pytest.fixture(scope="module")
def default(deployments: dict[str, Deployed]) -> Deployed:
    """The default project, deployed."""
    return deployments[DEFAULT.id]


# --- 1. The base deploys under restricted Pod Security and serves --------------------------------


@pytest.mark.parametrize("project", PROJECTS, ids=lambda project: project.id)
def test_base_runs_ready_pods_that_serve_in_a_restricted_namespace(
    cluster: Cluster, deployments: dict[str, Deployed], project: Project
) -> None:
    """The applied base runs its replicas Ready in a namespace enforcing restricted; its Service answers GET /."""
    target = deployments[project.id]
    labels = cluster.get("namespace", target.namespace)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    pods = cluster.ready_pods(target.namespace, target.selector)
    assert len(pods) == REPLICAS, [pod["metadata"]["name"] for pod in pods]
    for pod in pods:
        assert pod["spec"]["containers"][0]["image"] == target.images[FIRST]
    assert get_json(target.address, SERVICE_PORT, "/") == {"name": project.slug, "version": FIRST}


def metrics_endpoint(cluster: Cluster, target: Deployed) -> tuple[str, int]:
    """Where /metrics is served: a container port named "metrics" on a pod, else the Service."""
    (pod, *_) = cluster.ready_pods(target.namespace, target.selector)
    for port in pod["spec"]["containers"][0].get("ports", []):
        if port.get("name") == "metrics":
            return own_address(pod["status"]["podIP"]), int(port["containerPort"])
    return target.address, SERVICE_PORT


def test_metrics_variant_serves_prometheus_metrics(cluster: Cluster, deployments: dict[str, Deployed]) -> None:
    """The vendored + metrics service answers /metrics with Prometheus text on the cluster."""
    target = deployments[VENDORED_METRICS.id]
    address, port = metrics_endpoint(cluster, target)
    status, body = get_text(address, port, "/metrics")
    assert status == 200
    assert "# TYPE go_goroutines gauge" in body


def test_network_policy_is_accepted_and_selects_exactly_the_pods(cluster: Cluster, default: Deployed) -> None:
    """The API server holds the NetworkPolicy; its selector picks the Deployment's pods; its port is theirs.

    The bridge plugin of this cluster does not enforce NetworkPolicies: that part is the network
    plugin's, and is not proven here.
    """
    policy = cluster.get("networkpolicy", "-n", default.namespace, default.project.slug)["spec"]
    selector = ",".join(f"{key}={value}" for key, value in policy["podSelector"]["matchLabels"].items())
    selected = {
        pod["metadata"]["name"] for pod in cluster.get("pods", "-n", default.namespace, "-l", selector)["items"]
    }
    deployment_pods = {pod["metadata"]["name"] for pod in cluster.ready_pods(default.namespace, default.selector)}
    assert selected == deployment_pods
    (rule,) = policy["ingress"]
    (admitted,) = rule["ports"]
    pod = cluster.get("pods", "-n", default.namespace, "-l", selector)["items"][0]
    port_names = {port["name"] for port in pod["spec"]["containers"][0]["ports"]}
    assert admitted["port"] in port_names
    service = cluster.get("service", "-n", default.namespace, default.project.slug)
    assert service["spec"]["ports"][0]["targetPort"] == admitted["port"]


# --- 2. Admission refuses a pod that drops one restricted setting ------------------------------


def drop_privilege_escalation(pod: dict[str, Any]) -> None:
    del pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"]


def drop_capabilities(pod: dict[str, Any]) -> None:
    del pod["containers"][0]["securityContext"]["capabilities"]


def drop_run_as_non_root(pod: dict[str, Any]) -> None:
    del pod["securityContext"]["runAsNonRoot"]
    del pod["containers"][0]["securityContext"]["runAsNonRoot"]


def drop_seccomp(pod: dict[str, Any]) -> None:
    del pod["securityContext"]["seccompProfile"]
    del pod["containers"][0]["securityContext"]["seccompProfile"]


REMOVALS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "allowPrivilegeEscalation": (drop_privilege_escalation, "allowPrivilegeEscalation != false"),
    "capabilities": (drop_capabilities, "unrestricted capabilities"),
    "runAsNonRoot": (drop_run_as_non_root, "runAsNonRoot != true"),
    "seccompProfile": (drop_seccomp, "seccompProfile"),
}


def template_as_pod(cluster: Cluster, target: Deployed, name: str) -> dict[str, Any]:
    """The running Deployment's pod template, as a Pod of its own."""
    template = cluster.get("deployment", "-n", target.namespace, target.project.slug)["spec"]["template"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": target.namespace, "labels": {"test": name}},
        "spec": template["spec"],
    }


def server_dry_run(cluster: Cluster, manifest: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """Submit an object through admission without storing it (`kubectl create --dry-run=server`)."""
    return cluster.kubectl("create", "--dry-run=server", "-f", "-", stdin=json.dumps(manifest), check=False)


def test_pod_of_the_base_is_admitted(cluster: Cluster, default: Deployed) -> None:
    """The Deployment's own pod template passes admission in the restricted namespace (the control)."""
    result = server_dry_run(cluster, template_as_pod(cluster, default, "admitted"))
    assert result.returncode == 0, result.stderr
    assert "PodSecurity" not in result.stderr


@pytest.mark.parametrize("setting", REMOVALS)
def test_pod_missing_one_restricted_setting_is_refused(cluster: Cluster, default: Deployed, setting: str) -> None:
    """The same pod without one restricted setting is refused by Pod Security admission, naming the setting."""
    drop, message = REMOVALS[setting]
    pod = template_as_pod(cluster, default, "refused")
    drop(pod["spec"])
    result = server_dry_run(cluster, pod)
    assert result.returncode != 0
    assert POD_SECURITY in result.stderr, result.stderr
    assert message in result.stderr, result.stderr


def test_deployment_missing_one_restricted_setting_gets_no_pod(cluster: Cluster, default: Deployed) -> None:
    """The Deployment without allowPrivilegeEscalation: false is stored with a warning; none of its pods is admitted."""
    name = f"{default.project.slug}-unrestricted"
    deployment = cluster.get("deployment", "-n", default.namespace, default.project.slug)
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": default.namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"test": name}},
            "template": {"metadata": {"labels": {"test": name}}, "spec": deployment["spec"]["template"]["spec"]},
        },
    }
    drop_privilege_escalation(manifest["spec"]["template"]["spec"])
    try:
        applied = cluster.kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
        assert 'would violate PodSecurity "restricted:latest"' in applied.stderr, applied.stderr

        def refused() -> bool:
            replica_sets = cluster.get("replicasets", "-n", default.namespace, "-l", f"test={name}")["items"]
            conditions = [c for rs in replica_sets for c in rs.get("status", {}).get("conditions", [])]
            return any(c["type"] == "ReplicaFailure" and POD_SECURITY in c["message"] for c in conditions)

        assert wait_for(refused, timeout=60, interval=1), "no ReplicaFailure naming Pod Security"
        assert cluster.get("pods", "-n", default.namespace, "-l", f"test={name}")["items"] == []
    finally:
        cluster.kubectl("delete", "deployment", "-n", default.namespace, name, "--ignore-not-found")


# --- 3. A rolling update under load loses nothing ----------------------------------------------


@dataclass(frozen=True)
class Rollout:
    """One rolling update under load: how long it took and every response."""

    seconds: float
    served: int
    failed: list[Any]
    versions: dict[str, int]
    start: float  # monotonic time the change was applied


def rollout_under_load(cluster: Cluster, target: Deployed, apply: Callable[[], object], old: str, new: str) -> Rollout:
    """Apply a change under load, wait for the rollout and for the Service to answer only the new version."""
    with under_load(target.address, SERVICE_PORT, clients=CLIENTS) as load:
        start = time.monotonic()
        apply()
        cluster.wait_rollout(target.namespace, target.project.slug)
        seconds = time.monotonic() - start
        assert cluster.wait_serving(target.namespace, target.project.slug, target.address, SERVICE_PORT, new)
        time.sleep(1)
        outcomes = load.stop()
    verdict = check_responses(outcomes, target.project.slug, {old, new})
    return Rollout(seconds, verdict.served, verdict.failed, verdict.versions, start)


def test_rolling_update_under_load_loses_no_request(cluster: Cluster, default: Deployed) -> None:
    """Rolling the default deployment to a new version, applied with kustomize, serves every request under load."""

    def apply() -> None:
        default.kustomize_set_image(SECOND)
        cluster.apply_kustomization(default.directory / "deploy" / "kubernetes")

    rollout = rollout_under_load(cluster, default, apply, FIRST, SECOND)
    record(
        rollout_seconds=round(rollout.seconds, 1),
        rollout_served=rollout.served,
        rollout_failed=len(rollout.failed),
        rollout_clients=CLIENTS,
    )
    assert rollout.failed == [], loss_timeline(cluster, default.namespace, rollout.failed, rollout.start)
    assert rollout.versions.get(FIRST, 0) > 0, rollout.versions
    assert rollout.versions.get(SECOND, 0) > 0, rollout.versions
    images = {pod["spec"]["containers"][0]["image"] for pod in cluster.ready_pods(default.namespace, default.selector)}
    assert images == {default.images[SECOND]}


# --- 5. Deleting a pod under load loses nothing; the pod drains and exits 0 -------------------


def log_messages(text: str) -> list[str]:
    """The msg of each JSON log line."""
    messages = []
    for line in text.splitlines():
        try:
            messages.append(json.loads(line).get("msg", ""))
        except json.JSONDecodeError:
            continue
    return messages


def test_deleted_pod_drains_under_load_and_exits_0(cluster: Cluster, default: Deployed) -> None:
    """Deleting a pod under load loses no request; its log shows the drain and its container exits 0."""
    pod = cluster.ready_pods(default.namespace, default.selector)[0]["metadata"]["name"]
    base = [f"{cluster.bin_dir}/kubectl", "-n", default.namespace]
    env = {**os.environ, "KUBECONFIG": cluster.kubeconfig}
    logs = subprocess.Popen([*base, "logs", "-f", pod], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    exit_codes = subprocess.Popen(
        [
            *base,
            "get",
            "pod",
            pod,
            "--watch",
            "-o",
            'jsonpath={.status.containerStatuses[0].state.terminated.exitCode}{"\\n"}',
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        with under_load(default.address, SERVICE_PORT, clients=CLIENTS) as load:
            start = time.monotonic()
            cluster.kubectl("delete", "pod", "-n", default.namespace, pod, "--wait=true", timeout=90)
            cluster.wait_rollout(default.namespace, default.project.slug)
            time.sleep(1)
            outcomes = load.stop()
        log_text, _ = logs.communicate(timeout=30)
    finally:
        exit_codes.terminate()
        watched, _ = exit_codes.communicate(timeout=10)
        if logs.poll() is None:
            logs.kill()
            logs.wait(timeout=10)
    verdict = check_responses(outcomes, default.project.slug, {SECOND})
    assert verdict.failed == [], loss_timeline(cluster, default.namespace, verdict.failed, start)
    assert verdict.served > 0
    messages = log_messages(log_text.decode("utf-8", errors="replace"))
    assert "shutting down" in messages, messages[-5:]
    assert "stopped" in messages, messages[-5:]
    assert messages.index("shutting down") < messages.index("stopped") == len(messages) - 1
    assert watched.split()[-1:] == ["0"], watched


# --- 4. kubectl drain stops at the PodDisruptionBudget ----------------------------------------


def test_drain_is_refused_by_the_disruption_budget(cluster: Cluster, default: Deployed) -> None:
    """Draining the node evicts one pod, then is refused: the other would break the budget; no request fails."""
    node = cluster.get("nodes")["items"][0]["metadata"]["name"]
    before = {pod["metadata"]["name"] for pod in cluster.ready_pods(default.namespace, default.selector)}
    try:
        with under_load(default.address, SERVICE_PORT, clients=CLIENTS) as load:
            start = time.monotonic()
            drain = cluster.kubectl(
                "drain", node, f"--pod-selector={default.selector}", "--timeout=30s", check=False, timeout=60
            )
            outcomes = load.stop()
        assert drain.returncode != 0, drain.stdout
        output = drain.stdout + drain.stderr
        assert "Cannot evict pod as it would violate the pod's disruption budget" in output, output
        remaining = {pod["metadata"]["name"] for pod in cluster.ready_pods(default.namespace, default.selector)}
        assert len(remaining) == 1, remaining
        assert remaining <= before, (remaining, before)
        budget = cluster.get("pdb", "-n", default.namespace, default.project.slug)["status"]
        assert budget["disruptionsAllowed"] == 0
        verdict = check_responses(outcomes, default.project.slug, {SECOND})
        assert verdict.failed == [], loss_timeline(cluster, default.namespace, verdict.failed, start)
    finally:
        cluster.kubectl("uncordon", node)
    cluster.wait_rollout(default.namespace, default.project.slug)


# --- 3, the control: the same rollout without the drain loses requests --------------------------

WITHOUT_DRAIN = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - {base}
patches:
  - target: {{kind: Deployment}}
    patch: |-
      - op: remove
        path: /spec/template/spec/containers/0/lifecycle
      - op: replace
        path: /spec/template/spec/containers/0/env/{delay_index}
        value: {{name: SHUTDOWN_DELAY, value: "0s"}}
images:
  - name: {image}
    newTag: {new_tag}
"""


def test_rollout_without_drain_loses_requests(cluster: Cluster, default: Deployed, tmp_path: Path) -> None:
    """The control: with no preStop sleep and SHUTDOWN_DELAY=0, the same rollout under the same load loses requests."""
    base = default.directory / "deploy" / "kubernetes"
    deployment = cluster.get("deployment", "-n", default.namespace, default.project.slug)
    names = [item["name"] for item in deployment["spec"]["template"]["spec"]["containers"][0]["env"]]

    def overlay(version: str) -> Path:
        name, _, tag = default.images[version].partition(":")
        text = WITHOUT_DRAIN.format(
            base=os.path.relpath(base, tmp_path),
            delay_index=names.index("SHUTDOWN_DELAY"),
            image=name,
            new_tag=tag,
        )
        (tmp_path / "kustomization.yaml").write_text(text, encoding="utf-8")
        return tmp_path

    cluster.apply_kustomization(overlay(SECOND))  # first the pods lose their drain, without load
    cluster.wait_rollout(default.namespace, default.project.slug)
    rollout = rollout_under_load(cluster, default, lambda: cluster.apply_kustomization(overlay(FIRST)), SECOND, FIRST)
    record(control_rollout_served=rollout.served, control_rollout_failed=len(rollout.failed))
    assert rollout.failed, f"no request failed in {rollout.served} without the drain: the load cannot see a loss"


# --- 6. Afterwards: every process stopped, the host as it was -----------------------------------


def test_down_stops_every_process_and_restores_the_host(cluster_run: ClusterRun) -> None:
    """`kube-cluster.sh down` stops every process of the cluster and leaves the host as it was before `up`."""
    pids = cluster_pids()
    sockets = listening_sockets(pids)
    assert len(pids) >= DAEMONS, pids
    assert sockets, pids
    start = time.monotonic()
    cluster_run.down()
    record(cluster_down_seconds=round(time.monotonic() - start, 1))
    assert [pid for pid in pids if alive(pid)] == []
    still_listening = {line.split()[3] for line in run(["ss", "-ltnH"], cwd=Path("/")).splitlines()}
    assert sockets & still_listening == set()
    after = host_snapshot()
    for aspect, was in cluster_run.before.items():
        now = after[aspect]
        assert now == was, f"{aspect}: added {sorted(now - was)}, removed {sorted(was - now)}"
    assert not re.search(r"\bKUBE-|\bCNI-", "\n".join(after["nft ruleset"]))
