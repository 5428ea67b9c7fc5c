#!/usr/bin/env bash
# Debian's Chromium (and a font with CJK glyphs: the seed's titles are partly Chinese) for the
# browser tests of the roadmap pictures (tests/pictures) and `make pictures`.
#
# Usage: hack/chromium.sh
#   Prints the browser's path on stdout (nothing else); progress goes to stderr.
#   A no-op when the packages are already installed. Needs root for apt-get, as on CI.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

PACKAGES=(chromium fonts-dejavu-core fonts-wqy-microhei)

log() { echo "chromium.sh: $*" >&2; }

# Whether the browser or one of its fonts is missing.
missing() {
	[ -x "$CHROMIUM" ] || return 0
	local p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || return 0
	done
	return 1
}

if missing; then
	if [ "$(id -u)" -ne 0 ]; then
		log "installing the browser needs root: apt-get install ${PACKAGES[*]}"
		exit 1
	fi
	# Tests start this script in parallel: one installs, the others wait for it.
	exec 9>/var/lock/learnpath-chromium.lock
	flock 9
fi
if missing; then
	log "installing ${PACKAGES[*]} from Debian (first time only)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update >&2
	apt-get install -y --no-install-recommends "${PACKAGES[@]}" >&2
fi
echo "$CHROMIUM"
