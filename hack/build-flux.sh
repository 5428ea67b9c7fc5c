#!/usr/bin/env bash
# Build Flux's source-controller, kustomize-controller and helm-controller from the pinned Go
# modules, in one `go build` of one wrapper module (hack/flux/controllers, pins in
# hack/flux/versions.env): the three share most of their dependencies, which one module graph
# compiles once. Each controller's CRDs come from the same module versions. Cached like the
# control plane (hack/build-controlplane.sh):
#
#   $CACHE/bin/flux-controllers-<source>-<kustomize>-<helm versions>/<name>/<name>
#   $CACHE/bin/flux-controllers-<...>/<name>/crds/*.yaml
#   $CACHE/bin/flux-gitserver-<sha256 of its source>/gitserver   (hack/flux/gitserver,
#       a loopback smart-HTTP Git server around `git http-backend`, for the e2e test)
#
# with CACHE=${LEARNPATH_CACHE:-$HOME/.cache/learnpath}. The pins are part of the directory
# name, so bumping a pin is what triggers a rebuild; a second run with the same pins is a
# sub-second no-op.
#
# Usage: hack/build-flux.sh [controllers|gitserver ...]   (default: both)
#        hack/build-flux.sh --print-dir NAME   (the cache directory of NAME: source-controller,
#                                               kustomize-controller, helm-controller, gitserver)
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
ALL=(controllers gitserver)
CONTROLLERS=(source-controller kustomize-controller helm-controller)
CONTROLLERS_DIR="$BIN_ROOT/flux-controllers-$SOURCE_CONTROLLER_VERSION-$KUSTOMIZE_CONTROLLER_VERSION-$HELM_CONTROLLER_VERSION"
WRAPPER="$here/flux/controllers"

version_of() {
	case "$1" in
	source-controller) echo "$SOURCE_CONTROLLER_VERSION" ;;
	kustomize-controller) echo "$KUSTOMIZE_CONTROLLER_VERSION" ;;
	helm-controller) echo "$HELM_CONTROLLER_VERSION" ;;
	*)
		echo "unknown controller '$1' (want ${CONTROLLERS[*]})" >&2
		exit 2
		;;
	esac
}
gitserver_dir() {
	# Not pinned upstream code: keyed by the hash of its own source instead.
	echo "$BIN_ROOT/flux-gitserver-$(cat "$here/flux/gitserver/go.mod" "$here/flux/gitserver/main.go" | sha256sum | cut -c1-12)"
}
dir_of() {
	case "$1" in
	gitserver) gitserver_dir ;;
	*)
		version_of "$1" >/dev/null
		echo "$CONTROLLERS_DIR/$1"
		;;
	esac
}
# Each controller's crds/.complete, written last, marks a complete cache entry.
cached() {
	local name
	case "$1" in
	gitserver) [ -x "$(gitserver_dir)/gitserver" ] ;;
	controllers)
		for name in "${CONTROLLERS[@]}"; do
			[ -x "$CONTROLLERS_DIR/$name/$name" ] && [ -f "$CONTROLLERS_DIR/$name/crds/.complete" ] || return 1
		done
		;;
	*)
		echo "unknown target '$1' (want ${ALL[*]})" >&2
		exit 2
		;;
	esac
}

if [ "${1:-}" = "--print-dir" ]; then
	dir_of "${2:?usage: $0 --print-dir NAME}"
	exit 0
fi

build_gitserver() {
	local out tmp
	out="$(gitserver_dir)"
	new_tmp_dir tmp "$out.tmp.$$"
	log "gitserver: building hack/flux/gitserver -> $out/gitserver"
	(cd "$here/flux/gitserver" && go build -mod=readonly -trimpath -ldflags="-s -w" -o "$tmp/gitserver" .)
	install_entry "$tmp" "$out"
}

# add_crds MODULE DEST: copy the controller's CRDs from the wrapper's version of MODULE into
# DEST/crds: the controller module's config/crd/bases (present in the module zip), else the api
# module's. crds/.complete, written last, marks a complete cache entry.
add_crds() {
	local mod="$1" dest="$2" srcdir apidir crddir
	srcdir="$(module_field "$WRAPPER" "$mod" '{{.Dir}}')"
	crddir="$srcdir/config/crd/bases"
	if ! ls "$crddir"/*.yaml >/dev/null 2>&1; then
		apidir="$(module_field "$WRAPPER" "$mod/api" '{{.Dir}}')"
		crddir="$apidir/config/crd/bases"
	fi
	if ! ls "$crddir"/*.yaml >/dev/null 2>&1; then
		echo "$mod: no CRDs found under $srcdir/config/crd/bases or the api module" >&2
		exit 1
	fi
	mkdir -p "$dest/crds"
	cp "$crddir"/*.yaml "$dest/crds/"
	chmod u+w "$dest/crds"/*.yaml
	log "$mod: $(find "$dest/crds" -name '*.yaml' | wc -l) CRDs"
	echo "$mod $(module_field "$WRAPPER" "$mod" '{{.Version}}')" >"$dest/crds/.complete"
}

# finish_controllers TMP: go_build's check: each binary is there; it moves into a directory of
# its own, beside its CRDs.
finish_controllers() {
	local tmp="$1" name
	for name in "${CONTROLLERS[@]}"; do
		[ -x "$tmp/$name" ] || {
			echo "$name: go build produced no binary" >&2
			exit 1
		}
		mkdir -p "$tmp/$name.d"
		mv "$tmp/$name" "$tmp/$name.d/$name"
		add_crds "github.com/fluxcd/$name" "$tmp/$name.d"
		mv "$tmp/$name.d" "$tmp/$name"
	done
}

build_controllers() {
	local name pkgs=()
	# The wrapper must agree with every pin, or the directory name would lie.
	for name in "${CONTROLLERS[@]}"; do
		check_pin "$WRAPPER" "github.com/fluxcd/$name" "$(version_of "$name")" \
			"Run hack/flux/gen-wrappers.sh (pins: hack/flux/versions.env)."
		pkgs+=("github.com/fluxcd/$name")
	done
	go_download "flux controllers" "$WRAPPER"
	go_build "flux controllers" "$WRAPPER" "$CONTROLLERS_DIR" "" finish_controllers "${pkgs[@]}"
}

build_one() {
	if cached "$1"; then
		log "$1: cached in $([ "$1" = gitserver ] && gitserver_dir || echo "$CONTROLLERS_DIR")"
		return 0
	fi
	"build_$1"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")

all_cached=1
for t in "${targets[@]}"; do
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
