# shellcheck shell=bash
# Shared pieces of the hack/ scripts; sourced, never executed:
#
#   here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
#   LOG_TAG=build-foo   # optional; default: the script's name without .sh
#   . "$here/lib.sh"
#
# What it gives:
#   CACHE, BIN_ROOT          the cache root (LEARNPATH_CACHE, default ~/.cache/learnpath), absolute,
#                            and its bin/ directory holding <component>-<version>/ entries
#   log MSG...               "[tag HH:MM:SS] MSG" on stderr; never fails (stderr may be a dead pipe)
#   on_exit CMD              run CMD (a string for eval) when the script exits, newest first
#   new_tmp_dir VAR [DIR]    make DIR (default: a fresh mktemp -d), removed on exit, path into VAR
#   start_heartbeat WHAT / stop_heartbeat
#                            "WHAT: still working" every HEARTBEAT_SECS (default 60) meanwhile
#   alive PID / wait_gone PID SECONDS
#                            running and not a zombie; poll until gone (1 on timeout)
#   take_lock FILE           serialise with other processes on FILE (flock on fd 9, when present)
#   have_all DIR FILE...     every FILE is an executable in DIR
#   ensure_command CMD DEB   install Debian package DEB with apt-get when CMD is missing
#   go_build NAME MODULE_DIR OUT LDFLAGS FINISH [GO_FLAGS...] PKG...
#                            build into a temp dir beside OUT, let FINISH check and complete it,
#                            then move it into place (a cache entry is never half written)
#   module_field / module_sum / check_pin / expect_output
#                            version checks: the wrapper go.mod matches the pin, the binary
#                            reports it
#
# A script that sets its own EXIT trap replaces the one on_exit installs: it must then not use
# on_exit, new_tmp_dir or the heartbeat (hack/cluster.sh, which uses none of them, does that).

if [ -n "${LEARNPATH_HACK_LIB:-}" ]; then
	return 0
fi
LEARNPATH_HACK_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# --- Cache root --------------------------------------------------------------------------------

CACHE="${LEARNPATH_CACHE:-$HOME/.cache/learnpath}"
# Callers (tests, make) run from various directories: always work with absolute paths.
case "$CACHE" in /*) ;; *) CACHE="$PWD/$CACHE" ;; esac
# shellcheck disable=SC2034 # for the scripts that source this file
BIN_ROOT="$CACHE/bin"

# --- Logging -----------------------------------------------------------------------------------

LOG_TAG="${LOG_TAG:-$(basename "$0" .sh)}"
# Logging must never kill a script: stderr may be a pipe whose reader is already gone, and
# cleanup must still run.
log() { echo "[$LOG_TAG $(date +%H:%M:%S)] $*" >&2 || true; }

# --- Cleanup on exit ---------------------------------------------------------------------------

_exit_hooks=()
# The script's exit status is kept: the trap does not call exit.
_run_exit_hooks() {
	local i
	for ((i = ${#_exit_hooks[@]} - 1; i >= 0; i--)); do
		eval "${_exit_hooks[i]}" || true
	done
	_exit_hooks=()
}
on_exit() {
	_exit_hooks+=("$1")
	trap _run_exit_hooks EXIT
}

_tmp_dirs=()
_remove_tmp_dirs() {
	local d
	for d in "${_tmp_dirs[@]+"${_tmp_dirs[@]}"}"; do
		rm -rf "$d"
	done
}

# new_tmp_dir VAR [DIR]: an empty directory, removed when the script exits (also on failure or a
# signal). Give DIR on the same file system as where its content will be moved (an atomic
# rename); without DIR it is a fresh mktemp -d.
new_tmp_dir() {
	local dir="${2:-}"
	if [ -z "$dir" ]; then
		dir="$(mktemp -d "${TMPDIR:-/tmp}/learnpath-$LOG_TAG.XXXXXX")"
	else
		rm -rf "$dir"
		mkdir -p "$dir"
	fi
	if [ ${#_tmp_dirs[@]} -eq 0 ]; then
		on_exit _remove_tmp_dirs
	fi
	_tmp_dirs+=("$dir")
	printf -v "$1" '%s' "$dir"
}

# --- Heartbeat ---------------------------------------------------------------------------------

# Keeps long, silent phases (module downloads, linking kube-apiserver) from looking like a hang
# in CI logs.
HEARTBEAT_SECS="${HEARTBEAT_SECS:-60}"
_heartbeat_pid=""
start_heartbeat() {
	local what="$1" start
	stop_heartbeat
	start=$(date +%s)
	# sleep's output goes to /dev/null: otherwise the orphaned sleep left by stop_heartbeat keeps
	# our stderr pipe open, and `... 2>&1 | tee log` would hang until it wakes up.
	(
		while sleep "$HEARTBEAT_SECS" >/dev/null 2>&1; do
			log "$what: still working ($(($(date +%s) - start))s elapsed)"
		done
	) &
	_heartbeat_pid=$!
	if [ -z "${_heartbeat_hooked:-}" ]; then
		_heartbeat_hooked=1
		on_exit stop_heartbeat
	fi
}
stop_heartbeat() {
	if [ -n "$_heartbeat_pid" ]; then
		kill "$_heartbeat_pid" 2>/dev/null || true
		wait "$_heartbeat_pid" 2>/dev/null || true
		_heartbeat_pid=""
	fi
}

# --- Processes ---------------------------------------------------------------------------------

# alive PID: running and not a zombie (children we have not reaped yet).
alive() {
	local stat
	read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	stat="${stat##*) }" # strip "pid (comm) " -- comm may contain spaces
	[ "${stat%% *}" != Z ]
}

# wait_gone PID SECONDS: poll until the process is gone; 1 on timeout.
wait_gone() {
	local pid="$1" deadline=$((SECONDS + $2))
	while alive "$pid"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# --- Locks, presence checks, packages ----------------------------------------------------------

# take_lock FILE: hold an exclusive lock on FILE (fd 9) until the script exits, so that of two
# concurrent builds the second waits and then finds everything cached. Children that outlive the
# script must be started with 9>&- so that they do not hold the lock.
take_lock() {
	command -v flock >/dev/null 2>&1 || return 0
	exec 9>"$1"
	if ! flock -n 9; then
		log "another process holds $1; waiting"
		flock 9
	fi
}

# have_all DIR FILE...: true when every FILE exists and is executable in DIR.
have_all() {
	local dir="$1" f
	shift
	for f in "$@"; do
		[ -x "$dir/$f" ] || return 1
	done
}

# ensure_command CMD DEBIAN_PACKAGE: on a fresh machine, install what a script needs (we run as
# root there; `apt-get update` first, since a fresh machine has no package lists).
ensure_command() {
	local cmd="$1" pkg="$2" sudo=()
	command -v "$cmd" >/dev/null 2>&1 && return 0
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "$cmd is missing and there is no apt-get here: install the package providing it ($pkg on Debian)" >&2
		exit 1
	fi
	if [ "$(id -u)" != 0 ]; then
		sudo=(sudo)
	fi
	log "$cmd is missing: installing the Debian package $pkg"
	"${sudo[@]}" apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$pkg" >&2
	command -v "$cmd" >/dev/null 2>&1 || {
		echo "installed $pkg but $cmd is still not on PATH" >&2
		exit 1
	}
}

# --- Go builds ---------------------------------------------------------------------------------

# All binaries are static and self-contained; cgo would only add a C toolchain dependency and
# host-libc coupling.
export CGO_ENABLED=0

# `go build -v` prints one import path per compiled package: thousands of lines for Kubernetes.
# Summarise them as a counter every PROGRESS_EVERY packages, but pass anything else (compiler
# errors, "go: downloading ...") straight through.
PROGRESS_EVERY="${PROGRESS_EVERY:-200}"
progress_filter() {
	local what="$1" n=0 line
	while IFS= read -r line; do
		case "$line" in
		"" | *" "* | "#"*) echo "$line" >&2 ;;
		*)
			n=$((n + 1))
			if [ $((n % PROGRESS_EVERY)) -eq 0 ]; then
				log "$what: $n packages compiled (at $line)"
			fi
			;;
		esac
	done
	log "$what: $n packages compiled in total"
}

# install_entry TMP OUT: move a complete TMP into place as the cache entry OUT. An incomplete OUT
# left by an older layout is moved aside first and removed afterwards, so OUT is at every moment
# either absent, the old entry or the new one.
install_entry() {
	local tmp="$1" out="$2" old
	if [ -e "$out" ]; then
		old="$out.old.$$"
		rm -rf "$old"
		mv "$out" "$old"
		mv "$tmp" "$out"
		rm -rf "$old"
	else
		mv "$tmp" "$out"
	fi
}

# go_build NAME MODULE_DIR OUT LDFLAGS FINISH [GO_FLAGS...] PKG...: build PKGs of the wrapper
# module MODULE_DIR into a temp dir beside OUT and move it into place only after FINISH (a
# function given the temp dir: it checks the binaries, e.g. with expect_output, and may add files)
# accepts it, so an interrupted or mis-stamped build never leaves a cached-looking directory.
# The binaries are named after their packages (go build -o DIR/).
go_build() {
	local name="$1" moddir="$2" out="$3" ldflags="$4" finish="$5" tmp start rc
	shift 5
	start=$(date +%s)
	new_tmp_dir tmp "$out.tmp.$$"
	log "$name: building $* -> $out"
	start_heartbeat "$name"
	# -trimpath: no local paths in binaries (reproducible); -s -w: drop symbol and DWARF tables
	# (kube-apiserver is still ~115 MB without them). -mod=readonly: the wrapper's go.sum is
	# authoritative.
	rc=0
	(cd "$moddir" && go build -mod=readonly -v -trimpath -ldflags="-s -w $ldflags" -o "$tmp/" "$@") 2>&1 |
		progress_filter "$name" || rc=$?
	stop_heartbeat
	if [ "$rc" != 0 ]; then
		echo "$name: go build failed (exit $rc)" >&2
		exit 1
	fi
	"$finish" "$tmp"
	install_entry "$tmp" "$out"
	log "$name: done in $(($(date +%s) - start))s"
}

# go_download NAME MODULE_DIR [GO_LIST_ARGS...]: download the wrapper's modules as a visible step
# of its own (on a cold machine it takes a while), showing every 25th fetch and every error line.
# Without GO_LIST_ARGS: the whole module graph (go mod download). With them (build flags and
# packages): only the modules those packages need under those flags (go list -deps), which for a
# build with tags that leave code out is much less.
go_download() {
	local name="$1" moddir="$2" start dl_cmd
	shift 2
	if [ $# -eq 0 ]; then
		dl_cmd=(go mod download -x)
	else
		dl_cmd=(go list -mod=readonly -deps -f '' "$@")
	fi
	start=$(date +%s)
	log "$name: downloading modules"
	start_heartbeat "$name download"
	# Not fatal: go mod download also fetches modules that only the tests of dependencies need,
	# and the proxy refuses some of those; go build then names any module it really lacks.
	if ! (cd "$moddir" && "${dl_cmd[@]}" >/dev/null) 2>&1 |
		awk '/^# get / || /^go: downloading / { if (n++ % 25 == 0) print; next } { print }' >&2; then
		log "$name: ${dl_cmd[*]} reported errors (above); go build decides whether they matter"
	fi
	stop_heartbeat
	log "$name: modules downloaded in $(($(date +%s) - start))s"
}

# module_field MODULE_DIR MODULE TEMPLATE: query the wrapper's resolved module.
module_field() {
	(cd "$1" && go list -m -f "$3" "$2")
}

# module_sum MODULE_DIR MODULE VERSION: the module's h1: hash from the wrapper's go.sum (the
# proxy exposes no git commit; this identifies the source as precisely).
module_sum() {
	awk -v m="$2" -v v="$3" '$1 == m && $2 == v { print $3; exit }' "$1/go.sum"
}

# check_pin MODULE_DIR MODULE WANT HINT: the wrapper go.mod must agree with the pin, otherwise
# the cache directory's name would lie about its contents. HINT says how to regenerate it.
check_pin() {
	local got
	got="$(module_field "$1" "$2" '{{.Version}}')"
	if [ "$got" != "$3" ]; then
		echo "$1/go.mod resolves $2 $got but the pin is $3." >&2
		echo "$4" >&2
		exit 1
	fi
}

# expect_output WHAT WANT CMD...: fail unless CMD's output contains WANT. Catches version stamps
# that silently stop applying when upstream moves a variable (-X on a missing symbol is not an
# error).
expect_output() {
	local what="$1" want="$2" got
	shift 2
	got="$("$@" 2>&1 | head -n 5)" || true
	case "$got" in
	*"$want"*) log "$what reports $want" ;;
	*)
		echo "$what: expected '$want' in output of '$*', got:" >&2
		echo "$got" >&2
		exit 1
		;;
	esac
}
