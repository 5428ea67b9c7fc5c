#!/usr/bin/env bash
# make demo: the main job, start to finish, on a throwaway local cluster.
# Build the image -> start etcd + kube-apiserver and a real node (hack/node.sh) -> import the image
# -> install the CRDs and `helm install` the chart: the operator runs as the release's Pod ->
# apply the examples -> wait until every learner is Ready -> show them and one roadmap -> write
# the cohort report and the backend engineer's roadmap page (target/demo/, kept) -> stop
# everything and undo the node's changes to the machine.
# The node needs root; without it the operator runs as a process beside the control plane.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/learnpath-demo.XXXXXX")
node=0
if [ "$(id -u)" = 0 ]; then node=1; fi
operator_pid=""
cleanup() {
	local rc=$?
	if [ -n "$operator_pid" ]; then
		kill -TERM "$operator_pid" 2>/dev/null || true
		wait "$operator_pid" 2>/dev/null || true
	fi
	hack/cluster.sh down "$dir/cluster" >/dev/null 2>&1 || true
	if [ "$rc" -ne 0 ]; then
		echo "demo failed (exit $rc); logs kept in $dir" >&2
	else
		rm -rf "$dir"
	fi
	exit "$rc"
}
trap cleanup EXIT

kubectl=$(hack/bin-path.sh kubectl)
helm=$(hack/bin-path.sh helm)
learnpath=target/debug/learnpath
[ -x "$learnpath" ] || cargo build --locked
export HELM_CONFIG_HOME="$dir/helm/config" HELM_CACHE_HOME="$dir/helm/cache" HELM_DATA_HOME="$dir/helm/data"

if [ "$node" = 1 ]; then
	say "Building the operator's image (static binary, packed without a container engine)"
	# Its release build under the cache, shared with tests/node: a fresh clone rebuilds only
	# learnpath itself.
	image_dir="${LEARNPATH_CACHE:-$HOME/.cache/learnpath}/image-target"
	CONTAINER_ENGINE=none IMAGE=learnpath:demo IMAGE_TARGET_DIR="$image_dir" hack/image.sh
	say "Starting a local control plane and a node (containerd, kubelet, scheduler, kube-proxy)"
	LEARNPATH_NODE=1 hack/cluster.sh up "$dir/cluster" >/dev/null
	hack/node.sh import "$dir/cluster" "$image_dir/oci/learnpath.tar"
else
	say "Starting a local control plane (etcd + kube-apiserver, loopback only; no node without root)"
	hack/cluster.sh up "$dir/cluster" >/dev/null
fi
export KUBECONFIG="$dir/cluster/admin.kubeconfig"
"$kubectl" version

say "Installing the CRDs"
"$kubectl" apply --server-side -k crds/
# kubectl wait fails at once (".status.conditions accessor error") on a CRD the API server has
# not given a status yet, instead of waiting: try again for a few seconds.
for attempt in 1 2 3 4 5; do
	if "$kubectl" wait --for=condition=Established --timeout=60s crd/tracks.learnpath.dev crd/learningpaths.learnpath.dev; then
		break
	fi
	[ "$attempt" -lt 5 ] || exit 1
	sleep 1
done

if [ "$node" = 1 ]; then
	say "helm install learnpath charts/learnpath: the operator as the release's Pod"
	"$kubectl" create namespace learnpath-system
	"$kubectl" label namespace learnpath-system pod-security.kubernetes.io/enforce=restricted
	"$helm" install learnpath charts/learnpath -n learnpath-system --set crds.enabled=false \
		--set image.repository=learnpath --set image.tag=demo --wait --timeout 180s
	say "kubectl get pods -n learnpath-system"
	"$kubectl" get pods -n learnpath-system -o wide
else
	say "Running the operator"
	"$learnpath" run --metrics-addr 127.0.0.1:0 >"$dir/operator.log" 2>&1 &
	operator_pid=$!
fi

say "Applying the go-engineer Track and the seed's learners"
"$kubectl" apply --server-side -k examples/

"$kubectl" wait --for=condition=Ready --timeout=120s learningpaths --all -n learners

say "kubectl get lp -A"
"$kubectl" get lp -A
say "kubectl get trk"
"$kubectl" get trk

say "The backend engineer's roadmap (from the status the operator wrote)"
"$kubectl" get lp backend-engineer -n learners -o json | "$learnpath" show -f -

say "As a Mermaid diagram (first lines)"
"$kubectl" get lp backend-engineer -n learners -o json | "$learnpath" show -f - -o mermaid | head -12
say "Pictures: the cohort report and the backend engineer's roadmap, as HTML"
out=target/demo
rm -rf "$out" && mkdir -p "$out"
"$learnpath" report --out-dir "$out/report"
"$kubectl" get lp backend-engineer -n learners -o json |
	"$learnpath" show -f - -o html --track examples/tracks/go-engineer.yaml >"$out/backend-engineer.html"
echo "cohort report:           $PWD/$out/report/index.html"
echo "backend engineer's page: $PWD/$out/backend-engineer.html"

if [ "$node" = 1 ]; then
	say "The operator Pod, still Running and Ready"
	"$kubectl" get pods -n learnpath-system
fi
say "Done: every example learner is Ready"
