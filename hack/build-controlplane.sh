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
# shellcheck source=versions.env
. "$here/versions.env"
CACHE="${LEARNPATH_CACHE:-$HOME/.cache/learnpath}"
# Callers (tests, make) run from various directories: always work with absolute paths.
case "$CACHE" in /*) ;; *) CACHE="$PWD/$CACHE" ;; esac
BIN_ROOT="$CACHE/bin"

log() { echo "[build-controlplane $(date +%H:%M:%S)] $*" >&2; }

# All binaries are static and self-contained; cgo would only add a C toolchain
# dependency and host-libc coupling.
export CGO_ENABLED=0

# have_all DIR FILE... : true when every FILE exists and is executable in DIR.
have_all() {
	local dir="$1"
	shift
	local f
	for f in "$@"; do
		[ -x "$dir/$f" ] || return 1
	done
}

# Keeps long, silent phases (module downloads, linking kube-apiserver) from
# looking like a hang in CI logs.
heartbeat_pid=""
start_heartbeat() {
	local what="$1" start
	start=$(date +%s)
	# sleep gets /dev/null for stdio: otherwise the orphaned sleep left by
	# stop_heartbeat keeps our stderr pipe open, and `... 2>&1 | tee log`
	# would hang for up to a minute after the build finished.
	(
		while sleep 60 >/dev/null 2>&1; do
			log "$what: still building ($(($(date +%s) - start))s elapsed)"
		done
	) &
	heartbeat_pid=$!
}
stop_heartbeat() {
	if [ -n "$heartbeat_pid" ]; then
		kill "$heartbeat_pid" 2>/dev/null || true
		wait "$heartbeat_pid" 2>/dev/null || true
		heartbeat_pid=""
	fi
}

tmp_dirs=()
cleanup() {
	stop_heartbeat
	local d
	for d in "${tmp_dirs[@]+"${tmp_dirs[@]}"}"; do
		rm -rf "$d"
	done
}
trap cleanup EXIT

# `go build -v` prints one import path per compiled package: thousands of lines
# for Kubernetes. Summarise them as a counter, but pass anything else (compiler
# errors, "go: downloading ...") straight through.
progress_filter() {
	local what="$1" n=0 line
	while IFS= read -r line; do
		case "$line" in
		"" | *" "* | "#"*) echo "$line" >&2 ;;
		*)
			n=$((n + 1))
			if [ $((n % 200)) -eq 0 ]; then
				log "$what: $n packages compiled (at $line)"
			fi
			;;
		esac
	done
	log "$what: $n packages compiled in total"
}

# go_build NAME MODULE_DIR OUT_DIR LDFLAGS CHECK PKG... : build PKGs of the
# wrapper module into a temp dir and move it into place only after CHECK (a
# function given the temp dir) accepts it, so an interrupted or mis-stamped
# build never leaves a "cached"-looking directory.
go_build() {
	local name="$1" moddir="$2" out="$3" ldflags="$4" check="$5"
	shift 5
	local tmp="$out.tmp.$$" start
	tmp_dirs+=("$tmp")
	rm -rf "$tmp"
	mkdir -p "$tmp"
	start=$(date +%s)
	log "$name: building $* -> $out"
	start_heartbeat "$name"
	# -trimpath: no local paths in binaries (reproducible); -s -w: drop symbol
	# and DWARF tables (kube-apiserver is still ~115 MB without them).
	(cd "$moddir" && go build -v -trimpath -ldflags="-s -w $ldflags" -o "$tmp/" "$@") 2>&1 |
		progress_filter "$name"
	stop_heartbeat
	"$check" "$tmp"
	rm -rf "$out"
	mv "$tmp" "$out"
	log "$name: done in $(($(date +%s) - start))s"
}

# module_field MODULE_DIR MODULE TEMPLATE: query the wrapper's resolved module.
module_field() {
	(cd "$1" && go list -m -f "$3" "$2")
}

# expect_output WHAT WANT CMD...: fail unless CMD's output contains WANT.
# Catches version stamps that silently stop applying when upstream moves a
# variable (-X on a missing symbol is not an error).
expect_output() {
	local what="$1" want="$2" got
	shift 2
	got="$("$@" 2>&1 | head -n 5)" || true
	case "$got" in
	*"$want"*) log "$what reports $want" ;;
	*)
		echo "$what: expected '$want' in output of '$*', got:" >&2
		echo "$got" >&2
		exit 1
		;;
	esac
}

check_k8s() {
	expect_output kube-apiserver "Kubernetes $K8S_VERSION" "$1/kube-apiserver" --version
	expect_output kube-controller-manager "Kubernetes $K8S_VERSION" "$1/kube-controller-manager" --version
	expect_output kubectl "Client Version: $K8S_VERSION" "$1/kubectl" version --client
}
check_etcd() { expect_output etcd "etcd Version: ${ETCD_VERSION#v}" "$1/etcd" --version; }
check_helm() { expect_output helm "Version:\"$HELM_VERSION\"" "$1/helm" version; }

# check_pin MODULE_DIR MODULE WANT: the wrapper go.mod must agree with
# versions.env, otherwise the directory name would lie about its contents.
check_pin() {
	local got
	got="$(module_field "$1" "$2" '{{.Version}}')"
	if [ "$got" != "$3" ]; then
		echo "$1/go.mod resolves $2 $got but hack/versions.env pins $3." >&2
		echo "Regenerate the wrapper (hack/gen-k8s-wrapper.sh for k8s, or go get $2@$3 && go mod tidy)." >&2
		exit 1
	fi
}

module_sum() { # MODULE_DIR MODULE VERSION -> h1:... from go.sum
	awk -v m="$2" -v v="$3" '$1 == m && $2 == v { print $3; exit }' "$1/go.sum"
}

build_k8s() {
	local out="$BIN_ROOT/k8s-$K8S_VERSION" moddir="$here/controlplane/k8s"
	local bins=(kube-apiserver kube-controller-manager kubectl)
	if have_all "$out" "${bins[@]}"; then
		return 0
	fi
	check_pin "$moddir" k8s.io/kubernetes "$K8S_VERSION"

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
	check_pin "$moddir" go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
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
	check_pin "$moddir" helm.sh/helm/v4 "$HELM_VERSION"
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
if command -v flock >/dev/null 2>&1; then
	exec 9>"$BIN_ROOT/.build.lock"
	if ! flock -n 9; then
		log "another build holds $BIN_ROOT/.build.lock; waiting"
		flock 9
	fi
fi

overall=$(date +%s)
for t in "${targets[@]}"; do
	"build_$t"
done
log "all built in $(($(date +%s) - overall))s under $BIN_ROOT"
