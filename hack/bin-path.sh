#!/usr/bin/env bash
# Print the absolute path of a cached control-plane binary for the pinned
# version (see hack/versions.env and hack/build-controlplane.sh).
#
# Usage: hack/bin-path.sh NAME, NAME one of kube-apiserver, kube-controller-manager, kubectl,
#        kube-scheduler, kube-proxy, kubelet, etcd, helm, containerd, containerd-shim-runc-v2, ctr,
#        pause, kube-score, prometheus, promtool
# Exit 1 (with a hint on stderr) when that binary has not been built yet.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/versions.env
. "$here/versions.env"
# shellcheck source=SCRIPTDIR/lib.sh
. "$here/lib.sh"

if [ $# -ne 1 ]; then
	echo "usage: $0 NAME (see the script's header)" >&2
	exit 2
fi

case "$1" in
kube-apiserver | kube-controller-manager | kubectl | kube-scheduler | kube-proxy | kubelet)
	dir="$CACHE/bin/k8s-$K8S_VERSION"
	;;
containerd | containerd-shim-runc-v2 | ctr)
	dir="$CACHE/bin/containerd-$CONTAINERD_VERSION"
	build="hack/build-controlplane.sh containerd (make node)"
	;;
kube-score)
	dir="$CACHE/bin/kube-score-$KUBE_SCORE_VERSION"
	build="hack/build-controlplane.sh kube-score (make node)"
	;;
pause)
	dir="$CACHE/bin/pause-$K8S_VERSION"
	build="hack/build-controlplane.sh pause (make node)"
	;;
etcd) dir="$CACHE/bin/etcd-$ETCD_VERSION" ;;
helm) dir="$CACHE/bin/helm-$HELM_VERSION" ;;
prometheus | promtool)
	dir="$CACHE/bin/prometheus-$PROMETHEUS_VERSION"
	build="hack/build-prometheus.sh (make prometheus)"
	;;
*)
	echo "unknown binary '$1'" >&2
	exit 2
	;;
esac

path="$dir/$1"
if [ ! -x "$path" ]; then
	echo "$1 not built: $path missing; run ${build:-hack/build-controlplane.sh (make controlplane)}" >&2
	exit 1
fi
echo "$path"
