#!/usr/bin/env bash
# Pack a root filesystem into a one-layer container image, without a container engine: an OCI
# image-layout archive (oci-layout, index.json, blobs/sha256/...) that also carries Docker's
# manifest.json, so `ctr images import`, `docker load`, `podman load` and
# `skopeo copy oci-archive:...` all accept it.
#
# Byte-for-byte reproducible: files are sorted, owned by 0:0, stamped with SOURCE_DATE_EPOCH
# (default 0) and gzip stores no name or time, so the same inputs give the same digest.
#
# Usage: hack/oci-image.sh --rootfs DIR --name NAME[:TAG] --out FILE.tar
#          [--entrypoint PATH] [--cmd ARG]... [--user UID:GID] [--port N] [--label KEY=VALUE]...
# Prints the manifest digest (sha256:...) on stdout.
set -euo pipefail

rootfs="" name="" out="" entrypoint="" user="" port=""
cmd=()
labels=()
while [ $# -gt 0 ]; do
	case "$1" in
	--rootfs) rootfs="$2" ;;
	--name) name="$2" ;;
	--out) out="$2" ;;
	--entrypoint) entrypoint="$2" ;;
	--cmd) cmd+=("$2") ;;
	--user) user="$2" ;;
	--port) port="$2" ;;
	--label) labels+=("$2") ;;
	*)
		sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
		exit 2
		;;
	esac
	shift 2
done
if [ ! -d "$rootfs" ] || [ -z "$name" ] || [ -z "$out" ]; then
	echo "oci-image.sh: --rootfs DIR, --name NAME and --out FILE are required" >&2
	exit 2
fi
epoch="${SOURCE_DATE_EPOCH:-0}"

work="$(mktemp -d "${TMPDIR:-/tmp}/learnpath-oci.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/image/blobs/sha256"

# A deterministic tar of DIR's entries (default: all of it, as ./...): sorted, no atime/ctime
# records, numeric owner 0, every time SOURCE_DATE_EPOCH.
det_tar() {
	local dir="$1"
	shift
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" --format=posix \
		--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
		-C "$dir" -cf - "${@:-.}"
}

# add_blob FILE: move FILE into blobs/ under its digest; prints "sha256:<hex> <size>".
add_blob() {
	local hex size
	hex="$(sha256sum "$1" | cut -d' ' -f1)"
	size="$(stat -c %s "$1")"
	mv "$1" "$work/image/blobs/sha256/$hex"
	echo "sha256:$hex $size"
}

det_tar "$rootfs" >"$work/layer.tar"
diff_id="sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
gzip -n -9 "$work/layer.tar"
read -r layer_digest layer_size < <(add_blob "$work/layer.tar.gz")

# The JSON documents, with sorted keys and no insignificant whitespace.
python3 - "$work" "$name" "$epoch" "$diff_id" "$layer_digest" "$layer_size" "$entrypoint" \
	"$user" "$port" "${#cmd[@]}" "${cmd[@]+"${cmd[@]}"}" "${labels[@]+"${labels[@]}"}" <<'EOF'
import datetime, hashlib, json, os, sys

work, name, epoch, diff_id, layer_digest, layer_size, entrypoint, user, port, ncmd = sys.argv[1:11]
rest = sys.argv[11:]
cmd, labels = rest[: int(ncmd)], rest[int(ncmd):]
blobs = os.path.join(work, "image", "blobs", "sha256")

def dump(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()

def blob(data):
    hexd = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, hexd), "wb") as f:
        f.write(data)
    return "sha256:" + hexd, len(data)

# Docker's normalisation, which the kubelet applies to a Pod's image: learnpath:dev is
# docker.io/library/learnpath:dev.
def normalise(ref):
    first = ref.split("/")[0]
    if "/" not in ref or not ("." in first or ":" in first or first == "localhost"):
        ref = "docker.io/" + ("library/" + ref if "/" not in ref else ref)
    if ":" not in ref.split("/")[-1] and "@" not in ref:
        ref += ":latest"
    return ref

created = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
config = {"Env": ["PATH=/"]}
if entrypoint:
    config["Entrypoint"] = [entrypoint]
if cmd:
    config["Cmd"] = cmd
if user:
    config["User"] = user
if port:
    config["ExposedPorts"] = {port + "/tcp": {}}
if labels:
    config["Labels"] = dict(l.split("=", 1) for l in labels)
image_config = {
    "architecture": "amd64",
    "os": "linux",
    "created": created,
    "config": config,
    "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    "history": [{"created": created, "created_by": "hack/oci-image.sh"}],
}
config_digest, config_size = blob(dump(image_config))
manifest = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": int(layer_size)}],
}
manifest_digest, manifest_size = blob(dump(manifest))
full = normalise(name)
index = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [{
        "mediaType": manifest["mediaType"], "digest": manifest_digest, "size": manifest_size,
        "annotations": {"io.containerd.image.name": full, "org.opencontainers.image.ref.name": full.rsplit(":", 1)[1]},
    }],
}
with open(os.path.join(work, "image", "index.json"), "wb") as f:
    f.write(dump(index))
with open(os.path.join(work, "image", "oci-layout"), "wb") as f:
    f.write(dump({"imageLayoutVersion": "1.0.0"}))
docker = [{"Config": "blobs/sha256/" + config_digest[7:], "RepoTags": [name if ":" in name.split("/")[-1] else name + ":latest"],
           "Layers": ["blobs/sha256/" + layer_digest[7:]]}]
with open(os.path.join(work, "image", "manifest.json"), "wb") as f:
    f.write(dump(docker))
print(manifest_digest)
EOF
# The archive's entries at its root, as docker save writes them.
det_tar "$work/image" oci-layout index.json manifest.json blobs >"$out.tmp"
mv "$out.tmp" "$out"
