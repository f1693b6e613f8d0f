#!/usr/bin/env bash
# Hardening tests (issue 6): hostile guests, data durability, load.
#
#   tests/hardening/run.sh [-v] [PATTERN]
#
# PATTERN (a bash glob, default *) selects tests by name; -v prints the
# console of every VM. Environment: BUILD (default build), BHYVE (default
# $BUILD/bhyve), GUEST_TIMEOUT (seconds per VM, default 120),
# LOAD_VMS (default 20), KILL_ROUNDS (default 4).
# Output ends with "N passed, N failed"; the exit status is non-zero if
# anything failed. Nothing depends on the speed of the machine: every wait
# is for a console line or an exit, bounded by generous timeouts.
#
#   hostile-virtio   test=hostile against virtio-blk/rnd/console
#   hostile-io       test=hostio: register sweeps of every device
#   durable-kill-N   SIGKILL while a guest writes+flushes; flushed blocks kept
#   ro-unmodified    a read-only image is never modified by a writing guest
#   lock-*           a writable image in use cannot be opened by a second VMM
#   load-20          20 concurrent VMs: boot, workload, power off, no leaks
#   fd-threads       fd and thread counts of one VMM stay constant
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh

BUILD=${BUILD:-build}
BHYVE=$(realpath "${BHYVE:-$BUILD/bhyve}" 2>/dev/null || echo "${BHYVE:-$BUILD/bhyve}")
PVH64=$(realpath "$BUILD/guests/guest64-pvh.elf" 2>/dev/null || echo "$BUILD/guests/guest64-pvh.elf")
TIMEOUT=${GUEST_TIMEOUT:-120}
LOAD_VMS=${LOAD_VMS:-20}
KILL_ROUNDS=${KILL_ROUNDS:-4}
LOG_LINES_MAX=300   # guest-triggered log lines a whole hostile run may cause
lib_args "$@"
lib_tmp hard
P="lhd$$" # VM name prefix
trap '' PIPE # a write to a VM's stdin after it exited must not kill us
WAIT_EXIT_QUIET=1 # no "Killed" job messages

# vm_start NAME STDIN OUT ERR ARGS...: the usual machine with the 64-bit
# PVH guest; sets LAST_PID.
vm_start() {
	local name=$1 in=$2 out=$3 err=$4
	shift 4
	"$BHYVE" -c 1 -m 256M -s 0,hostbridge -s 31,lpc -l com1,stdio \
		-o boot.kernel="$PVH64" "$@" "$name" <"$in" >"$out" 2>"$err" &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}
if [ ! -e /dev/kvm ] || [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	SKIP_ALL="no usable /dev/kvm"
elif [ ! -x "$BHYVE" ]; then
	SKIP_ALL="$BHYVE not built"
elif [ ! -f "$PVH64" ]; then
	SKIP_ALL="guests not built (make guests)"
elif ! command -v python3 >/dev/null; then
	SKIP_ALL="needs python3"
fi
[ -n "$SKIP_ALL" ] && echo "# cannot run hardening tests: $SKIP_ALL"

# Check a hostile run: status 1, console EREs, bounded stderr.
hostile_check() { # name out err ERE...
	local name=$1 out=$2 err=$3 miss n sz
	shift 3
	n=$(wc -l <"$err")
	sz=$(wc -c <"$err")
	if [ "$WRC" != 1 ]; then
		notok "$name" "exit status $WRC, want 1 (VMM died or guest failed)" "$out" "$err"
	elif ! miss=$(has_all "$out" "$@"); then
		notok "$name" "console lacks /$miss/" "$out" "$err"
	elif [ "$n" -gt "$LOG_LINES_MAX" ] || [ "$sz" -gt 65536 ]; then
		notok "$name" "stderr has $n lines / $sz bytes: guest-triggered logs not rate limited" "$err"
	else
		return 0
	fi
	return 1
}

# ---- 1. hostile guests ----
if want hostile-virtio; then
	img=$TMP/hv.img out=$TMP/hv.out err=$TMP/hv.err
	mkimage "$img" 4194304
	vm_start "$P-hv" /dev/null "$out" "$err" -s 3,virtio-blk,"$img" -s 4,virtio-rnd \
		-s 5,virtio-console,port1="$TMP/hv.sock" -o boot.cmdline="test=hostile ram_mb=256"
	wait_exit "$LAST_PID"
	vlog "$out" "$err"
	if hostile_check hostile-virtio "$out" "$err" \
		"^hostile: blk desc->LAPIC -> NEEDS_RESET" "^hostile: rnd desc wraps 2\^64 -> NEEDS_RESET" \
		"^hostile: console desc->other BAR -> NEEDS_RESET" \
		"^hostile: blk BAR size 0x8000 moved to 0xd0000000 -> works there" \
		"^hostile: rnd msix mask storm -> pending 0x1, delivered after unmask" \
		"^hostile: blk reset during in-flight I/O -> works after" \
		"^hostile: storms -> every device still works" "^hostile: rnd still works" \
		"^hostile: console still works" "^hostile: COM1 still works" \
		"^hostile: 0 failures" "^hostile ok"; then
		ok hostile-virtio "$(grep -c -- '-> NEEDS_RESET' "$out") attacks ended in NEEDS_RESET, $(wc -l <"$err") log lines"
	fi
fi
if want hostile-io; then
	img=$TMP/hio.img out=$TMP/hio.out err=$TMP/hio.err com2=$TMP/hio.com2
	mkimage "$img" 1048576
	vm_start "$P-hio" /dev/null "$out" "$err" -l com2,"$com2" -s 3,virtio-blk,"$img" \
		-s 4,virtio-rnd -s 5,virtio-console,port1="$TMP/hio.sock" \
		-o boot.cmdline="test=hostio"
	wait_exit "$LAST_PID"
	vlog "$out" "$err"
	if hostile_check hostile-io "$out" "$err" "^hostio: COM1 works after its sweep" \
		"^hostio: virtio-blk works" "^hostio: virtio-rnd works" \
		"^hostio: virtio-console works" "^hostio: 0 failures" "^hostio ok"; then
		if ! grep -aq "com2: alive after the port sweep" "$com2" 2>/dev/null ||
		   ! grep -q "^com2: alive at the end" "$com2"; then
			notok hostile-io "COM2 output missing after the sweeps" "$com2"
		else
			ok hostile-io "$(wc -l <"$err") log lines"
		fi
	fi
fi

# ---- 2. data durability ----
# Every block 1..S of round R must hold its pattern (see vt_durable.c).
durable_check() { # image round S
	python3 - "$1" "$2" "$3" <<'PY'
import struct, sys
path, rnd, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
bad = []
with open(path, 'rb') as f:
    for seq in range(1, last + 1):
        f.seek(seq * 4096)
        b = f.read(4096)
        want = b"LHYVEDUR" + struct.pack("<II", rnd, seq) + bytes(
            (seq * 131 + j * 7 + rnd) & 0xFF for j in range(16, 4096))
        if b != want:
            bad.append(seq)
print("ok" if not bad else "%d of %d flushed blocks wrong, first %d" % (len(bad), last, bad[0]))
PY
}
opts=("" ",nocache" ",sync" "")
for r in $(seq 1 "$KILL_ROUNDS"); do
	name=durable-kill-$r
	want "$name" || continue
	img=$TMP/dur.img out=$TMP/dur$r.out err=$TMP/dur$r.err
	rm -f "$img"
	truncate -s 64M "$img"
	o=${opts[$(((r - 1) % 4))]}
	# the same VM name every round: the killed VM's stale registry entry
	# must not stop the next one
	vm_start "$P-dur" /dev/null "$out" "$err" -s 3,virtio-blk,"$img$o" \
		-o boot.cmdline="test=durable round=$r"
	pid=$LAST_PID
	if ! wait_file "$out" "^durable: flushed [0-9]+ end" "$pid"; then
		wait_exit "$pid"
		notok "$name" "no flush acknowledged (status $WRC)" "$out" "$err"
		continue
	fi
	# a random moment: 0.05..1.5 s after the first acknowledged flush
	sleep "$(python3 -c 'import random; print(round(random.uniform(0.05, 1.5), 3))')"
	kill -KILL "$pid" 2>/dev/null
	wait_exit "$pid" 2>/dev/null # no "Killed" job message
	last=$(tr -d '\r' <"$out" | grep -E "^durable: flushed [0-9]+ end$" | tail -n 1 | awk '{print $3}')
	vlog "$out" "$err"
	if [ "$WRC" != 137 ] && ! has "$out" "^durable: disk full"; then
		notok "$name" "bhyve exited $WRC before the kill" "$out" "$err"
		continue
	fi
	why=$(durable_check "$img" "$r" "$last")
	if [ "$why" = ok ]; then ok "$name" "killed after $last flushed blocks${o:+ ($o)}"
	else notok "$name" "$why" "$out"; fi
done

if want ro-unmodified; then
	img=$TMP/ro.img out=$TMP/ro.out err=$TMP/ro.err
	python3 -c "import os; open('$img','wb').write(os.urandom(1048576))"
	sum=$(sha256sum <"$img")
	vm_start "$P-ro" /dev/null "$out" "$err" -s 3,virtio-blk,"$img",ro \
		-o boot.cmdline="test=durable mode=ro round=9"
	wait_exit "$LAST_PID"
	vlog "$out" "$err"
	if [ "$WRC" != 1 ] || ! has "$out" "^durable ok"; then
		notok ro-unmodified "exit $WRC; a write to the ro disk did not fail" "$out" "$err"
	elif [ "$(sha256sum <"$img")" != "$sum" ]; then
		notok ro-unmodified "read-only image changed on the host" "$out"
	else
		ok ro-unmodified "$(tr -d '\r' <"$out" | grep '^durable-ro:' | cut -d' ' -f2-)"
	fi
fi

if want lock-second-writer; then
	img=$TMP/lock.img outa=$TMP/locka.out erra=$TMP/locka.err
	outb=$TMP/lockb.out errb=$TMP/lockb.err
	mkimage "$img" 1048576
	rm -f "$TMP/lock.in"
	mkfifo "$TMP/lock.in"
	vm_start "$P-la" "$TMP/lock.in" "$outa" "$erra" -s 3,virtio-blk,"$img" \
		-o boot.cmdline="test=durable mode=hold"
	pida=$LAST_PID
	exec 3>"$TMP/lock.in"
	if ! wait_file "$outa" "^durable: holding" "$pida"; then
		notok lock-second-writer "first VM did not start writing" "$outa" "$erra"
	else
		# a second VMM, writable, same image: refused with status 4
		vm_start "$P-lb" /dev/null "$outb" "$errb" -s 3,virtio-blk,"$img" \
			-o boot.cmdline="test=hello"
		wait_exit "$LAST_PID"
		rcb=$WRC
		# and read-only while a writer holds it
		vm_start "$P-lc" /dev/null "$TMP/lockc.out" "$TMP/lockc.err" \
			-s 3,virtio-blk,"$img",ro -o boot.cmdline="test=hello"
		wait_exit "$LAST_PID"
		rcc=$WRC
		printf x >&3
		wait_exit "$pida"
		rca=$WRC
		vlog "$outa" "$errb" "$TMP/lockc.err"
		if [ "$rcb" != 4 ]; then
			notok lock-second-writer "second writer exited $rcb, want 4" "$outb" "$errb"
		elif ! grep -qi "in use" "$errb"; then
			notok lock-second-writer "no clear error message" "$errb"
		elif [ "$rca" != 1 ]; then
			notok lock-second-writer "first VM exited $rca, want 1" "$outa" "$erra"
		else
			ok lock-second-writer "$(head -n 1 "$errb"); ro while written: status $rcc"
		fi
	fi
	exec 3>&-
	# once the writer is gone the image opens again
	if want lock-released; then
		vm_start "$P-ld" /dev/null "$TMP/lockd.out" "$TMP/lockd.err" -s 3,virtio-blk,"$img" \
			-o boot.cmdline="test=hello"
		wait_exit "$LAST_PID"
		if [ "$WRC" = 1 ]; then ok lock-released
		else notok lock-released "exit $WRC after the first VM ended" "$TMP/lockd.err"; fi
	fi
fi

# ---- 3. load ----
if want "load-$LOAD_VMS"; then
	L=$TMP/load
	mkdir -p "$L/run"
	res=$(BHYVE_RUNDIR=$L/run python3 - "$BHYVE" "$PVH64" "$L" "$LOAD_VMS" "$P" "$TIMEOUT" <<'PY'
import os, subprocess, sys, time
bhyve, kernel, d, n, prefix, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
procs = {}
for i in range(n):
    img = "%s/vm%d.img" % (d, i)
    with open(img, "wb") as f:
        f.write(b"\xaa" * (1 << 20))
args = []
t0 = time.time()
for i in range(n):
    out = open("%s/vm%d.out" % (d, i), "wb")
    p = subprocess.Popen([bhyve, "-c", "1", "-m", "128M", "-s", "0,hostbridge", "-s", "31,lpc",
                          "-l", "com1,stdio", "-s", "3,virtio-blk,%s/vm%d.img" % (d, i),
                          "-s", "4,virtio-rnd",
                          "-s", "5,virtio-console,port1=%s/vm%d.sock" % (d, i),
                          "-o", "boot.kernel=" + kernel, "-o", "boot.cmdline=test=load",
                          "%s-load%d" % (prefix, i)],
                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    procs[p.pid] = (i, p)
    print("pid", p.pid, flush=True)
status, rss, fails = {}, {}, []
deadline = t0 + timeout
while len(status) < n:
    pid, st, ru = os.wait4(-1, os.WNOHANG)
    if pid == 0:
        if time.time() > deadline:
            for q, (i, p) in procs.items():
                if q not in status:
                    p.kill()
            fails.append("timeout")
            deadline = float("inf")
        time.sleep(0.05)
        continue
    if pid in procs:
        status[pid] = os.waitstatus_to_exitcode(st)
        rss[pid] = ru.ru_maxrss
wall = time.time() - t0
for pid, (i, p) in procs.items():
    out = open("%s/vm%d.out" % (d, i), "rb").read().decode(errors="replace")
    if status.get(pid) != 1 or "load ok" not in out or "load: round 1: rnd, blk and serial fine" not in out:
        fails.append("vm%d exit %s" % (i, status.get(pid)))
r = sorted(rss.values())
print("wall %.1f" % wall)
print("rss_max_kib %d" % (r[-1] if r else 0))
print("rss_avg_kib %d" % (sum(r) // len(r) if r else 0))
print("fails " + (",".join(fails) if fails else "none"))
PY
	)
	wall=$(awk '/^wall/{print $2}' <<<"$res")
	rmax=$(awk '/^rss_max_kib/{print $2}' <<<"$res")
	ravg=$(awk '/^rss_avg_kib/{print $2}' <<<"$res")
	fails=$(awk '/^fails/{print $2}' <<<"$res")
	left=""
	for pid in $(awk '/^pid/{print $2}' <<<"$res"); do
		[ -d "/proc/$pid" ] && left="$left $pid"
	done
	pgrep -f -- "$P-load" >/dev/null && left="$left (by name)"
	entries=$(ls -A "$L/run" 2>/dev/null | tr '\n' ' ')
	socks=$(find "$L" -type s -o -type l 2>/dev/null | tr '\n' ' ')
	if [ "$fails" != none ]; then
		notok "load-$LOAD_VMS" "failed: $fails" "$L/vm0.out"
	elif [ -n "$left" ]; then
		notok "load-$LOAD_VMS" "bhyve processes left: $left"
	elif [ -n "$entries" ]; then
		notok "load-$LOAD_VMS" "registry entries left: $entries"
	elif [ -n "$socks" ]; then
		notok "load-$LOAD_VMS" "sockets/links left: $socks"
	else
		ok "load-$LOAD_VMS" "wall ${wall}s, peak RSS per VMM max $((rmax / 1024)) MiB avg $((ravg / 1024)) MiB"
	fi
fi

if want fd-threads; then
	img=$TMP/fd.img out=$TMP/fd.out err=$TMP/fd.err
	mkimage "$img" 1048576
	rm -f "$TMP/fd.in"
	mkfifo "$TMP/fd.in"
	rounds=5
	vm_start "$P-fd" "$TMP/fd.in" "$out" "$err" -s 3,virtio-blk,"$img" -s 4,virtio-rnd \
		-s 5,virtio-console,port1="$TMP/fd.sock" -o boot.cmdline="test=fdwatch rounds=$rounds"
	pid=$LAST_PID
	exec 3>"$TMP/fd.in"
	samples="" why=""
	for i in $(seq 1 "$rounds"); do
		if ! wait_file "$out" "^fdwatch: round $i done" "$pid"; then
			why="guest did not finish round $i"
			break
		fi
		s="$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)/$(ls "/proc/$pid/task" 2>/dev/null | wc -l)"
		samples="$samples $s"
		printf x >&3 # exactly one byte: the guest takes one per round
	done
	wait_exit "$pid"
	exec 3>&-
	vlog "$out" "$err"
	first=$(awk '{print $1}' <<<"$samples")
	if [ -n "$why" ]; then
		notok fd-threads "$why" "$out" "$err"
	elif [ "$WRC" != 1 ]; then
		notok fd-threads "exit status $WRC, want 1" "$out" "$err"
	elif [ -n "$(tr ' ' '\n' <<<"$samples" | grep -v '^$' | grep -vx -- "$first")" ]; then
		notok fd-threads "fd/thread counts changed across rounds:$samples"
	else
		ok fd-threads "fds/threads after each of $rounds rounds:$samples"
	fi
fi

lib_finish
