#!/usr/bin/env bash
# Build Flux's source-controller, kustomize-controller and helm-controller from
# the pinned Go modules (wrapper modules in hack/flux/<name>/, pins in
# hack/flux/versions.env), and extract each controller's CRDs from the same
# module versions. Cached like the control plane (hack/build-controlplane.sh):
#
#   $CACHE/bin/flux-<name>-<version>/<name>
#   $CACHE/bin/flux-<name>-<version>/crds/*.yaml
#   $CACHE/bin/flux-gitserver-<sha256 of its source>/gitserver   (hack/flux/gitserver,
#       a loopback smart-HTTP Git server around `git http-backend`, for the e2e test)
#
# with CACHE=${LEARNPATH_CACHE:-$HOME/.cache/learnpath}. The pin is part of the
# directory name, so bumping a pin is what triggers a rebuild; a second run with
# the same pins is a sub-second no-op.
#
# Usage: hack/build-flux.sh [source-controller|kustomize-controller|helm-controller|gitserver ...]
#        hack/build-flux.sh --print-dir NAME   (the cache directory for NAME's pin)
# (default: all four)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/flux/versions.env
. "$here/flux/versions.env"
CACHE="${LEARNPATH_CACHE:-$HOME/.cache/learnpath}"
case "$CACHE" in /*) ;; *) CACHE="$PWD/$CACHE" ;; esac
BIN_ROOT="$CACHE/bin"
ALL=(source-controller kustomize-controller helm-controller gitserver)

log() { echo "[build-flux $(date +%H:%M:%S)] $*" >&2; }

export CGO_ENABLED=0

version_of() {
	case "$1" in
	source-controller) echo "$SOURCE_CONTROLLER_VERSION" ;;
	kustomize-controller) echo "$KUSTOMIZE_CONTROLLER_VERSION" ;;
	helm-controller) echo "$HELM_CONTROLLER_VERSION" ;;
	# Not pinned upstream code: keyed by the hash of its own source instead.
	gitserver) cat "$here/flux/gitserver/go.mod" "$here/flux/gitserver/main.go" | sha256sum | cut -c1-12 ;;
	*)
		echo "unknown controller '$1' (want ${ALL[*]})" >&2
		exit 2
		;;
	esac
}
dir_of() { echo "$BIN_ROOT/flux-$1-$(version_of "$1")"; }
# The CRDs directory is written last, so it marks a complete cache entry.
cached() {
	if [ "$1" = gitserver ]; then
		[ -x "$(dir_of "$1")/$1" ]
	else
		[ -x "$(dir_of "$1")/$1" ] && [ -f "$(dir_of "$1")/crds/.complete" ]
	fi
}

if [ "${1:-}" = "--print-dir" ]; then
	dir_of "${2:?usage: $0 --print-dir NAME}"
	exit 0
fi

heartbeat_pid=""
start_heartbeat() {
	local what="$1" start
	start=$(date +%s)
	(
		while sleep 30; do
			log "$what: still working ($(($(date +%s) - start))s elapsed)"
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

# One line per compiled package from `go build -v`: summarise as a counter,
# pass everything else (errors, "go: downloading ...") through.
progress_filter() {
	local what="$1" n=0 line
	while IFS= read -r line; do
		case "$line" in
		"" | *" "* | "#"*) echo "$line" >&2 ;;
		*)
			n=$((n + 1))
			if [ $((n % 100)) -eq 0 ]; then
				log "$what: $n packages compiled (at $line)"
			fi
			;;
		esac
	done
	log "$what: $n packages compiled in total"
}

build_gitserver() {
	local out tmp
	out="$(dir_of gitserver)"
	tmp="$out.tmp.$$"
	tmp_dirs+=("$tmp")
	rm -rf "$tmp"
	mkdir -p "$tmp"
	log "gitserver: building hack/flux/gitserver -> $out/gitserver"
	(cd "$here/flux/gitserver" && go build -mod=readonly -trimpath -ldflags="-s -w" -o "$tmp/gitserver" .)
	rm -rf "$out"
	mv "$tmp" "$out"
}

build_one() {
	local name="$1" version mod moddir out tmp start got srcdir apidir crddir
	version="$(version_of "$name")"
	mod="github.com/fluxcd/$name"
	moddir="$here/flux/$name"
	out="$(dir_of "$name")"
	if cached "$name"; then
		log "$name $version: cached in $out"
		return 0
	fi
	if [ "$name" = gitserver ]; then
		build_gitserver
		return 0
	fi
	start=$(date +%s)
	# The wrapper must agree with the pin, or the directory name would lie.
	got="$(cd "$moddir" && go list -m -f '{{.Version}}' "$mod")"
	if [ "$got" != "$version" ]; then
		echo "$moddir/go.mod resolves $mod $got but hack/flux/versions.env pins $version;" >&2
		echo "run hack/flux/gen-wrappers.sh" >&2
		exit 1
	fi
	tmp="$out.tmp.$$"
	tmp_dirs+=("$tmp")
	rm -rf "$tmp"
	mkdir -p "$tmp/crds"

	log "$name $version: downloading modules"
	start_heartbeat "$name download"
	(cd "$moddir" && go mod download -x 2>&1 | grep -E '^(# get|go: )' | sed -n '1~25p' >&2 || true)
	stop_heartbeat

	log "$name $version: building $mod -> $out/$name"
	start_heartbeat "$name build"
	# -mod=readonly: the wrapper's go.sum is authoritative; -trimpath: no local
	# paths in the binary; -s -w: no symbol/DWARF tables.
	(cd "$moddir" && go build -mod=readonly -v -trimpath -ldflags="-s -w" -o "$tmp/$name" "$mod") 2>&1 |
		progress_filter "$name"
	stop_heartbeat
	[ -x "$tmp/$name" ] || {
		echo "$name: go build produced no binary" >&2
		exit 1
	}

	# CRDs from the same module versions: the controller module's
	# config/crd/bases (present in the module zip), else the api module's.
	srcdir="$(cd "$moddir" && go list -m -f '{{.Dir}}' "$mod")"
	crddir="$srcdir/config/crd/bases"
	if ! ls "$crddir"/*.yaml >/dev/null 2>&1; then
		apidir="$(cd "$moddir" && go list -m -f '{{.Dir}}' "$mod/api")"
		crddir="$apidir/config/crd/bases"
	fi
	if ! ls "$crddir"/*.yaml >/dev/null 2>&1; then
		echo "$name: no CRDs found under $srcdir/config/crd/bases or the api module" >&2
		exit 1
	fi
	cp "$crddir"/*.yaml "$tmp/crds/"
	chmod u+w "$tmp/crds"/*.yaml
	echo "$mod $version" >"$tmp/crds/.complete"

	rm -rf "$out"
	mv "$tmp" "$out"
	log "$name $version: done in $(($(date +%s) - start))s ($(find "$out/crds" -name '*.yaml' | wc -l) CRDs)"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")

all_cached=1
for t in "${targets[@]}"; do
	version_of "$t" >/dev/null
	cached "$t" || all_cached=0
done
if [ "$all_cached" = 1 ]; then
	log "up to date (${targets[*]}) in $BIN_ROOT: source-controller $SOURCE_CONTROLLER_VERSION, kustomize-controller $KUSTOMIZE_CONTROLLER_VERSION, helm-controller $HELM_CONTROLLER_VERSION"
	exit 0
fi

mkdir -p "$BIN_ROOT"
if command -v flock >/dev/null 2>&1; then
	exec 9>"$BIN_ROOT/.build-flux.lock"
	if ! flock -n 9; then
		log "another build holds $BIN_ROOT/.build-flux.lock; waiting"
		flock 9
	fi
fi

overall=$(date +%s)
for t in "${targets[@]}"; do
	build_one "$t"
done
log "all built in $(($(date +%s) - overall))s under $BIN_ROOT"
