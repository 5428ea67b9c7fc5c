#!/usr/bin/env bash
# shellcheck disable=SC2013 # pid files hold one integer per line: word splitting is right
# A real, throwaway Kubernetes control plane (etcd + kube-apiserver +
# kube-controller-manager) on 127.0.0.1, for development, e2e tests and CI.
# There are no nodes, kubelet or scheduler: Pods are stored but never run, unless
# LEARNPATH_NODE=1 adds a real node (hack/node.sh: containerd, kubelet, kube-scheduler,
# kube-proxy; needs root), stopped and undone with the control plane.
# Binaries come from hack/build-controlplane.sh (see hack/bin-path.sh).
#
# Usage:
#   hack/cluster.sh up [DIR]        start (or reuse a ready one) in DIR, detached;
#                                   prints `export KUBECONFIG=DIR/admin.kubeconfig`
#   hack/cluster.sh down [DIR]      stop everything started from DIR
#   hack/cluster.sh supervise DIR   for test harnesses: start in DIR, print exactly
#                                   `READY DIR/admin.kubeconfig` (or `FAILED reason`)
#                                   on stdout, then run until stdin hits EOF or a
#                                   TERM/INT/HUP arrives, then stop everything and
#                                   remove DIR/etcd-data (logs stay).
#                                   Meanwhile each stdin line is a fault to inject,
#                                   answered by one `OK ...` or `ERR reason` line:
#                                     kill etcd|apiserver|kcm   SIGKILL, wait until gone
#                                     stop etcd|apiserver|kcm   SIGTERM (KILL after 20s)
#                                     start etcd|apiserver|kcm  same flags, ports and data;
#                                                               answers once it is ready
# DIR defaults to $LEARNPATH_CACHE/cluster (~/.cache/learnpath/cluster).
#
# State written to DIR:
#   admin.kubeconfig  CN=admin, O=system:masters (cluster-admin via RBAC)
#   user.kubeconfig   CN=learnpath-e2e, O=learnpath:e2e: authenticated but NOT
#                     authorized for anything; tests grant it what they need
#   env               KEY=VALUE lines (APISERVER_URL, KUBECONFIG, ...), written
#                     only once the control plane is ready
#   pids              one pid per line, in start order
#   etcd.log apiserver.log kcm.log, certs/, etcd-data/
#
# Environment knobs:
#   LEARNPATH_ETCD_UNSAFE_NO_FSYNC=1   run etcd without fsync (faster, unsafe)
#   LEARNPATH_READY_TIMEOUT=180        seconds to wait for each component
#   LEARNPATH_KCM_CONTROLLERS=...      override the controller list
#   LEARNPATH_APISERVER_ARGS="..."     extra kube-apiserver flags (word-split)
#   LEARNPATH_NODE=1                   run a node too (hack/node.sh); the API server then
#                                      listens on every address and advertises the host's,
#                                      where Pods reach it through the kubernetes Service
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/versions.env
. "$here/versions.env"
LOG_TAG=cluster
# Only the cache root and log: this script manages its own traps (see supervise).
# shellcheck source=SCRIPTDIR/lib.sh
. "$here/lib.sh"

READY_TIMEOUT="${LEARNPATH_READY_TIMEOUT:-180}"
# Controllers that do something useful without nodes. Notably absent: anything
# scheduling/node/volume/cloud related, and the workload controllers
# (deployment, replicaset, job, ...) so objects created by tests stay exactly
# as the code under test left them.
KCM_CONTROLLERS="${LEARNPATH_KCM_CONTROLLERS:-serviceaccount-token-controller,serviceaccount-controller,garbage-collector-controller,namespace-controller,clusterrole-aggregation-controller,root-ca-certificate-publisher-controller,resourcequota-controller}"
NODE="${LEARNPATH_NODE:-0}"
if [ "$NODE" = 1 ]; then
	# With a node, Deployments, ReplicaSets, EndpointSlices and PodDisruptionBudgets must be
	# reconciled as in any cluster: every default controller.
	KCM_CONTROLLERS="${LEARNPATH_KCM_CONTROLLERS:-*}"
fi
# Identity in user.kubeconfig; exported in the env file so tests need not hardcode it.
E2E_USER=learnpath-e2e
E2E_GROUP=learnpath:e2e

MODE=up # or supervise; decides how children are launched and who stops them
# Per component (etcd, apiserver, kcm): its pid, and its command line in ETCD_CMD,
# APISERVER_CMD and KCM_CMD, so that a supervisor can restart it exactly as it was.
declare -A PID_OF=()
ETCD_CMD=()
APISERVER_CMD=()
KCM_CMD=()
# A restarted component appends to its log and takes its predecessor's line in the pids file.
RESTART_OF=""

die() {
	FAIL_REASON="$*"
	log "error: $*"
	exit 1
}

usage() {
	sed -n '3,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

# ---------------------------------------------------------------------------
# State directory and process bookkeeping

# set_dir DIR [create]: resolve DIR to an absolute path and derive file names.
set_dir() {
	local d="$1"
	if [ "${2:-}" = create ]; then
		mkdir -p "$d"
	fi
	if [ -d "$d" ]; then
		D="$(cd "$d" && pwd -P)"
	else
		case "$d" in /*) D="$d" ;; *) D="$PWD/$d" ;; esac
	fi
	# Paths end up unquoted in the env file and in flag values.
	case "$D" in *[[:space:]]*) die "state dir must not contain whitespace: '$D'" ;; esac
	PIDS="$D/pids"
	ENVF="$D/env"
	CERTS="$D/certs"
}

# lock_dir: serialise up/down/supervise start-up on one DIR. fd 9 is closed in
# every child so a long-running etcd never inherits (and holds) the lock.
lock_dir() {
	exec 9>"$D/.lock"
	flock -w 600 9 || die "timed out waiting for lock $D/.lock"
}
unlock_dir() { exec 9>&-; }

# owned PID: the process was started from this state dir (every component gets
# a flag pointing into $D). Guards against killing an unrelated process that
# reused a pid from a stale pids file.
owned() {
	tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$D/"
}

# stop_all: stop every owned pid in the pids file, newest first (kcm, then
# apiserver, then etcd), TERM then KILL, and wait until each is really gone.
stop_all() {
	if [ -d "$D/node" ]; then
		"$here/node.sh" down "$D" || log "hack/node.sh down $D failed"
	fi
	[ -f "$PIDS" ] || return 0
	local pid
	for pid in $(tac "$PIDS"); do
		if alive "$pid" && owned "$pid"; then
			log "stopping pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-60)...)"
			kill -TERM "$pid" 2>/dev/null || true
			if ! wait_gone "$pid" 10; then
				log "pid $pid ignored TERM for 10s; sending KILL"
				kill -KILL "$pid" 2>/dev/null || true
				wait_gone "$pid" 10 || log "pid $pid still present after KILL"
			fi
		fi
		# Reap if it is our child (supervise mode); harmless otherwise.
		wait "$pid" 2>/dev/null || true
	done
	rm -f "$PIDS" "$ENVF"
}

# start_proc NAME CMD...: launch one component with its output in DIR/NAME.log
# and record its pid before anything else can fail.
start_proc() {
	local name="$1"
	shift
	local launcher=()
	if [ "$MODE" = supervise ]; then
		# If this script is SIGKILLed it cannot clean up; have the kernel kill
		# the children when their parent (this shell) dies.
		if command -v setpriv >/dev/null 2>&1; then
			launcher=(setpriv --pdeathsig KILL --)
		fi
	else
		# Detach from the caller's session so Ctrl-C in that terminal or the
		# end of a make/CI step does not take the cluster down with it.
		launcher=(setsid)
	fi
	# Not a process-group leader here (no job control), so setsid/setpriv
	# exec in place and $! is the component's own pid. stdio and the extra
	# fds are cut off so no pipe of our caller stays open in the child.
	if [ -n "$RESTART_OF" ]; then
		"${launcher[@]}" "$@" </dev/null >>"$D/$name.log" 2>&1 3>&- 4>&- 9>&- &
		sed -i "s/^$RESTART_OF\$/$!/" "$PIDS"
	else
		"${launcher[@]}" "$@" </dev/null >"$D/$name.log" 2>&1 3>&- 4>&- 9>&- &
		echo "$!" >>"$PIDS"
	fi
	PID_OF[$name]=$!
	log "started $name (pid $!), log $D/$name.log"
}

# ---------------------------------------------------------------------------
# Certificates and kubeconfigs

free_ports() { # N -> N distinct free loopback ports, space separated
	# Bind them all before releasing any so the N ports are distinct.
	python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# ECDSA P-256: generating six RSA keys takes seconds on a busy CI box, EC keys
# take milliseconds, and Go, rustls and openssl clients all accept them (PKCS#8).
gen_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# sign NAME SUBJECT EXTENSIONS CA: key + cert signed by CA (ca or client-ca).
sign() {
	local name="$1" subj="$2" ext="$3" ca="$4"
	gen_key "$CERTS/$name.key"
	openssl req -new -key "$CERTS/$name.key" -subj "$subj" -config "$CERTS/openssl.cnf" \
		-out "$CERTS/$name.csr"
	openssl x509 -req -sha256 -days 3650 -in "$CERTS/$name.csr" \
		-CA "$CERTS/$ca.crt" -CAkey "$CERTS/$ca.key" -set_serial "0x$(openssl rand -hex 16)" \
		-extfile "$CERTS/openssl.cnf" -extensions "$ext" -out "$CERTS/$name.crt" 2>/dev/null
	rm -f "$CERTS/$name.csr"
}

gen_certs() {
	rm -rf "$CERTS"
	mkdir -p "$CERTS"
	chmod 700 "$CERTS"
	# Explicit extensions (not the distro openssl.cnf defaults): rustls/webpki,
	# used by the Rust client, rejects certs without proper CA/EKU/SAN fields.
	cat >"$CERTS/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
[dn]
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = IP:127.0.0.1, IP:10.0.0.1, DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local
[v3_client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
	local ca
	for ca in ca:learnpath-serving-ca client-ca:learnpath-client-ca; do
		gen_key "$CERTS/${ca%%:*}.key"
		openssl req -x509 -new -sha256 -days 3650 -key "$CERTS/${ca%%:*}.key" \
			-subj "/CN=${ca#*:}" -config "$CERTS/openssl.cnf" -extensions v3_ca \
			-out "$CERTS/${ca%%:*}.crt"
	done
	sign apiserver "/CN=kube-apiserver" v3_server ca
	sign admin "/O=system:masters/CN=admin" v3_client client-ca
	sign user "/O=$E2E_GROUP/CN=$E2E_USER" v3_client client-ca
	# Service-account token signing pair (apiserver signs, kcm's token
	# controller signs legacy tokens, both verify with the public half).
	gen_key "$CERTS/sa.key"
	openssl pkey -in "$CERTS/sa.key" -pubout -out "$CERTS/sa.pub" 2>/dev/null
}

b64() { base64 <"$1" | tr -d '\n'; }

# write_kubeconfig FILE USER CERTNAME: self-contained (embedded data) so the
# file can be copied or mounted anywhere.
write_kubeconfig() {
	local file="$1" user="$2" cert="$3"
	cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: learnpath
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(b64 "$CERTS/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(b64 "$CERTS/$cert.crt")
    client-key-data: $(b64 "$CERTS/$cert.key")
contexts:
- name: learnpath-$user
  context:
    cluster: learnpath
    user: $user
    namespace: default
current-context: learnpath-$user
EOF
	chmod 600 "$file.tmp"
	mv "$file.tmp" "$file"
}

# ---------------------------------------------------------------------------
# Start-up

# curl_admin PATH: GET against the apiserver as admin; body on stdout.
curl_admin() {
	curl -sS --fail --max-time 5 --cacert "$CERTS/ca.crt" \
		--cert "$CERTS/admin.crt" --key "$CERTS/admin.key" \
		"https://127.0.0.1:$APISERVER_PORT$1" 2>/dev/null
}

# wait_for NAME PID CHECK-FUNCTION [WHAT]: poll CHECK until it succeeds, the
# process NAME (log DIR/NAME.log) exits, or READY_TIMEOUT passes. Sets
# FAIL_REASON on failure.
wait_for() {
	local name="$1" pid="$2" check="$3" what="${4:-$1 ready}"
	local deadline=$((SECONDS + READY_TIMEOUT)) start=$SECONDS
	while ! "$check"; do
		if ! alive "$pid"; then
			FAIL_REASON="$name exited during start-up (see $D/$name.log)"
			return 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			FAIL_REASON="$name: no '$what' after ${READY_TIMEOUT}s (see $D/$name.log)"
			return 1
		fi
		sleep 0.25
	done
	log "$what after $((SECONDS - start))s"
}

etcd_healthy() { curl -sS --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"'; }
apiserver_ready() { [ "$(curl_admin /readyz)" = ok ]; }
kcm_healthy() {
	# Self-signed serving cert (generated by kcm), hence -k; loopback only.
	[ "$(curl -sSk --max-time 2 "https://127.0.0.1:$KCM_PORT/healthz" 2>/dev/null)" = ok ]
}
# The default ServiceAccount appears once kcm's controllers are really running;
# tests creating Pods or TokenRequests need it, so count it as part of "ready".
default_sa_exists() { curl_admin /api/v1/namespaces/default/serviceaccounts/default >/dev/null; }

# try_start: one attempt on fresh ports. Returns 0 when ready, 1 on failure
# (FAIL_REASON set), 2 when a port was grabbed by someone else in between
# picking and binding it (worth retrying with new ports).
try_start() {
	local ports etcd_bin apiserver_bin kcm_bin
	etcd_bin="$("$here/bin-path.sh" etcd)" || { FAIL_REASON="etcd not built; run make controlplane"; return 1; }
	apiserver_bin="$("$here/bin-path.sh" kube-apiserver)" || { FAIL_REASON="kube-apiserver not built; run make controlplane"; return 1; }
	kcm_bin="$("$here/bin-path.sh" kube-controller-manager)" || { FAIL_REASON="kube-controller-manager not built; run make controlplane"; return 1; }

	ports="$(free_ports 4)" || { FAIL_REASON="could not pick free ports"; return 1; }
	read -r ETCD_PORT ETCD_PEER_PORT APISERVER_PORT KCM_PORT <<<"$ports"

	# A fresh, empty cluster every start: tests must not see leftovers.
	# (set -e does not apply inside this function: it runs as `try_start || ...`.)
	rm -rf "$D/etcd-data" "$D/kcm-certs" "$D"/*.log
	if ! write_kubeconfig "$D/admin.kubeconfig" admin admin ||
		! write_kubeconfig "$D/user.kubeconfig" "$E2E_USER" user ||
		# kcm gets its own copy so tests can freely edit admin.kubeconfig.
		! cp "$D/admin.kubeconfig" "$D/kcm.kubeconfig"; then
		FAIL_REASON="could not write kubeconfigs into $D"
		return 1
	fi

	local etcd_args=(
		--name=learnpath
		--data-dir="$D/etcd-data"
		--listen-client-urls="http://127.0.0.1:$ETCD_PORT"
		--advertise-client-urls="http://127.0.0.1:$ETCD_PORT"
		--listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT"
		--initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT"
		--initial-cluster="learnpath=http://127.0.0.1:$ETCD_PEER_PORT"
		--initial-cluster-state=new
		# Default 2GiB quota is plenty; a smaller snapshot interval keeps the
		# WAL (and disk use of long test runs) small.
		--snapshot-count=10000
	)
	if [ "${LEARNPATH_ETCD_UNSAFE_NO_FSYNC:-0}" = 1 ]; then
		etcd_args+=(--unsafe-no-fsync)
	fi
	ETCD_CMD=("$etcd_bin" "${etcd_args[@]}")
	start_proc etcd "${ETCD_CMD[@]}"
	local etcd_pid=$!
	wait_for etcd "$etcd_pid" etcd_healthy || return "$(retry_code etcd)"

	local apiserver_args=()
	if [ "$NODE" = 1 ]; then
		local host_ip
		host_ip="$("$here/node.sh" host-ip)"
		[ -n "$host_ip" ] || { FAIL_REASON="no host address for the node's Pods to reach"; return 1; }
		apiserver_args+=(
			# Pods reach the API server at the host's address, through the `kubernetes`
			# Service whose endpoint the lease reconciler keeps.
			--advertise-address="$host_ip"
			--endpoint-reconciler-type=lease
			--bind-address=0.0.0.0
			# `kubectl logs`: the kubelet's own address, and a client cert it trusts.
			--kubelet-preferred-address-types=InternalIP
			--kubelet-client-certificate="$CERTS/admin.crt"
			--kubelet-client-key="$CERTS/admin.key"
		)
	else
		apiserver_args+=(
			--advertise-address=127.0.0.1
			# The default (lease) reconciler refuses a loopback advertise address
			# ("may not be in the loopback range"). Nothing here runs in-cluster
			# clients, so the `kubernetes` Service simply gets no Endpoints.
			--endpoint-reconciler-type=none
			--bind-address=127.0.0.1
		)
	fi
	apiserver_args+=(
		--secure-port="$APISERVER_PORT"
		--etcd-servers="http://127.0.0.1:$ETCD_PORT"
		--client-ca-file="$CERTS/client-ca.crt"
		--tls-cert-file="$CERTS/apiserver.crt"
		--tls-private-key-file="$CERTS/apiserver.key"
		# Otherwise it may try to write self-signed certs under /var/run.
		--cert-dir="$CERTS"
		--authorization-mode=RBAC
		--service-account-issuer=https://kubernetes.default.svc
		--service-account-key-file="$CERTS/sa.pub"
		--service-account-signing-key-file="$CERTS/sa.key"
		--service-cluster-ip-range=10.0.0.0/24
	)
	# shellcheck disable=SC2206 # word splitting is the point
	apiserver_args+=(${LEARNPATH_APISERVER_ARGS:-})
	APISERVER_CMD=("$apiserver_bin" "${apiserver_args[@]}")
	start_proc apiserver "${APISERVER_CMD[@]}"
	local apiserver_pid=$!
	if ! wait_for apiserver "$apiserver_pid" apiserver_ready; then
		log "last lines of $D/apiserver.log:"
		tail -n 20 "$D/apiserver.log" >&2 || true
		return "$(retry_code apiserver)"
	fi

	KCM_CMD=("$kcm_bin"
		--kubeconfig="$D/kcm.kubeconfig"
		--authentication-kubeconfig="$D/kcm.kubeconfig"
		--authorization-kubeconfig="$D/kcm.kubeconfig"
		--bind-address=127.0.0.1
		--secure-port="$KCM_PORT"
		--cert-dir="$D/kcm-certs"
		--controllers="$KCM_CONTROLLERS"
		--service-account-private-key-file="$CERTS/sa.key"
		--root-ca-file="$CERTS/ca.crt"
		--leader-elect=false)
	start_proc kcm "${KCM_CMD[@]}"
	local kcm_pid=$!
	if ! wait_for kcm "$kcm_pid" kcm_healthy; then
		log "last lines of $D/kcm.log:"
		tail -n 20 "$D/kcm.log" >&2 || true
		return "$(retry_code kcm)"
	fi
	wait_for kcm "$kcm_pid" default_sa_exists "default ServiceAccount created" || return 1

	local kubectl_bin helm_bin
	kubectl_bin="$("$here/bin-path.sh" kubectl 2>/dev/null || true)"
	helm_bin="$("$here/bin-path.sh" helm 2>/dev/null || true)"
	cat >"$ENVF.tmp" <<EOF || { FAIL_REASON="could not write $ENVF"; return 1; }
LEARNPATH_CLUSTER_DIR=$D
K8S_VERSION=$K8S_VERSION
APISERVER_URL=https://127.0.0.1:$APISERVER_PORT
ETCD_URL=http://127.0.0.1:$ETCD_PORT
KUBECONFIG=$D/admin.kubeconfig
ADMIN_KUBECONFIG=$D/admin.kubeconfig
USER_KUBECONFIG=$D/user.kubeconfig
E2E_USER=$E2E_USER
E2E_GROUP=$E2E_GROUP
CA_CERT=$CERTS/ca.crt
ADMIN_CERT=$CERTS/admin.crt
ADMIN_KEY=$CERTS/admin.key
USER_CERT=$CERTS/user.crt
USER_KEY=$CERTS/user.key
KUBECTL=$kubectl_bin
HELM=$helm_bin
EOF
	mv "$ENVF.tmp" "$ENVF" || { FAIL_REASON="could not write $ENVF"; return 1; }
	if [ "$NODE" = 1 ]; then
		"$here/node.sh" up "$D" || { FAIL_REASON="the node did not start (see $D/node-logs)"; return 1; }
	fi
}

# retry_code NAME: 2 if NAME's log says a port was taken, else 1.
retry_code() {
	if grep -qi 'address already in use' "$D/$1.log" 2>/dev/null; then echo 2; else echo 1; fi
}

# start_cluster: up to 3 attempts (only port races are retried). Call it as a
# plain command, not in `if`/`||`, so that set -e covers gen_certs; on failure
# the script exits and the caller's EXIT trap cleans up.
start_cluster() {
	local attempt rc started=$SECONDS
	gen_certs
	for attempt in 1 2 3; do
		rc=0
		FAIL_REASON=""
		try_start || rc=$?
		if [ "$rc" = 0 ]; then
			log "control plane ready in $((SECONDS - started))s: https://127.0.0.1:$APISERVER_PORT (state $D)"
			return 0
		fi
		stop_all
		if [ "$rc" != 2 ]; then
			break
		fi
		log "port conflict on attempt $attempt; retrying with new ports"
		FAIL_REASON="port conflicts on every attempt"
	done
	log "start-up failed: $FAIL_REASON"
	return 1
}

# running_and_ready: a cluster from a previous `up` in $D is still serving.
running_and_ready() {
	[ -s "$PIDS" ] && [ -f "$ENVF" ] || return 1
	if [ "$NODE" = 1 ] && [ ! -d "$D/node" ]; then return 1; fi
	local pid
	for pid in $(cat "$PIDS"); do
		alive "$pid" && owned "$pid" || return 1
	done
	APISERVER_PORT="$(sed -n 's|^APISERVER_URL=https://127.0.0.1:||p' "$ENVF")"
	[ -n "$APISERVER_PORT" ] && apiserver_ready
}

# ---------------------------------------------------------------------------
# Subcommands

cmd_up() {
	set_dir "${1:-$CACHE/cluster}" create
	lock_dir
	if running_and_ready; then
		log "reusing running control plane in $D"
	else
		stop_all # leftovers of a crashed/half-dead previous run
		# Anything started before a failure must not outlive this script.
		trap 'stop_all' EXIT
		start_cluster
		trap - EXIT
	fi
	unlock_dir
	echo "export KUBECONFIG=$D/admin.kubeconfig"
}

cmd_down() {
	set_dir "${1:-$CACHE/cluster}"
	if [ ! -d "$D" ]; then
		log "nothing to stop: $D does not exist"
		return 0
	fi
	lock_dir
	stop_all
	unlock_dir
	log "stopped control plane in $D"
}

cmd_supervise() {
	[ $# -eq 1 ] || usage
	MODE=supervise
	# stdout carries exactly one protocol line; everything else goes to stderr.
	exec 3>&1 1>&2
	# Keep a handle on stdin: background jobs get /dev/null by default.
	exec 4<&0
	# Writes to a dead reader must fail (and be ignored), not kill us mid-cleanup.
	trap '' PIPE
	PROTOCOL_DONE=0
	# shellcheck disable=SC2317,SC2329 # invoked via trap (SC2317 up to shellcheck 0.9, SC2329 after)
	supervise_cleanup() {
		local rc=$?
		trap '' TERM INT HUP
		# Whatever went wrong before READY (bad DIR, openssl, a signal...), the
		# harness gets its one line.
		if [ "$PROTOCOL_DONE" = 0 ]; then
			echo "FAILED ${FAIL_REASON:-aborted (exit $rc)}" >&3 || true
		fi
		if [ -n "${PIDS:-}" ]; then stop_all; fi
		# A test cluster's data is of no use once etcd has stopped, and the harness keeps
		# its shared cluster's DIR (logs) for whoever debugs a failure: a benchmark would
		# otherwise leave a gigabyte of etcd data behind each run.
		if [ -n "${D:-}" ]; then rm -rf "$D/etcd-data"; fi
		log "supervise: stopped (exit $rc)"
		exit "$rc"
	}
	trap supervise_cleanup EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	trap 'exit 129' HUP

	set_dir "$1" create
	lock_dir
	stop_all # a previous supervisor that was SIGKILLed without setpriv
	start_cluster # exits (-> FAILED line via the trap) on failure
	unlock_dir
	echo "READY $D/admin.kubeconfig" >&3 || true
	PROTOCOL_DONE=1

	# EOF on stdin == the test process is gone (exited, panicked or SIGKILLed).
	# Until then each line is a command; read times out every second so that
	# TERM/INT/HUP are handled promptly and dead components get reported.
	local pid line rc
	REPORTED=""
	while true; do
		rc=0
		IFS= read -r -t 1 line <&4 || rc=$?
		if [ "$rc" = 0 ]; then
			# shellcheck disable=SC2086 # a command is words
			control $line || reply "ERR $line: $FAIL_REASON"
		elif [ "$rc" -le 128 ]; then
			break
		fi
		for pid in $(cat "$PIDS" 2>/dev/null); do
			if ! alive "$pid" && [[ " $REPORTED " != *" $pid "* ]]; then
				log "supervise: pid $pid exited unexpectedly; logs in $D"
				REPORTED="$REPORTED $pid"
			fi
		done
	done
	log "supervise: stdin closed, shutting down"
	exit 0
}

# reply LINE: one answer line to the harness.
reply() { echo "$*" >&3 || true; }

# control VERB COMPONENT: a fault injected by the harness (see usage).
control() {
	local verb="${1:-}" name="${2:-}" pid check
	FAIL_REASON="usage: kill|stop|start etcd|apiserver|kcm"
	case "$name" in
	etcd) check=etcd_healthy ;;
	apiserver) check=apiserver_ready ;;
	kcm) check=kcm_healthy ;;
	*) return 1 ;;
	esac
	pid="${PID_OF[$name]:-}"
	case "$verb" in
	kill | stop)
		# Known to be going away: not "exited unexpectedly".
		REPORTED="$REPORTED $pid"
		if [ -n "$pid" ] && alive "$pid"; then
			log "supervise: ${verb}ing $name (pid $pid)"
			if [ "$verb" = kill ]; then kill -KILL "$pid"; else kill -TERM "$pid"; fi
			if ! wait_gone "$pid" 20; then
				kill -KILL "$pid" 2>/dev/null || true
				wait_gone "$pid" 10 || { FAIL_REASON="pid $pid survived KILL"; return 1; }
			fi
		fi
		wait "$pid" 2>/dev/null || true
		reply "OK $verb $name"
		;;
	start)
		if [ -n "$pid" ] && alive "$pid"; then
			FAIL_REASON="$name is running (pid $pid)"
			return 1
		fi
		local -n cmd="${name^^}_CMD"
		RESTART_OF="$pid"
		start_proc "$name" "${cmd[@]}"
		RESTART_OF=""
		wait_for "$name" "${PID_OF[$name]}" "$check" || return 1
		reply "OK start $name"
		;;
	*) return 1 ;;
	esac
}

case "${1:-}" in
up)
	shift
	cmd_up "$@"
	;;
down)
	shift
	cmd_down "$@"
	;;
supervise)
	shift
	cmd_supervise "$@"
	;;
*) usage ;;
esac
