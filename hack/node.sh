#!/usr/bin/env bash
# shellcheck disable=SC2013 # pid files hold one integer per line: word splitting is right
# A real node for the local control plane of hack/cluster.sh: containerd (with Debian's runc and
# CNI plugins), a kubelet, kube-scheduler and kube-proxy, so that Deployments become running Pods.
# hack/cluster.sh runs it when LEARNPATH_NODE=1 (`make cluster-node`, tests/node, `make demo`);
# it needs root (network namespaces, iptables, cgroups, mounts).
#
# Usage:
#   hack/node.sh up DIR          start the node for the control plane in DIR (DIR/env must exist)
#   hack/node.sh down DIR        stop it and undo every change it made to the machine
#   hack/node.sh import DIR TAR  load an OCI image archive into the node's containerd
#   hack/node.sh host-ip         the address the API server advertises (Pods reach it there)
#   hack/node.sh install         install runc, the CNI plugins, iptables, nftables, conntrack
#                                and skopeo (Debian)
#
# Everything it creates lives under DIR/node (containerd's root and state, the kubelet's root,
# network namespaces, CNI state) or is recorded there before it is changed: the iptables rules
# (the nftables ruleset, which holds iptables-nft's tables), the sysctls the kubelet, kube-proxy
# and the bridge plugin set, the bridge.
# `down` kills what runs in the node's cgroups and its shims by pid, unmounts everything under
# DIR/node, deletes the bridge, restores the iptables rules and sysctls, removes the node's
# cgroups, then DIR/node itself (its logs stay in DIR/node-logs).
#
# One node per machine: its bridge, iptables rules and sysctls are the machine's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/versions.env
. "$here/versions.env"
LOG_TAG=node
# shellcheck source=SCRIPTDIR/lib.sh
. "$here/lib.sh"

NODE_NAME=learnpath-node
BRIDGE=learnpath0
POD_CIDR=10.88.0.0/16
# Owner of the machine-wide pieces (bridge, iptables, sysctls): the DIR of the running node.
OWNER_FILE=/run/learnpath-node.owner
# Set by the kubelet (vm.*, kernel.*), kube-proxy (route_localnet) and the bridge plugin
# (ip_forward): restored on `down`.
SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops net.ipv4.ip_forward
	net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables)
READY_TIMEOUT="${LEARNPATH_READY_TIMEOUT:-180}"

die() {
	log "error: $*"
	exit 1
}

usage() {
	sed -n '3,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

# host_ip: the source address of the default route; Pods reach the API server there, through
# the `kubernetes` Service that kube-proxy maps to it.
host_ip() {
	ip -4 -o route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p'
}

set_dirs() {
	D="$(cd "$1" && pwd -P)" || die "no such directory: $1"
	N="$D/node"
	LOGS="$D/node-logs"
	SOCK="$N/containerd/containerd.sock"
}

bin() { "$here/bin-path.sh" "$1"; }

ctr_() { "$(bin ctr)" --address "$SOCK" --namespace k8s.io "$@"; }

# owned PID: started from this node's directory (guards against a reused pid).
owned() { tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$N/"; }

# stop_pid PID: TERM, then KILL after 10 s.
stop_pid() {
	local pid="$1"
	alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_gone "$pid" 10; then
		kill -KILL "$pid" 2>/dev/null || true
		wait_gone "$pid" 10 || log "pid $pid survived KILL"
	fi
}

start_proc() {
	local name="$1"
	shift
	setsid "$@" </dev/null >"$LOGS/$name.log" 2>&1 3>&- 4>&- 9>&- &
	echo "$!" >>"$N/pids"
	log "started $name (pid $!), log $LOGS/$name.log"
	LAST_PID=$!
}

wait_for() {
	local what="$1" pid="$2" check="$3" deadline=$((SECONDS + READY_TIMEOUT)) start=$SECONDS
	shift 3
	until "$check" "$@"; do
		alive "$pid" || die "$what exited during start-up (see $LOGS)"
		[ "$SECONDS" -lt "$deadline" ] || die "$what not ready after ${READY_TIMEOUT}s (see $LOGS)"
		sleep 0.25
	done
	log "$what ready after $((SECONDS - start))s"
}

kubectl_() { "$(bin kubectl)" --kubeconfig "$D/admin.kubeconfig" "$@"; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# --- the machine-wide state, recorded before it changes ------------------------------------------

record_machine() {
	# iptables here is iptables-nft: the kubelet's and kube-proxy's chains are nftables tables, and
	# the ruleset as a whole is what `down` puts back (tables they created included).
	nft -s list ruleset >"$N/nftables.rules"
	local s v
	: >"$N/sysctls"
	for s in "${SYSCTLS[@]}"; do
		if v="$(sysctl -n "$s" 2>/dev/null)"; then
			echo "$s=$v" >>"$N/sysctls"
		fi
	done
}

restore_machine() {
	if ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link delete "$BRIDGE" || log "could not delete the bridge $BRIDGE"
	fi
	if [ -f "$N/nftables.rules" ]; then
		{ nft flush ruleset && nft -f "$N/nftables.rules"; } || log "could not restore the nftables ruleset"
	fi
	local line
	if [ -f "$N/sysctls" ]; then
		while IFS= read -r line; do
			sysctl -q -w "$line" >/dev/null || log "could not restore $line"
		done <"$N/sysctls"
	fi
}

# --- configuration -----------------------------------------------------------------------------

write_configs() {
	local ip="$1" kubelet_port="$2" kubelet_healthz="$3" proxy_metrics="$4" proxy_healthz="$5"
	mkdir -p "$N/containerd/root" "$N/containerd/state" "$N/cni/net.d" "$N/cni/ipam" \
		"$N/kubelet" "$LOGS/pods"
	# containerd's CRI: our own root, state and socket; the sandbox image imported by `up`; Debian's
	# CNI plugins with our config; network namespaces under the state dir (so `down` finds them).
	cat >"$N/containerd/config.toml" <<EOF
version = 3
root = "$N/containerd/root"
state = "$N/containerd/state"
# No drop-in directory of the machine's, no NRI socket, no /opt directories.
imports = []
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.image-verifier.v1.bindir"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = "$SOCK.debug"
[plugins.'io.containerd.internal.v1.opt']
  path = "$N/containerd/opt"
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "$PAUSE_IMAGE"
[plugins.'io.containerd.cri.v1.runtime']
  # This machine's root may not raise oom_score_adj (no CAP_SYS_RESOURCE): without this every
  # sandbox fails with "can't get final child's PID from pipe".
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  cdi_spec_dirs = []
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$N/cni/net.d"
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
      BinaryName = "$(command -v runc)"
      SystemdCgroup = false
EOF
	cat >"$N/cni/net.d/10-learnpath.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "learnpath",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$N/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
EOF
	cat >"$N/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This machine is cgroup v1 (hybrid); the kubelet's hard cut of v1 is announced, not made.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$SOCK
address: $ip
port: $kubelet_port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $kubelet_healthz
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $D/certs/client-ca.crt}
authorization: {mode: AlwaysAllow}
failSwapOn: false
# No cluster DNS: in-cluster clients use the kubernetes Service's IP.
resolvConf: ""
podLogsDir: $LOGS/pods
# Nothing here should evict a test's Pods for a full build disk.
evictionHard: {memory.available: 50Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
EOF
	cat >"$N/proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: $D/admin.kubeconfig}
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
bindAddress: 127.0.0.1
metricsBindAddress: 127.0.0.1:$proxy_metrics
healthzBindAddress: 127.0.0.1:$proxy_healthz
# A Pod reaching a Service whose endpoint is on the same bridge (helm test -> the operator)
# needs its reply to come back through the host: masquerade rather than br_netfilter.
iptables: {masqueradeAll: true}
# Leave the machine's conntrack table sizes alone.
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
}

# --- up ----------------------------------------------------------------------------------------

# install_packages: what the node takes from Debian (a fresh machine has none of it).
install_packages() {
	ensure_command iptables-save iptables
	ensure_command nft nftables
	ensure_command runc runc
	# kube-proxy clears stale UDP conntrack entries with it.
	ensure_command conntrack conntrack
	# Not the node's: tests/node reads the image archive with it, as an independent OCI reader.
	ensure_command skopeo skopeo
	if [ ! -x /usr/lib/cni/bridge ]; then
		log "the CNI plugins are missing: installing the Debian package containernetworking-plugins"
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			containernetworking-plugins >&2
	fi
}

containerd_ready() { ctr_ version >/dev/null 2>&1; }
node_ready() {
	[ "$(kubectl_ get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}
kubernetes_service_routed() {
	[ -n "$(kubectl_ get endpointslices -n default -l kubernetes.io/service-name=kubernetes -o name 2>/dev/null)" ]
}

# build_pause_image OUT: the sandbox image, packed like the operator's (hack/oci-image.sh).
build_pause_image() {
	local pause_dir rootfs
	pause_dir="$(dirname "$(bin pause)")"
	rootfs="$N/pause-rootfs"
	mkdir -p "$rootfs"
	install -m 0555 "$pause_dir/pause" "$rootfs/pause"
	"$here/oci-image.sh" --rootfs "$rootfs" --name "$PAUSE_IMAGE" --entrypoint /pause \
		--user 65535:65535 --out "$1" >/dev/null
	rm -rf "$rootfs"
}

cmd_up() {
	[ "$(id -u)" = 0 ] || die "the node needs root (network namespaces, iptables, cgroups, mounts)"
	set_dirs "$1"
	[ -f "$D/env" ] || die "$D/env is missing: start the control plane first (hack/cluster.sh)"
	install_packages
	if [ -f "$OWNER_FILE" ] && [ "$(cat "$OWNER_FILE")" != "$D" ] && [ -d "$(cat "$OWNER_FILE")/node" ]; then
		die "another learnpath node runs from $(cat "$OWNER_FILE"): one per machine (hack/node.sh down $(cat "$OWNER_FILE"))"
	fi
	[ ! -d "$N" ] || die "$N exists: a node was started here before (hack/node.sh down $D)"
	mkdir -p "$N" "$LOGS"
	echo "$D" >"$OWNER_FILE"
	record_machine
	# From here on a failure undoes everything.
	trap 'log "start-up failed; undoing"; cmd_down "$D"' EXIT

	local ip tag
	ip="$(host_ip)"
	[ -n "$ip" ] || die "no default route: cannot pick the address Pods reach the API server at"
	tag="$(cat "$(dirname "$(bin pause)")/TAG")"
	PAUSE_IMAGE="learnpath.local/pause:$tag"
	write_configs "$ip" "$(free_port)" "$(free_port)" "$(free_port)" "$(free_port)"

	start_proc containerd "$(bin containerd)" --config "$N/containerd/config.toml"
	wait_for containerd "$LAST_PID" containerd_ready
	build_pause_image "$N/pause.tar"
	ctr_ images import --local "$N/pause.tar" >/dev/null
	rm -f "$N/pause.tar"

	# The containerd shim is found on PATH.
	local path
	path="$(dirname "$(bin containerd)"):$PATH"
	start_proc kubelet env PATH="$path" "$(bin kubelet)" --config "$N/kubelet/config.yaml" \
		--kubeconfig "$D/admin.kubeconfig" --root-dir "$N/kubelet" --cert-dir "$N/kubelet/pki" \
		--hostname-override "$NODE_NAME" --node-ip "$ip"
	local scheduler_port
	scheduler_port="$(free_port)"
	start_proc scheduler "$(bin kube-scheduler)" --kubeconfig "$D/admin.kubeconfig" \
		--authentication-kubeconfig "$D/admin.kubeconfig" --authorization-kubeconfig "$D/admin.kubeconfig" \
		--leader-elect=false --bind-address 127.0.0.1 --secure-port "$scheduler_port" \
		--cert-dir "$N/scheduler"
	start_proc proxy "$(bin kube-proxy)" --config "$N/proxy.yaml"
	wait_for "node $NODE_NAME" "$LAST_PID" node_ready
	wait_for "the kubernetes Service's endpoints" "$LAST_PID" kubernetes_service_routed
	trap - EXIT
	log "node $NODE_NAME ready: Pods reach the API server at $ip through the kubernetes Service"
}

# --- down --------------------------------------------------------------------------------------

# kubepods_pids: every process in the node's Pod cgroups (containers, sandboxes).
kubepods_pids() {
	find /sys/fs/cgroup/pids/kubepods /sys/fs/cgroup/pids/kubepods.slice -name cgroup.procs \
		-exec cat {} + 2>/dev/null || true
}

# shim_pids: containerd's runc shims serving this node's socket (they outlive containerd).
shim_pids() {
	local p
	for p in /proc/[0-9]*; do
		p="${p#/proc/}"
		if { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -q "^[^ ]*containerd-shim-runc-v2 .*$N/"; then
			echo "$p"
		fi
	done
}

unmount_all() {
	local m
	# Deepest first; lazy as a last resort, for a mount a dying process still holds.
	for m in $(awk -v n="$N/" 'index($2, n) == 1 { print $2 }' /proc/self/mounts | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
	done
}

remove_cgroups() {
	local c
	for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/*/kubepods.slice; do
		[ -d "$c" ] || continue
		find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
}

cmd_down() {
	set_dirs "$1"
	if [ ! -d "$N" ]; then
		log "no node in $D"
		return 0
	fi
	local pid
	# The kubelet, scheduler and kube-proxy first (newest first), so nothing restarts a container.
	if [ -f "$N/pids" ]; then
		for pid in $(tac "$N/pids"); do
			if alive "$pid" && owned "$pid"; then
				stop_pid "$pid"
			fi
		done
	fi
	# What runs in Pods, then the shims, then containerd (first in the pids file: stopped above
	# after the others).
	for pid in $(kubepods_pids); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	for pid in $(shim_pids); do
		stop_pid "$pid"
	done
	for pid in $(kubepods_pids); do
		wait_gone "$pid" 10 || log "pid $pid in the node's cgroups survived KILL"
	done
	unmount_all
	restore_machine
	remove_cgroups
	rm -rf "$N"
	if [ -f "$OWNER_FILE" ] && [ "$(cat "$OWNER_FILE")" = "$D" ]; then
		rm -f "$OWNER_FILE"
	fi
	log "node in $D stopped; the machine is as it was (logs in $LOGS)"
}

cmd_import() {
	set_dirs "$1"
	ctr_ images import --local "$2" >/dev/null
	log "imported $2"
}

case "${1:-}" in
up | down | import)
	verb="$1"
	shift
	[ $# -ge 1 ] || usage
	"cmd_$verb" "$@"
	;;
host-ip) host_ip ;;
install) install_packages ;;
*) usage ;;
esac
