"""Drive a real Kubernetes cluster: kubectl, images, load from a pod inside the cluster.

The cluster is the one KUBECONFIG names (kind, k3d, a managed cluster, or one started with
`scripts/kube-cluster.sh up`); without KUBECONFIG, scripts/kube-cluster.sh starts one. Images go
to the nodes with the command in KUBE_IMAGE_LOADER (the image is appended: `kind load
docker-image`, `k3d image import`), by default `scripts/kube-cluster.sh load`. Every request is
sent by harness/loadclient running in a pod, to a Service's ClusterIP or a pod IP, so that what
is proven is the cluster's own routing. Every wait and every load is bounded in time.
The tests (tests/test_cluster.py) and the benchmark (bench/kubernetes.py) share these helpers:
a generated project built, loaded and deployed from its kustomize base, and the disruptions
under load (a rolling update, a pod deleted, `kubectl drain`, the same rollout without the drain).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from harness.answers import SLUG
from harness.docker import build_image, remove_images
from harness.tls import CertificateAuthority, Issued
from harness.tools import require_tool, run
from harness.waiting import timed, wait_for

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "kube-cluster.sh"
LOAD_CLIENT = Path(__file__).resolve().parent / "loadclient"  # its Dockerfile and Go source
IMAGE_LOADER = "KUBE_IMAGE_LOADER"  # the environment variable naming the image loader


class KubernetesError(RuntimeError):
    """A cluster command that failed, with its output."""


def script(*args: str, timeout: float = 3600) -> str:
    """Run scripts/kube-cluster.sh; return its standard output, raise with its log on failure."""
    result = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise KubernetesError(f"kube-cluster.sh {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result.stdout


def image_loader() -> tuple[str, ...]:
    """The command that copies a local image to the nodes (the image appended): KUBE_IMAGE_LOADER, else the script's."""
    given = os.environ.get(IMAGE_LOADER, "").strip()
    return tuple(shlex.split(given)) if given else ("bash", str(SCRIPT), "load")


@dataclass(frozen=True)
class Cluster:
    """A running cluster: its kubeconfig, the kubectl that talks to it, and how images reach its nodes."""

    kubeconfig: str
    kubectl_path: str
    loader: tuple[str, ...] = field(default_factory=image_loader)

    @classmethod
    def given(cls) -> Cluster | None:
        """The cluster that KUBECONFIG names, with kubectl from PATH; None without KUBECONFIG."""
        kubeconfig = os.environ.get("KUBECONFIG", "")
        if not kubeconfig:
            return None
        kubectl = shutil.which("kubectl")
        if not kubectl:
            raise KubernetesError("KUBECONFIG is set but kubectl is not on PATH")
        return cls(kubeconfig=kubeconfig, kubectl_path=kubectl)

    @classmethod
    def start(cls) -> Cluster:
        """Start the cluster of scripts/kube-cluster.sh (building or reusing its binaries); read the lines it prints."""
        script("build")
        exports = dict(re.findall(r"^export (\w+)=(\S+)$", script("up"), re.M))
        return cls(kubeconfig=exports["KUBECONFIG"], kubectl_path=exports["PATH"].split(":")[0] + "/kubectl")

    @staticmethod
    def stop() -> None:
        """Stop the cluster of scripts/kube-cluster.sh and undo its host changes."""
        script("down", timeout=300)

    def load(self, image: str) -> None:
        """Copy a local Docker image to the cluster's nodes."""
        result = subprocess.run([*self.loader, image], capture_output=True, text=True, timeout=600, check=False)
        if result.returncode != 0:
            raise KubernetesError(f"{shlex.join([*self.loader, image])} exited {result.returncode}:\n{result.stderr}")

    def kubectl(
        self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against the cluster; raise with its output when check is on and it fails."""
        result = subprocess.run(
            [self.kubectl_path, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=self.env,
        )
        if check and result.returncode != 0:
            raise KubernetesError(
                f"kubectl {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
            )
        return result

    @property
    def env(self) -> dict[str, str]:
        """The environment of a kubectl for this cluster."""
        return {**os.environ, "KUBECONFIG": self.kubeconfig}

    def get(self, *args: str) -> dict[str, Any]:
        """Return `kubectl get ... -o json`."""
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def server_version(self) -> str:
        """The API server's version, such as v1.34.4."""
        return str(json.loads(self.kubectl("version", "-o", "json").stdout)["serverVersion"]["gitVersion"])

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
        """Return the Service's ClusterIP."""
        return str(self.get("service", "-n", namespace, service)["spec"]["clusterIP"])

    def wait_endpoints(self, namespace: str, service: str, pods: set[str], *, timeout: float = 60) -> bool:
        """Wait until the Service's ready endpoints are exactly the named pods."""

        def settled() -> bool:
            slices = self.get("endpointslices", "-n", namespace, "-l", f"kubernetes.io/service-name={service}")
            ready = {
                endpoint.get("targetRef", {}).get("name")
                for item in slices["items"]
                for endpoint in item.get("endpoints") or []
                if endpoint.get("conditions", {}).get("ready")
            }
            return ready == pods

        return wait_until(settled, timeout)


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    """Poll condition until it holds or timeout seconds pass; tell whether it held."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


def pod_ready(pod: Mapping[str, Any]) -> bool:
    """Tell whether the pod's Ready condition is True."""
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


# --- Requests from a pod inside the cluster ---------------------------------------------------

_names = itertools.count(1)


def client_pod(name: str, namespace: str, image: str, args: Sequence[str], restart: str) -> dict[str, Any]:
    """A pod of the load client, admitted under the restricted Pod Security Standard."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/name": "gss-loadclient"}},
        "spec": {
            "restartPolicy": restart,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 30,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "loadclient",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "args": list(args),
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                    "resources": {"requests": {"cpu": "100m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
                }
            ],
        },
    }


def fetch(cluster: Cluster, namespace: str, image: str, url: str) -> tuple[int, str]:
    """GET url from a pod inside the cluster (retried by the client until an answer); return the status and body."""
    name = f"fetch-{next(_names)}-{os.getpid()}"
    manifest = client_pod(name, namespace, image, ["get", url], "Never")
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
    try:
        done = cluster.kubectl(
            "wait",
            "-n",
            namespace,
            f"pod/{name}",
            "--for=jsonpath={.status.phase}=Succeeded",
            "--timeout=90s",
            check=False,
            timeout=100,
        )
        logs = cluster.kubectl("logs", "-n", namespace, name, check=False).stdout
        if done.returncode != 0:
            raise KubernetesError(f"GET {url} from pod {name} did not succeed: {done.stderr}{logs}")
        answer = json.loads(logs.strip().splitlines()[-1])
        return int(answer["status"]), str(answer["body"])
    finally:
        cluster.kubectl("delete", "pod", "-n", namespace, name, "--wait=false", "--ignore-not-found", check=False)


def wall(stamp: str) -> float:
    """Seconds since the epoch of an RFC 3339 time."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Failure:
    """A request that got no good answer: when (seconds since the epoch) and how."""

    at: float
    error: str


@dataclass(frozen=True)
class LoadResult:
    """What a load from inside the cluster got: good answers by version, and every failure."""

    started: float  # seconds since the epoch
    served: int
    failed: list[Failure]
    failed_count: int  # may exceed len(failed): the client prints a bounded number
    versions: dict[str, int]


class PodLoad:
    """GET / back to back from clients in a pod inside the cluster, through a Service, until stopped.

    kube-proxy (or the cluster's Service implementation) balances connections, not requests:
    with keep_alive off every request opens a new connection, routed afresh as pods come and
    go; with it on each client reuses its connection, as proxies and meshes do. Bounded: the
    client stops by itself after max_seconds.
    """

    def __init__(
        self,
        cluster: Cluster,
        namespace: str,
        image: str,
        *,
        url: str,
        name: str,
        clients: int,
        keep_alive: bool = False,
        notes: bool = False,
        max_seconds: int = 240,
    ) -> None:
        """Prepare the pod (notes: each request is POST /notes then GET /notes/{id} instead of GET /)."""
        self.cluster = cluster
        self.namespace = namespace
        self.pod = f"load-{next(_names)}-{os.getpid()}"
        args = ["load", f"-url={url}", f"-name={name}", f"-clients={clients}", f"-max-seconds={max_seconds}"]
        if keep_alive:
            args.append("-keepalive")
        if notes:
            args.append("-notes")
        self.manifest = client_pod(self.pod, namespace, image, args, "Never")
        self.lines: list[str] = []
        self._started = threading.Event()
        self._logs: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def __enter__(self) -> PodLoad:
        """Start the pod and wait until its clients send (after a first good answer)."""
        self.cluster.kubectl("apply", "-f", "-", stdin=json.dumps(self.manifest))
        try:
            self.cluster.kubectl(
                "wait", "-n", self.namespace, f"pod/{self.pod}", "--for=condition=Ready", "--timeout=90s", timeout=100
            )
            self._logs = subprocess.Popen(
                [self.cluster.kubectl_path, "logs", "-f", "-n", self.namespace, self.pod],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=self.cluster.env,
            )
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
            if not self._started.wait(90):
                raise KubernetesError(f"load pod {self.pod} got no good answer in 90s: {self.lines[-5:]}")
        except BaseException:
            self._delete()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop, if not done yet."""
        if self._logs is not None and self._logs.poll() is None:
            self.stop()

    def _read(self) -> None:
        stream = self._logs.stdout if self._logs is not None else None
        for line in stream or ():
            self.lines.append(line)
            if line.startswith('{"started"'):
                self._started.set()

    def _delete(self) -> None:
        self.cluster.kubectl("delete", "pod", "-n", self.namespace, self.pod, "--wait=true", timeout=90, check=False)

    def stop(self) -> LoadResult:
        """Stop the clients (SIGTERM: the pod is deleted), let the requests in flight finish, and read the result."""
        self._delete()
        if self._logs is not None:
            try:
                self._logs.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._logs.kill()
                self._logs.wait(timeout=10)
        if self._reader is not None:
            self._reader.join(10)
        return self.result()

    def result(self) -> LoadResult:
        """Parse the client's lines."""
        records = []
        for line in self.lines:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        summary = next((r for r in reversed(records) if "served" in r), None)
        started = next((r["started"] for r in records if "started" in r), None)
        if summary is None or started is None:
            raise KubernetesError(f"load pod {self.pod} ended without its summary: {''.join(self.lines[-10:])}")
        failed = [Failure(wall(r["failed"]), r["error"]) for r in records if "failed" in r and "served" not in r]
        return LoadResult(wall(started), summary["served"], failed, summary["failed"], summary["versions"])


def loss_timeline(cluster: Cluster, namespace: str, failed: Sequence[Failure], start: float) -> str:
    """The failed requests and the namespace's events, in seconds from start (epoch seconds): where each loss falls."""
    lines = []
    buckets: dict[tuple[float, str], int] = {}
    for failure in failed:
        how = re.sub(r"\d+\.\d+\.\d+\.\d+:\d+", "ADDR", failure.error)[:90]
        key = (round(failure.at - start, 1), how)
        buckets[key] = buckets.get(key, 0) + 1
    lines += [f"{at:+7.1f}s request x{count} {how}" for (at, how), count in sorted(buckets.items())]
    for event in cluster.get("events", "-n", namespace)["items"]:
        stamp = event.get("eventTime") or event.get("lastTimestamp") or event.get("firstTimestamp")
        if not stamp:
            continue
        at = wall(stamp) - start
        if at > -30:
            name = event["involvedObject"].get("name", "")
            lines.append(f"{at:+7.1f}s event {event['reason']} {name}: {event.get('message', '')[:100]}")
    return "\n".join(sorted(lines, key=lambda line: float(line.split("s ", 1)[0])))


# --- A generated project, built, loaded and deployed from its kustomize base ------------------

CLIENTS = 16  # concurrent clients of the load through the Service
NOTES_CLIENTS = 8  # of a notes load: each request is two, and a write to the database
FIRST, SECOND = "1.0.0", "1.1.0"  # the image versions of the rolling updates
SERVICE_PORT = 80
IMAGE_PREFIX = "gss-kube-test-"
LOAD_CLIENT_IMAGE = f"{IMAGE_PREFIX}loadclient:1"


@dataclass(frozen=True)
class Project:
    """A generated project to deploy: its answers and the versions of its image."""

    id: str
    answers: dict[str, Any]
    slug: str
    versions: tuple[str, ...]
    metrics: bool
    database: bool = False  # postgres: a migration Job, DATABASE_URL from a Secret, the load round-trips notes


DEFAULT = Project("default", {}, SLUG, (FIRST, SECOND), metrics=False)


def image(project: Project, version: str) -> str:
    """The local image name of a project's version."""
    return f"{IMAGE_PREFIX}{project.slug}:{version}"


def build_load_client(cluster: Cluster, golang_image: str) -> str:
    """Build the image of harness/loadclient, copy it to the nodes, and return its tag."""
    build_image(LOAD_CLIENT, LOAD_CLIENT_IMAGE, build_args={"GOLANG_IMAGE": golang_image}, network="none")
    cluster.load(LOAD_CLIENT_IMAGE)
    return LOAD_CLIENT_IMAGE


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

    @property
    def base(self) -> Path:
        """The generated kustomize base."""
        return self.directory / "deploy" / "kubernetes"

    def kustomize_set_image(self, version: str) -> None:
        """Point the base at one version of the image, as the README tells users."""
        name = self.project.slug
        run([require_tool("kustomize"), "edit", "set", "image", f"{name}={self.images[version]}"], cwd=self.base)

    @property
    def migration_job(self) -> str:
        """The name of the base's migration Job (database projects)."""
        return f"{self.project.slug}-migrate"

    def apply(self, cluster: Cluster, version: str) -> None:
        """Apply the base with the image of version, and wait until the rollout is complete.

        A database project is released as its migration-job.yaml says: the finished Job of the last
        release deleted (its pod template cannot change), the base applied, the new Job complete.
        """
        self.kustomize_set_image(version)
        if self.project.database:
            cluster.kubectl("delete", "job", "-n", self.namespace, self.migration_job, "--ignore-not-found", timeout=90)
        cluster.apply_kustomization(self.base)
        if self.project.database:
            wait_job_complete(cluster, self.namespace, self.migration_job)
        cluster.wait_rollout(self.namespace, self.project.slug)

    def deploy(self, cluster: Cluster) -> None:
        """Apply the base with the first version, timed; find the Service's address; wait until it routes."""
        _, self.apply_to_ready = timed(lambda: self.apply(cluster, FIRST))
        self.address = cluster.cluster_ip(self.project.slug, self.project.slug)
        self.wait_settled(cluster)  # on a cluster used before, the pods of an earlier run are gone

    def running_version(self, cluster: Cluster) -> str:
        """The version that every Ready pod runs (fails if they differ)."""
        versions = {tag: version for version, tag in self.images.items()}
        running = {versions.get(pod["spec"]["containers"][0]["image"], "?") for pod in self.ready_pods(cluster)}
        (version,) = running
        return version

    def other_version(self, cluster: Cluster) -> tuple[str, str]:
        """The version running now and the one to roll to."""
        old = self.running_version(cluster)
        (new,) = [version for version in self.project.versions if version != old]
        return old, new

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
            clients=NOTES_CLIENTS if self.project.database else CLIENTS,
            keep_alive=keep_alive,
            notes=self.project.database,
        )

    def wait_settled(self, cluster: Cluster) -> None:
        """Wait until stopping pods are gone and the Service's endpoints are the Ready pods; let proxies follow."""

        def only_ready() -> bool:
            pods = cluster.get("pods", "-n", self.namespace, "-l", self.selector)["items"]
            return len(pods) == len(self.ready_pods(cluster))

        if not wait_for(only_ready, timeout=90, interval=0.5):
            raise KubernetesError("pods still stopping after 90 s")
        pods = {pod["metadata"]["name"] for pod in self.ready_pods(cluster)}
        if not cluster.wait_endpoints(self.namespace, self.project.slug, pods):
            raise KubernetesError(f"the Service's endpoints are not the Ready pods {sorted(pods)} after 60 s")
        time.sleep(2)  # Service proxies program an endpoint change within about a second


def build_project(cluster: Cluster, project: Project, directory: Path, golang_image: str, client: str) -> Deployed:
    """Build each version of a baked project into an image and copy it to the nodes; not applied yet.

    On failure the images built so far are removed; after success, removing them is the caller's.
    """
    images: dict[str, str] = {}
    try:
        for version in project.versions:
            tag = image(project, version)
            images[version] = tag
            build_args = {"GOLANG_IMAGE": golang_image, "VERSION": version}
            build_image(directory, tag, build_args=build_args, network="none")
            cluster.load(tag)
    except BaseException:
        remove_images(*images.values())
        raise
    return Deployed(project, directory, "", 0.0, client, images)


def wait_job_complete(cluster: Cluster, namespace: str, job: str, *, timeout: float = 180) -> None:
    """Wait until the Job is complete; raise with its pods' logs when it fails or runs out of time."""
    done = cluster.kubectl(
        "wait",
        "-n",
        namespace,
        f"job/{job}",
        "--for=condition=complete",
        f"--timeout={int(timeout)}s",
        check=False,
        timeout=timeout + 10,
    )
    if done.returncode != 0:
        logs = cluster.kubectl("logs", "-n", namespace, f"job/{job}", "--all-containers", check=False)
        raise KubernetesError(
            f"job {job} did not complete in {timeout:.0f}s: {done.stderr}\n{logs.stdout}{logs.stderr}"
        )


# --- PostgreSQL where the pods reach it ------------------------------------------------------------

POSTGRES_NAMESPACE = "gss-kube-test-postgres"
POSTGRES_NAME = "postgres"
POSTGRES_USER = POSTGRES_DB = "app"
POSTGRES_PASSWORD = "cluster-test-only"  # a throwaway server that lives as long as the test module


POSTGRES_TLS = "/etc/postgresql-tls"  # the server's certificate and key, from a Secret
RESTRICTED = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
POSTGRES_LABELS = {"app.kubernetes.io/name": POSTGRES_NAME}


def restricted_namespace(name: str) -> dict[str, Any]:
    """A namespace that enforces the restricted Pod Security Standard."""
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": RESTRICTED}}


def postgres_service() -> dict[str, Any]:
    """The Service of the PostgreSQL pod: made first, so that its ClusterIP can be in the server certificate."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": POSTGRES_NAME, "namespace": POSTGRES_NAMESPACE},
        "spec": {"selector": POSTGRES_LABELS, "ports": [{"name": "postgres", "port": 5432, "targetPort": "postgres"}]},
    }


def postgres_tls_secret(server: Issued) -> dict[str, Any]:
    """The server's certificate and key, as the Secret the pod mounts."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"{POSTGRES_NAME}-tls", "namespace": POSTGRES_NAMESPACE},
        "type": "kubernetes.io/tls",
        "stringData": {"tls.crt": server.certificate.decode(), "tls.key": server.key.decode()},
    }


def postgres_pod(image: str) -> dict[str, Any]:
    """One PostgreSQL pod from the assembled image on an emptyDir, TLS on with the certificate of postgres-tls.

    PostgreSQL reads a key owned by root only when its group may at most read it: the Secret's files
    are root's, 0640, with the group of fsGroup (the server's).
    """
    env = {
        "POSTGRES_USER": POSTGRES_USER,
        "POSTGRES_PASSWORD": POSTGRES_PASSWORD,
        "POSTGRES_DB": POSTGRES_DB,
        "PGDATA": "/var/lib/postgresql/data/pgdata",  # below the emptyDir, which the server's user cannot chmod
    }
    tls = ["-c", "ssl=on", "-c", f"ssl_cert_file={POSTGRES_TLS}/tls.crt", "-c", f"ssl_key_file={POSTGRES_TLS}/tls.key"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": POSTGRES_NAME, "namespace": POSTGRES_NAMESPACE, "labels": POSTGRES_LABELS},
        "spec": {
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 999,
                "runAsGroup": 999,
                "fsGroup": 999,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": POSTGRES_NAME,
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "args": tls,  # after the entrypoint's own: postgres -D $PGDATA -c listen_addresses='*'
                    "env": [{"name": name, "value": value} for name, value in env.items()],
                    "ports": [{"name": "postgres", "containerPort": 5432, "protocol": "TCP"}],
                    "readinessProbe": {
                        "exec": {"command": ["pg_isready", "--host=127.0.0.1", f"--username={POSTGRES_USER}"]},
                        "periodSeconds": 2,
                    },
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "512Mi"}},
                    "volumeMounts": [
                        {"name": "data", "mountPath": "/var/lib/postgresql/data"},
                        {"name": "tls", "mountPath": POSTGRES_TLS, "readOnly": True},
                    ],
                }
            ],
            "volumes": [
                {"name": "data", "emptyDir": {}},
                {"name": "tls", "secret": {"secretName": f"{POSTGRES_NAME}-tls", "defaultMode": 0o640}},
            ],
        },
    }


def deploy_postgres(cluster: Cluster, image: str, ca: CertificateAuthority) -> str:
    """Run PostgreSQL with TLS on, its certificate issued by ca for its ClusterIP; return the URL CloudNativePG would.

    The cluster has no DNS: the URL names the Service's ClusterIP (the operator's Secret names the
    Service, <cluster>-rw.<namespace>, which its server certificate names too), so the Service is
    made first and the certificate issued for its address. Like the operator's `uri`, the URL has
    no sslmode: how the client verifies the server is the pods' own settings.
    """
    cluster.load(image)
    for manifest in (restricted_namespace(POSTGRES_NAMESPACE), postgres_service()):
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
    address = cluster.cluster_ip(POSTGRES_NAMESPACE, POSTGRES_NAME)
    server = ca.issue(address, f"{POSTGRES_NAME}.{POSTGRES_NAMESPACE}.svc")
    for manifest in (postgres_tls_secret(server), postgres_pod(image)):
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
    cluster.kubectl(
        "wait",
        "-n",
        POSTGRES_NAMESPACE,
        f"pod/{POSTGRES_NAME}",
        "--for=condition=Ready",
        "--timeout=120s",
        timeout=130,
    )
    return f"postgresql://{POSTGRES_USER}:{POSTGRES_PASSWORD}@{address}:5432/{POSTGRES_DB}"


def remove_postgres(cluster: Cluster) -> None:
    """Delete the PostgreSQL namespace and everything in it."""
    cluster.kubectl("delete", "namespace", POSTGRES_NAMESPACE, "--ignore-not-found", "--wait=true", timeout=180)


def postgres_sql(cluster: Cluster, query: str, *, tcp_sslmode: str | None = None) -> list[str]:
    """Run a query with psql in the PostgreSQL pod; return its rows (fields joined by |).

    By the local socket, as the user the pods use; with tcp_sslmode, through TCP to 127.0.0.1 with
    that sslmode instead (so that a query can see its own connection's TLS).
    """
    psql = ["psql", f"--username={POSTGRES_USER}", f"--dbname={POSTGRES_DB}", "--no-align", "--tuples-only"]
    if tcp_sslmode is not None:
        psql = ["env", f"PGPASSWORD={POSTGRES_PASSWORD}", f"PGSSLMODE={tcp_sslmode}", *psql, "--host=127.0.0.1"]
    result = cluster.kubectl("exec", "-n", POSTGRES_NAMESPACE, POSTGRES_NAME, "--", *psql, f"--command={query}")
    return result.stdout.splitlines()


def database_secret(target: Deployed, uri: str, namespace: str | None = None) -> dict[str, Any]:
    """The Secret the base reads DATABASE_URL from, as CloudNativePG makes it for a Cluster named <slug>-db."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"{target.project.slug}-db-app", "namespace": namespace or target.namespace},
        "type": "kubernetes.io/basic-auth",
        "stringData": {"username": POSTGRES_USER, "password": POSTGRES_PASSWORD, "uri": uri},
    }


def database_ca_secret(target: Deployed, ca: CertificateAuthority, namespace: str | None = None) -> dict[str, Any]:
    """The Secret of the CA of the server certificate, as CloudNativePG makes it: <cluster>-ca, ca.crt and ca.key.

    The key is there as it is in the operator's Secret, so that a test can see that it is not mounted.
    """
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"{target.project.slug}-db-ca", "namespace": namespace or target.namespace},
        "type": "Opaque",
        "stringData": {"ca.crt": ca.certificate.decode(), "ca.key": ca.key.decode()},
    }


def deploy_with_database(cluster: Cluster, target: Deployed, uri: str, ca: CertificateAuthority) -> None:
    """The base's namespace first (as the base defines it), the operator's Secrets in it, then the base itself."""
    cluster.kubectl("apply", "-f", str(target.base / "namespace.yaml"))
    for secret in (database_secret(target, uri), database_ca_secret(target, ca)):
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(secret))
    target.deploy(cluster)


def mounted_files(cluster: Cluster, target: Deployed, image: str, volumes: list[dict[str, Any]]) -> set[str]:
    """The names of the files that the kubelet puts in the Deployment's mounts, given these volumes.

    A pod of its own in the project's namespace, with the Deployment's pod template (security
    context, mounts) and the volumes given, runs `find` in each mount with an image that has one
    (the service's has no shell); the names found, every directory level of a Secret volume included.
    """
    template = cluster.get("deployment", "-n", target.namespace, target.project.slug)["spec"]["template"]["spec"]
    (container,) = template["containers"]
    mounts = [mount["mountPath"] for mount in container.get("volumeMounts", [])]
    name = f"mounts-{next(_names)}-{os.getpid()}"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": target.namespace, "labels": {"test": "mounts"}},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": template["securityContext"],
            "containers": [
                {
                    "name": "find",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["find", *(f"{mount}/" for mount in mounts), "-type", "f"],
                    "securityContext": container["securityContext"],
                    "volumeMounts": container.get("volumeMounts", []),
                }
            ],
            "volumes": volumes,
        },
    }
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(pod))
    try:
        done = cluster.kubectl(
            "wait",
            "-n",
            target.namespace,
            f"pod/{name}",
            "--for=jsonpath={.status.phase}=Succeeded",
            "--timeout=90s",
            check=False,
            timeout=100,
        )
        logs = cluster.kubectl("logs", "-n", target.namespace, name, check=False).stdout
        if done.returncode != 0:
            raise KubernetesError(f"pod {name} did not list its mounts: {done.stderr}{logs}")
        return {Path(line).name for line in logs.split()}
    finally:
        cluster.kubectl(
            "delete", "pod", "-n", target.namespace, name, "--wait=false", "--ignore-not-found", check=False
        )


UNTRUSTED_NAMESPACE = "gss-kube-test-untrusted"


def migrate_with_ca(cluster: Cluster, target: Deployed, uri: str, ca: CertificateAuthority) -> tuple[bool, str]:
    """Run the base's migration Job once in a namespace of its own whose <slug>-db-ca holds ca; return (failed, log).

    The Job is the base's (kustomize build), as released, with the same Secret names and one try
    (backoffLimit 0); the namespace is removed afterwards. Bounded: 180 s for the Job to end.
    """
    built = cluster.kubectl("kustomize", str(target.base)).stdout
    (job,) = [document for document in yaml.safe_load_all(built) if document and document["kind"] == "Job"]
    job["metadata"]["namespace"] = UNTRUSTED_NAMESPACE
    job["spec"]["backoffLimit"] = 0
    name = job["metadata"]["name"]
    try:
        for manifest in (
            restricted_namespace(UNTRUSTED_NAMESPACE),
            database_secret(target, uri, UNTRUSTED_NAMESPACE),
            database_ca_secret(target, ca, UNTRUSTED_NAMESPACE),
            job,
        ):
            cluster.kubectl("apply", "-f", "-", stdin=json.dumps(manifest))

        def ended() -> bool:
            status = cluster.get("job", "-n", UNTRUSTED_NAMESPACE, name)["status"]
            return bool(status.get("failed") or status.get("succeeded"))

        if not wait_for(ended, timeout=180, interval=1):
            raise KubernetesError(f"job {name} in {UNTRUSTED_NAMESPACE} neither failed nor succeeded in 180 s")
        failed = bool(cluster.get("job", "-n", UNTRUSTED_NAMESPACE, name)["status"].get("failed"))
        log = cluster.kubectl("logs", "-n", UNTRUSTED_NAMESPACE, f"job/{name}", check=False)
        return failed, log.stdout + log.stderr
    finally:
        cluster.kubectl("delete", "namespace", UNTRUSTED_NAMESPACE, "--ignore-not-found", "--wait=true", timeout=180)


# --- Disruptions under load -------------------------------------------------------------------


@dataclass(frozen=True)
class Rollout:
    """One rolling update under load: how long it took and what the load got."""

    seconds: float
    load: LoadResult
    start: float  # seconds since the epoch the change was applied


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


def roll_to_other_version(cluster: Cluster, target: Deployed, *, keep_alive: bool = False) -> Rollout:
    """Roll the deployment to its other version with kustomize, under load."""
    _, new = target.other_version(cluster)
    return rollout_under_load(cluster, target, lambda: target.apply(cluster, new), keep_alive=keep_alive)


@dataclass(frozen=True)
class Deletion:
    """One pod deleted under load: what the load got, the pod's log and its container's exit codes as watched."""

    load: LoadResult
    start: float  # seconds since the epoch the pod was deleted
    log: str
    exit_codes: str


def delete_pod_under_load(cluster: Cluster, target: Deployed, *, keep_alive: bool = False) -> Deletion:
    """Delete one Ready pod under load, following its log and exit code; wait until a new one serves alone."""
    pod = target.ready_pods(cluster)[0]["metadata"]["name"]
    base = [cluster.kubectl_path, "-n", target.namespace]
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
        with target.load(cluster, keep_alive=keep_alive) as load:
            start = time.time()
            cluster.kubectl("delete", "pod", "-n", target.namespace, pod, "--wait=true", timeout=90)
            cluster.wait_rollout(target.namespace, target.project.slug)
            target.wait_settled(cluster)
            result = load.stop()
        log_text, _ = logs.communicate(timeout=30)
    finally:
        exit_codes.terminate()
        watched, _ = exit_codes.communicate(timeout=10)
        if logs.poll() is None:
            logs.kill()
            logs.wait(timeout=10)
    return Deletion(result, start, log_text.decode("utf-8", errors="replace"), watched)


@dataclass(frozen=True)
class Drain:
    """One `kubectl drain` under load, and the state it left before the node was uncordoned."""

    command: subprocess.CompletedProcess[str]
    load: LoadResult
    start: float  # seconds since the epoch the drain began
    before: set[str]  # the Ready pods before
    remaining: set[str]  # the Ready pods when the drain gave up
    disruptions_allowed: int  # the PodDisruptionBudget's, then

    @property
    def output(self) -> str:
        """What kubectl drain printed."""
        return self.command.stdout + self.command.stderr


def drain_under_load(cluster: Cluster, target: Deployed, *, keep_alive: bool = False) -> Drain:
    """Drain the node of a pod (30 s at most) under load; read the pods and budget; uncordon; wait until settled."""
    (pod, *_) = target.ready_pods(cluster)
    node = pod["spec"]["nodeName"]
    before = {pod["metadata"]["name"] for pod in target.ready_pods(cluster)}
    try:
        with target.load(cluster, keep_alive=keep_alive) as load:
            start = time.time()
            drain = cluster.kubectl(
                "drain", node, f"--pod-selector={target.selector}", "--timeout=30s", check=False, timeout=60
            )
            result = load.stop()
        remaining = {pod["metadata"]["name"] for pod in target.ready_pods(cluster)}
        budget = cluster.get("pdb", "-n", target.namespace, target.project.slug)["status"]
    finally:
        cluster.kubectl("uncordon", node)
    cluster.wait_rollout(target.namespace, target.project.slug)
    target.wait_settled(cluster)
    return Drain(drain, result, start, before, remaining, int(budget["disruptionsAllowed"]))


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


def rollout_without_drain(cluster: Cluster, target: Deployed, workdir: Path) -> Rollout:
    """The control: the same rollout under the same load, with no preStop sleep and SHUTDOWN_DELAY=0.

    The overlay in workdir first removes the drain from the running pods (without load), then rolls
    to the other version under load; the base (preStop sleep and SHUTDOWN_DELAY) is applied again after.
    """
    deployment = cluster.get("deployment", "-n", target.namespace, target.project.slug)
    names = [item["name"] for item in deployment["spec"]["template"]["spec"]["containers"][0]["env"]]

    def overlay(version: str) -> Path:
        name, _, tag = target.images[version].partition(":")
        text = WITHOUT_DRAIN.format(
            base=os.path.relpath(target.base, workdir),
            delay_index=names.index("SHUTDOWN_DELAY"),
            image=name,
            new_tag=tag,
        )
        (workdir / "kustomization.yaml").write_text(text, encoding="utf-8")
        return workdir

    old, new = target.other_version(cluster)
    try:
        cluster.apply_kustomization(overlay(old))
        cluster.wait_rollout(target.namespace, target.project.slug)
        target.wait_settled(cluster)
        return rollout_under_load(cluster, target, lambda: cluster.apply_kustomization(overlay(new)))
    finally:
        target.apply(cluster, new)
        target.wait_settled(cluster)


def lost(cluster: Cluster, target: Deployed, result: LoadResult, start: float) -> str:
    """The message of a load that lost requests: how many, and when against the events."""
    timeline = loss_timeline(cluster, target.namespace, result.failed, start)
    return f"{result.failed_count} of {result.served + result.failed_count} lost:\n{timeline}"


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


DOCKER_BRIDGE = re.compile(r"^(?:docker\d+|br-[0-9a-f]{12})$")
# A firewall rule of Docker's: it names one of Docker's bridges, or an address of its default pools
# (172.17.0.0/16 to 172.31.0.0/16, 192.168.0.0/16), which the cluster's 10.213-10.215 never use.
DOCKER_RULE = re.compile(r"\b(?:docker\d+|br-[0-9a-f]{12})\b|\b(?:172\.(?:1[6-9]|2\d|3[01])|192\.168)\.\d+\.\d+")


def docker_links() -> set[str]:
    """Names of Docker's bridges and of the links enslaved to them: other work's networks come and go there."""
    names = set()
    for line in command_output("ip", "-o", "link", "show").splitlines():
        fields = line.split()
        name = fields[1].rstrip(":").split("@")[0]
        master = fields[fields.index("master") + 1] if "master" in fields else ""
        if DOCKER_BRIDGE.match(name) or DOCKER_BRIDGE.match(master):
            names.add(name)
    return names


def host_snapshot() -> dict[str, frozenset[str]]:
    """What the cluster may change on the host: firewall, links, network namespaces, mounts, cgroups, directories.

    Docker's own networks and containers (other work on this machine, e.g. a Compose project) are
    left out: their bridges, veth links, firewall rules and mounts come and go on their own, and so
    do packet counters.
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
        "nft ruleset": frozenset(
            line
            for line in COUNTERS.sub("counter", command_output("nft", "list", "ruleset")).splitlines()
            if not DOCKER_RULE.search(line)
        ),
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
