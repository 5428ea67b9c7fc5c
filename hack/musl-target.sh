#!/usr/bin/env bash
# The static musl build's toolchain, installed when missing: rustup's x86_64/aarch64
# `<arch>-unknown-linux-musl` target, and musl-gcc (Debian musl-tools) for the C that ring and
# jemalloc compile for it (CC_<arch>_unknown_linux_musl=musl-gcc, as in the Dockerfile). Used by
# hack/image.sh and by `make test`/`make e2e`, which build the tests for this target so that the
# image tests/node packs is the test build's own binary (docs/performance.md, "Build time").
#
# Usage: hack/musl-target.sh        prints the target triple
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=SCRIPTDIR/lib.sh
. hack/lib.sh

target="$(uname -m)-unknown-linux-musl"
if ! rustup target list --installed | grep -qx "$target"; then
	rustup target add "$target" >&2
fi
ensure_command musl-gcc musl-tools >&2
echo "$target"
