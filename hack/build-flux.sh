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
LOG_TAG=build-flux
# Smaller builds than Kubernetes: a heartbeat every 30 s, a line every 100 packages.
HEARTBEAT_SECS=30
PROGRESS_EVERY=100
# shellcheck source=SCRIPTDIR/lib.sh
. "$here/lib.sh"
ALL=(source-controller kustomize-controller helm-controller gitserver)

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

build_gitserver() {
	local out tmp
	out="$(dir_of gitserver)"
	new_tmp_dir tmp "$out.tmp.$$"
	log "gitserver: building hack/flux/gitserver -> $out/gitserver"
	(cd "$here/flux/gitserver" && go build -mod=readonly -trimpath -ldflags="-s -w" -o "$tmp/gitserver" .)
	install_entry "$tmp" "$out"
}

# add_crds MODULE_DIR MODULE TMP: copy the controller's CRDs from the same module versions into
# TMP/crds: the controller module's config/crd/bases (present in the module zip), else the api
# module's. crds/.complete, written last, marks a complete cache entry.
add_crds() {
	local moddir="$1" mod="$2" tmp="$3" srcdir apidir crddir
	srcdir="$(module_field "$moddir" "$mod" '{{.Dir}}')"
	crddir="$srcdir/config/crd/bases"
	if ! ls "$crddir"/*.yaml >/dev/null 2>&1; then
		apidir="$(module_field "$moddir" "$mod/api" '{{.Dir}}')"
		crddir="$apidir/config/crd/bases"
	fi
	if ! ls "$crddir"/*.yaml >/dev/null 2>&1; then
		echo "$mod: no CRDs found under $srcdir/config/crd/bases or the api module" >&2
		exit 1
	fi
	mkdir -p "$tmp/crds"
	cp "$crddir"/*.yaml "$tmp/crds/"
	chmod u+w "$tmp/crds"/*.yaml
	log "$mod: $(find "$tmp/crds" -name '*.yaml' | wc -l) CRDs"
	echo "$mod $(module_field "$moddir" "$mod" '{{.Version}}')" >"$tmp/crds/.complete"
}

# finish_<name, with _ for -> TMP: go_build's check for one controller: the binary is there; then
# its CRDs.
finish_controller() {
	local name="$1" tmp="$2"
	[ -x "$tmp/$name" ] || {
		echo "$name: go build produced no binary" >&2
		exit 1
	}
	add_crds "$here/flux/$name" "github.com/fluxcd/$name" "$tmp"
}
finish_source_controller() { finish_controller source-controller "$1"; }
finish_kustomize_controller() { finish_controller kustomize-controller "$1"; }
finish_helm_controller() { finish_controller helm-controller "$1"; }

build_one() {
	local name="$1" version mod moddir
	version="$(version_of "$name")"
	mod="github.com/fluxcd/$name"
	moddir="$here/flux/$name"
	if cached "$name"; then
		log "$name $version: cached in $(dir_of "$name")"
		return 0
	fi
	if [ "$name" = gitserver ]; then
		build_gitserver
		return 0
	fi
	# The wrapper must agree with the pin, or the directory name would lie.
	check_pin "$moddir" "$mod" "$version" "Run hack/flux/gen-wrappers.sh (pins: hack/flux/versions.env)."
	go_download "$name $version" "$moddir"
	go_build "$name $version" "$moddir" "$(dir_of "$name")" "" "finish_${name//-/_}" "$mod"
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
take_lock "$BIN_ROOT/.build-flux.lock"

overall=$(date +%s)
for t in "${targets[@]}"; do
	build_one "$t"
done
log "all built in $(($(date +%s) - overall))s under $BIN_ROOT"
