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
A postgres project runs against a PostgreSQL pod from the image assembled from Debian's packages
(harness/postgres_image.py), TLS on with a server certificate of a CA the test makes, its URL (no
sslmode) and that CA (ca.crt and ca.key) in the Secrets CloudNativePG would make: its migration Job
completes, its Deployment becomes Ready, the server sees the service's connections over TLS, the
pods get ca.crt and not ca.key, the same Job with another CA's certificate fails as untrusted, and
a rolling update under a load of POST /notes and GET /notes/{id} round trips loses none.

Every load is bounded; nothing is timed here. The steps (build, load, deploy, each disruption
under load) are harness/kubernetes.py's, which bench/kubernetes.py drives on its own for figures.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.docker import remove_images
from harness.kubernetes import (
    DEFAULT,
    FIRST,
    LOAD_CLIENT_IMAGE,
    SECOND,
    Cluster,
    Deployed,
    KubernetesError,
    Project,
    build_load_client,
    build_project,
    delete_pod_under_load,
    deploy_postgres,
    deploy_with_database,
    drain_under_load,
    fetch,
    lost,
    migrate_with_ca,
    mounted_files,
    postgres_sql,
    remove_postgres,
    roll_to_other_version,
    rollout_without_drain,
)
from harness.project import bake_with
from harness.tls import CertificateAuthority
from harness.waiting import wait_for

pytestmark = [
    pytest.mark.kubernetes,
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.xdist_group("kubernetes"),
]

REPLICAS = 2
POD_SECURITY = 'violates PodSecurity "restricted:latest"'

VENDORED_METRICS = Project(
    "vendored-metrics",
    {"project_name": "Metrics Service", "vendor_dependencies": True, "prometheus_metrics": True},
    "metrics-service",
    (FIRST,),
    metrics=True,
)
PROJECTS = (DEFAULT, VENDORED_METRICS)
DATABASE = Project(
    "database",
    {"project_name": "Notes Service", "database": "postgres", "vendor_dependencies": True},
    "notes-service",
    (FIRST, SECOND),
    metrics=False,
    database=True,
)


# --- The cluster, once for the module ----------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """The cluster KUBECONFIG names; without it, scripts/kube-cluster.sh's (root needed), started and stopped here."""
    given = Cluster.given()
    if given is not None:
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
        yield started
    finally:
        Cluster.stop()


@pytest.fixture(scope="module")
def load_client(cluster: Cluster, golang_image: str) -> Iterator[str]:
    """The image of harness/loadclient, built and copied to the nodes."""
    try:
        yield build_load_client(cluster, golang_image)
    finally:
        remove_images(LOAD_CLIENT_IMAGE)


# --- The projects, built, loaded and deployed --------------------------------------------------


@pytest.fixture(scope="module")
def deployments(
    cluster: Cluster, golang_image: str, cookies_session: Any, load_client: str
) -> Iterator[dict[str, Deployed]]:
    """Bake, build and load each project's images, then apply its base with only the image changed."""
    deployed: dict[str, Deployed] = {}
    try:
        for project in PROJECTS:
            directory = bake_with(cookies_session, project.answers)
            target = build_project(cluster, project, directory, golang_image, load_client)
            deployed[project.id] = target
            base = (target.base / "kustomization.yaml").read_text(encoding="utf-8")
            target.kustomize_set_image(FIRST)
            assert_only_the_image_changed(base, target)
            target.deploy(cluster)
        yield deployed
    finally:
        remove_images(*(tag for target in deployed.values() for tag in target.images.values()))


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


@pytest.mark.parametrize("keep_alive", [False, True], ids=["new-connections", "keep-alive"])
def test_rolling_update_under_load_loses_no_request(cluster: Cluster, default: Deployed, keep_alive: bool) -> None:
    """Rolling the default deployment to another version, applied with kustomize, serves every request under load."""
    old, new = default.other_version(cluster)
    rollout = roll_to_other_version(cluster, default, keep_alive=keep_alive)
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
    deletion = delete_pod_under_load(cluster, default, keep_alive=keep_alive)
    result, start, log_text, watched = deletion.load, deletion.start, deletion.log, deletion.exit_codes
    assert result.failed_count == 0, lost(cluster, default, result, start)
    assert result.served > 0
    messages = log_messages(log_text)
    assert "shutting down" in messages, messages[-5:]
    assert "stopped" in messages, messages[-5:]
    assert messages.index("shutting down") < messages.index("stopped") == len(messages) - 1
    assert watched.split()[-1:] == ["0"], watched


# --- 4. kubectl drain stops at the PodDisruptionBudget ----------------------------------------


def test_drain_is_refused_by_the_disruption_budget(cluster: Cluster, default: Deployed) -> None:
    """Draining the node evicts one pod, then is refused: the other would break the budget; no request fails."""
    drain = drain_under_load(cluster, default)
    result, start, before, remaining = drain.load, drain.start, drain.before, drain.remaining
    assert drain.command.returncode != 0, drain.command.stdout
    output = drain.output
    assert "Cannot evict pod as it would violate the pod's disruption budget" in output, output
    assert len(remaining) == 1, remaining
    assert remaining <= before, (remaining, before)
    assert drain.disruptions_allowed == 0
    assert result.failed_count == 0, lost(cluster, default, result, start)


# --- 3, the control: the same rollout without the drain loses requests --------------------------


def test_rollout_without_drain_loses_requests(cluster: Cluster, default: Deployed, tmp_path: Path) -> None:
    """The control: with no preStop sleep and SHUTDOWN_DELAY=0, the same rollout under the same load loses requests."""
    rollout = rollout_without_drain(cluster, default, tmp_path)
    assert rollout.load.failed_count > 0, f"no request failed in {rollout.load.served}: the load cannot see a loss"


# --- 6. With a database: the migration Job, Ready pods, a rolling update that loses no note --------


@pytest.fixture(scope="module")
def database_ca() -> CertificateAuthority:
    """The CA of the PostgreSQL server's certificate: CloudNativePG's <cluster>-ca, made by the test."""
    return CertificateAuthority("gss-kube-test postgres CA")


@pytest.fixture(scope="module")
def postgres_server(cluster: Cluster, postgres_image: str, database_ca: CertificateAuthority) -> Iterator[str]:
    """PostgreSQL in a pod of its own, TLS on with a certificate of database_ca; its URL (no sslmode); removed after."""
    try:
        yield deploy_postgres(cluster, postgres_image, database_ca)
    finally:
        remove_postgres(cluster)


@pytest.fixture(scope="module")
def database(
    cluster: Cluster,
    golang_image: str,
    cookies_session: Any,
    load_client: str,
    postgres_server: str,
    database_ca: CertificateAuthority,
) -> Iterator[Deployed]:
    """The postgres project built, the operator's Secrets made (uri, and the CA: ca.crt, ca.key), its base applied."""
    directory = bake_with(cookies_session, DATABASE.answers)
    target = build_project(cluster, DATABASE, directory, golang_image, load_client)
    try:
        deploy_with_database(cluster, target, postgres_server, database_ca)
        yield target
    finally:
        remove_images(*target.images.values())
        cluster.kubectl("delete", "namespace", target.namespace, "--ignore-not-found", "--wait=true", timeout=180)


def test_database_project_migrates_and_becomes_ready(cluster: Cluster, database: Deployed) -> None:
    """The migration Job completed once, with the release's image; the Deployment's pods are Ready, /readyz 200."""
    job = cluster.get("job", "-n", database.namespace, database.migration_job)
    assert job["status"].get("succeeded") == 1, job["status"]
    assert not job["status"].get("failed"), job["status"]
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    assert migrate["image"] == database.images[database.running_version(cluster)]
    assert len(database.ready_pods(cluster)) == REPLICAS
    status, _ = fetch(cluster, database.namespace, database.client, f"{database.url}readyz")
    assert status == 200


# The service's connections, as the server sees them: TLS or not (not the probe's, from 127.0.0.1, nor psql's).
SERVICE_CONNECTIONS = """
SELECT s.ssl, count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
WHERE a.usename = 'app' AND a.client_addr IS NOT NULL AND a.client_addr <> '127.0.0.1' GROUP BY s.ssl
"""
OWN_CONNECTION = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


def test_database_connections_are_tls(cluster: Cluster, database: Deployed) -> None:
    """The server sees every connection of the service's user over TLS; pg_stat_ssl tells a plain one (the control)."""
    status, _ = fetch(cluster, database.namespace, database.client, f"{database.url}readyz")
    assert status == 200
    rows = postgres_sql(cluster, SERVICE_CONNECTIONS)
    assert len(rows) == 1, rows
    tls, count = rows[0].split("|")
    assert (tls, int(count) > 0) == ("t", True), rows
    assert postgres_sql(cluster, OWN_CONNECTION, tcp_sslmode="disable") == ["f"]
    assert postgres_sql(cluster, OWN_CONNECTION, tcp_sslmode="require") == ["t"]


def test_database_pods_get_the_ca_certificate_not_its_key(
    cluster: Cluster, database: Deployed, postgres_image: str
) -> None:
    """The Deployment's CA volume puts ca.crt alone in the pods, though the Secret holds ca.key; without items, both."""
    template = cluster.get("deployment", "-n", database.namespace, database.project.slug)["spec"]["template"]
    volumes = template["spec"]["volumes"]
    assert mounted_files(cluster, database, postgres_image, volumes) == {"ca.crt"}
    whole = [{**volume, "secret": {"secretName": volume["secret"]["secretName"]}} for volume in volumes]
    assert mounted_files(cluster, database, postgres_image, whole) == {"ca.crt", "ca.key"}  # the control


def test_database_migration_with_another_ca_is_refused(
    cluster: Cluster, database: Deployed, postgres_server: str
) -> None:
    """The base's migration Job, with a <slug>-db-ca of another CA, fails: the server's certificate is not trusted."""
    failed, log = migrate_with_ca(cluster, database, postgres_server, CertificateAuthority("gss-kube-test another CA"))
    assert failed, log
    assert "certificate signed by unknown authority" in log, log


def test_database_rolling_update_under_load_loses_no_note(cluster: Cluster, database: Deployed) -> None:
    """Releasing the other version (Job replaced, base applied) under a load of note round trips loses none."""
    old, new = database.other_version(cluster)
    rollout = roll_to_other_version(cluster, database)
    assert rollout.load.failed_count == 0, lost(cluster, database, rollout.load, rollout.start)
    assert rollout.load.versions.get("notes", 0) > 0, rollout.load.versions
    assert database.running_version(cluster) == new != old
    job = cluster.get("job", "-n", database.namespace, database.migration_job)
    assert job["status"].get("succeeded") == 1, job["status"]
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == database.images[new]
