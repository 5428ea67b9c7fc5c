#!/usr/bin/env bash
# make image: build the container image with docker or podman when one of them can reach its
# engine; otherwise build the static musl binary and pack the same image without an engine
# (hack/oci-image.sh): target/image/oci/learnpath.tar, an OCI archive that ctr, docker, podman
# and skopeo load, its manifest digest in target/image/oci/digest (the same commit gives the
# same digest) and the CycloneDX SBOM of the Rust dependencies in target/image/oci/learnpath.cdx.json.
#
# Environment: IMAGE (default learnpath:dev), CONTAINER_ENGINE (docker|podman, default: the
# first that works; CONTAINER_ENGINE=none packs without one), IMAGE_PROFILE (cargo profile,
# default release), IMAGE_BINARY (pack this static binary instead of building one), IMAGE_SBOM=0
# (skip the SBOM), IMAGE_TARGET_DIR (default target/image).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=SCRIPTDIR/lib.sh
. hack/lib.sh

IMAGE="${IMAGE:-learnpath:dev}"

engine=""
for candidate in ${CONTAINER_ENGINE:-docker podman}; do
	[ "$candidate" != none ] || break
	if command -v "$candidate" >/dev/null 2>&1 && "$candidate" info >/dev/null 2>&1; then
		engine="$candidate"
		break
	fi
done

if [ -n "$engine" ]; then
	echo "==> $engine build -t $IMAGE ."
	"$engine" build -t "$IMAGE" .
	echo "==> built $IMAGE"
	"$engine" run --rm "$IMAGE" --version
	exit 0
fi

echo "==> no container engine here (docker/podman missing or not running): building the static"
echo "    binary and packing the image with hack/oci-image.sh"
target="$(hack/musl-target.sh)"
# ring and jemalloc compile C for the target: musl-gcc, as in the Dockerfile.
cc_var="CC_${target//-/_}"
export "$cc_var=${!cc_var:-musl-gcc}"
# A target dir of its own, so that this release build never waits on the debug build's lock.
target_dir="${IMAGE_TARGET_DIR:-target/image}"
if [ -n "${IMAGE_BINARY:-}" ]; then
	# A static binary built already (tests/node: the test build's own, compiled for $target by
	# make test), stripped as the profiles below strip theirs.
	bin="$target_dir/learnpath.stripped"
	mkdir -p "$target_dir"
	ensure_command strip binutils
	strip --strip-all -o "$bin" "$IMAGE_BINARY"
else
	# The Dockerfile's stripped release build; IMAGE_PROFILE names another cargo profile
	# (image-test, an unoptimised one: Cargo.toml).
	profile="${IMAGE_PROFILE:-release}"
	export CARGO_PROFILE_RELEASE_STRIP=symbols
	# Under `make test` (tests/node) this runs inside a build that compiles the workspace with
	# clippy's driver (Makefile, CLIPPY_IN_BUILD): the image is compiled by rustc, as `make image` does.
	unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
	cargo build --profile "$profile" --locked --bin learnpath --target "$target" --target-dir "$target_dir"
	profile_dir="$profile"
	if [ "$profile" = dev ]; then profile_dir=debug; fi
	bin="$target_dir/$target/$profile_dir/learnpath"
fi
if ldd "$bin" 2>&1 | grep -q '=>'; then
	echo "error: $bin links shared libraries:" >&2
	ldd "$bin" >&2
	exit 1
fi
"$bin" --version

# The image's file system: the binary, and the CA bundle HTTPS signal sources are checked
# against (distroless/static carries the same Debian bundle).
out_dir="$target_dir/oci"
rootfs="$out_dir/rootfs"
rm -rf "$rootfs"
mkdir -p "$rootfs/etc/ssl/certs"
install -m 0555 "$bin" "$rootfs/learnpath"
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
	install -m 0444 /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
fi
# The commit's time, so that the same commit gives the same digest.
SOURCE_DATE_EPOCH="$(git log -1 --format=%ct 2>/dev/null || echo 0)"
export SOURCE_DATE_EPOCH
archive="$out_dir/learnpath.tar"
version="$("$bin" --version | awk '{print $2}')"
digest="$(hack/oci-image.sh --rootfs "$rootfs" --name "$IMAGE" --out "$archive" \
	--entrypoint /learnpath --cmd run --user 65532:65532 --port 8080 \
	--label org.opencontainers.image.title=learnpath \
	--label org.opencontainers.image.version="$version" \
	--label org.opencontainers.image.licenses=Apache-2.0 \
	--label org.opencontainers.image.source=https://github.com/learnpath/learnpath)"
rm -rf "$rootfs"
echo "$digest" >"$out_dir/digest"
echo "$IMAGE" >"$out_dir/name"

# The SBOM of the Rust dependencies compiled into the binary, beside the archive.
if [ "${IMAGE_SBOM:-1}" = 1 ]; then
	cyclonedx="$(hack/tools.sh cargo-cyclonedx)"
	"$cyclonedx" cyclonedx --format json --target "$target" --spec-version 1.5 \
		--override-filename learnpath.cdx >&2
	mv learnpath.cdx.json "$out_dir/learnpath.cdx.json"
	# It writes one per workspace member; only the operator's crate is in the image.
	rm -f testkit/learnpath.cdx.json
fi
echo "==> $archive: $IMAGE $digest ($(du -h "$archive" | cut -f1)); load it with"
echo "    ctr -n k8s.io images import $archive, docker load -i $archive or podman load -i $archive"
