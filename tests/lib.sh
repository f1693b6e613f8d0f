# Shared plumbing of the test-suite runners (tests/*/run.sh), sourced by
# them after they cd to the top of the tree:
#
#   . tests/lib.sh
#   lib_args "$@"        # -v and PATTERN -> VERBOSE, PATTERN
#   lib_tmp NAME         # TMP, BHYVE_RUNDIR, cleanup on exit
#   ... ok / notok per test ...
#   lib_finish           # last line "N passed, N failed"; status 1 if any failed
#
# Globals a runner may use or set: TMP, PIDS (background children that the
# cleanup kills; wait_exit forgets the ones it reaped), NETNS (network
# namespaces the cleanup deletes), ON_EXIT (extra shell code for the
# cleanup), SKIP_ALL (when set, want reports every selected test as failed
# with it), TIMEOUT (seconds per wait), WAIT_EXIT_QUIET (when set,
# wait_exit hides bash's job messages such as "Killed").

num=0 passed=0 failed=0 SKIP_ALL=
PIDS=()
NETNS=
ON_EXIT=

# Options common to the runners: [-v] [PATTERN]. -v sets VERBOSE=1 (vlog
# prints logs); PATTERN is a bash glob selecting tests (default *).
lib_args() {
	VERBOSE=0
	if [ "${1:-}" = -v ]; then VERBOSE=1; shift; fi
	PATTERN=${1:-*}
}

# Make the scratch directory TMP (lhyve-NAME.XXXXXX) with the VM registry
# BHYVE_RUNDIR=$TMP/run inside, and arrange for lib_cleanup at exit.
lib_tmp() {
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/lhyve-$1.XXXXXX") || exit 1
	export BHYVE_RUNDIR=$TMP/run
	mkdir -p "$BHYVE_RUNDIR"
	trap lib_cleanup EXIT
	trap 'exit 130' INT TERM
}

# Kill the children in PIDS, run ON_EXIT, reap all children, delete the
# network namespaces in NETNS (their taps and bridges go with them), close
# fd 3 (a fifo writer some tests hold) and remove TMP.
lib_cleanup() {
	local p ns
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	[ -n "$ON_EXIT" ] && eval "$ON_EXIT"
	wait 2>/dev/null
	for ns in $NETNS; do
		ip netns del "$ns" 2>/dev/null
	done
	exec 3>&- 2>/dev/null
	rm -rf "$TMP"
}

# Forget a reaped child: remove PID from PIDS.
untrack() {
	local p keep=()
	for p in "${PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}

# The summary line every runner prints last; non-zero if anything failed.
lib_finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

# TAP-style results: ok NAME [NOTE]; notok NAME WHY [LOGFILE...] prints the
# last 15 lines of each non-empty log.
ok() { num=$((num + 1)); passed=$((passed + 1)); echo "ok $num - $1${2:+ # $2}"; }
notok() {
	local name=$1 why=$2 f
	shift 2
	num=$((num + 1)); failed=$((failed + 1))
	echo "not ok $num - $name ($why)"
	for f in "$@"; do
		[ -s "$f" ] || continue
		echo "#   --- $(basename "$f") (last 15 lines) ---"
		tail -n 15 "$f" | tr -d '\r' | sed 's/^/#   /'
	done
}

# With -v, print whole log files, each line prefixed by the file's name.
vlog() {
	[ "$VERBOSE" = 1 ] || return 0
	local f
	for f in "$@"; do
		[ -f "$f" ] && tr -d '\r' <"$f" | sed "s/^/#   $(basename "$f"): /"
	done
}

# 0 if test NAME is selected by PATTERN and can run; when SKIP_ALL is set a
# selected test is reported as failed with that reason and 1 returned.
want() {
	# shellcheck disable=SC2053 # PATTERN is a glob on purpose
	[[ $1 == $PATTERN ]] || return 1
	if [ -n "$SKIP_ALL" ]; then notok "$1" "$SKIP_ALL"; return 1; fi
	return 0
}

# has FILE ERE: FILE has a line matching ERE (CRs removed).
has() { tr -d '\r' <"$1" | grep -Eq -- "$2"; }
# has_all FILE ERE...: every ERE matches; else prints the first missing, 1.
has_all() {
	local f=$1 re
	shift
	for re in "$@"; do
		if ! has "$f" "$re"; then echo "$re"; return 1; fi
	done
	return 0
}

# wait_exit PID: wait for a child to exit; its status in WRC (124 when
# TIMEOUT seconds passed, then it was killed).
wait_exit() {
	if [ -n "${WAIT_EXIT_QUIET:-}" ]; then
		wait_exit_ "$@" 2>/dev/null
	else
		wait_exit_ "$@"
	fi
}
wait_exit_() {
	local pid=$1 limit=$(($(date +%s) + TIMEOUT))
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$(date +%s)" -ge "$limit" ]; then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			WRC=124
			untrack "$pid"
			return
		fi
		sleep 0.1
	done
	wait "$pid"
	WRC=$?
	untrack "$pid"
}

# wait_file FILE ERE [PID [DEADLINE]]: 0 once FILE has a line matching ERE
# (CRs removed); 1 when the time is up (DEADLINE in seconds since the
# epoch, default TIMEOUT seconds from now) or, with PID, when that process
# exited without the line.
wait_file() {
	local limit=${4:-$(($(date +%s) + TIMEOUT))}
	while ! tr -d '\r' 2>/dev/null <"$1" | grep -Eq -- "$2"; do
		if [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; then
			tr -d '\r' 2>/dev/null <"$1" | grep -Eq -- "$2"
			return
		fi
		[ "$(date +%s)" -ge "$limit" ] && return 1
		sleep 0.05
	done
	return 0
}

# mkimage PATH BYTES: a file full of 0xAA.
mkimage() {
	python3 -c "open('$1','wb').write(b'\xaa' * $2)"
}

# Host-side checks of a virtio-blk image (made by mkimage) after the guest's
# "blk" test: pattern at 4096..12287, zeroes at 32768..40959 (discard) and
# 65536..69631 (write-zeroes), 0xAA elsewhere in the first 72 KiB. Prints
# "ok" or what is wrong.
blk_host_check() {
	python3 - "$1" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
def pat(i):
    return (i * 13 + (i >> 9) * 7 + 1) & 0xFF
want = bytes(pat(i) for i in range(8192))
errs = []
if d[4096:12288] != want: errs.append("pattern at 4096 differs")
if d[32768:40960] != bytes(8192): errs.append("discarded range not zero")
if d[65536:69632] != bytes(4096): errs.append("write-zeroes range not zero")
for a, b in ((0, 4096), (12288, 32768), (40960, 65536), (69632, 73728)):
    if d[a:b] != b'\xaa' * (b - a): errs.append("bytes %d..%d changed" % (a, b))
print("; ".join(errs) if errs else "ok")
PY
}

# console_exchange SOCK: the host side of the guest's "console" test. Waits
# for the virtio-console port socket, sends a line, prints the line the
# guest answers (at most 60 s in all).
console_exchange() {
	timeout 60 python3 - "$1" <<'PY'
import os, socket, sys, time
p = sys.argv[1]
for _ in range(300):
    if os.path.exists(p): break
    time.sleep(0.1)
s = socket.socket(socket.AF_UNIX)
s.connect(p)
s.settimeout(30)
s.sendall(b"hello from the host 4711\n")
buf = b""
while b"\n" not in buf:
    d = s.recv(256)
    if not d: break
    buf += d
print(buf.decode(errors="replace").strip())
PY
}
