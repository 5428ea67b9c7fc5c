#!/usr/bin/env bash
# make image: build the container image with docker or podman when one of them can reach its
# engine; otherwise build (and check) the static musl binary the image would package, say so,
# and exit 0.
#
# Environment: IMAGE (default learnpath:dev), CONTAINER_ENGINE (docker|podman, default: the
# first that works).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE="${IMAGE:-learnpath:dev}"

engine=""
for candidate in ${CONTAINER_ENGINE:-docker podman}; do
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
echo "    binary the image would package instead"
arch="$(uname -m)"
target="$arch-unknown-linux-musl"
if ! rustup target list --installed | grep -qx "$target"; then
	rustup target add "$target"
fi
# ring compiles C and assembly for the target: musl-gcc when musl-tools is installed (as in the
# Dockerfile); otherwise the host's gcc, which works for ring's freestanding sources.
cc_var="CC_${arch}_unknown_linux_musl"
if [ -z "${!cc_var:-}" ]; then
	if command -v musl-gcc >/dev/null 2>&1; then
		export "$cc_var=musl-gcc"
	else
		export "$cc_var=${CC:-gcc}"
	fi
fi
# A target dir of its own, so that this release build never waits on the debug build's lock.
target_dir="${IMAGE_TARGET_DIR:-target/image}"
cargo build --release --locked --bin learnpath --target "$target" --target-dir "$target_dir"
bin="$target_dir/$target/release/learnpath"
if command -v file >/dev/null 2>&1; then
	desc="$(file -L "$bin")"
	case "$desc" in
	*"statically linked"* | *"static-pie linked"*) ;;
	*)
		echo "error: $bin is not static: $desc" >&2
		exit 1
		;;
	esac
fi
if ldd "$bin" 2>&1 | grep -q '=>'; then
	echo "error: $bin links shared libraries:" >&2
	ldd "$bin" >&2
	exit 1
fi
"$bin" --version
echo "==> $bin is static ($(du -h "$bin" | cut -f1)); the Dockerfile copies this binary onto"
echo "    gcr.io/distroless/static-debian12:nonroot as user 65532"
