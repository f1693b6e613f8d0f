#!/usr/bin/env bash
# Sandbox tests: bhyve's seccomp filter (on by default), no_new_privs and
# the privilege drop (sandbox.user), against the project's test guests.
#
#   tests/sandbox/run.sh [-v] [PATTERN]
#
# Every VM here has every implemented device: virtio-blk, virtio-rnd,
# virtio-console, virtio-net (on a tap in a network namespace made here;
# without root the VMs have no NIC), COM1 on stdio, COM2 on tcp=, COM3 on
# an nmdm pair, and the control socket, which bhyvectl uses during the run.
# PATTERN (a bash glob, default *) selects tests by name; -v prints the
# logs of every test. Environment: BUILD (default build), GUEST_TIMEOUT
# (seconds per wait, default 60). Output ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh

BUILD=${BUILD:-build}
BIN=$(realpath "$BUILD")
GDIR=$BIN/guests
PVH=$GDIR/guest-pvh.elf
PVH64=$GDIR/guest64-pvh.elf
TIMEOUT=${GUEST_TIMEOUT:-60}
lib_args "$@"
lib_tmp sandbox
mkdir -p "$TMP/dev"
export PATH="$BIN:$PATH"
P="lsb$$" # VM name prefix, unique per run
# wait_exit with stderr off: no "Bad system call" job report from bash.
WAIT_EXIT_QUIET=1

skip() { echo "# skip $1: $2"; }
# "Field" of /proc/PID/status (tabs kept).
proc_field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null; }
status_name() {
	case $1 in
	0) echo "0 (reset)" ;; 1) echo "1 (poweroff)" ;; 4) echo "4 (error)" ;;
	124) echo "timeout" ;; 159) echo "159 (SIGSYS)" ;; *) echo "$1" ;;
	esac
}
if [ ! -e /dev/kvm ] || [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	SKIP_ALL="no usable /dev/kvm"
elif [ ! -x "$BIN/bhyve" ] || [ ! -x "$BIN/bhyvectl" ]; then
	SKIP_ALL="bhyve or bhyvectl not built"
elif [ ! -f "$PVH" ] || [ ! -f "$PVH64" ]; then
	SKIP_ALL="guests not built (make guests)"
elif ! ldd "$BIN/bhyve" 2>/dev/null | grep -q libseccomp; then
	SKIP_ALL="bhyve built without libseccomp (scripts/setup installs libseccomp-dev)"
fi
[ -n "$SKIP_ALL" ] && echo "# cannot run sandbox tests: $SKIP_ALL"

# Network namespace with tap0 (10.213.9.1/24) for virtio-net, if root.
NETOK=
if [ -z "$SKIP_ALL" ] && [ "$(id -u)" = 0 ] && command -v ip >/dev/null; then
	NS=lsb-$$ NETNS=lsb-$$
	if ip netns add "$NS" && ip -n "$NS" link set lo up &&
	   ip -n "$NS" tuntap add dev tap0 mode tap &&
	   ip -n "$NS" addr add 10.213.9.1/24 dev tap0 && ip -n "$NS" link set tap0 up; then
		NETOK=1
	else
		echo "# cannot set up a network namespace: VMs run without virtio-net"
	fi
else
	echo "# not root: VMs run without virtio-net, sandbox.user tests skipped"
fi
IN_NS=()
[ -n "$NETOK" ] && IN_NS=(ip netns exec "$NS")

# Start bhyve with every device: vm_all NAME OUT KERNEL CMDLINE [extra...]
# Sets LAST_PID, PORT (tcp= console), SOCK (virtio-console), IMG (disk).
K=0
vm_all() {
	local name=$1 out=$2 kernel=$3 cmdline=$4 net=()
	shift 4
	K=$((K + 1))
	PORT=$((20000 + ($$ * 7 + K) % 30000))
	SOCK=$TMP/$name.sock IMG=$TMP/$name.img
	mkimage "$IMG" 1048576
	[ -n "$NETOK" ] && net=(-s 6,virtio-net,tap0)
	"${IN_NS[@]}" "$BIN/bhyve" -c 2 -m 256M -s 0,hostbridge -s 31,lpc \
		-s 3,virtio-blk,"$IMG" -s 4,virtio-rnd -s 5,virtio-console,port1="$SOCK" \
		"${net[@]}" -l com1,stdio -l com2,tcp=127.0.0.1:$PORT \
		-l com3,"$TMP/dev/nmdm${K}A" \
		-o boot.kernel="$kernel" -o boot.cmdline="$cmdline" "$@" "$name" \
		</dev/null >"$out" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}
# Status 1 and no refused system call in the log; else reports and 1.
clean_poweroff() { # name rc out
	if [ "$2" != 1 ]; then
		notok "$1" "exit status $(status_name "$2"), want 1 (poweroff)" "$3"
	elif has "$3" 'refused system call|Bad system call'; then
		notok "$1" "a system call was refused" "$3"
	else
		return 0
	fi
	return 1
}

# ---- the guest's device tests, every device present, filter on ----
guest_test() { # name cmdline ERE [extra bhyve args...]
	local name=$1 cmdline=$2 ere=$3 out=$TMP/$1.out
	shift 3
	vm_all "$P-$name" "$out" "$PVH64" "$cmdline" "$@"
	wait_exit "$LAST_PID"
	vlog "$out"
	clean_poweroff "$name" "$WRC" "$out" || return 1
	if ! has "$out" "$ere"; then
		notok "$name" "console lacks /$ere/" "$out"
		return 1
	fi
	return 0
}
if want filter-blk; then
	guest_test filter-blk "test=blk" '^virtio-blk ok$' &&
		{ why=$(blk_host_check "$IMG"); [ "$why" = ok ] && ok filter-blk ||
			notok filter-blk "host file: $why" "$TMP/filter-blk.out"; }
fi
if want filter-rnd; then
	guest_test filter-rnd "test=rnd" '^virtio-rnd ok$' && ok filter-rnd
fi
if want filter-intr; then
	guest_test filter-intr "test=intr irq=msix" '^intr ok$' && ok filter-intr
fi
if want filter-console; then
	out=$TMP/filter-console.out
	vm_all "$P-cons" "$out" "$PVH64" "test=console"; pid=$LAST_PID
	reply=$(console_exchange "$SOCK" 2>&1)
	wait_exit "$pid"
	vlog "$out"
	if clean_poweroff filter-console "$WRC" "$out"; then
		if has "$out" '^virtio-console ok$' &&
		   [ "$reply" = "guest got [hello from the host 4711]" ]; then
			ok filter-console
		else
			notok filter-console "host read '$reply'" "$out"
		fi
	fi
fi
if want filter-net; then
	if [ -z "$NETOK" ]; then
		skip filter-net "needs root and iproute2"
	else
		guest_test filter-net "test=net ip=10.213.9.2 peer=10.213.9.1" \
			'^virtio-net ok$' && ok filter-net
	fi
fi

# ---- a running VM: /proc, bhyvectl, consoles, then poweroff ----
# running_test NAME SECCOMP-WANTED UID-WANTED [extra bhyve args...]
running_test() {
	local name=$1 wsec=$2 wuid=$3 out=$TMP/$1.out f=$TMP/$1.ctl n=$P-$1 pid
	local sec nnp uid rs rr rn seen ri
	shift 3
	vm_all "$n" "$out" "$PVH" "test=nmi" "$@"; pid=$LAST_PID
	: >"$f"
	if ! wait_file "$out" '^ready'; then
		wait_exit "$pid"
		notok "$name" "the guest did not start (exit $(status_name "$WRC"))" "$out"
		return
	fi
	sec=$(proc_field "$pid" Seccomp) nnp=$(proc_field "$pid" NoNewPrivs)
	uid=$(proc_field "$pid" Uid | awk '{print $1 "/" $2 "/" $3 "/" $4}')
	echo "/proc/$pid/status: Seccomp=$sec NoNewPrivs=$nnp Uid=$uid" >>"$f"
	bhyvectl --vm="$n" --get-stats >>"$f" 2>&1; rs=$?
	bhyvectl --vm="$n" --get-all --cpu=0 >>"$f" 2>&1; rr=$?
	bhyvectl --vm="$n" --inject-nmi >>"$f" 2>&1; rn=$?
	wait_file "$out" '^nmi: received 1'; seen=$?
	bhyvectl --list >>"$f" 2>&1; ri=$?
	# the tcp= and nmdm consoles take a client and let it go
	"${IN_NS[@]}" timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; sleep 0.3" >>"$f" 2>&1
	timeout 3 cat "$TMP/dev/nmdm${K}B" >/dev/null 2>&1
	{ sleep 0.5; printf '~.'; } | timeout 10 bhyvectl --console --vm="$n" >>"$f" 2>&1
	bhyvectl --vm="$n" --force-poweroff >>"$f" 2>&1
	wait_exit "$pid"
	vlog "$out" "$f"
	clean_poweroff "$name" "$WRC" "$out" || return
	if [ "$sec" != "$wsec" ] || [ "$nnp" != 1 ]; then
		notok "$name" "/proc/$pid/status: Seccomp '$sec' NoNewPrivs '$nnp', want $wsec and 1" "$out"
	elif [ -n "$wuid" ] && [ "$uid" != "$wuid/$wuid/$wuid/$wuid" ]; then
		notok "$name" "runs as uid $uid, want $wuid" "$out"
	elif [ "$rs" != 0 ] || [ "$rr" != 0 ] || [ "$rn" != 0 ] || [ "$seen" != 0 ] ||
	     [ "$ri" != 0 ] || ! grep -q '^vcpu0 stats:' "$f" ||
	     ! grep -Eq "^$n +$pid +running" "$f"; then
		notok "$name" "bhyvectl against the sandboxed VM ($rs $rr $rn $seen $ri)" "$f" "$out"
	else
		ok "$name"
	fi
}
want filter-running && running_test filter-running 2 ""
want filter-off && running_test filter-off 0 "" -o sandbox.seccomp=false

# ---- a forbidden system call ----
if want forbidden-kill; then
	out=$TMP/forbidden-kill.out
	vm_all "$P-fk" "$out" "$PVH" "test=hello" -o sandbox.test_forbidden=true
	wait_exit "$LAST_PID"
	vlog "$out"
	if [ "$WRC" != 159 ]; then
		notok forbidden-kill "exit status $(status_name "$WRC"), want 159 (SIGSYS)" "$out"
	elif ! has "$out" 'test hook: calling socket\(\)' || has "$out" '^hello:'; then
		notok forbidden-kill "the hook did not run before the guest" "$out"
	else
		ok forbidden-kill
	fi
fi
if want forbidden-log; then
	out=$TMP/forbidden-log.out
	vm_all "$P-fl" "$out" "$PVH" "test=hello" -o sandbox.test_forbidden=true \
		-o sandbox.seccomp=log
	wait_exit "$LAST_PID"
	vlog "$out"
	if [ "$WRC" != 1 ]; then
		notok forbidden-log "exit status $(status_name "$WRC"), want 1" "$out"
	elif ! has "$out" 'socket\(\) refused: Operation not permitted' ||
	     ! has "$out" 'refused system call 41 ' || ! has "$out" '^power: S5'; then
		notok forbidden-log "no EPERM / log line, or the guest did not finish" "$out"
	else
		ok forbidden-log
	fi
fi

# ---- configuration errors ----
if want bad-keys; then
	out=$TMP/bad-keys.out
	bhyve -o sandbox.user=no-such-user-lhyve -o boot.kernel="$PVH" "$P-bad" >"$out" 2>&1; r1=$?
	bhyve -o sandbox.seccomp=maybe -o boot.kernel="$PVH" "$P-bad" >>"$out" 2>&1; r2=$?
	vlog "$out"
	if [ "$r1" != 64 ] || [ "$r2" != 64 ] || ! has "$out" "no such user 'no-such-user-lhyve'"; then
		notok bad-keys "exit $r1/$r2, want 64/64 and a message" "$out"
	else
		ok bad-keys
	fi
fi

# ---- privilege drop ----
if [ "$(id -u)" != 0 ] || ! id nobody >/dev/null 2>&1; then
	[[ "user-*" == $PATTERN ]] && skip "user-*" "needs root and a user 'nobody'"
else
	NOBODY=$(id -u nobody)
	want user-running && running_test user-running 2 "$NOBODY" -o sandbox.user=nobody
	if want user-stale; then
		# bhyve as nobody cannot remove its root-owned entry; the next
		# tool does (stale entry)
		bhyvectl --list >/dev/null 2>&1
		if [ -e "$BHYVE_RUNDIR/$P-user-running" ]; then
			notok user-stale "the entry of the exited VM is still there"
		else
			ok user-stale
		fi
	fi
	if want user-blk; then
		guest_test user-blk "test=blk" '^virtio-blk ok$' -o sandbox.user=nobody &&
			{ why=$(blk_host_check "$IMG"); [ "$why" = ok ] && ok user-blk ||
				notok user-blk "host file: $why" "$TMP/user-blk.out"; }
	fi
	if want user-net && [ -n "$NETOK" ]; then
		guest_test user-net "test=net ip=10.213.9.2 peer=10.213.9.1" \
			'^virtio-net ok$' -o sandbox.user=nobody && ok user-net
	fi
fi

lib_finish
