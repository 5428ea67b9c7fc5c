#!/usr/bin/env bash
# Build the Prometheus server and promtool from the pinned Go module github.com/prometheus/prometheus
# (wrapper module hack/prometheus/, pin PROMETHEUS_VERSION in hack/versions.env), cached like the
# control plane (hack/build-controlplane.sh):
#
#   $CACHE/bin/prometheus-<PROMETHEUS_VERSION>/{prometheus,promtool}
#
# with CACHE=${LEARNPATH_CACHE:-$HOME/.cache/learnpath}. The pin is part of the directory name, so
# bumping it (then hack/prometheus/gen-wrapper.sh) is what triggers a rebuild; a second run with the
# same pin is a sub-second no-op.
#
# What the tests need: static scrape configs, the HTTP API (/api/v1/query), the remote-write
# receiver, and `promtool test rules`. What is left out, and why it is safe:
#   - every service-discovery plugin but file and http (build tag remove_all_sd, honoured by
#     upstream's plugins/plugin_*.go; static_configs are not a plugin): the AWS, Azure, GCE, OCI,
#     Outscale, IONOS, ... SDKs are about 60% of the source the two commands compile. promtool still
#     imports discovery/kubernetes directly (for `promtool check service-discovery`), so client-go
#     stays.
#   - the web UI's assets: upstream embeds them with the tag builtinassets from a generated file that
#     its npm build writes (web/ui/embed.go) and the module does not ship; without the tag the UI
#     is served from ./web/ui/static on disk, i.e. not at all. The API does not depend on it.
#
# Usage: hack/build-prometheus.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/versions.env
. "$here/versions.env"
LOG_TAG=build-prometheus
# shellcheck source=SCRIPTDIR/lib.sh
. "$here/lib.sh"

MODULE=github.com/prometheus/prometheus
MODDIR="$here/prometheus"
OUT="$BIN_ROOT/prometheus-$PROMETHEUS_VERSION"
BINS=(prometheus promtool)
TAGS=remove_all_sd

# release_version v0.316.0 -> 3.16.0: the Go module's v0.<major*100+minor>.<patch> scheme for
# Prometheus release <major>.<minor>.<patch> (VERSION in the module says the same).
release_version() {
	local v="${1#v0.}" mm patch
	mm="${v%%.*}"
	patch="${v#*.}"
	echo "$((10#$mm / 100)).$((10#$mm % 100)).$patch"
}
RELEASE="$(release_version "$PROMETHEUS_VERSION")"

# Both report the release and, as their branch, the module pin.
check_prometheus() {
	local want="version $RELEASE (branch: $PROMETHEUS_VERSION,"
	expect_output prometheus "prometheus, $want" "$1/prometheus" --version
	expect_output promtool "promtool, $want" "$1/promtool" --version
}

if have_all "$OUT" "${BINS[@]}"; then
	log "up to date in $OUT: prometheus $RELEASE ($MODULE $PROMETHEUS_VERSION)"
	exit 0
fi

mkdir -p "$BIN_ROOT"
take_lock "$BIN_ROOT/.build-prometheus.lock"
if have_all "$OUT" "${BINS[@]}"; then
	log "built meanwhile by another process: $OUT"
	exit 0
fi

check_pin "$MODDIR" "$MODULE" "$PROMETHEUS_VERSION" \
	"Run hack/prometheus/gen-wrapper.sh (pin: PROMETHEUS_VERSION in hack/versions.env)."
PKGS=("$MODULE/cmd/prometheus" "$MODULE/cmd/promtool")
# Only what the two commands need with TAGS: 179 of the graph's 246 modules, 172 of 291 MB.
go_download "prometheus $PROMETHEUS_VERSION" "$MODDIR" -tags "$TAGS" "${PKGS[@]}"
# Upstream's VERSION file must agree with the derived release number the binaries are stamped with.
upstream_version="$(cat "$(module_field "$MODDIR" "$MODULE" '{{.Dir}}')/VERSION")"
if [ "$upstream_version" != "$RELEASE" ]; then
	echo "$MODULE $PROMETHEUS_VERSION has VERSION '$upstream_version', expected $RELEASE" >&2
	exit 1
fi

# The stamps upstream's .promu.yml sets, reproducibly: the release's publication time on the
# proxy, (the proxy has no git commit) the module content hash as the revision, and the module
# pin in place of the git branch, so that --version names the pin.
v=github.com/prometheus/common/version
build_date="$(module_field "$MODDIR" "$MODULE" '{{.Time.UTC.Format "20060102-15:04:05"}}')"
revision="$(module_sum "$MODDIR" "$MODULE" "$PROMETHEUS_VERSION")"
ldflags="-X $v.Version=$RELEASE -X $v.Revision=$revision -X $v.Branch=$PROMETHEUS_VERSION"
ldflags+=" -X $v.BuildUser=learnpath-hack -X $v.BuildDate=$build_date"

# One invocation for both, so the packages they share compile once.
go_build "prometheus $PROMETHEUS_VERSION" "$MODDIR" "$OUT" "$ldflags" check_prometheus \
	-tags "$TAGS" "${PKGS[@]}"
