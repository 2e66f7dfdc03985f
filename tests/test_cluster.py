"""Kubernetes for real: the generated base on a real cluster keeps its promises.

The cluster is the one KUBECONFIG names (then this module never starts one); without it,
scripts/kube-cluster.sh starts a single-node cluster for this module and stops it afterwards
(that script's own promise, that `down` restores the host, is tests/test_kube_cluster.py's).
Two generated projects are built into images with Docker and copied to the nodes with the
image loader (KUBE_IMAGE_LOADER, by default `scripts/kube-cluster.sh load`). Each is deployed as
its README says (`kustomize edit set image`, then `kubectl apply -k deploy/kubernetes`), into the
namespace of the base, which enforces the restricted Pod Security Standard.

Every request comes from harness/loadclient in a pod of that namespace, through the Service's
ClusterIP: the cluster's own Service routing is what is proven. Each test sets up the state it
needs and leaves the default deployment Ready, so any one runs alone: admission refuses a pod
missing one restricted setting; a rolling update under load (with and without keep-alive
clients) loses no request; deleting a pod under load loses none and its logs show the drain;
`kubectl drain` stops at the PodDisruptionBudget; the same rollout without the drain (no preStop
sleep, SHUTDOWN_DELAY=0) loses requests, the control that shows the load can see a loss.

Every load is bounded. Timings are written to build/kubernetes-measurements.json, never asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.answers import SLUG
from harness.docker import build_image, remove_images
from harness.kubernetes import (
    LOAD_CLIENT,
    Cluster,
    KubernetesError,
    LoadResult,
    PodLoad,
    fetch,
    loss_timeline,
    record,
    timed,
)
from harness.project import bake_with
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
SERVICE_PORT = 80
IMAGE_PREFIX = "gss-kube-test-"
LOAD_CLIENT_IMAGE = f"{IMAGE_PREFIX}loadclient:1"
POD_SECURITY = 'violates PodSecurity "restricted:latest"'


@dataclass(frozen=True)
class Project:
    """A generated project to deploy: its answers and the versions of its image."""

    id: str
    answers: dict[str, Any]
    slug: str
    versions: tuple[str, ...]
    metrics: bool


DEFAULT = Project("default", {}, SLUG, (FIRST, SECOND), metrics=False)
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


# --- The cluster, once for the module ----------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """The cluster KUBECONFIG names; without it, scripts/kube-cluster.sh's (root needed), started and stopped here."""
    given = Cluster.given()
    if given is not None:
        record(kubernetes_version=given.server_version())
        yield given
        return
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("without KUBECONFIG the cluster tests start scripts/kube-cluster.sh, which needs root")
        pytest.skip("without KUBECONFIG the cluster tests start scripts/kube-cluster.sh, which needs root")
    try:
        started = Cluster.start()
    except KubernetesError as err:
        Cluster.stop()
        pytest.fail(str(err))
    try:
        record(kubernetes_version=started.server_version())
        yield started
    finally:
        Cluster.stop()


@pytest.fixture(scope="module")
def load_client(cluster: Cluster, golang_image: str) -> Iterator[str]:
    """The image of harness/loadclient, built and copied to the nodes."""
    build_image(LOAD_CLIENT, LOAD_CLIENT_IMAGE, build_args={"GOLANG_IMAGE": golang_image}, network="none")
    try:
        cluster.load(LOAD_CLIENT_IMAGE)
        yield LOAD_CLIENT_IMAGE
    finally:
        remove_images(LOAD_CLIENT_IMAGE)


# --- The projects, built, loaded and deployed --------------------------------------------------


@dataclass
class Deployed:
    """A project deployed from its kustomize base: where it runs and how to reach it."""

    project: Project
    directory: Path  # the generated project
    address: str  # the Service's ClusterIP
    apply_to_ready: float
    client: str  # the load client's image
    images: dict[str, str] = field(default_factory=dict)  # version -> local image

    @property
    def namespace(self) -> str:
        """The namespace of the base (the slug)."""
        return self.project.slug

    @property
    def selector(self) -> str:
        """The label selector of the project's pods."""
        return f"app.kubernetes.io/name={self.project.slug}"

    @property
    def url(self) -> str:
        """GET / through the Service."""
        return f"http://{self.address}:{SERVICE_PORT}/"

    def kustomize_set_image(self, version: str) -> None:
        """Point the base at one version of the image, as the README tells users."""
        name = self.project.slug
        run(
            [require_tool("kustomize"), "edit", "set", "image", f"{name}={self.images[version]}"],
            cwd=self.directory / "deploy" / "kubernetes",
        )

    def apply(self, cluster: Cluster, version: str) -> None:
        """Apply the base with the image of version, and wait until the rollout is complete."""
        self.kustomize_set_image(version)
        cluster.apply_kustomization(self.directory / "deploy" / "kubernetes")
        cluster.wait_rollout(self.namespace, self.project.slug)

    def running_version(self, cluster: Cluster) -> str:
        """The version that every Ready pod runs (fails if they differ)."""
        versions = {tag: version for version, tag in self.images.items()}
        running = {versions.get(pod["spec"]["containers"][0]["image"], "?") for pod in self.ready_pods(cluster)}
        (version,) = running
        return version

    def ready_pods(self, cluster: Cluster) -> list[dict[str, Any]]:
        """The Ready pods of the Deployment."""
        return cluster.ready_pods(self.namespace, self.selector)

    def load(self, cluster: Cluster, *, keep_alive: bool = False) -> PodLoad:
        """A load through the Service from a pod in the namespace."""
        return PodLoad(
            cluster,
            self.namespace,
            self.client,
            url=self.url,
            name=self.project.slug,
            clients=CLIENTS,
            keep_alive=keep_alive,
        )

    def wait_settled(self, cluster: Cluster) -> None:
        """Wait until stopping pods are gone and the Service's endpoints are the Ready pods; let proxies follow."""

        def only_ready() -> bool:
            pods = cluster.get("pods", "-n", self.namespace, "-l", self.selector)["items"]
            return len(pods) == len(self.ready_pods(cluster))

        assert wait_for(only_ready, timeout=90, interval=0.5), "pods still stopping after 90 s"
        pods = {pod["metadata"]["name"] for pod in self.ready_pods(cluster)}
        assert cluster.wait_endpoints(self.namespace, self.project.slug, pods), pods
        time.sleep(2)  # Service proxies program an endpoint change within about a second


@pytest.fixture(scope="module")
def deployments(
    cluster: Cluster, golang_image: str, cookies_session: Any, load_client: str
) -> Iterator[dict[str, Deployed]]:
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
            target = Deployed(project, directory, "", 0.0, load_client, images)
            base = (directory / "deploy" / "kubernetes" / "kustomization.yaml").read_text(encoding="utf-8")
            target.kustomize_set_image(FIRST)
            assert_only_the_image_changed(base, target)
            target.apply_to_ready = timed(lambda target=target: target.apply(cluster, FIRST))
            target.address = cluster.cluster_ip(project.slug, project.slug)
            target.wait_settled(cluster)  # on a cluster used before, the pods of an earlier run are gone
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
    pods = target.ready_pods(cluster)
    assert len(pods) == REPLICAS, [pod["metadata"]["name"] for pod in pods]
    version = target.running_version(cluster)
    status, body = fetch(cluster, target.namespace, target.client, target.url)
    assert (status, json.loads(body)) == (200, {"name": project.slug, "version": version})


def metrics_url(cluster: Cluster, target: Deployed) -> str:
    """Where /metrics is served: a container port named "metrics" on a pod, else the Service."""
    (pod, *_) = target.ready_pods(cluster)
    for port in pod["spec"]["containers"][0].get("ports", []):
        if port.get("name") == "metrics":
            return f"http://{pod['status']['podIP']}:{port['containerPort']}/metrics"
    return f"{target.url}metrics"


def test_metrics_variant_serves_prometheus_metrics(cluster: Cluster, deployments: dict[str, Deployed]) -> None:
    """The vendored + metrics service answers /metrics with Prometheus text on the cluster."""
    target = deployments[VENDORED_METRICS.id]
    status, body = fetch(cluster, target.namespace, target.client, metrics_url(cluster, target))
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
    """One rolling update under load: how long it took and what the load got."""

    seconds: float
    load: LoadResult
    start: float  # seconds since the epoch the change was applied


def other_version(target: Deployed, cluster: Cluster) -> tuple[str, str]:
    """The version running now and the one to roll to."""
    old = target.running_version(cluster)
    (new,) = [version for version in target.project.versions if version != old]
    return old, new


def rollout_under_load(
    cluster: Cluster, target: Deployed, apply: Callable[[], object], *, keep_alive: bool = False
) -> Rollout:
    """Apply a change under load, wait for the rollout and for the Service to route to the new pods only."""
    with target.load(cluster, keep_alive=keep_alive) as load:
        start = time.time()
        apply()
        cluster.wait_rollout(target.namespace, target.project.slug)
        seconds = time.time() - start
        target.wait_settled(cluster)
        result = load.stop()
    return Rollout(seconds, result, start)


def lost(cluster: Cluster, target: Deployed, result: LoadResult, start: float) -> str:
    """The assertion message of a load that lost requests: how many, and when against the events."""
    timeline = loss_timeline(cluster, target.namespace, result.failed, start)
    return f"{result.failed_count} of {result.served + result.failed_count} lost:\n{timeline}"


@pytest.mark.parametrize("keep_alive", [False, True], ids=["new-connections", "keep-alive"])
def test_rolling_update_under_load_loses_no_request(cluster: Cluster, default: Deployed, keep_alive: bool) -> None:
    """Rolling the default deployment to another version, applied with kustomize, serves every request under load."""
    old, new = other_version(default, cluster)
    rollout = rollout_under_load(cluster, default, lambda: default.apply(cluster, new), keep_alive=keep_alive)
    suffix = "_keep_alive" if keep_alive else ""
    record(
        **{
            f"rollout{suffix}_seconds": round(rollout.seconds, 1),
            f"rollout{suffix}_served": rollout.load.served,
            f"rollout{suffix}_failed": rollout.load.failed_count,
        },
        rollout_clients=CLIENTS,
    )
    assert rollout.load.failed_count == 0, lost(cluster, default, rollout.load, rollout.start)
    assert rollout.load.versions.get(old, 0) > 0, rollout.load.versions
    assert rollout.load.versions.get(new, 0) > 0, rollout.load.versions
    assert default.running_version(cluster) == new


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


@pytest.mark.parametrize("keep_alive", [False, True], ids=["new-connections", "keep-alive"])
def test_deleted_pod_drains_under_load_and_exits_0(cluster: Cluster, default: Deployed, keep_alive: bool) -> None:
    """Deleting a pod under load loses no request; its log shows the drain and its container exits 0."""
    pod = default.ready_pods(cluster)[0]["metadata"]["name"]
    base = [cluster.kubectl_path, "-n", default.namespace]
    logs = subprocess.Popen(
        [*base, "logs", "-f", pod], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=cluster.env
    )
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
        env=cluster.env,
    )
    try:
        with default.load(cluster, keep_alive=keep_alive) as load:
            start = time.time()
            cluster.kubectl("delete", "pod", "-n", default.namespace, pod, "--wait=true", timeout=90)
            cluster.wait_rollout(default.namespace, default.project.slug)
            default.wait_settled(cluster)
            result = load.stop()
        log_text, _ = logs.communicate(timeout=30)
    finally:
        exit_codes.terminate()
        watched, _ = exit_codes.communicate(timeout=10)
        if logs.poll() is None:
            logs.kill()
            logs.wait(timeout=10)
    assert result.failed_count == 0, lost(cluster, default, result, start)
    assert result.served > 0
    messages = log_messages(log_text.decode("utf-8", errors="replace"))
    assert "shutting down" in messages, messages[-5:]
    assert "stopped" in messages, messages[-5:]
    assert messages.index("shutting down") < messages.index("stopped") == len(messages) - 1
    assert watched.split()[-1:] == ["0"], watched


# --- 4. kubectl drain stops at the PodDisruptionBudget ----------------------------------------


def test_drain_is_refused_by_the_disruption_budget(cluster: Cluster, default: Deployed) -> None:
    """Draining the node evicts one pod, then is refused: the other would break the budget; no request fails."""
    (pod, *_) = default.ready_pods(cluster)
    node = pod["spec"]["nodeName"]
    before = {pod["metadata"]["name"] for pod in default.ready_pods(cluster)}
    try:
        with default.load(cluster) as load:
            start = time.time()
            drain = cluster.kubectl(
                "drain", node, f"--pod-selector={default.selector}", "--timeout=30s", check=False, timeout=60
            )
            result = load.stop()
        assert drain.returncode != 0, drain.stdout
        output = drain.stdout + drain.stderr
        assert "Cannot evict pod as it would violate the pod's disruption budget" in output, output
        remaining = {pod["metadata"]["name"] for pod in default.ready_pods(cluster)}
        assert len(remaining) == 1, remaining
        assert remaining <= before, (remaining, before)
        budget = cluster.get("pdb", "-n", default.namespace, default.project.slug)["status"]
        assert budget["disruptionsAllowed"] == 0
        assert result.failed_count == 0, lost(cluster, default, result, start)
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

    old, new = other_version(default, cluster)
    try:
        cluster.apply_kustomization(overlay(old))  # first the pods lose their drain, without load
        cluster.wait_rollout(default.namespace, default.project.slug)
        default.wait_settled(cluster)
        rollout = rollout_under_load(cluster, default, lambda: cluster.apply_kustomization(overlay(new)))
    finally:
        default.apply(cluster, new)  # the base again: preStop sleep and SHUTDOWN_DELAY back
    record(control_rollout_served=rollout.load.served, control_rollout_failed=rollout.load.failed_count)
    assert rollout.load.failed_count > 0, f"no request failed in {rollout.load.served}: the load cannot see a loss"
