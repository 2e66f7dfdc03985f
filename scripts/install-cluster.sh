#!/usr/bin/env bash
# What the cluster tier needs on top of the images tier: the node of the test cluster
# (scripts/kube-cluster.sh). containerd and runc run the pods, the CNI plugins give them a bridge,
# iptables serves kube-proxy, nftables and iproute2 undo and check the host changes, openssl makes
# the cluster's certificates, curl reads the
# Kubernetes module from the Go module proxy (Kubernetes and etcd are built from source).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-packages.sh containerd:containerd runc:runc /usr/lib/cni/bridge:containernetworking-plugins \
  iptables:iptables nft:nftables ip:iproute2 openssl:openssl curl:curl
