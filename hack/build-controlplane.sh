#!/usr/bin/env bash
# Build the local cluster's binaries (kube-apiserver, kube-controller-manager, kubectl, and for
# the node kube-scheduler, kube-proxy and kubelet; etcd, helm) from the pinned Go modules in
# hack/controlplane/*.
#
# No prebuilt release binaries are reachable from dev/CI machines here, only the
# Go module proxy, so everything is compiled from source. That is slow the
# first time (tens of minutes on 2 cores), so results are cached per version:
#
#   $CACHE/bin/k8s-<K8S_VERSION>/{kube-apiserver,kube-controller-manager,kubectl,
#                                 kube-scheduler,kube-proxy,kubelet}
#   $CACHE/bin/etcd-<ETCD_VERSION>/etcd
#   $CACHE/bin/helm-<HELM_VERSION>/helm
#   $CACHE/bin/containerd-<CONTAINERD_VERSION>/{containerd,containerd-shim-runc-v2,ctr}
#   $CACHE/bin/pause-<K8S_VERSION>/pause   (static C, from k8s.io/kubernetes' build/pause)
#   $CACHE/bin/kube-score-<KUBE_SCORE_VERSION>/kube-score
#
# with CACHE=${LEARNPATH_CACHE:-$HOME/.cache/learnpath}. The pin is part of the
# directory name, so bumping hack/versions.env is what triggers a rebuild; a
# second run with the same pins is a no-op.
#
# Usage: hack/build-controlplane.sh [k8s|etcd|helm|containerd|pause|kube-score ...]
#        (default: k8s etcd helm; the node's containerd and pause, and kube-score, when asked for)
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
	expect_output kube-scheduler "Kubernetes $K8S_VERSION" "$1/kube-scheduler" --version
	expect_output kube-proxy "Kubernetes $K8S_VERSION" "$1/kube-proxy" --version
	expect_output kubelet "Kubernetes $K8S_VERSION" "$1/kubelet" --version
}
# Every Kubernetes command comes from one `go build`: they share most of their packages, so the
# node's three cost minutes on top of the control plane's, not a build of their own.
K8S_BINS=(kube-apiserver kube-controller-manager kubectl kube-scheduler kube-proxy kubelet)
check_etcd() { expect_output etcd "etcd Version: ${ETCD_VERSION#v}" "$1/etcd" --version; }
check_containerd() {
	expect_output containerd "$CONTAINERD_VERSION" "$1/containerd" --version
	expect_output ctr "$CONTAINERD_VERSION" "$1/ctr" --version
	expect_output containerd-shim-runc-v2 "$CONTAINERD_VERSION" "$1/containerd-shim-runc-v2" -v
}
CONTAINERD_BINS=(containerd containerd-shim-runc-v2 ctr)
check_kube_score() { expect_output kube-score "kube-score version: $KUBE_SCORE_VERSION" "$1/kube-score" version; }
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
	if have_all "$out" "${K8S_BINS[@]}"; then
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
	# One invocation for all of them so the shared packages compile once.
	go_build "k8s $ver" "$moddir" "$out" "$ldflags" check_k8s "${K8S_BINS[@]/#/k8s.io/kubernetes/cmd/}"
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

build_containerd() {
	local out="$BIN_ROOT/containerd-$CONTAINERD_VERSION" moddir="$here/controlplane/containerd"
	if have_all "$out" "${CONTAINERD_BINS[@]}"; then
		return 0
	fi
	check_pin "$moddir" github.com/containerd/containerd/v2 "$CONTAINERD_VERSION" \
		"In hack/controlplane/containerd: go get github.com/containerd/containerd/v2@$CONTAINERD_VERSION && go mod tidy."
	local v=github.com/containerd/containerd/v2/version commit
	commit="$(module_sum "$moddir" github.com/containerd/containerd/v2 "$CONTAINERD_VERSION")"
	# CGO_ENABLED=0 (lib.sh) leaves out the btrfs snapshotter and seccomp's C helpers, neither of
	# which the node uses (overlayfs snapshotter; runc applies the seccomp profile itself).
	go_build "containerd $CONTAINERD_VERSION" "$moddir" "$out" \
		"-X $v.Version=$CONTAINERD_VERSION -X $v.Revision=$commit -X $v.Package=github.com/containerd/containerd/v2" \
		check_containerd "${CONTAINERD_BINS[@]/#/github.com/containerd/containerd/v2/cmd/}"
}

build_kube-score() {
	local out="$BIN_ROOT/kube-score-$KUBE_SCORE_VERSION" moddir="$here/controlplane/kube-score" commit
	if have_all "$out" kube-score; then
		return 0
	fi
	check_pin "$moddir" github.com/zegl/kube-score "$KUBE_SCORE_VERSION" \
		"In hack/controlplane/kube-score: go get github.com/zegl/kube-score@$KUBE_SCORE_VERSION && go mod tidy."
	commit="$(module_sum "$moddir" github.com/zegl/kube-score "$KUBE_SCORE_VERSION")"
	go_build "kube-score $KUBE_SCORE_VERSION" "$moddir" "$out" \
		"-X main.version=$KUBE_SCORE_VERSION -X main.commit=$commit" check_kube_score \
		github.com/zegl/kube-score/cmd/kube-score
}

# The Pod sandbox's process, from the Kubernetes module itself (no registry to pull it from).
build_pause() {
	local out="$BIN_ROOT/pause-$K8S_VERSION" moddir="$here/controlplane/k8s" src tag tmp
	if have_all "$out" pause; then
		return 0
	fi
	src="$(module_field "$moddir" k8s.io/kubernetes '{{.Dir}}')/build/pause"
	tag="$(sed -n 's/^TAG ?= *//p' "$src/Makefile")"
	[ -n "$tag" ] || {
		echo "no TAG in $src/Makefile" >&2
		exit 1
	}
	new_tmp_dir tmp "$out.tmp.$$"
	log "pause $tag: cc -static $src/linux/pause.c -> $out/pause"
	# The flags of build/pause/Makefile.
	cc -Os -Wall -Werror -static -DVERSION="v$tag-learnpath" -o "$tmp/pause" "$src/linux/pause.c"
	echo "$tag" >"$tmp/TAG"
	expect_output pause "v$tag" "$tmp/pause" -v
	install_entry "$tmp" "$out"
}

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	targets=(k8s etcd helm)
fi

# Fast path without touching the lock or the go tool: everything cached.
all_cached=1
for t in "${targets[@]}"; do
	case "$t" in
	k8s) have_all "$BIN_ROOT/k8s-$K8S_VERSION" "${K8S_BINS[@]}" || all_cached=0 ;;
	etcd) have_all "$BIN_ROOT/etcd-$ETCD_VERSION" etcd || all_cached=0 ;;
	helm) have_all "$BIN_ROOT/helm-$HELM_VERSION" helm || all_cached=0 ;;
	containerd) have_all "$BIN_ROOT/containerd-$CONTAINERD_VERSION" "${CONTAINERD_BINS[@]}" || all_cached=0 ;;
	pause) have_all "$BIN_ROOT/pause-$K8S_VERSION" pause || all_cached=0 ;;
	kube-score) have_all "$BIN_ROOT/kube-score-$KUBE_SCORE_VERSION" kube-score || all_cached=0 ;;
	*)
		echo "unknown target '$t' (want k8s, etcd, helm, containerd, pause or kube-score)" >&2
		exit 2
		;;
	esac
done
if [ "$all_cached" = 1 ]; then
	log "up to date (${targets[*]}) in $BIN_ROOT (pins: hack/versions.env)"
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
