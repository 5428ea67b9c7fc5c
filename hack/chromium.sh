#!/usr/bin/env bash
# Debian's Chromium (and a font with CJK glyphs: the seed's titles are partly Chinese) for the
# browser tests of the roadmap pictures (tests/pictures) and `make pictures`.
#
# Usage: hack/chromium.sh
#   Prints the browser's path on stdout (nothing else); progress goes to stderr.
#   A no-op when /usr/bin/chromium is already there. Needs root for apt-get, as on CI.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

log() { echo "chromium.sh: $*" >&2; }

if [ ! -x "$CHROMIUM" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		log "$CHROMIUM is missing and installing it needs root: apt-get install chromium fonts-wqy-microhei"
		exit 1
	fi
	log "installing chromium from Debian (first time only)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update >&2
	apt-get install -y --no-install-recommends chromium fonts-dejavu-core fonts-wqy-microhei >&2
fi
echo "$CHROMIUM"
