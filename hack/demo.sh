#!/usr/bin/env bash
# make demo: the main job, start to finish, on a throwaway local control plane.
# Build -> start etcd + kube-apiserver -> install CRDs -> apply the examples -> run the
# operator -> wait until every learner is Ready -> show them and one roadmap -> write the cohort
# report and the backend engineer's roadmap page (target/demo/, kept) -> stop everything.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/learnpath-demo.XXXXXX")
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
learnpath=target/debug/learnpath
[ -x "$learnpath" ] || cargo build --locked

say "Starting a local control plane (etcd + kube-apiserver, loopback only)"
hack/cluster.sh up "$dir/cluster" >/dev/null
export KUBECONFIG="$dir/cluster/admin.kubeconfig"
"$kubectl" version

say "Installing the CRDs"
"$kubectl" apply --server-side -k crds/
"$kubectl" wait --for=condition=Established --timeout=60s crd/tracks.learnpath.dev crd/learningpaths.learnpath.dev

say "Applying the go-engineer Track and the seed's learners"
"$kubectl" apply --server-side -k examples/

say "Running the operator"
"$learnpath" run --metrics-addr 127.0.0.1:0 >"$dir/operator.log" 2>&1 &
operator_pid=$!

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

say "Done: every example learner is Ready"
