#!/usr/bin/env bash
# Management tests: VM registry, bhyvectl, bhyveload, vmrun.sh and consoles
# with real clients (socat on a null-modem pair and a pty, nc on tcp=,
# bhyvectl --console), against the project's test guests.
#
#   tests/mgmt/run.sh [-v] [PATTERN]
#
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
TIMEOUT=${GUEST_TIMEOUT:-60}
lib_args "$@"
lib_tmp mgmt
mkdir -p "$TMP/dev"
export PATH="$BIN:$(realpath tools):$PATH"
P="lmt$$" # VM name prefix, unique per run

# Start bhyve in the background: vm_start NAME OUTFILE ARGS... (sets LAST_PID)
vm_start() {
	local name=$1 out=$2
	shift 2
	bhyve "$@" "$name" </dev/null >"$out" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}
# The usual machine with the PVH test guest running test=$2 and COM1 on $3.
vm_guest() { # NAME TEST COM1 OUT [extra args...]
	local name=$1 test=$2 com1=$3 out=$4
	shift 4
	vm_start "$name" "$out" -c 1 -m 256M -s 0,hostbridge -s 31,lpc -l "com1,$com1" \
		-o boot.kernel="$PVH" -o boot.cmdline="test=$test" "$@"
}
# Wait until the guest of NAME printed ERE on COM1 (the registry's log).
wait_log() { wait_file "$BHYVE_RUNDIR/$1/com1.log" "$2"; }

if [ ! -e /dev/kvm ] || [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	SKIP_ALL="no usable /dev/kvm"
elif [ ! -x "$BIN/bhyve" ] || [ ! -x "$BIN/bhyvectl" ] || [ ! -x "$BIN/bhyveload" ]; then
	SKIP_ALL="bhyve, bhyvectl or bhyveload not built"
elif [ ! -f "$PVH" ]; then
	SKIP_ALL="guests not built (make guests)"
fi
[ -n "$SKIP_ALL" ] && echo "# cannot run mgmt tests: $SKIP_ALL"

# ---- registry: two VMs at once, list, JSON, duplicate name ----
if want registry-two-vms; then
	a=$P-a b=$P-b
	vm_guest "$a" sigterm-noacpi stdio "$TMP/a.out"; pa=$LAST_PID
	vm_guest "$b" sigterm-noacpi "$TMP/dev/nmdm1A" "$TMP/b.out" -c 2; pb=$LAST_PID
	wait_log "$a" '^ready' && wait_log "$b" '^ready'
	bhyvectl --list >"$TMP/list.txt" 2>&1
	bhyvectl --list --json >"$TMP/list.json" 2>&1
	vm_guest "$a" sigterm-noacpi stdio "$TMP/dup.out"; pdup=$LAST_PID
	wait_exit "$pdup"; rdup=$WRC
	vlog "$TMP/list.txt" "$TMP/list.json" "$TMP/dup.out"
	if ! grep -Eq "^$a +$pa +running +256 +1 " "$TMP/list.txt" ||
	   ! grep -Eq "^$b +$pb +running +256 +2 .*com1=nmdm:$TMP/dev/nmdm1B" "$TMP/list.txt"; then
		notok registry-two-vms "--list lacks a running VM" "$TMP/list.txt"
	elif ! python3 -m json.tool "$TMP/list.json" >/dev/null; then
		notok registry-two-vms "--list --json does not parse" "$TMP/list.json"
	elif ! python3 - "$TMP/list.json" "$a" "$pa" "$b" "$pb" <<'EOF'
import json, sys
vms = {v["name"]: v for v in json.load(open(sys.argv[1]))}
fields = {"name", "pid", "state", "memory", "vcpus", "cpu_time", "consoles", "kernel"}
a, b = vms[sys.argv[2]], vms[sys.argv[4]]
assert set(a) == fields and set(b) == fields, (set(a), fields)
assert a["pid"] == int(sys.argv[3]) and b["pid"] == int(sys.argv[5])
assert a["state"] == b["state"] == "running"
assert a["memory"] == 256 << 20 and a["vcpus"] == 1 and b["vcpus"] == 2
assert isinstance(a["cpu_time"], float)
assert b["consoles"]["com1"]["type"] == "nmdm"
assert b["consoles"]["com1"]["endpoint"].endswith("/nmdm1B")
EOF
	then
		notok registry-two-vms "--list --json has wrong fields or values" "$TMP/list.json"
	elif [ "$rdup" != 4 ] || ! has "$TMP/dup.out" "VM '$a' is already running \(pid $pa\)"; then
		notok registry-two-vms "duplicate name: exit $rdup, want 4 with a message" "$TMP/dup.out"
	elif ! kill -0 "$pa" 2>/dev/null; then
		notok registry-two-vms "the duplicate start hurt the running VM" "$TMP/a.out"
	else
		ok registry-two-vms
	fi
	kill -KILL "$pa" "$pb" 2>/dev/null
	wait "$pa" "$pb" 2>/dev/null
	# ---- SIGKILL'd VMs leave stale entries; --destroy and --list clean them ----
	if want registry-stale; then
		bhyvectl --vm="$a" --destroy >"$TMP/stale.txt" 2>&1; r1=$?
		bhyvectl --list >>"$TMP/stale.txt" 2>&1
		if [ "$r1" != 0 ]; then
			notok registry-stale "--destroy of a killed VM: exit $r1" "$TMP/stale.txt"
		elif [ -e "$BHYVE_RUNDIR/$a" ] || [ -e "$BHYVE_RUNDIR/$b" ]; then
			notok registry-stale "entries left behind" "$TMP/stale.txt"
		elif [ -L "$TMP/dev/nmdm1B" ]; then
			notok registry-stale "the killed VM's nmdm link was not removed" "$TMP/stale.txt"
		elif bhyvectl --vm="$a" --destroy 2>"$TMP/stale2.txt" ||
		     ! grep -q "does not exist" "$TMP/stale2.txt"; then
			notok registry-stale "--destroy of an unknown VM must fail with a message" "$TMP/stale2.txt"
		else
			ok registry-stale
		fi
	fi
fi

# ---- bhyvectl against a running guest ----
if want bhyvectl-running; then
	n=$P-ctl
	vm_guest "$n" nmi stdio "$TMP/ctl.out" -c 2; pid=$LAST_PID
	wait_log "$n" '^ready'
	f=$TMP/ctl.txt
	: >"$f"
	bhyvectl --vm="$n" --get-stats >"$TMP/stats.txt" 2>>"$f"; rs=$?
	bhyvectl --vm="$n" --get-rip --get-cr0 --get-rflags --get-cs >"$TMP/regs.txt" 2>>"$f"; rr=$?
	bhyvectl --vm="$n" --get-all --cpu=1 >"$TMP/all.txt" 2>>"$f"; ra=$?
	bhyvectl --vm="$n" --inject-nmi 2>>"$f"; rn=$?
	wait_log "$n" '^nmi: received 1'; seen=$?
	bhyvectl --vm="$n" --get-rip --cpu=2 >>"$f" 2>&1; rbad=$?
	bhyvectl --vm="$n" --set-rip=0 >>"$f" 2>&1; rset=$?
	bhyvectl --vm="$n" --checkpoint=x >>"$f" 2>&1; rchk=$?
	vlog "$TMP/stats.txt" "$TMP/regs.txt" "$TMP/all.txt" "$f"
	if [ "$rs" != 0 ] || ! grep -q '^vcpu0 stats:' "$TMP/stats.txt" ||
	   ! grep -q '^vcpu1 stats:' "$TMP/stats.txt" ||
	   ! grep -Eq '^exits: port I/O +	[1-9][0-9]*$' "$TMP/stats.txt" ||
	   ! grep -Eq '^com1 output bytes +	[1-9]' "$TMP/stats.txt"; then
		notok bhyvectl-stats "--get-stats output" "$TMP/stats.txt" "$f"
	else
		ok bhyvectl-stats
	fi
	if [ "$rr" != 0 ] || ! grep -Pq '^rip\[0\]\t\t0x[0-9a-f]{16}$' "$TMP/regs.txt" ||
	   ! grep -Pq '^cr0\[0\]\t\t0x0000000000000011$' "$TMP/regs.txt" ||
	   ! grep -Pq '^rflags\[0\]\t\t0x[0-9a-f]{16}$' "$TMP/regs.txt" ||
	   ! grep -Pq '^cs\[0\]\t\t0x0008$' "$TMP/regs.txt" || [ "$ra" != 0 ] ||
	   ! grep -Pq '^rip\[1\]\t\t0x000000000000fff0$' "$TMP/all.txt" ||
	   ! grep -Pq '^cs desc\[1\]\t0x00000000ffff0000/' "$TMP/all.txt"; then
		notok bhyvectl-registers "register getters" "$TMP/regs.txt" "$TMP/all.txt" "$f"
	elif [ "$rbad" = 0 ] || [ "$rset" = 0 ] || [ "$rchk" = 0 ] ||
	     ! grep -q 'not supported' "$f"; then
		notok bhyvectl-registers "bad vCPU / --set-* / --checkpoint must fail clearly" "$f"
	else
		ok bhyvectl-registers
	fi
	if [ "$rn" != 0 ] || [ "$seen" != 0 ]; then
		notok bhyvectl-nmi "the guest did not report the NMI" "$TMP/ctl.out" "$f"
	else
		ok bhyvectl-nmi
	fi
	bhyvectl --vm="$n" --force-reset 2>>"$f"
	wait_exit "$pid"; r=$WRC
	if [ "$r" != 0 ]; then
		notok bhyvectl-force-reset "bhyve exit $r, want 0" "$TMP/ctl.out" "$f"
	elif [ -e "$BHYVE_RUNDIR/$n" ]; then
		notok bhyvectl-force-reset "entry left behind" "$f"
	else
		ok bhyvectl-force-reset
	fi
fi

if want bhyvectl-force-poweroff; then
	n=$P-off
	vm_guest "$n" sigterm-noacpi stdio "$TMP/off.out"; pid=$LAST_PID
	wait_log "$n" '^ready'
	bhyvectl --vm="$n" --force-poweroff 2>"$TMP/off.txt"
	wait_exit "$pid"; r=$WRC
	if [ "$r" != 1 ]; then notok bhyvectl-force-poweroff "bhyve exit $r, want 1" "$TMP/off.out" "$TMP/off.txt"
	else ok bhyvectl-force-poweroff; fi
fi

if want bhyvectl-destroy; then
	n=$P-des
	vm_guest "$n" sigterm-noacpi stdio "$TMP/des.out"; pid=$LAST_PID
	wait_log "$n" '^ready'
	bhyvectl --vm="$n" --destroy 2>"$TMP/des.txt"; rd=$?
	wait_exit "$pid"; r=$WRC
	if [ "$rd" != 0 ] || [ "$r" != 4 ]; then
		notok bhyvectl-destroy "bhyvectl exit $rd, bhyve exit $r (want 0, 4)" "$TMP/des.out" "$TMP/des.txt"
	elif [ -e "$BHYVE_RUNDIR/$n" ]; then
		notok bhyvectl-destroy "entry left behind" "$TMP/des.txt"
	else
		ok bhyvectl-destroy
	fi
fi

# ---- control socket robustness: bad requests, half requests, many clients ----
if want ctl-socket-robust; then
	n=$P-rob
	vm_guest "$n" sigterm-noacpi stdio "$TMP/rob.out"; pid=$LAST_PID
	wait_log "$n" '^ready'
	python3 - "$BHYVE_RUNDIR/$n/ctl.sock" >"$TMP/rob.txt" 2>&1 <<'EOF'
import os, socket, sys, time
path = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s
def reply(s):
    hdr = b""
    while not hdr.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            return None, b""
        hdr += c
    if hdr.startswith(b"OK "):
        n = int(hdr[3:]); body = b""
        while len(body) < n:
            body += s.recv(n - len(body))
        return hdr, body
    return hdr, b""
# half a request, then gone
s = conn(); s.send(b"sta"); s.close()
# an unknown command, a bad vCPU, garbage bytes: ERR replies
s = conn()
for req, want in ((b"frobnicate\n", b"ERR 22 "), (b"regs 99\n", b"ERR 22 "),
                  (b"nmi\n", b"ERR 22 "), (b"info\x01\xff\n", b"ERR 22 "),
                  (b"console com3\n", b"ERR 19 ")):
    s.send(req)
    h, _ = reply(s)
    assert h and h.startswith(want), (req, h)
# pipelined requests on one connection
s.send(b"info\ninfo\n")
for _ in range(2):
    h, b = reply(s)
    assert h.startswith(b"OK ") and b"state=running" in b, h
s.close()
# an overlong request is refused and the connection closed (the error
# reply may be lost to a reset, as the server closes with unread input)
s = conn(); s.send(b"x" * 1000)
try:
    h, _ = reply(s)
    assert h is None or h.startswith(b"ERR 7 "), h
    assert s.recv(10) == b""
except ConnectionResetError:
    pass
# many clients at once, more than the server keeps
socks = [conn() for _ in range(20)]
time.sleep(0.5)
answered = 0
for s in socks:
    try:
        s.send(b"info\n")
        h, b = reply(s)
        if h and h.startswith(b"OK "):
            answered += 1
    except OSError:
        pass
assert answered >= 16, answered
for s in socks:
    s.close()
# a client that disappears before reading a big reply
s = conn(); s.send(b"regs 0\nstats\n"); s.close()
time.sleep(0.3)
s = conn(); s.send(b"help\n"); h, b = reply(s)
assert h.startswith(b"OK ") and b"console comN" in b
print("robust ok")
EOF
	rp=$?
	alive=no; kill -0 "$pid" 2>/dev/null && alive=yes
	bhyvectl --vm="$n" --force-poweroff 2>>"$TMP/rob.txt"
	wait_exit "$pid"; r=$WRC
	vlog "$TMP/rob.txt"
	if [ "$rp" != 0 ] || [ "$alive" != yes ] || [ "$r" != 1 ]; then
		notok ctl-socket-robust "client script $rp, VM alive=$alive, exit $r" "$TMP/rob.txt" "$TMP/rob.out"
	else
		ok ctl-socket-robust
	fi
fi

# ---- -D: a powered-off VM is destroyed, prepared boot spec included ----
if want destroy-on-poweroff; then
	n=$P-dpo hd=$TMP/dpodir
	mkdir -p "$hd"
	cp "$PVH" "$hd/vmlinuz"
	f=$TMP/dpo.txt
	bhyveload -m 256M -h "$hd" -e kernel=vmlinuz -e cmdline=test=poweroff "$n" >"$f" 2>&1; rl=$?
	bhyve -D -c 1 -m 256M -s 0,hostbridge -s 31,lpc -l com1,stdio "$n" </dev/null >>"$f" 2>&1; rb=$?
	vlog "$f"
	if [ "$rl" != 0 ] || [ "$rb" != 1 ] || [ -e "$BHYVE_RUNDIR/$n" ]; then
		notok destroy-on-poweroff "bhyveload $rl, bhyve -D exit $rb (want 1), entry left: $(ls "$BHYVE_RUNDIR/$n" 2>&1 | tr '\n' ' ')" "$f"
		bhyvectl --vm="$n" --destroy >/dev/null 2>&1
	else
		ok destroy-on-poweroff
	fi
fi

# ---- bhyveload: two-step boot from a host directory ----
if want bhyveload-two-step; then
	n=$P-load hd=$TMP/hostdir
	mkdir -p "$hd/boot"
	cp "$PVH" "$hd/boot/vmlinuz"
	f=$TMP/load.txt
	bhyveload -m 256M -h "$hd" -e "cmdline=test=hello word=two-step" "$n" >"$f" 2>&1; rl=$?
	bhyvectl --list --json >"$TMP/load.json" 2>>"$f"
	python3 -c 'import json,sys; v={x["name"]:x for x in json.load(open(sys.argv[1]))}[sys.argv[2]]; assert v["state"]=="prepared" and v["memory"]==256<<20 and v["kernel"].endswith("/boot/vmlinuz") and v["pid"] is None' \
		"$TMP/load.json" "$n" 2>>"$f"; rj=$?
	bhyve -c 1 -m 512M -s 0,hostbridge -s 31,lpc -l com1,stdio "$n" </dev/null >"$TMP/mm.out" 2>&1; rm=$?
	bhyve -c 1 -m 256M -s 0,hostbridge -s 31,lpc -l com1,stdio "$n" </dev/null >"$TMP/load.out" 2>&1; rb=$?
	bhyvectl --vm="$n" >/dev/null 2>&1 # (no action)
	prepared=no; [ -f "$BHYVE_RUNDIR/$n/bootspec" ] && prepared=yes
	bhyvectl --vm="$n" --destroy 2>>"$f"; rd=$?
	vlog "$f" "$TMP/mm.out" "$TMP/load.out"
	if [ "$rl" != 0 ] || [ "$rj" != 0 ]; then
		notok bhyveload-two-step "bhyveload exit $rl / not listed as prepared" "$f" "$TMP/load.json"
	elif [ "$rm" != 4 ] || ! has "$TMP/mm.out" 'memory size mismatch'; then
		notok bhyveload-two-step "mismatched memory: exit $rm, want 4 with a message" "$TMP/mm.out"
	elif [ "$rb" != 1 ] || ! has "$TMP/load.out" '^cmdline: \[test=hello word=two-step\]$'; then
		notok bhyveload-two-step "boot of the prepared kernel: exit $rb" "$TMP/load.out"
	elif [ "$prepared" != yes ] || [ "$rd" != 0 ] || [ -e "$BHYVE_RUNDIR/$n" ]; then
		notok bhyveload-two-step "spec kept after the run: $prepared; --destroy: $rd" "$f"
	else
		ok bhyveload-two-step
	fi
fi

if want bhyveload-errors; then
	f=$TMP/lerr.txt n=$P-lerr
	truncate -s 1M "$TMP/blank.img"
	: >"$f"
	bhyveload -m 256M -d "$TMP/blank.img" "$n" 2>>"$f"; r1=$?
	bhyveload -m 256M -h "$TMP" -e kernel=../../etc/passwd "$n" 2>>"$f"; r2=$?
	bhyveload -m 256M -h "$TMP/dev" "$n" 2>>"$f"; r3=$?
	bhyveload -m 256M -e kernel=host0:/x "$n" 2>>"$f"; r4=$?
	vlog "$f"
	if [ "$r1" = 0 ] || [ "$r2" = 0 ] || [ "$r3" = 0 ] || [ "$r4" = 0 ] ||
	   ! grep -q 'cannot read a kernel out of a disk image' "$f" ||
	   ! grep -q 'leaves the host directory' "$f" || ! grep -q 'no kernel found' "$f" ||
	   [ -e "$BHYVE_RUNDIR/$n" ]; then
		notok bhyveload-errors "bad requests must fail clearly and leave no entry" "$f"
	else
		ok bhyveload-errors
	fi
fi

# ---- vmrun.sh: reboot twice, then power off ----
if want vmrun-loop; then
	n=$P-run sh=$TMP/shim
	mkdir -p "$sh"
	# bhyveload shim: runs 1-2 boot a guest that resets, run 3 one that powers off.
	cat >"$sh/bhyveload" <<EOF
#!/bin/sh
n=\$((\$(cat "$TMP/runs" 2>/dev/null || echo 0) + 1))
echo \$n >"$TMP/runs"
if [ \$n -le 2 ]; then c=test=reset-cf9; else c=test=poweroff; fi
exec "$BIN/bhyveload" -e "cmdline=\$c" "\$@"
EOF
	chmod +x "$sh/bhyveload"
	# bhyve shim only if this build has no virtio-blk yet: drop the disk slot.
	if ! bhyve -s help 2>/dev/null | grep -q '^virtio-blk'; then
		cat >"$sh/bhyve" <<EOF
#!/usr/bin/env bash
a=(); for x in "\$@"; do case \$x in *,virtio-blk,*) a=("\${a[@]:0:\${#a[@]}-1}") ;; *) a+=("\$x") ;; esac; done
exec "$BIN/bhyve" "\${a[@]}"
EOF
		chmod +x "$sh/bhyve"
		echo "# vmrun-loop: this bhyve has no virtio-blk; the disk slot is dropped"
	fi
	mkdir -p "$TMP/hd2/boot" && cp "$PVH" "$TMP/hd2/boot/vmlinuz"
	PATH="$sh:$PATH" vmrun.sh -c 1 -m 256M -t none -H "$TMP/hd2" -d "$TMP/run.img" "$n" \
		</dev/null >"$TMP/vmrun.out" 2>&1 &
	vp=$!; PIDS+=("$vp")
	wait_exit "$vp"; r=$WRC
	runs=$(cat "$TMP/runs" 2>/dev/null)
	resets=$(tr -d '\r' <"$TMP/vmrun.out" | grep -c '^power: reset via 0xCF9')
	vlog "$TMP/vmrun.out"
	if [ "$r" != 1 ] || [ "$runs" != 3 ] || [ "$resets" != 2 ] ||
	   ! has "$TMP/vmrun.out" '^power: S5'; then
		notok vmrun-loop "exit $r, $runs runs, $resets resets (want 1, 3, 2)" "$TMP/vmrun.out"
	elif [ -e "$BHYVE_RUNDIR/$n" ]; then
		notok vmrun-loop "registry entry left behind" "$TMP/vmrun.out"
	elif [ "$(stat -c %s "$TMP/run.img" 2>/dev/null)" != 8589934592 ]; then
		notok vmrun-loop "missing disk not created with truncate -s 8G" "$TMP/vmrun.out"
	else
		ok vmrun-loop
	fi
	vmrun.sh -i "$n" >"$TMP/vmrun-i.out" 2>&1; ri=$?
	vmrun.sh -E "$n" >>"$TMP/vmrun-i.out" 2>&1; re=$?
	if [ "$ri" = 0 ] || [ "$re" = 0 ] || ! grep -q 'lhyve does not have yet' "$TMP/vmrun-i.out"; then
		notok vmrun-missing-features "-i/-E must fail naming what is missing" "$TMP/vmrun-i.out"
	else
		ok vmrun-missing-features
	fi
fi

# ---- consoles with real clients ----
# socat on the B end of a null-modem pair: guest output, input echoed back.
# The guest powers off right after the echo; bhyve's exit closes the pty,
# which would discard what socat has not read yet, so the last line
# (power: S5) must arrive too: bhyve waits for the client at exit.
if want console-nmdm; then
	n=$P-nm A=$TMP/dev/nmdm5A B=$TMP/dev/nmdm5B
	vm_guest "$n" serial "$A" "$TMP/nm.out"; pid=$LAST_PID
	wait_log "$n" '^ready'
	linked=no; [ -L "$B" ] && [ -c "$B" ] && linked=yes
	{ sleep 0.5; printf 'hello over nmdm\r'; sleep 3; } |
		timeout 15 socat - "FILE:$B,raw,echo=0" >"$TMP/nm.cli" 2>&1
	wait_exit "$pid"; r=$WRC
	vlog "$TMP/nm.cli" "$TMP/nm.out"
	if [ "$linked" != yes ]; then notok console-nmdm "$B is not a link to a pty" "$TMP/nm.out"
	elif [ "$r" != 1 ] || ! has "$TMP/nm.cli" '^ready' ||
	     ! has "$TMP/nm.cli" '^echo: \[hello over nmdm\]'; then
		notok console-nmdm "exit $r; socat did not see the echo" "$TMP/nm.cli" "$TMP/nm.out"
	elif ! has "$TMP/nm.cli" '^power: S5 \(SLP_TYPa=5\) via PM1a_CNT 0x404$'; then
		notok console-nmdm "the output before the exit did not all reach socat" "$TMP/nm.cli" "$TMP/nm.out"
	elif [ -e "$B" ] || [ -L "$B" ]; then
		notok console-nmdm "$B not removed at exit" "$TMP/nm.out"
	else
		ok console-nmdm
	fi
fi

# cu(1) on a real /dev/nmdmNB, as the handbook does (root only: cu runs as
# uucp). cu discards what was queued before it connected, so the guest
# prints while cu is attached: an NMI sent with bhyvectl.
if want console-cu; then
	if [ "$(id -u)" != 0 ] || ! command -v cu >/dev/null || ! id uucp >/dev/null 2>&1; then
		ok "console-cu # SKIP needs root, cu and a uucp user"
	else
		n=$P-cu A=/dev/nmdm$$A B=/dev/nmdm$$B
		vm_guest "$n" nmi "$A" "$TMP/cu.out"; pid=$LAST_PID
		wait_log "$n" '^ready'
		{ sleep 5; } | timeout 15 cu -l "$B" -s 115200 >"$TMP/cu.cli" 2>&1 &
		cup=$!
		sleep 1.5
		bhyvectl --vm="$n" --inject-nmi 2>>"$TMP/cu.out"
		wait_file "$TMP/cu.cli" '^nmi: received 1'; seen=$?
		bhyvectl --vm="$n" --force-poweroff 2>>"$TMP/cu.out"
		wait_exit "$pid"; r=$WRC
		wait "$cup" 2>/dev/null
		vlog "$TMP/cu.cli" "$TMP/cu.out"
		if [ "$r" != 1 ] || [ "$seen" != 0 ]; then
			notok console-cu "exit $r; cu did not show the guest's output" "$TMP/cu.cli" "$TMP/cu.out"
		elif [ -e "$B" ] || [ -L "$B" ]; then
			notok console-cu "$B not removed at exit" "$TMP/cu.out"
		else
			ok console-cu
		fi
	fi
fi

# -l com1,pty: the path is printed and recorded; socat talks to it.
if want console-pty; then
	n=$P-pty
	vm_guest "$n" serial pty "$TMP/pty.out"; pid=$LAST_PID
	wait_log "$n" '^ready'
	pts=$(sed -n 's/^bhyve: com1: pty //p' "$TMP/pty.out" | tr -d '\r')
	rec=$(awk '$1 == "com1" && $2 == "pty" { print $3 }' "$BHYVE_RUNDIR/$n/consoles" 2>/dev/null)
	{ sleep 0.5; printf 'hello over pty\r'; sleep 3; } |
		timeout 15 socat - "FILE:${pts:-/nonexistent},raw,echo=0" >"$TMP/pty.cli" 2>&1
	wait_exit "$pid"; r=$WRC
	vlog "$TMP/pty.cli" "$TMP/pty.out"
	if [ -z "$pts" ] || [ "$pts" != "$rec" ]; then
		notok console-pty "pty path not printed or not recorded ($pts / $rec)" "$TMP/pty.out"
	elif [ "$r" != 1 ] || ! has "$TMP/pty.cli" '^echo: \[hello over pty\]'; then
		notok console-pty "exit $r; no echo through the pty" "$TMP/pty.cli" "$TMP/pty.out"
	elif ! has "$TMP/pty.cli" '^power: S5 \(SLP_TYPa=5\) via PM1a_CNT 0x404$'; then
		notok console-pty "the output before the exit did not all reach socat" "$TMP/pty.cli" "$TMP/pty.out"
	else
		ok console-pty
	fi
fi

# tcp=: nc connects after the guest printed; the log has the early output.
if want console-tcp; then
	n=$P-tcp port=$((20000 + $$ % 20000))
	vm_guest "$n" serial "tcp=127.0.0.1:$port" "$TMP/tcp.out"; pid=$LAST_PID
	wait_log "$n" '^ready'
	{ sleep 0.5; printf 'hello over tcp\r'; sleep 3; } |
		timeout 15 nc 127.0.0.1 "$port" >"$TMP/tcp.cli" 2>&1
	wait_exit "$pid"; r=$WRC
	vlog "$TMP/tcp.cli" "$TMP/tcp.out"
	if [ "$r" != 1 ] || ! has "$TMP/tcp.cli" '^echo: \[hello over tcp\]'; then
		notok console-tcp "exit $r; nc did not see the echo" "$TMP/tcp.cli" "$TMP/tcp.out"
	else
		ok console-tcp
	fi
fi

# bhyvectl --console: late attach shows history; input reaches the UART; ~. detaches.
if want console-bhyvectl; then
	n=$P-con
	vm_guest "$n" serial stdio "$TMP/con.out"; pid=$LAST_PID
	wait_log "$n" '^ready'
	sleep 0.5
	{ sleep 1; printf '~.'; sleep 5; } | timeout 10 bhyvectl --console --vm="$n" >"$TMP/con1.cli" 2>&1; rdet=$?
	alive=no; kill -0 "$pid" 2>/dev/null && alive=yes
	{ sleep 0.5; printf 'late but here\r'; sleep 5; } |
		timeout 15 bhyvectl --console --vm="$n" >"$TMP/con2.cli" 2>&1
	wait_exit "$pid"; r=$WRC
	vlog "$TMP/con1.cli" "$TMP/con2.cli" "$TMP/con.out"
	if [ "$rdet" != 0 ] || [ "$alive" != yes ] || ! has "$TMP/con1.cli" '^ready' ||
	   ! has "$TMP/con1.cli" '\[detached\]'; then
		notok console-bhyvectl "late attach without history or ~. did not detach ($rdet, $alive)" "$TMP/con1.cli"
	elif [ "$r" != 1 ] || ! has "$TMP/con2.cli" '^echo: \[late but here\]'; then
		notok console-bhyvectl "exit $r; input through bhyvectl --console not echoed" "$TMP/con2.cli" "$TMP/con.out"
	elif ! has "$TMP/con.out" '^echo: \[late but here\]'; then
		notok console-bhyvectl "the stdio console lost the output" "$TMP/con.out"
	else
		ok console-bhyvectl
	fi
fi

lib_finish
