#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this machine, for the tests and for people.
#
#   bash scripts/kube-cluster.sh build         build (or reuse) the pinned binaries
#   bash scripts/kube-cluster.sh up            start the cluster; prints the shell lines to use it
#   bash scripts/kube-cluster.sh load IMAGE    copy a local Docker image into the node's image store
#   bash scripts/kube-cluster.sh down          stop every process by PID and undo every host change
#
# Parts: etcd and the Kubernetes components (apiserver, controller-manager, scheduler, kubelet,
# kube-proxy, kubectl) built from the Go module proxy and cached by version; containerd, runc,
# iptables and the CNI plugins from Debian. Needs root.
#
# Everything stays on this machine: the control plane listens on loopback and on an empty bridge
# (gss-kube0, 10.215.0.1/32) that `up` creates; pods sit on a bridge (gss-cni0, 10.213.0.0/24) that
# the CNI plugin creates; Services get ClusterIPs from 10.214.0.0/24. A containerd of its own (own
# root, state and socket) leaves Docker's alone. `down` stops what `up` started by PID and undoes
# every host change it recorded: firewall rules and tables, links, network namespaces, mounts,
# cgroups, sysctls and directories.
set -euo pipefail

# Pins from versions.json: Kubernetes 1.34, the newest line whose kubelet still runs on cgroup v1
# without extra flags, and it has the preStop sleep action the generated Deployment uses; the etcd
# release that Kubernetes 1.34 is tested with.
pin() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["version"])' "$(dirname "$0")/../versions.json" "$1"; }
KUBE_VERSION="$(pin kubernetes)"
ETCD_VERSION="$(pin etcd)"
readonly KUBE_VERSION ETCD_VERSION
readonly KUBE_COMMANDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

cache_root="${KUBE_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/go-scratch-service}"
readonly KUBE_BIN="$cache_root/kubernetes-$KUBE_VERSION"
readonly ETCD_BIN="$cache_root/etcd-$ETCD_VERSION"

# Cluster state: certificates, configuration, logs, PIDs, etcd data, containerd and kubelet roots.
readonly STATE="${KUBE_CLUSTER_DIR:-/var/lib/gss-kube}"
readonly NODE=gss-kube
readonly NODE_LINK=gss-kube0
readonly NODE_IP=10.215.0.1
readonly BRIDGE=gss-cni0
readonly CNI_NETWORK=gss-kube
readonly POD_CIDR=10.213.0.0/16
readonly POD_SUBNET=10.213.0.0/24
readonly SERVICE_CIDR=10.214.0.0/24
readonly KUBERNETES_SERVICE_IP=10.214.0.1
readonly APISERVER_PORT=6443
readonly ETCD_CLIENT=127.0.0.1:23790
readonly ETCD_PEER=127.0.0.1:23800
readonly PAUSE_IMAGE=docker.io/library/gss-kube-pause:1.0
readonly SOCKET="$STATE/containerd/containerd.sock"
readonly KUBECONFIG_FILE="$STATE/admin.kubeconfig"
readonly FIREWALL_COMMENT=gss-kube
# Start order; `down` stops them in reverse.
readonly DAEMONS=(containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
# Sysctls that the kubelet or kube-proxy may set: recorded by `up`, restored by `down`.
readonly SYSCTLS=(
  kernel.panic kernel.panic_on_oops vm.overcommit_memory vm.panic_on_oom
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.conf.all.route_localnet
  net.ipv4.ip_forward net.netfilter.nf_conntrack_max
)
# Directories the kubelet and CNI create wherever their roots are: removed by `down` unless they were there.
readonly HOST_DIRS=(/var/lib/kubelet /var/log/pods /var/log/containers /var/lib/cni /run/netns /run/containerd)

log() { printf 'kube-cluster: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# build

# build_kubernetes compiles the components through a throwaway module: k8s.io/kubernetes replaces
# its staging modules with local paths, which a dependent ignores, so each is pinned here instead.
build_kubernetes() {
  local missing=0 cmd
  for cmd in "${KUBE_COMMANDS[@]}"; do [[ -x "$KUBE_BIN/$cmd" ]] || missing=1; done
  if ((missing == 0)); then log "kubernetes $KUBE_VERSION reused from $KUBE_BIN"; return; fi
  command -v go >/dev/null || die "the go command is not on PATH"
  log "building kubernetes $KUBE_VERSION into $KUBE_BIN (first time: ~750 CPU-seconds)"
  local work staging_version="v0${KUBE_VERSION#v1}" packages=("${KUBE_COMMANDS[@]/#/k8s.io/kubernetes/cmd/}")
  work="$(mktemp -d)"
  {
    printf 'module kubebuild\n\ngo 1.24.0\n\n'
    curl -fsS "$(go env GOPROXY | cut -d, -f1)/k8s.io/kubernetes/@v/$KUBE_VERSION.mod" |
      awk -v v="$staging_version" '$2 == "=>" && $3 ~ /^\.\/staging\// { print "replace " $1 " => " $1 " " v }'
  } >"$work/go.mod"
  (
    cd "$work"
    go get "${packages[@]/%/@$KUBE_VERSION}"
    mkdir -p "$KUBE_BIN.partial"
    CGO_ENABLED=0 go build -trimpath -o "$KUBE_BIN.partial/" \
      -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION" \
      "${packages[@]}"
  )
  rm -rf "$work" "$KUBE_BIN"
  mv "$KUBE_BIN.partial" "$KUBE_BIN"
}

# build_etcd compiles etcd the same way: its server module replaces its siblings with local paths.
build_etcd() {
  if [[ -x "$ETCD_BIN/etcd" ]]; then log "etcd $ETCD_VERSION reused from $ETCD_BIN"; return; fi
  command -v go >/dev/null || die "the go command is not on PATH"
  log "building etcd $ETCD_VERSION into $ETCD_BIN"
  local work
  work="$(mktemp -d)"
  printf 'module etcdbuild\n\ngo 1.24\n' >"$work/go.mod"
  (
    cd "$work"
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    mkdir -p "$ETCD_BIN.partial"
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$ETCD_BIN.partial/etcd" go.etcd.io/etcd/server/v3
  )
  rm -rf "$work" "$ETCD_BIN"
  mv "$ETCD_BIN.partial" "$ETCD_BIN"
}

# cmd_build builds etcd beside the Kubernetes components: the machine's cores are shared better.
# A lock makes a second caller wait for the first build and then reuse it.
cmd_build() {
  mkdir -p "$cache_root"
  exec 9>"$cache_root/build.lock"
  flock 9
  build_etcd &
  local etcd=$!
  build_kubernetes
  wait "$etcd" || die "the etcd build failed"
  exec 9>&- # the daemons started next must not hold the lock
}

# ---------------------------------------------------------------------------------------------
# up

require_host() {
  [[ "$(id -u)" == 0 ]] || die "needs root (it runs containerd, the kubelet and changes the firewall)"
  local tool package
  for tool in containerd:containerd ctr:containerd runc:runc iptables:iptables ip6tables:iptables \
    nft:nftables ip:iproute2 openssl:openssl curl:curl docker:docker.io; do
    package="${tool#*:}"
    command -v "${tool%%:*}" >/dev/null || die "${tool%%:*} is missing: apt-get install $package"
  done
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] ||
    die "the CNI plugins are missing from /usr/lib/cni: apt-get install containernetworking-plugins"
}

kubectl() { "$KUBE_BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

# wait_until SECONDS WHAT COMMAND... retries COMMAND every half second, at most SECONDS.
wait_until() {
  local seconds="$1" what="$2" deadline
  shift 2
  deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what not within ${seconds}s (logs: $STATE/logs)"
    sleep 0.5
  done
}

# record_host notes what `down` must restore: sysctls, nft tables and chains, which directories existed.
record_host() {
  local name dir
  mkdir -p "$STATE/host"
  for name in "${SYSCTLS[@]}"; do
    [[ -e "/proc/sys/${name//.//}" ]] && printf '%s=%s\n' "$name" "$(sysctl -n "$name")"
  done >"$STATE/host/sysctls"
  nft list tables >"$STATE/host/nft-tables"
  nft_chains >"$STATE/host/nft-chains"
  for dir in "${HOST_DIRS[@]}"; do [[ -e "$dir" ]] && echo "$dir"; done >"$STATE/host/dirs"
  ls /run/netns 2>/dev/null >"$STATE/host/netns" || true
}

make_certificates() {
  local pki="$STATE/pki"
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=gss-kube-ca" \
      -keyout ca.key -out ca.crt 2>/dev/null
    sign() { # sign NAME SUBJECT [SUBJECT_ALT_NAMES]
      openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
      printf 'extendedKeyUsage=serverAuth,clientAuth\n%s\n' "${3:+subjectAltName=$3}" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
        -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    }
    sign apiserver "/CN=kube-apiserver" \
      "IP:$NODE_IP,IP:127.0.0.1,IP:$KUBERNETES_SERVICE_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:localhost"
    # One identity for the components and the person: a single-node test cluster.
    sign admin "/O=system:masters/CN=kubernetes-admin"
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
  cat >"$KUBECONFIG_FILE" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: $NODE
    cluster: {server: "https://$NODE_IP:$APISERVER_PORT", certificate-authority: "$pki/ca.crt"}
users:
  - name: admin
    user: {client-certificate: "$pki/admin.crt", client-key: "$pki/admin.key"}
contexts:
  - name: $NODE
    context: {cluster: $NODE, user: admin}
current-context: $NODE
KUBECONFIG
}

write_configs() {
  mkdir -p "$STATE/cni" "$STATE/config"
  cat >"$STATE/config/containerd.toml" <<TOML
version = 2
root = "$STATE/containerd/root"
state = "$STATE/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]
[grpc]
  address = "$SOCKET"
[ttrpc]
  address = "$STATE/containerd/containerd-ttrpc.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # This VM withholds CAP_SYS_RESOURCE: without it every sandbox fails to start.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$STATE/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni"
TOML
  cat >"$STATE/cni/10-$CNI_NETWORK.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "$CNI_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni-ipam",
        "ranges": [[{"subnet": "$POD_SUBNET"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
JSON
  cat >"$STATE/config/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: "$STATE/pki/ca.crt"}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
containerRuntimeEndpoint: "unix://$SOCKET"
failSwapOn: false
resolvConf: /etc/resolv.conf
# Images are imported, never pulled: the kubelet must never collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%}
containerLogMaxSize: 100Mi
YAML
  cat >"$STATE/config/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$KUBECONFIG_FILE"}
hostnameOverride: $NODE
mode: iptables
clusterCIDR: $POD_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$NODE_IP/32"]
iptables: {localhostNodePorts: false}
# 0: leave the host's conntrack limits and timeouts as they are.
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
}

# start NAME COMMAND... runs a daemon in its own session, logging to a file, and records its PID.
# The daemon keeps none of the caller's descriptors above stderr (a held lock, a pipe).
start() {
  local name="$1"
  shift
  mkdir -p "$STATE/logs" "$STATE/pids"
  (close_inherited_descriptors && exec setsid "$@" </dev/null >>"$STATE/logs/$name.log" 2>&1) &
  echo $! >"$STATE/pids/$name"
}

close_inherited_descriptors() {
  local fd
  for fd in /proc/"$BASHPID"/fd/*; do
    fd="${fd##*/}"
    if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

running() { [[ -f "$STATE/pids/$1" ]] && kill -0 "$(cat "$STATE/pids/$1")" 2>/dev/null; }

# import_archive FILE imports a `docker save` archive into the node's image store.
import_archive() {
  [[ -S "$SOCKET" ]] || die "containerd is not running: run 'kube-cluster.sh up' first"
  ctr --address "$SOCKET" -n k8s.io images import "$1" >/dev/null
}

# make_pause_image builds the sandbox image: a static program that waits for SIGTERM.
make_pause_image() {
  local work
  work="$(mktemp -d)"
  cat >"$work/main.go" <<'GO'
// Command pause holds a pod's namespaces open until it is told to stop.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
GO
  printf 'module pause\n\ngo 1.22\n' >"$work/go.mod"
  mkdir -p "$work/root"
  (cd "$work" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o root/pause .)
  tar -C "$work/root" -c pause | docker import --change 'ENTRYPOINT ["/pause"]' - "${PAUSE_IMAGE#docker.io/library/}" >/dev/null
  docker save -o "$work/pause.tar" "${PAUSE_IMAGE#docker.io/library/}"
  import_archive "$work/pause.tar"
  docker image rm "${PAUSE_IMAGE#docker.io/library/}" >/dev/null
  rm -rf "$work"
}

print_usage_lines() {
  printf 'export KUBECONFIG=%s\n' "$KUBECONFIG_FILE"
  # shellcheck disable=SC2016 # $PATH is for the shell that evaluates the line
  printf 'export PATH=%s:$PATH\n' "$KUBE_BIN"
}

cmd_up() {
  require_host
  if running kube-apiserver; then
    log "already up"
    print_usage_lines
    return
  fi
  [[ ! -e "$STATE/host" ]] || die "$STATE holds a cluster that is not running: run 'kube-cluster.sh down' first"
  cmd_build
  log "starting kubernetes $KUBE_VERSION in $STATE"
  mkdir -p "$STATE"
  record_host
  # An empty bridge holds the node address (this kernel has no dummy links).
  ip link add "$NODE_LINK" type bridge
  ip addr add "$NODE_IP/32" dev "$NODE_LINK"
  ip link set "$NODE_LINK" up
  # Docker sets the FORWARD policy to DROP: let pod traffic through.
  iptables -I FORWARD 1 -s "$POD_CIDR" -m comment --comment "$FIREWALL_COMMENT" -j ACCEPT
  iptables -I FORWARD 1 -d "$POD_CIDR" -m comment --comment "$FIREWALL_COMMENT" -j ACCEPT
  make_certificates
  write_configs

  start containerd containerd --config "$STATE/config/containerd.toml"
  start etcd "$ETCD_BIN/etcd" --name "$NODE" --data-dir "$STATE/etcd" \
    --listen-client-urls "http://$ETCD_CLIENT" --advertise-client-urls "http://$ETCD_CLIENT" \
    --listen-peer-urls "http://$ETCD_PEER" --initial-advertise-peer-urls "http://$ETCD_PEER" \
    --initial-cluster "$NODE=http://$ETCD_PEER" --log-level warn
  wait_until 60 "containerd answering" ctr --address "$SOCKET" version
  make_pause_image
  wait_until 60 "etcd healthy" curl -fsS "http://$ETCD_CLIENT/health"

  local pki="$STATE/pki"
  start kube-apiserver "$KUBE_BIN/kube-apiserver" --etcd-servers "http://$ETCD_CLIENT" \
    --bind-address "$NODE_IP" --advertise-address "$NODE_IP" --secure-port "$APISERVER_PORT" \
    --service-cluster-ip-range "$SERVICE_CIDR" --client-ca-file "$pki/ca.crt" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --kubelet-client-certificate "$pki/admin.crt" --kubelet-client-key "$pki/admin.key" \
    --kubelet-preferred-address-types InternalIP \
    --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$pki/sa.pub" \
    --service-account-signing-key-file "$pki/sa.key" --authorization-mode RBAC --profiling=false
  wait_until 90 "the API server ready" kubectl get --raw /readyz
  start kube-controller-manager "$KUBE_BIN/kube-controller-manager" --kubeconfig "$KUBECONFIG_FILE" \
    --secure-port 0 --leader-elect=false --service-account-private-key-file "$pki/sa.key" \
    --root-ca-file "$pki/ca.crt" --profiling=false
  start kube-scheduler "$KUBE_BIN/kube-scheduler" --kubeconfig "$KUBECONFIG_FILE" \
    --secure-port 0 --leader-elect=false --profiling=false
  start kubelet "$KUBE_BIN/kubelet" --config "$STATE/config/kubelet.yaml" --kubeconfig "$KUBECONFIG_FILE" \
    --root-dir "$STATE/kubelet" --hostname-override "$NODE" --node-ip "$NODE_IP"
  start kube-proxy "$KUBE_BIN/kube-proxy" --config "$STATE/config/kube-proxy.yaml"
  wait_until 120 "node $NODE Ready" kubectl wait --for=condition=Ready "node/$NODE" --timeout=5s
  wait_until 60 "the default service account" kubectl get serviceaccount default
  log "up: kubernetes $KUBE_VERSION, node $NODE Ready"
  print_usage_lines
}

# ---------------------------------------------------------------------------------------------
# load

cmd_load() {
  local image="${1:-}" archive
  [[ -n "$image" ]] || die "usage: kube-cluster.sh load IMAGE"
  archive="$(mktemp)"
  docker save -o "$archive" "$image" || { rm -f "$archive"; die "docker save $image failed"; }
  import_archive "$archive"
  rm -f "$archive"
  log "loaded $image"
}

# ---------------------------------------------------------------------------------------------
# down

# stop_pid PID stops one process: SIGTERM, then SIGKILL after 20 seconds.
stop_pid() {
  local pid="$1" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.2
}

stop_daemon() {
  local pidfile="$STATE/pids/$1"
  [[ -f "$pidfile" ]] || return 0
  stop_pid "$(cat "$pidfile")"
  rm -f "$pidfile"
}

# remove_pods deletes every pod while the kubelet still runs, so that it stops each sandbox
# through CRI (the CNI plugin then releases its address and network namespace).
remove_pods() {
  running kube-apiserver && running kubelet || return 0
  stop_daemon kube-controller-manager
  stop_daemon kube-scheduler
  kubectl delete pods --all --all-namespaces --grace-period=0 --force --wait=false >/dev/null 2>&1 || true
  local deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    [[ -z "$(ctr --address "$SOCKET" -n k8s.io tasks ls -q 2>/dev/null)" ]] &&
      [[ -z "$(new_netns)" ]] && return 0
    sleep 0.5
  done
  log "warning: pods still running after 60s; stopping them through containerd"
}

# new_netns lists the network namespaces that were not there before `up`.
new_netns() {
  local path
  for path in /run/netns/*; do
    [[ -e "$path" ]] || continue
    grep -qxF "${path##*/}" "$STATE/host/netns" 2>/dev/null || echo "${path##*/}"
  done
}

# stop_shims stops the containerd shims of this cluster (they outlive containerd): found by the
# socket address on their command line, stopped by PID.
stop_shims() {
  local cmdline pid
  for cmdline in /proc/[0-9]*/cmdline; do
    pid="${cmdline//[^0-9]/}"
    if [[ "$({ tr '\0' ' ' <"$cmdline"; } 2>/dev/null)" == *containerd-shim*"$STATE/containerd"* ]]; then
      stop_pid "$pid"
    fi
  done
}

stop_tasks() {
  [[ -S "$SOCKET" ]] || return 0
  local task
  for task in $(ctr --address "$SOCKET" -n k8s.io tasks ls -q 2>/dev/null); do
    ctr --address "$SOCKET" -n k8s.io tasks kill -s SIGKILL "$task" >/dev/null 2>&1 || true
    ctr --address "$SOCKET" -n k8s.io tasks delete "$task" >/dev/null 2>&1 || true
  done
}

# nft_chains prints every nft chain as "FAMILY TABLE CHAIN", one a line.
nft_chains() {
  nft list chains 2>/dev/null | awk '$1 == "table" { family = $2; table = $3 } $1 == "chain" { print family, table, $2 }'
}

# nft_chain_is_empty FAMILY TABLE CHAIN tells whether the chain holds no rule.
nft_chain_is_empty() {
  ! nft list chain "$@" 2>/dev/null | grep -vqE '^[[:space:]]*(table |chain |type |policy |\}|$)'
}

# clean_nft_chains deletes, in the nft tables that were there before `up`, the chains that were not,
# when no rule is left in them: iptables-nft creates the base chains (INPUT, OUTPUT, ...) of an
# existing table on first use, and kubelet's and kube-proxy's rules put some there.
clean_nft_chains() {
  local family table chain
  [[ -f "$STATE/host/nft-chains" ]] || return 0
  nft_chains | { grep -vxFf "$STATE/host/nft-chains" || true; } | while read -r family table chain; do
    grep -qE "^table $family $table( |\{|$)" "$STATE/host/nft-tables" || continue
    if nft_chain_is_empty "$family" "$table" "$chain"; then
      nft delete chain "$family" "$table" "$chain" 2>/dev/null || true
    else
      log "left nft chain $family $table $chain in place: it holds rules that are not this cluster's"
    fi
  done
}

# clean_firewall removes, for IPv4 and IPv6, every rule jumping to a KUBE-* or CNI-* chain or
# carrying this script's comment, then those chains, then the nft chains and tables that were not
# there before.
clean_firewall() {
  local family table rule chain
  for family in iptables ip6tables; do
    for table in filter nat mangle raw; do
      "$family-save" -t "$table" >/dev/null 2>&1 || continue
      while read -r rule; do
        eval "$family -w -t $table -D ${rule#-A }" 2>/dev/null || true
      done < <("$family-save" -t "$table" | grep -E '^-A ' |
        grep -E -- "-j (KUBE|CNI)-|--comment \"?$FIREWALL_COMMENT\"? " | grep -vE '^-A (KUBE|CNI)-' || true)
      for chain in $("$family-save" -t "$table" | sed -nE 's/^:((KUBE|CNI)-[^ ]+) .*/\1/p'); do
        "$family" -w -t "$table" -F "$chain" 2>/dev/null || true
      done
      for chain in $("$family-save" -t "$table" | sed -nE 's/^:((KUBE|CNI)-[^ ]+) .*/\1/p'); do
        "$family" -w -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  done
  clean_nft_chains
  if [[ -f "$STATE/host/nft-tables" ]]; then
    nft list tables | { grep -vxFf "$STATE/host/nft-tables" || true; } | while read -r _ family table; do
      nft delete table "$family" "$table" 2>/dev/null || true
    done
  fi
}

clean_network() {
  local netns
  if [[ -f "$STATE/host/netns" ]]; then
    for netns in $(new_netns); do
      ip netns delete "$netns" 2>/dev/null || true
    done
  fi
  ip link delete "$BRIDGE" 2>/dev/null || true
  ip link delete "$NODE_LINK" 2>/dev/null || true
}

# clean_cgroups removes the kubelet's kubepods hierarchy from every cgroup v1 controller, deepest first.
clean_cgroups() {
  local dir
  for dir in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [[ -d "$dir" ]] || continue
    find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

unmount_state() {
  local mount
  awk -v root="$STATE" 'index($5, root) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r mount; do
    umount "$mount" 2>/dev/null || umount -l "$mount" 2>/dev/null || true
  done
}

restore_host() {
  local line dir
  if [[ -f "$STATE/host/sysctls" ]]; then
    while IFS= read -r line; do sysctl -q -w "$line" >/dev/null 2>&1 || true; done <"$STATE/host/sysctls"
  fi
  for dir in "${HOST_DIRS[@]}"; do
    [[ -e "$dir" ]] || continue
    if [[ -f "$STATE/host/dirs" ]] && ! grep -qxF "$dir" "$STATE/host/dirs"; then
      rm -rf "$dir"
    fi
  done
  # In directories that were there before, only this cluster's entries go.
  rm -rf "/var/lib/cni/networks/$CNI_NETWORK" /var/lib/kubelet/device-plugins 2>/dev/null || true
  rm -f /var/lib/cni/results/"$CNI_NETWORK"-* 2>/dev/null || true
}

cmd_down() {
  [[ "$(id -u)" == 0 ]] || die "needs root"
  [[ -d "$STATE" ]] || { log "nothing to tear down"; return; }
  log "tearing down $STATE"
  remove_pods
  local index
  for ((index = ${#DAEMONS[@]} - 1; index >= 1; index--)); do
    [[ "${DAEMONS[index]}" == etcd ]] && stop_tasks
    stop_daemon "${DAEMONS[index]}"
  done
  stop_daemon containerd
  stop_shims
  clean_firewall
  clean_network
  clean_cgroups
  unmount_state
  restore_host
  rm -rf "$STATE"
  log "down: every process stopped, host restored"
}

main() {
  case "${1:-}" in
    build) cmd_build ;;
    up) cmd_up ;;
    load) cmd_load "${2:-}" ;;
    down) cmd_down ;;
    *) die "usage: kube-cluster.sh build | up | load IMAGE | down" ;;
  esac
}

main "$@"
