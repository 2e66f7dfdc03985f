"""Kubernetes: the kustomize base is valid for the API server and runs under the restricted Pod Security profile.

Every manifest is checked with kubernetes-validate --strict (bundled Kubernetes schemas; unknown
fields are errors), the base is built with kustomize itself, and the security context, probes,
resources and shutdown timing are asserted field by field.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from harness.answers import NOBODY, SLUG
from harness.project import Bake, bake_with
from harness.tools import require_tool, run

PORT = 9090  # not the default, so that the answer is seen to reach the manifests
MANIFESTS = ("namespace.yaml", "deployment.yaml", "service.yaml", "pdb.yaml", "networkpolicy.yaml")
KINDS = ["Deployment", "Namespace", "NetworkPolicy", "PodDisruptionBudget", "Service"]
# What a postgres project adds: the migration Job and the policy of the pods' outgoing traffic.
DATABASE_MANIFESTS = ("migration-job.yaml", "egress-networkpolicy.yaml")
DATABASE_KINDS = ["Job", "NetworkPolicy"]
DATABASE_SECRET = {"name": f"{SLUG}-db-app", "key": "uri"}  # CloudNativePG's Secret of a Cluster named <slug>-db
DATABASE_CA = f"{SLUG}-db-ca"  # CloudNativePG's Secret of the CA that signs the server certificate: ca.crt, ca.key
DURATION = re.compile(r"^(\d+)(s|m)$")


@pytest.fixture(scope="module", params=["none", "postgres"], ids=lambda database: f"database-{database}")
def project(cookies_session: Any, request: pytest.FixtureRequest) -> Path:
    """A project with Kubernetes manifests (the default) on a non-default port, without and with a database."""
    return bake_with(cookies_session, {"port": str(PORT), "database": request.param})


def postgres(project: Path) -> bool:
    """Whether the project was baked with database=postgres."""
    return (project / "compose.yaml").exists()


def manifests(project: Path) -> tuple[str, ...]:
    """The manifests the project's base should hold."""
    return MANIFESTS + (DATABASE_MANIFESTS if postgres(project) else ())


def load(path: Path) -> dict[str, Any]:
    """Parse one YAML document."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def manifest(project: Path, name: str) -> dict[str, Any]:
    """Parse one manifest of the base."""
    return load(project / "deploy" / "kubernetes" / name)


def pod_spec(project: Path) -> dict[str, Any]:
    """The Deployment's pod template spec."""
    return manifest(project, "deployment.yaml")["spec"]["template"]["spec"]


def container(project: Path) -> dict[str, Any]:
    """The Deployment's only container."""
    (only,) = pod_spec(project)["containers"]
    return only


def environment(project: Path) -> dict[str, str]:
    """The container's environment variables with plain values."""
    return {item["name"]: item["value"] for item in container(project)["env"] if "value" in item}


def seconds(duration: str) -> int:
    """Read a Go duration of whole seconds or minutes, such as 5s or 1m."""
    match = DURATION.match(duration)
    assert match, f"unexpected duration {duration!r}"
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)


def kubernetes_validate(*paths: Path) -> str:
    """Validate files with kubernetes-validate --strict; fail the test with its output on any error."""
    tool = require_tool("kubernetes-validate")
    return run([tool, "--strict", *map(str, paths)], cwd=paths[0].parent)


def test_every_manifest_passes_strict_validation(project: Path) -> None:
    """Each manifest is a valid object of the Kubernetes API, with no unknown field."""
    directory = project / "deploy" / "kubernetes"
    output = kubernetes_validate(*(directory / name for name in manifests(project)))
    assert output.count(" passed for resource ") == len(manifests(project)), output


def test_strict_validation_catches_an_unknown_field(project: Path, tmp_path: Path) -> None:
    """The validator really reads the fields: a misspelt one fails it (so the test above can fail)."""
    broken = manifest(project, "deployment.yaml")
    broken["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True
    path = tmp_path / "deployment.yaml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    tool = require_tool("kubernetes-validate")
    with pytest.raises(pytest.fail.Exception, match="readOnlyRootFileSystem"):
        run([tool, "--strict", str(path)], cwd=tmp_path)


def test_kustomization_lists_every_manifest(project: Path) -> None:
    """The kustomization lists exactly the manifests beside it, and names the image to set."""
    directory = project / "deploy" / "kubernetes"
    kustomization = load(directory / "kustomization.yaml")
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    assert sorted(kustomization["resources"]) == sorted(manifests(project))
    assert sorted(p.name for p in directory.iterdir()) == sorted([*manifests(project), "kustomization.yaml"])
    assert [image["name"] for image in kustomization["images"]] == [container(project)["image"]]


def test_kustomize_build_is_valid(project: Path, tmp_path: Path) -> None:
    """The kustomize build is the namespace and the objects in it, with a released image, passing strict validation."""
    kustomize = require_tool("kustomize")
    built = run([kustomize, "build", "deploy/kubernetes"], cwd=project)
    documents = list(yaml.safe_load_all(built))
    kinds = KINDS + (DATABASE_KINDS if postgres(project) else [])
    assert sorted(document["kind"] for document in documents) == sorted(kinds)
    for document in documents:
        if document["kind"] != "Namespace":
            assert document["metadata"]["namespace"] == SLUG, document["kind"]
    images = [
        container["image"]
        for document in documents
        if document["kind"] in {"Deployment", "Job"}
        for container in document["spec"]["template"]["spec"]["containers"]
    ]
    for image in images:  # the migration Job runs the release the Deployment runs
        assert re.fullmatch(rf"{SLUG}:\d+\.\d+\.\d+", image), image
    assert len(set(images)) == 1, images
    path = tmp_path / "built.yaml"
    path.write_text(built, encoding="utf-8")
    output = kubernetes_validate(path)
    assert output.count(" passed for resource ") == len(documents), output


def pod_templates(project: Path) -> dict[str, dict[str, Any]]:
    """The pod template specs of the base by manifest: the Deployment's, and the migration Job's with a database."""
    names = ["deployment.yaml", *(["migration-job.yaml"] if postgres(project) else [])]
    return {name: manifest(project, name)["spec"]["template"]["spec"] for name in names}


def test_pod_runs_under_the_restricted_profile(project: Path) -> None:
    """Every pod's and container's security context satisfies the restricted Pod Security Standard, field by field."""
    for name, pod in pod_templates(project).items():
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == NOBODY, name
        assert pod["securityContext"]["runAsGroup"] == NOBODY, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        assert all(set(volume) == {"name", "secret"} for volume in pod.get("volumes", [])), name  # Secrets only
        for field in ("hostNetwork", "hostPID", "hostIPC"):
            assert field not in pod, (name, field)
        (only,) = pod["containers"]
        security = only["securityContext"]
        assert security["runAsNonRoot"] is True, name
        assert security["runAsUser"] == NOBODY, name
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"] == {"drop": ["ALL"]}, name
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert "privileged" not in security, name


def test_image_user_is_the_pods_user(project: Path) -> None:
    """The Dockerfile's numeric USER is the user the pod runs as, so runAsNonRoot can verify it."""
    assert f"USER {NOBODY}:{NOBODY}" in (project / "Dockerfile").read_text(encoding="utf-8")


def test_probes_use_the_health_endpoints(project: Path) -> None:
    """Liveness asks /livez and readiness /readyz, on the port the service listens on."""
    main = container(project)
    ports = {port["name"]: port["containerPort"] for port in main["ports"]}
    assert ports == {"http": PORT}
    assert environment(project)["PORT"] == str(PORT)
    assert main["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
    assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def test_container_has_requests_and_limits(project: Path) -> None:
    """CPU and memory are both requested and limited."""
    resources = container(project)["resources"]
    for kind in ("requests", "limits"):
        assert set(resources[kind]) == {"cpu", "memory"}, kind


def test_shutdown_fits_in_the_grace_period(project: Path) -> None:
    """The preStop sleep needs no shell, and the grace period outlasts preStop, shutdown delay and timeout together."""
    pre_stop = container(project)["lifecycle"]["preStop"]
    assert list(pre_stop) == ["sleep"]  # no exec: the scratch image has no shell
    env = environment(project)
    budget = pre_stop["sleep"]["seconds"] + seconds(env["SHUTDOWN_DELAY"]) + seconds(env["SHUTDOWN_TIMEOUT"])
    assert pod_spec(project)["terminationGracePeriodSeconds"] > budget


def test_service_and_budget_select_the_pods(project: Path) -> None:
    """The Service and the PodDisruptionBudget select the Deployment's pods; the Service targets the named port."""
    deployment = manifest(project, "deployment.yaml")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    service = manifest(project, "service.yaml")
    assert service["spec"]["selector"] == selector
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    budget = manifest(project, "pdb.yaml")
    assert budget["spec"]["selector"]["matchLabels"] == selector
    assert budget["spec"]["maxUnavailable"] < deployment["spec"]["replicas"]


def test_replicas_spread_across_nodes_and_zones(project: Path) -> None:
    """The pods spread across nodes and zones where there are several, and still run where there are not."""
    deployment = manifest(project, "deployment.yaml")
    selector = deployment["spec"]["selector"]["matchLabels"]
    constraints = {c["topologyKey"]: c for c in deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]}
    assert sorted(constraints) == ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
    for constraint in constraints.values():
        assert constraint["whenUnsatisfiable"] == "ScheduleAnyway"  # a single-node cluster still runs every replica
        assert constraint["maxSkew"] == 1
        assert constraint["labelSelector"] == {"matchLabels": selector}
        assert constraint["matchLabelKeys"] == ["pod-template-hash"]  # each ReplicaSet's pods on their own


def test_namespace_enforces_the_restricted_profile(project: Path) -> None:
    """The namespace enforces, audits and warns about the restricted Pod Security Standard."""
    namespace = manifest(project, "namespace.yaml")
    assert namespace["metadata"]["name"] == SLUG
    labels = namespace["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted", mode


def test_network_policy_admits_the_service_port_only(project: Path) -> None:
    """The NetworkPolicy selects the Deployment's pods and admits incoming traffic on the named service port only."""
    policy = manifest(project, "networkpolicy.yaml")["spec"]
    selector = manifest(project, "deployment.yaml")["spec"]["selector"]["matchLabels"]
    assert policy["podSelector"]["matchLabels"] == selector
    assert policy["policyTypes"] == ["Ingress"]
    (rule,) = policy["ingress"]
    assert rule == {"ports": [{"port": "http", "protocol": "TCP"}]}
    assert manifest(project, "service.yaml")["spec"]["ports"][0]["targetPort"] == "http"


def test_network_policy_admits_metrics_from_the_monitoring_namespace_only(bake: Bake) -> None:
    """With metrics on, a second rule admits the container's metrics port, from the namespace named monitoring only."""
    project = bake(prometheus_metrics=True)
    web, metrics = manifest(project, "networkpolicy.yaml")["spec"]["ingress"]
    assert web == {"ports": [{"port": "http", "protocol": "TCP"}]}
    monitoring = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    assert metrics == {"from": [monitoring], "ports": [{"port": "metrics", "protocol": "TCP"}]}
    assert "metrics" in {port["name"] for port in container(project)["ports"]}


def test_catalog_finds_the_workload(project: Path) -> None:
    """The catalog entry's kubernetes-id matches the label on every object, for Backstage's Kubernetes plugin."""
    entity = load(project / "catalog-info.yaml")
    kubernetes_id = entity["metadata"]["annotations"]["backstage.io/kubernetes-id"]
    for name in manifests(project):
        assert manifest(project, name)["metadata"]["labels"]["backstage.io/kubernetes-id"] == kubernetes_id, name


@pytest.mark.parametrize("answer", [False, "no", "False"], ids=["boolean", "portal-no", "portal-False"])
def test_kubernetes_off_leaves_no_manifests(bake: Bake, answer: object) -> None:
    """With kubernetes off there is no deploy folder nor kubernetes-id in the catalog entry."""
    project = bake(kubernetes=answer)
    assert not (project / "deploy").exists()
    assert "backstage.io/kubernetes-id" not in load(project / "catalog-info.yaml")["metadata"]["annotations"]


def test_unreadable_kubernetes_answer_is_refused(pre_gen: ModuleType) -> None:
    """An answer that is no boolean is refused, naming the question, the value and what is allowed."""
    answers = {**pre_gen.ANSWERS, "kubernetes": "maybe"}
    with pytest.raises(pre_gen.InvalidAnswer, match=r'^kubernetes="maybe" is not allowed: true/false'):
        pre_gen.check_answers(answers)


# --- With a database ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def database_project(cookies_session: Any) -> Path:
    """A postgres project with Kubernetes manifests, on a non-default port."""
    return bake_with(cookies_session, {"port": str(PORT), "database": "postgres"})


def test_database_url_comes_from_the_secret(database_project: Path) -> None:
    """The service and its migration read DATABASE_URL from the operator's Secret by secretKeyRef, never a literal."""
    for name, pod in pod_templates(database_project).items():
        (only,) = pod["containers"]
        (entry,) = [item for item in only["env"] if item["name"] == "DATABASE_URL"]
        assert entry == {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": DATABASE_SECRET}}, name


def test_migration_job_runs_the_service_image_once(database_project: Path) -> None:
    """The Job runs the Deployment's image with -migrate, never restarts in place, bounded in retries and time."""
    job = manifest(database_project, "migration-job.yaml")["spec"]
    (migrate,) = job["template"]["spec"]["containers"]
    assert migrate["image"] == container(database_project)["image"]
    assert migrate["args"] == ["-migrate"]
    assert job["template"]["spec"]["restartPolicy"] == "Never"
    assert 0 < job["backoffLimit"] <= 10
    assert job["activeDeadlineSeconds"] > 0


def test_migration_pod_is_not_served(database_project: Path) -> None:
    """The Service and the PodDisruptionBudget do not select the migration's pod, which serves nothing."""
    labels = manifest(database_project, "migration-job.yaml")["spec"]["template"]["metadata"]["labels"]
    for name in ("service.yaml", "pdb.yaml"):
        spec = manifest(database_project, name)["spec"]
        selector = spec["selector"].get("matchLabels", spec["selector"])
        assert not selector.items() <= labels.items(), name


def test_egress_policy_admits_the_database_and_dns(database_project: Path) -> None:
    """The egress policy selects the service's and the migration's pods and admits the database port and DNS."""
    policy = manifest(database_project, "egress-networkpolicy.yaml")["spec"]
    assert policy["policyTypes"] == ["Egress"]
    (expression,) = policy["podSelector"]["matchExpressions"]
    assert (expression["key"], expression["operator"]) == ("app.kubernetes.io/name", "In")
    for name in ("deployment.yaml", "migration-job.yaml"):
        labels = manifest(database_project, name)["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] in expression["values"], name
    admitted = {(port["port"], port["protocol"]) for rule in policy["egress"] for port in rule["ports"]}
    assert {(5432, "TCP"), (53, "UDP"), (53, "TCP")} <= admitted
    assert all("to" not in rule for rule in policy["egress"])  # the database may live anywhere: narrowed by patch


def database_trust_problems(pod: dict[str, Any]) -> list[str]:
    """What keeps a pod from verifying the database server with the operator's CA, ca.crt only; [] when nothing."""
    (only,) = pod["containers"]
    env = {item["name"]: item.get("value") for item in only["env"]}
    volumes = {
        volume["name"]: volume
        for volume in pod.get("volumes", [])
        if volume.get("secret", {}).get("secretName") == DATABASE_CA
    }
    problems = []
    if env.get("PGSSLMODE") != "verify-full":
        problems.append(f"PGSSLMODE is {env.get('PGSSLMODE')!r}")
    if "DATABASE_ALLOW_UNVERIFIED" in env:
        problems.append("DATABASE_ALLOW_UNVERIFIED is set")
    if len(volumes) != 1:
        return [*problems, f"{len(volumes)} volumes of the Secret {DATABASE_CA}"]
    ((name, volume),) = volumes.items()
    if volume["secret"].get("items") != [{"key": "ca.crt", "path": "ca.crt"}]:
        problems.append(f"items {volume['secret'].get('items')!r}, not ca.crt alone")
    if volume["secret"].get("optional"):
        problems.append("the CA Secret is optional")
    if volume["secret"].get("defaultMode", 0o644) & 0o222:
        problems.append(f"defaultMode {volume['secret']['defaultMode']:o} is writable")
    mounts = [mount for mount in only.get("volumeMounts", []) if mount["name"] == name]
    if len(mounts) != 1 or mounts[0].get("readOnly") is not True:
        return [*problems, f"mounts of the CA volume: {mounts!r}, not one read-only"]
    if env.get("PGSSLROOTCERT") != f"{mounts[0]['mountPath']}/ca.crt":
        problems.append(f"PGSSLROOTCERT is {env.get('PGSSLROOTCERT')!r}, not ca.crt in {mounts[0]['mountPath']}")
    return problems


def test_database_server_is_verified_with_the_operators_ca(database_project: Path) -> None:
    """The service and its migration verify the server (verify-full) with ca.crt of <slug>-db-ca, mounted alone."""
    for name, pod in pod_templates(database_project).items():
        assert database_trust_problems(pod) == [], name


def drop_items(pod: dict[str, Any]) -> None:
    del pod["volumes"][0]["secret"]["items"]


def prefer_tls(pod: dict[str, Any]) -> None:
    pod["containers"][0]["env"] = [item for item in pod["containers"][0]["env"] if item["name"] != "PGSSLMODE"]


def move_mount(pod: dict[str, Any]) -> None:
    pod["containers"][0]["volumeMounts"][0]["mountPath"] = "/etc/elsewhere"


def writable_mount(pod: dict[str, Any]) -> None:
    del pod["containers"][0]["volumeMounts"][0]["readOnly"]


def allow_unverified(pod: dict[str, Any]) -> None:
    pod["containers"][0]["env"].append({"name": "DATABASE_ALLOW_UNVERIFIED", "value": "true"})


def optional_ca(pod: dict[str, Any]) -> None:
    pod["volumes"][0]["secret"]["optional"] = True


TRUST_BREAKS = {
    "the whole Secret mounted": (drop_items, "not ca.crt alone"),
    "no PGSSLMODE": (prefer_tls, "PGSSLMODE is None"),
    "PGSSLROOTCERT outside the mount": (move_mount, "PGSSLROOTCERT is"),
    "a writable mount": (writable_mount, "not one read-only"),
    "DATABASE_ALLOW_UNVERIFIED": (allow_unverified, "DATABASE_ALLOW_UNVERIFIED is set"),
    "an optional CA": (optional_ca, "optional"),
}


@pytest.mark.parametrize("change", TRUST_BREAKS)
def test_trust_check_sees_a_broken_pod(database_project: Path, change: str) -> None:
    """The control: each change that would weaken the verification is named by the check above."""
    breaks, message = TRUST_BREAKS[change]
    for name, pod in pod_templates(database_project).items():
        breaks(pod)
        assert any(message in problem for problem in database_trust_problems(pod)), (name, change)


def test_no_database_means_no_ca(project: Path) -> None:
    """Without a database the pods mount nothing and set no PGSSL variable; with one, both pods mount the CA."""
    for name, pod in pod_templates(project).items():
        (only,) = pod["containers"]
        variables = {item["name"] for item in only["env"] if item["name"].startswith("PGSSL")}
        if postgres(project):
            assert variables == {"PGSSLMODE", "PGSSLROOTCERT"}, name
            assert [volume["name"] for volume in pod["volumes"]] == ["database-ca"], name
        else:
            assert variables == set(), name
            assert "volumes" not in pod, name
            assert "volumeMounts" not in only, name
