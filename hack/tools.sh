#!/usr/bin/env bash
# Pinned cargo subcommands the Makefile needs (cargo-fuzz, cargo-deny, cargo-cyclonedx), installed from crates.io
# with `cargo install --locked` into their own root under the cache and reused from there.
#
# Usage: hack/tools.sh cargo-fuzz|cargo-deny|cargo-cyclonedx
#   Prints the absolute path of the binary on stdout (nothing else); progress goes to stderr.
#   A no-op when the pinned version is already cached.
#
# Cache: $LEARNPATH_CACHE/tools/<name>-<version>/bin/<name> (default ~/.cache/learnpath), and
# $LEARNPATH_CACHE/tools/target, the build directory the three share.
# Bump a pin here; the old directory is simply no longer used.
set -euo pipefail

# Pins. Both build with Rust 1.95 stable from crates.io alone (no git dependencies).
CARGO_FUZZ_VERSION=0.13.2
CARGO_DENY_VERSION=0.20.2
# The image's SBOM (hack/image.sh): CycloneDX, the OWASP format the seed's pipeline publishes.
CARGO_CYCLONEDX_VERSION=0.5.9

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/lib.sh
. "$here/lib.sh"
CARGO="${CARGO:-cargo}"

if [ $# -ne 1 ]; then
	echo "usage: $0 cargo-fuzz|cargo-deny|cargo-cyclonedx" >&2
	exit 2
fi

name="$1"
case "$name" in
cargo-fuzz) version="$CARGO_FUZZ_VERSION" ;;
cargo-deny) version="$CARGO_DENY_VERSION" ;;
cargo-cyclonedx) version="$CARGO_CYCLONEDX_VERSION" ;;
*)
	echo "tools.sh: unknown tool '$name' (known: cargo-fuzz, cargo-deny, cargo-cyclonedx)" >&2
	exit 2
	;;
esac

root="$CACHE/tools/$name-$version"
bin="$root/bin/$name"

# A binary that answers with the pinned version is the cache hit; anything else is rebuilt.
cached_ok() {
	[ -x "$bin" ] && "$bin" "${name#cargo-}" --version 2>/dev/null | grep -qF "$version"
}

if cached_ok; then
	echo "$bin"
	exit 0
fi

mkdir -p "$CACHE/tools"
# One installer at a time per tool (parallel make, two checkouts sharing the cache).
take_lock "$CACHE/tools/.$name.lock"
if cached_ok; then
	echo "$bin"
	exit 0
fi

log "installing $name $version into $root (a few minutes on a cold cache)"
start=$(date +%s)
# Build in a private target dir (no clash with the project's target/ or another install), and
# install into a temporary root that is renamed into place, so an interrupted install never
# leaves a half-populated cache entry behind.
new_tmp_dir tmp "$CACHE/tools/.$name-$version.tmp.$$"
# The tools' own release profiles optimise for speed at run time (opt-level 3, some with LTO);
# here they run for seconds, on one workspace, once per `make test`, while a machine with nothing
# cached spends minutes compiling them. Cargo lays config profiles over the manifest's, so these
# settings trade those minutes for run time nobody waits for (docs/performance.md, "Build time").
# `cargo install` makes the tool its own workspace: clippy's driver, when a `make test` build that
# lints (Makefile, CLIPPY_IN_BUILD) runs this, must not lint the tool.
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
# One target dir for the three tools, kept: the crates they have in common at the same version
# (clap, serde, cargo_metadata, ...) compile once, whichever installs first. Cargo's own lock on
# the directory serialises two installs.
CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
	CARGO_PROFILE_RELEASE_LTO=false \
	CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
	CARGO_PROFILE_RELEASE_DEBUG=false \
	CARGO_PROFILE_RELEASE_INCREMENTAL=false \
	CARGO_TARGET_DIR="$CACHE/tools/target" "$CARGO" install --locked \
	--version "$version" --root "$tmp/root" "$name" >&2
install_entry "$tmp/root" "$root"

if ! cached_ok; then
	log "$bin does not report version $version after install"
	"$bin" "${name#cargo-}" --version >&2 || true
	exit 1
fi
log "$("$bin" "${name#cargo-}" --version) installed in $(($(date +%s) - start)) s"
echo "$bin"
