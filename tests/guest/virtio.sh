# PCI and virtio scenarios for tests/guest/run.sh (sourced by it; uses its
# helpers and globals). The guest is the 64-bit PVH build, whose drivers
# run in ring 3. Network scenarios need root and iproute2; they work only
# inside network namespaces this file creates (deleted by tests/lib.sh's
# cleanup even on failure) and never touch the host's interfaces.

VIRTIO_BASE="-c 1 -m 256M -s 0,hostbridge -s 31,lpc -l com1,stdio -o boot.kernel=$PVH64"

# usage: vguest NAME STATUS CMDLINE "BHYVE-OPTS" -> VM_RC, VM_OUT
vguest() {
	local name=$1 cmdline=$2 opts=$3
	# shellcheck disable=SC2086
	vm_start "$name" /dev/null $opts $VIRTIO_BASE -o boot.cmdline="$cmdline"
	vm_wait
	vlog "$VM_OUT"
}

# Check exit status 1 and console EREs; reports failures. 0 if ok.
vcheck() { local name=$1; shift; vm_check "$name" 1 "$@"; }

# ---- 8. the 64-bit PVH guest itself: common test, ring 3 round trip ----
scenario "hello-pvh64" 1 "$PVH64" "test=hello" "-c 1" \
	"^hello: lhyve test guest, boot=pvh64, 64-bit" "^acpi: s5=yes" "^power: S5"
scenario "ring3-pvh64" 1 "$PVH64" "test=ring3" "-c 1" \
	"^ring3: cpl3=yes rflags=0x[0-9a-f]+$" "^ring3: [0-9]+ timer interrupts$" \
	"^ring3: back in ring 0, cpl3=no result=42$" "^ring3 ok$"
scenario "timers-pvh64" 1 "$PVH64" "test=timers" "-c 1" "^pit ok" "^lapic ok"
# Instructions some host emulators reject in guest kernel mode; bhyve completes
# them there (POPCNT, LDMXCSR of the current value, STMXCSR, FWAIT, INT3).
scenario "insn-pvh64" 1 "$PVH64" "test=insn" "-c 1" \
	"^insn: popcnt64=20 popcnt32=2 zf=1$" "^insn: mxcsr=0x1f80$" \
	"^insn: int3 -> #BP handler ran 1 time" "^insn ok$"

# ---- 8b. PCI enumeration: -s placement exactly as given ----
if want virtio-pci; then
	img=$TMP/pci.img
	mkimage "$img" 1048576
	vguest virtio-pci "test=pci" "-s 3:0,virtio-blk,$img -s 4:0,virtio-rnd -s 4:1,virtio-rnd -s 7,virtio-console,port1=$TMP/pci.sock"
	vcheck virtio-pci \
		"^pci 00:00\.0 1275:1275 class=06\.00\.00 hdr=0x00 " \
		"^pci 00:03\.0 1af4:1042 class=01\.80\.00 hdr=0x00 pin=1 line=19$" \
		"^pci 00:03\.0 bar0 mem32 addr=0x[0-9a-f]+ size=0x8000$" \
		"^pci 00:03\.0 caps 09 09 09 09 11$" \
		"^pci 00:04\.0 1af4:1044 class=00\.ff\.00 hdr=0x80 pin=1 line=20$" \
		"^pci 00:04\.1 1af4:1044 class=00\.ff\.00 hdr=0x00 pin=1 line=20$" \
		"^pci 00:07\.0 1af4:1043 class=07\.80\.00 hdr=0x00 pin=1 line=23$" \
		"^pci 00:1f\.0 8086:7000 class=06\.01\.00 " \
		"^pci: 6 functions$" "^pci ok$" && ok virtio-pci
fi
if want virtio-pci-msi; then
	vguest virtio-pci-msi "test=pci" "-W -s 5,virtio-rnd"
	vcheck virtio-pci-msi "^pci 00:05\.0 1af4:1044 .* line=21$" \
		"^pci 00:05\.0 caps 09 09 09 09 05$" "^pci: 3 functions$" "^pci ok$" &&
		ok virtio-pci-msi
fi

# ---- 9. virtio-blk: read/write/flush/discard against the host file ----
if want virtio-blk; then
	img=$TMP/blk.img
	mkimage "$img" 1048576
	vguest virtio-blk "test=blk" "-s 3,virtio-blk,$img,ser=LGTSERIAL01"
	if vcheck virtio-blk "^virtio-blk: .* capacity=2048 blk_size=512 ro=0 flush=1 discard=1 write_zeroes=1$" \
		"^virtio-blk: get_id status=0 serial=\[LGTSERIAL01\]$" \
		"^virtio-blk: write status=0$" "^virtio-blk: read-back ok$" \
		"^virtio-blk: flush status=0$" "^virtio-blk: discard status=0$" \
		"^virtio-blk: write-zeroes status=0$" "^virtio-blk: read past end status=1$" \
		"^virtio-blk ok$"; then
		why=$(blk_host_check "$img")
		if [ "$why" = ok ]; then ok virtio-blk; else notok virtio-blk "host file: $why" "$VM_OUT"; fi
	fi
fi
if want virtio-blk-ro; then
	img=$TMP/blkro.img
	mkimage "$img" 1048576
	sum=$(sha256sum <"$img")
	vguest virtio-blk-ro "test=blk" "-s 3,virtio-blk,$img,ro,sectorsize=4096"
	if vcheck virtio-blk-ro "^virtio-blk: .* blk_size=4096 ro=1 " \
		"^virtio-blk: get_id status=0 serial=\[.+\]$" \
		"^virtio-blk: write status=1 \(IOERR\)$" "^virtio-blk ok$"; then
		if [ "$(sha256sum <"$img")" = "$sum" ]; then ok virtio-blk-ro
		else notok virtio-blk-ro "read-only image changed on the host" "$VM_OUT"; fi
	fi
fi
if want virtio-blk-nodelete; then
	img=$TMP/blknd.img
	mkimage "$img" 1048576
	vguest virtio-blk-nodelete "test=blk" "-s 3,virtio-blk,$img,nodelete"
	vcheck virtio-blk-nodelete "discard=0 write_zeroes=0$" "^virtio-blk: read-back ok$" \
		"^virtio-blk ok$" && ok virtio-blk-nodelete
fi

# ---- 10. virtio-rnd, interrupts (MSI-X, INTx, MSI with -W) ----
if want virtio-rnd; then
	vguest virtio-rnd "test=rnd" "-s 4,virtio-rnd"
	vcheck virtio-rnd "^virtio-rnd: 256 bytes" "^virtio-rnd ok$" && ok virtio-rnd
fi
for m in msix:"" intx:"" msi:"-W"; do
	mode=${m%%:*} extra=${m#*:}
	want "virtio-intr-$mode" || continue
	vguest "virtio-intr-$mode" "test=intr irq=$mode" "$extra -s 4,virtio-rnd"
	vcheck "virtio-intr-$mode" "^intr: mode=$mode vector=0x60 count=[0-9]+" "^intr ok$" &&
		ok "virtio-intr-$mode"
done

# ---- 11. virtio-console: a line each way through the port socket ----
if want virtio-console; then
	sock=$TMP/cons.sock
	vm_start virtio-console /dev/null -s 5,virtio-console,port1="$sock" $VIRTIO_BASE \
		-o boot.cmdline="test=console"
	reply=$(console_exchange "$sock" 2>&1)
	vm_wait
	vlog "$VM_OUT"
	if vcheck virtio-console "^virtio-console: got \[hello from the host 4711\]$" \
		"^virtio-console ok$"; then
		if [ "$reply" = "guest got [hello from the host 4711]" ]; then ok virtio-console
		else notok virtio-console "host read '$reply'" "$VM_OUT"; fi
	fi
fi

# ---- 12. hostile driver: malformed rings, storms; VMM survives ----
if want virtio-malicious; then
	img=$TMP/bad.img
	mkimage "$img" 1048576
	vguest virtio-malicious "test=malicious" "-s 3,virtio-blk,$img -s 4,virtio-rnd"
	if vcheck virtio-malicious \
		"^bad: descriptor loop -> NEEDS_RESET" \
		"^bad: out-of-range address -> NEEDS_RESET" \
		"^bad: huge length -> NEEDS_RESET" \
		"^bad: next index past the queue -> NEEDS_RESET" \
		"^bad: head index past the queue -> NEEDS_RESET" \
		"^bad: indirect in indirect -> NEEDS_RESET" \
		"^bad: indirect table outside RAM -> NEEDS_RESET" \
		"^bad: loop inside an indirect table -> NEEDS_RESET" \
		"^bad: avail index jump -> NEEDS_RESET" \
		"^bad: notify storm -> device still works" \
		"^bad: virtio-rnd still works" "^bad: 0 failures" "^malicious ok$"; then
		# guest-triggered log lines must stay rate limited
		n=$(grep -c "^bhyve:" "$VM_OUT")
		if [ "$n" -gt 200 ]; then notok virtio-malicious "$n log lines (not rate limited)" "$VM_OUT"
		else ok virtio-malicious; fi
	fi
fi

# ---- 13. virtio-net on taps inside network namespaces made here ----
net_prereq() { # name: 0 if the network scenarios can run, else reports
	if [ "$(id -u)" != 0 ]; then notok "$1" "needs root (network namespace, tap)"; return 1; fi
	if ! command -v ip >/dev/null; then notok "$1" "needs iproute2"; return 1; fi
	return 0
}
if want virtio-net-host && net_prereq virtio-net-host; then
	ns=lgt-$$-net1
	NETNS="$NETNS $ns"
	if ip netns add "$ns" && ip -n "$ns" link set lo up &&
	   ip -n "$ns" tuntap add dev tap0 mode tap &&
	   ip -n "$ns" addr add 10.213.7.1/24 dev tap0 && ip -n "$ns" link set tap0 up; then
		VM_OUT=$TMP/virtio-net-host.out
		ip netns exec "$ns" "$BHYVE" -s 6,virtio-net,tap0 $VIRTIO_BASE \
			-o boot.cmdline="test=net ip=10.213.7.2 peer=10.213.7.1" \
			"lgt-$$-net-host" </dev/null >"$VM_OUT" 2>&1 &
		VM_PID=$! VM_START=$(date +%s)
		PIDS+=("$VM_PID")
		vm_wait
		vlog "$VM_OUT"
		vcheck virtio-net-host "^net: arp reply: 10\.213\.7\.1 is at " \
			"^net: echo reply from 10\.213\.7\.1 seq=3 " "^virtio-net ok$" &&
			ok virtio-net-host
	else
		notok virtio-net-host "cannot set up the network namespace"
	fi
	ip netns del "$ns" 2>/dev/null
fi
if want virtio-net-bridge && net_prereq virtio-net-bridge; then
	ns=lgt-$$-net2
	NETNS="$NETNS $ns"
	if ip netns add "$ns" && ip -n "$ns" link add br0 type bridge &&
	   ip -n "$ns" tuntap add dev tap1 mode tap && ip -n "$ns" tuntap add dev tap2 mode tap &&
	   ip -n "$ns" link set tap1 master br0 && ip -n "$ns" link set tap2 master br0 &&
	   ip -n "$ns" link set tap1 up && ip -n "$ns" link set tap2 up &&
	   ip -n "$ns" link set br0 up; then
		out1=$TMP/virtio-net-bridge-a.out out2=$TMP/virtio-net-bridge-b.out
		ip netns exec "$ns" "$BHYVE" -s 6,virtio-net,tap1 $VIRTIO_BASE \
			-o boot.cmdline="test=net mode=respond ip=10.213.8.2 count=3" \
			"lgt-$$-net-a" </dev/null >"$out1" 2>&1 &
		VM2_PID=$!
		PIDS+=("$VM2_PID")
		VM_OUT=$out2
		ip netns exec "$ns" "$BHYVE" -s 6,virtio-net,tap2 $VIRTIO_BASE \
			-o boot.cmdline="test=net ip=10.213.8.3 peer=10.213.8.2" \
			"lgt-$$-net-b" </dev/null >"$out2" 2>&1 &
		VM_PID=$! VM_START=$(date +%s)
		PIDS+=("$VM_PID")
		vm_wait
		rc_b=$VM_RC
		VM_PID=$VM2_PID VM_OUT=$out1
		vm_wait
		rc_a=$VM_RC VM2_PID=
		vlog "$out1" "$out2"
		VM_OUT=$out2 VM_RC=$rc_b
		if vcheck virtio-net-bridge "^net: arp reply: 10\.213\.8\.2 is at " \
			"^net: 3/3 echo replies$" "^virtio-net ok$"; then
			VM_OUT=$out1 VM_RC=$rc_a
			vcheck virtio-net-bridge "^net: answered 3 echo requests$" "^virtio-net ok$" &&
				ok virtio-net-bridge
		fi
	else
		notok virtio-net-bridge "cannot set up the network namespace"
	fi
	ip netns del "$ns" 2>/dev/null
fi
