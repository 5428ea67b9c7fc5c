#!/usr/bin/env bash
# Build the local control-plane binaries (kube-apiserver, kube-controller-manager,
# kubectl, etcd, helm) from the pinned Go modules in hack/controlplane/*.
#
# No prebuilt release binaries are reachable from dev/CI machines here, only the
# Go module proxy, so everything is compiled from source. That is slow the
# first time (tens of minutes on 2 cores), so results are cached per version:
#
#   $CACHE/bin/k8s-<K8S_VERSION>/{kube-apiserver,kube-controller-manager,kubectl}
#   $CACHE/bin/etcd-<ETCD_VERSION>/etcd
#   $CACHE/bin/helm-<HELM_VERSION>/helm
#
# with CACHE=${LEARNPATH_CACHE:-$HOME/.cache/learnpath}. The pin is part of the
# directory name, so bumping hack/versions.env is what triggers a rebuild; a
# second run with the same pins is a no-op.
#
# Usage: hack/build-controlplane.sh [k8s|etcd|helm ...]   (default: all)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/versions.env
. "$here/versions.env"
LOG_TAG=build-controlplane
# shellcheck source=SCRIPTDIR/lib.sh
. "$here/lib.sh"

check_k8s() {
	expect_output kube-apiserver "Kubernetes $K8S_VERSION" "$1/kube-apiserver" --version
	expect_output kube-controller-manager "Kubernetes $K8S_VERSION" "$1/kube-controller-manager" --version
	expect_output kubectl "Client Version: $K8S_VERSION" "$1/kubectl" version --client
}
check_etcd() { expect_output etcd "etcd Version: ${ETCD_VERSION#v}" "$1/etcd" --version; }
check_helm() { expect_output helm "Version:\"$HELM_VERSION\"" "$1/helm" version; }

# regen_hint COMPONENT: how to bring a wrapper's go.mod back in line with hack/versions.env.
regen_hint() {
	case "$1" in
	k8s) echo "Regenerate the wrapper: hack/gen-k8s-wrapper.sh (make controlplane-gen)." ;;
	*) echo "In hack/controlplane/$1: go get <module>@<pin from hack/versions.env> && go mod tidy." ;;
	esac
}

build_k8s() {
	local out="$BIN_ROOT/k8s-$K8S_VERSION" moddir="$here/controlplane/k8s"
	local bins=(kube-apiserver kube-controller-manager kubectl)
	if have_all "$out" "${bins[@]}"; then
		return 0
	fi
	check_pin "$moddir" k8s.io/kubernetes "$K8S_VERSION" "$(regen_hint k8s)"

	local ver="$K8S_VERSION" major minor build_date commit ldflags="" pkg
	major="${ver#v}"
	major="${major%%.*}"
	minor="${ver#v*.}"
	minor="${minor%%.*}"
	# Reproducible stamps: the release's publication time on the proxy, and
	# (since the proxy does not expose the git commit) the module content hash.
	build_date="$(module_field "$moddir" k8s.io/kubernetes '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}')"
	commit="$(module_sum "$moddir" k8s.io/kubernetes "$ver")"
	# Both packages must be stamped: component-base feeds the servers' /version
	# and emulation-version logic, client-go feeds kubectl's client version.
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $pkg.gitVersion=$ver -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
		ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date -X $pkg.gitCommit=$commit"
	done
	# One invocation for all three so the shared packages compile once.
	go_build "k8s $ver" "$moddir" "$out" "$ldflags" check_k8s \
		k8s.io/kubernetes/cmd/kube-apiserver \
		k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kubectl
}

build_etcd() {
	local out="$BIN_ROOT/etcd-$ETCD_VERSION" moddir="$here/controlplane/etcd"
	if have_all "$out" etcd; then
		return 0
	fi
	check_pin "$moddir" go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "$(regen_hint etcd)"
	# The release version itself is a constant in go.etcd.io/etcd/api/v3;
	# only the git SHA is link-time (upstream's build script sets it). The
	# proxy has no commit, so record the module content hash instead.
	local commit
	commit="$(module_sum "$moddir" go.etcd.io/etcd/server/v3 "$ETCD_VERSION")"
	# `go build -o DIR/ .` names the binary after the wrapper module path's
	# last element, which is "etcd".
	go_build "etcd $ETCD_VERSION" "$moddir" "$out" \
		"-X go.etcd.io/etcd/api/v3/version.GitSHA=$commit" check_etcd .
}

build_helm() {
	local out="$BIN_ROOT/helm-$HELM_VERSION" moddir="$here/controlplane/helm"
	if have_all "$out" helm; then
		return 0
	fi
	check_pin "$moddir" helm.sh/helm/v4 "$HELM_VERSION" "$(regen_hint helm)"
	local v=helm.sh/helm/v4/internal/version commit
	commit="$(module_sum "$moddir" helm.sh/helm/v4 "$HELM_VERSION")"
	# Without these, `helm version` reports the source default ("v4.3") and
	# gitTreeState "". metadata="" marks it as a release build, like upstream.
	go_build "helm $HELM_VERSION" "$moddir" "$out" \
		"-X $v.version=$HELM_VERSION -X $v.metadata= -X $v.gitCommit=$commit -X $v.gitTreeState=clean" \
		check_helm helm.sh/helm/v4/cmd/helm
}

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	targets=(k8s etcd helm)
fi

# Fast path without touching the lock or the go tool: everything cached.
all_cached=1
for t in "${targets[@]}"; do
	case "$t" in
	k8s) have_all "$BIN_ROOT/k8s-$K8S_VERSION" kube-apiserver kube-controller-manager kubectl || all_cached=0 ;;
	etcd) have_all "$BIN_ROOT/etcd-$ETCD_VERSION" etcd || all_cached=0 ;;
	helm) have_all "$BIN_ROOT/helm-$HELM_VERSION" helm || all_cached=0 ;;
	*)
		echo "unknown target '$t' (want k8s, etcd or helm)" >&2
		exit 2
		;;
	esac
done
if [ "$all_cached" = 1 ]; then
	log "up to date (${targets[*]}) in $BIN_ROOT: k8s $K8S_VERSION, etcd $ETCD_VERSION, helm $HELM_VERSION"
	exit 0
fi

mkdir -p "$BIN_ROOT"
# Serialise concurrent builds (e.g. `make cluster` racing a test harness):
# the second waiter then finds everything cached.
take_lock "$BIN_ROOT/.build.lock"

overall=$(date +%s)
for t in "${targets[@]}"; do
	"build_$t"
done
log "all built in $(($(date +%s) - overall))s under $BIN_ROOT"
