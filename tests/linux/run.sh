#!/usr/bin/env bash
# Boot Debian's cloud kernel with a busybox initramfs under lhyve's bhyve.
#
#   tests/linux/run.sh check       boot, run a few commands, expect LHYVE-CHECK-OK
#                                  and exit status 1 (ACPI S5); prints
#                                  "1 passed, 0 failed" or "0 passed, 1 failed".
#                                  With a virtio-blk disk (ext4 made by mke2fs -d)
#                                  and a virtio-net NIC on a tap in a network
#                                  namespace of its own: the guest mounts the
#                                  disk, checks the host's files, writes its own
#                                  (read back on the host with debugfs), and
#                                  pings the host through the tap
#   tests/linux/run.sh demo        the same VM with an interactive shell on stdio
#   tests/linux/run.sh qemu-check  the check under QEMU TCG (validates kernel,
#                                  initramfs and command line without lhyve)
#   tests/linux/run.sh qemu-demo   the demo under QEMU TCG
#   tests/linux/run.sh prepare     only fetch the kernel and build the initramfs
#
# Environment:
#   BHYVE=path                 bhyve binary (default build/bhyve)
#   LHYVE_LINUX_TIMEOUT=secs   check timeout (default 3600: this host's KVM
#                              emulates guest ring-0 code, a boot takes minutes)
#   LHYVE_LINUX_MEM=512M       guest memory
#   LHYVE_LINUX_CPUS=1         vCPUs
#   LHYVE_LINUX_APPEND="..."   extra kernel command line words
#   LHYVE_LINUX_VIRTIO=0       check without the virtio-blk/virtio-net part
#                              (default 1; needs root: ip netns, tap)
#   LHYVE_LINUX_DISK=path      demo: a virtio-blk disk (/dev/vda in the guest)
#   LHYVE_LINUX_TAP=tapN       demo: a virtio-net NIC on host tap tapN (eth0;
#                              configure it with ip addr/ip link in the guest)
#   LHYVE_LINUX_LOG=path       check log (default cache/bhyve-check.log, cache/qemu-check.log)
#   LHYVE_LINUX_CACHE=dir      kernel/initramfs cache (default tests/linux/cache)
#   LHYVE_INITRD_COMPRESS=gzip initramfs compression: gzip (default) or none
#                              (none spares the guest the inflate work)
#   LHYVE_QEMU_ACCEL=tcg       accelerator for the qemu-* modes (tcg or kvm:
#                              qemu-check with kvm measures this host's KVM
#                              on the same guest, for comparison)
#   LHYVE_LINUX_BOOT=bzimage   boot the bzImage (default; the guest runs the
#                              kernel's decompressor stub), or
#   LHYVE_LINUX_BOOT=pvh       boot the ELF vmlinux extracted from it through
#                              its PVH entry note (extract-vmlinux.py): skips
#                              the decompressor, much less ring-0 work
#
# The kernel comes from tests/linux/fetch-kernel.sh (apt-get download, cached,
# offline after the first run); the initramfs from mkinitramfs.py + init.sh.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${LHYVE_LINUX_CACHE:-$here/cache}
export LHYVE_LINUX_CACHE=$cache
bhyve=${BHYVE:-$top/build/bhyve}
timeout=${LHYVE_LINUX_TIMEOUT:-3600}
mem=${LHYVE_LINUX_MEM:-512M}
cpus=${LHYVE_LINUX_CPUS:-1}
boot=${LHYVE_LINUX_BOOT:-bzimage}
accel=${LHYVE_QEMU_ACCEL:-tcg}
# Under KVM, hide what this host's KVM instruction emulator cannot run when it
# emulates guest ring-0 code (lock cmpxchg16b, xsave/xrstor), as lhyve does.
qemu_cpu=()
[ "$accel" = kvm ] && qemu_cpu=(-cpu kvm64,-cx16)
mode=${1:-check}

say() { printf 'run.sh: %s\n' "$*" >&2; }

result() { # result PASS|FAIL message
	if [ "$1" = PASS ]; then
		say "PASS: $2"
		echo "1 passed, 0 failed"
		exit 0
	fi
	say "FAIL: $2"
	echo "0 passed, 1 failed"
	exit 1
}

# Kernel modules put into the initramfs (with their dependencies, from the
# kernel package; init.sh loads them when there is a virtio PCI device).
kmods=virtio_pci,virtio_blk,virtio_net,virtio_rng,virtio_console

# Fetch the kernel and (re)build the initramfs when its inputs changed.
prepare() {
	local busybox=/bin/busybox moddir
	kernel=$("$here/fetch-kernel.sh") || return 1
	moddir=$cache/modules/$(basename "$kernel" | sed 's/^vmlinuz-//')
	if [ ! -d "$moddir" ]; then
		say "$moddir missing (fetch-kernel.sh keeps it)"
		return 1
	fi
	case "$boot" in
	bzimage) ;;
	pvh)
		local elf
		elf=$cache/vmlinux-$(basename "$kernel" | sed 's/^vmlinuz-//')
		if [ ! -s "$elf" ] || [ "$kernel" -nt "$elf" ]; then
			python3 "$here/extract-vmlinux.py" "$kernel" "$elf" || return 1
		fi
		kernel=$elf
		;;
	*)
		say "LHYVE_LINUX_BOOT=$boot: want bzimage or pvh"
		return 1
		;;
	esac
	local compress=${LHYVE_INITRD_COMPRESS:-gzip}
	case "$compress" in
	gzip) initrd=$cache/initramfs.cpio.gz ;;
	none) initrd=$cache/initramfs.cpio ;;
	*) say "LHYVE_INITRD_COMPRESS=$compress: want gzip or none"; return 1 ;;
	esac
	if [ ! -x "$busybox" ]; then
		say "$busybox missing: run scripts/setup --linux (package busybox-static)"
		return 1
	fi
	# The module list lives in this file: a change to it rebuilds too.
	if [ ! -s "$initrd" ] || [ "$here/init.sh" -nt "$initrd" ] ||
	   [ "$here/mkinitramfs.py" -nt "$initrd" ] || [ "$busybox" -nt "$initrd" ] ||
	   [ "$moddir" -nt "$initrd" ] || [ "$here/run.sh" -nt "$initrd" ]; then
		python3 "$here/mkinitramfs.py" --compress "$compress" \
			--modules "$moddir" "$kmods" \
			"$here/init.sh" "$busybox" "$initrd" ||
			return 1
	fi
	return 0
}

# Kernel command line. earlyprintk shows progress (and where a boot dies)
# before the 8250 driver is up; panic=-1 turns a panic into a reboot (bhyve
# exit 0) instead of a hang; noxsave keeps the kernel off XSAVE/XRSTOR, which
# this host's instruction emulator cannot run in ring 0, and clearcpuid=...
# keeps SLUB off `lock cmpxchg16b` and the kernel off SIMD code paths (SSSE3
# blake2s, SSE4/PCLMUL/AES crypto and CRC) that emulator cannot execute either
# (on such hosts KVM passes the host's CPUID leaves 1 and 7 through, so the VMM
# cannot hide them; see bhyve.8 "NESTED KVM HOSTS"); on hosts with hardware
# virtualization they only cost a little speed.
# cryptomgr.notests and
# init_on_alloc=0 skip ring-0 work that only costs time under emulation;
# tsc=reliable and no_timer_check skip clock-watchdog and timer-IRQ probing.
cmdline_for() { # cmdline_for check|demo
	local c="console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1 nokaslr"
	c+=" tsc=reliable no_timer_check noxsave 8250.nr_uarts=4"
	c+=" clearcpuid=cx16,popcnt,ssse3,sse4_1,sse4_2,pclmulqdq,aes,sha_ni,movbe,rdrand,rdseed"
	c+=" cryptomgr.notests init_on_alloc=0 lhyve.mode=$1"
	[ -n "${LHYVE_LINUX_APPEND:-}" ] && c+=" $LHYVE_LINUX_APPEND"
	printf '%s' "$c"
}

fmt_time() { # seconds -> XmYYs
	printf '%dm%02ds' $(($1 / 60)) $(($1 % 60))
}

# run_logged LOG CMD... : run CMD with stdout+stderr into LOG, shown live,
# stdin an fd that never delivers data nor EOF; print elapsed time every
# minute; kill it after $timeout seconds. Sets vm_rc, vm_elapsed (seconds, with
# decimals) and vm_timed_out.
run_logged() {
	local log=$1; shift
	local fifo_dir fifo t0 t1 next=60 now tailpid
	fifo_dir=$(mktemp -d) || return 1
	fifo=$fifo_dir/stdin
	mkfifo "$fifo" || return 1
	exec 7<>"$fifo"
	rm -rf "$fifo_dir"
	: >"$log"
	vm_timed_out=0
	t0=$(date +%s%N)
	"$@" <&7 >"$log" 2>&1 &
	vmpid=$!
	exec 7<&-
	# Interrupting run.sh stops the VM too.
	trap 'kill -TERM "$vmpid" 2>/dev/null; sleep 1; kill -KILL "$vmpid" 2>/dev/null; exit 130' INT TERM
	tail -n +1 -f --pid="$vmpid" "$log" &
	tailpid=$!
	while kill -0 "$vmpid" 2>/dev/null; do
		sleep 1
		now=$((($(date +%s%N) - t0) / 1000000000))
		if [ "$now" -ge "$timeout" ]; then
			say "timeout after $(fmt_time "$now"): stopping pid $vmpid"
			vm_timed_out=1
			kill -TERM "$vmpid" 2>/dev/null
			sleep 5
			kill -KILL "$vmpid" 2>/dev/null
			break
		fi
		if [ "$now" -ge "$next" ]; then
			printf '\nrun.sh: [%s elapsed] still running, log %s (%s lines)\n' \
				"$(fmt_time "$now")" "$log" "$(wc -l <"$log")" >&2
			next=$((next + 60))
		fi
	done
	wait "$vmpid"
	vm_rc=$?
	t1=$(date +%s%N)
	wait "$tailpid" 2>/dev/null
	trap - INT TERM
	t1=$(((t1 - t0) / 100000000)) # tenths of a second
	vm_elapsed=$((t1 / 10)).$((t1 % 10))
}

# Show what a failed boot left behind: lhyve's own error lines and the tail.
# On kvm_pvm hosts an unmodified kernel boots but its user space cannot make
# system calls (SYSCALL from guest user mode is delivered only to PVM-aware
# kernels): say so plainly, with when the kernel reached init.
explain_host_limit() { # explain_host_limit LOG
	local log=$1 t
	[ -e /sys/module/kvm_pvm ] || return 0
	grep -aq 'Run /init as init process' "$log" || return 0
	grep -aqE 'init\[1\]: segfault at .* error 15' "$log" || return 0
	t=$(grep -a 'Run /init as init process' "$log" | head -n 1 | sed -E 's/^\[ *([0-9.]+)\].*/\1/')
	say "host limitation: the kernel booted to init after ${t}s of guest time, then init's"
	say "first system call faulted: this host's KVM (kvm_pvm) delivers SYSCALL from guest"
	say "user mode only to PVM-aware kernels, so no unmodified Linux user space can run here"
	say "(see bhyve.8, NESTED KVM HOSTS). The same guest passes under QEMU TCG (run.sh qemu-check)."
}

diagnose() {
	local log=$1
	if grep -aq '^bhyve:' "$log"; then
		say "bhyve error lines:"
		grep -a '^bhyve:' "$log" | head -n 20 | sed 's/^/    /' >&2
	fi
	say "last guest lines:"
	tail -n 15 "$log" | sed 's/^/    /' >&2
}

# The virtio-blk / virtio-net part of the check. Host side of the network:
# a namespace of our own holding only the tap (10.213.9.1/24); the guest is
# 10.213.9.2/24. The VMM runs inside the namespace, so the tap it uses lives
# there. Everything is removed on exit (virtio_cleanup, an EXIT trap).
vns='' vwork='' vtap=tap0 vconf_pid='' vtoken=''
vhost_ip=10.213.9.1 vguest_ip=10.213.9.2 vprefix=24

virtio_cleanup() {
	if [ -n "$vconf_pid" ]; then
		kill "$vconf_pid" 2>/dev/null
		wait "$vconf_pid" 2>/dev/null
		vconf_pid=
	fi
	if [ -n "$vns" ]; then
		ip netns del "$vns" 2>/dev/null
		vns=
	fi
	if [ -n "$vwork" ]; then
		rm -rf "$vwork"
		vwork=
	fi
}

# virtio_setup bhyve|qemu: make the disk image and the namespace; sets
# vm_prefix (the command prefix that enters the namespace), vm_devs (the
# VMM's device arguments) and vm_cmdline (kernel command line words).
virtio_setup() {
	local vmm=$1 t
	for t in mke2fs debugfs e2fsck ip md5sum; do
		command -v "$t" >/dev/null 2>&1 ||
			{ say "$t missing: run scripts/setup --linux"; return 1; }
	done
	trap virtio_cleanup EXIT
	vwork=$(mktemp -d "${TMPDIR:-/tmp}/lhyve-linux.XXXXXX") || return 1
	vtoken=$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
	mkdir -p "$vwork/root/lhyve" || return 1
	printf 'lhyve host->guest %s\n' "$vtoken" >"$vwork/root/lhyve/from-host.txt"
	# 3 MiB + 1 KiB: multi-page reads, a tail that is not block aligned.
	head -c $((3 * 1024 * 1024 + 1024)) /dev/urandom >"$vwork/root/lhyve/from-host.bin"
	md5sum <"$vwork/root/lhyve/from-host.bin" | cut -d' ' -f1 >"$vwork/root/lhyve/from-host.md5"
	if ! mke2fs -q -t ext4 -L lhyve -d "$vwork/root" -F "$vwork/disk.img" 64M; then
		say "mke2fs -d failed"
		return 1
	fi
	vns=lhyve-linux-$$
	if ! ip netns add "$vns"; then
		vns=
		say "cannot create a network namespace (root needed; LHYVE_LINUX_VIRTIO=0 skips the virtio part)"
		return 1
	fi
	ip -n "$vns" link set lo up || return 1
	vm_prefix=(ip netns exec "$vns")
	if [ "$vmm" = bhyve ]; then
		# bhyve creates (or opens) the tap itself: configure it once it is there.
		(
			for _ in $(seq 1 1200); do
				if ip -n "$vns" link show "$vtap" >/dev/null 2>&1; then
					ip -n "$vns" addr add "$vhost_ip/$vprefix" dev "$vtap" &&
						ip -n "$vns" link set "$vtap" up && exit 0
					exit 1
				fi
				sleep 0.1
			done
			exit 2
		) &
		vconf_pid=$!
		vm_devs=(-s "2,virtio-net,$vtap" -s "3,virtio-blk,$vwork/disk.img")
	else
		if ! ip -n "$vns" tuntap add dev "$vtap" mode tap ||
		   ! ip -n "$vns" addr add "$vhost_ip/$vprefix" dev "$vtap" ||
		   ! ip -n "$vns" link set "$vtap" up; then
			say "cannot set up $vtap in $vns"
			return 1
		fi
		vm_devs=(-netdev "tap,id=n0,ifname=$vtap,script=no,downscript=no"
			 -device virtio-net-pci,netdev=n0,disable-legacy=on
			 -drive "file=$vwork/disk.img,format=raw,if=none,id=d0"
			 -device virtio-blk-pci,drive=d0,disable-legacy=on)
	fi
	vm_cmdline="lhyve.token=$vtoken lhyve.disk=vda lhyve.net=$vguest_ip/$vprefix,$vhost_ip"
	say "virtio: disk $vwork/disk.img (ext4, token $vtoken), $vtap in netns $vns ($vhost_ip/$vprefix), guest $vguest_ip"
	return 0
}

# virtio_verify LOG: after the VM stopped, check what the guest reported and
# read its files back from the image. Prints what it found; returns 1 on
# failure with the reason in vfail.
virtio_verify() {
	local log=$1 img=$vwork/disk.img txt want sum rc
	vfail=
	if [ -n "$vconf_pid" ]; then
		# Still waiting for the tap: the VMM never created it.
		kill "$vconf_pid" 2>/dev/null
		wait "$vconf_pid"
		rc=$?
		vconf_pid=
		[ "$rc" -eq 0 ] || say "virtio: $vtap in $vns was not configured (status $rc: 1 ip failed, 2 or more: no tap)"
	fi
	grep -a '^LHYVE-\(BLK\|NET\)-' "$log" | tr -d '\r' | sed 's/^/run.sh: guest: /' >&2
	if ! grep -aq '^LHYVE-BLK-OK' "$log"; then
		vfail="the guest did not report LHYVE-BLK-OK"
		return 1
	fi
	if ! e2fsck -fn "$img" >"$vwork/e2fsck.out" 2>&1; then
		sed 's/^/    /' "$vwork/e2fsck.out" | tail -n 20 >&2
		vfail="e2fsck -fn finds the guest-written ext4 image inconsistent"
		return 1
	fi
	txt=$(debugfs -R "cat /lhyve/from-guest.txt" "$img" 2>/dev/null)
	sum=$(printf '%s' "$txt" | sed -n 's/^lhyve guest->host [0-9a-f]* md5 \([0-9a-f]\{32\}\)$/\1/p')
	want="lhyve guest->host $vtoken md5 $sum"
	if [ -z "$sum" ] || [ "$txt" != "$want" ]; then
		vfail="from-guest.txt read on the host is '$(printf '%s' "$txt" | head -c 200)', want 'lhyve guest->host $vtoken md5 <md5>'"
		return 1
	fi
	if ! debugfs -R "dump /lhyve/from-guest.bin $vwork/from-guest.bin" "$img" >/dev/null 2>&1 ||
	   [ "$(stat -c %s "$vwork/from-guest.bin" 2>/dev/null)" != 1048576 ] ||
	   [ "$(md5sum <"$vwork/from-guest.bin" | cut -d' ' -f1)" != "$sum" ]; then
		vfail="from-guest.bin read on the host is not the 1 MiB with md5 $sum the guest wrote"
		return 1
	fi
	say "virtio: the host read the guest's files from the image: '$txt', from-guest.bin matches; e2fsck clean"
	if ! grep -aq '^LHYVE-NET-OK' "$log"; then
		vfail="the guest did not report LHYVE-NET-OK (ping $vhost_ip over virtio-net)"
		return 1
	fi
	return 0
}

do_check() { # do_check bhyve|qemu
	local vmm=$1 log cmd want_rc virtio=${LHYVE_LINUX_VIRTIO:-1}
	log=${LHYVE_LINUX_LOG:-$cache/$vmm-check.log}
	local cmdline
	cmdline=$(cmdline_for check)
	vm_prefix=() vm_devs=() vm_cmdline=
	if [ "$virtio" != 0 ]; then
		virtio_setup "$vmm" || result FAIL "could not set up the virtio-blk/virtio-net part"
		cmdline+=" $vm_cmdline"
	fi
	if [ "$vmm" = bhyve ]; then
		[ -x "$bhyve" ] || result FAIL "$bhyve not built (make all)"
		cmd=("${vm_prefix[@]}" "$bhyve" -c "$cpus" -m "$mem" -s 0,hostbridge -s 31,lpc
		     "${vm_devs[@]}"
		     -l com1,stdio -o "boot.kernel=$kernel" -o "boot.initrd=$initrd"
		     -o "boot.cmdline=$cmdline" linuxcheck)
		want_rc=1 # ACPI S5
	else
		cmd=("${vm_prefix[@]}" qemu-system-x86_64 -accel "$accel" "${qemu_cpu[@]}" -M pc -m "${mem%M}" -smp "$cpus"
		     -display none -serial stdio -no-reboot -kernel "$kernel"
		     -initrd "$initrd" -append "$cmdline" "${vm_devs[@]}")
		want_rc=0 # QEMU exits 0 on poweroff (and on reset with -no-reboot)
	fi
	say "kernel  $kernel ($boot boot)"
	say "initrd  $initrd"
	say "cmdline $cmdline"
	say "running: ${cmd[*]}"
	say "log: $log; timeout $(fmt_time "$timeout"); a Linux boot takes minutes on a host whose KVM emulates guest ring-0 code"
	run_logged "$log" "${cmd[@]}"
	say "$vmm exited with status $vm_rc after ${vm_elapsed}s wall time"
	if grep -aq 'lhyve-init: userspace reached' "$log"; then
		say "$(grep -a 'lhyve-init: userspace reached' "$log" | tr -d '\r' | head -n 1)"
	fi
	if [ "$vm_timed_out" = 1 ]; then
		diagnose "$log"
		result FAIL "no poweroff within $(fmt_time "$timeout") (wall time ${vm_elapsed}s)"
	fi
	if [ "$virtio" != 0 ] && ! virtio_verify "$log"; then
		diagnose "$log"
		explain_host_limit "$log"
		result FAIL "virtio-blk/virtio-net: $vfail (exit status $vm_rc, wall time ${vm_elapsed}s)"
	fi
	if ! grep -aq '^LHYVE-CHECK-OK' "$log"; then
		diagnose "$log"
		explain_host_limit "$log"
		result FAIL "LHYVE-CHECK-OK missing from $log (exit status $vm_rc, wall time ${vm_elapsed}s)"
	fi
	if [ "$vmm" = qemu ] && ! grep -aq 'reboot: Power down' "$log"; then
		diagnose "$log"
		result FAIL "guest did not power off"
	fi
	if [ "$vm_rc" -ne "$want_rc" ]; then
		diagnose "$log"
		result FAIL "exit status $vm_rc, want $want_rc (wall time ${vm_elapsed}s)"
	fi
	if [ "$virtio" != 0 ]; then
		result PASS "Linux booted to busybox, used the ext4 disk on virtio-blk (the host read the guest's files) and pinged the host over virtio-net, and powered off; wall time ${vm_elapsed}s"
	fi
	result PASS "Linux booted to busybox and powered off; wall time ${vm_elapsed}s"
}

do_demo() { # do_demo bhyve|qemu
	local vmm=$1 cmdline disk=${LHYVE_LINUX_DISK:-} tap=${LHYVE_LINUX_TAP:-}
	local devs=()
	cmdline=$(cmdline_for demo)
	if [ -n "$disk" ]; then
		[ -e "$disk" ] || { say "LHYVE_LINUX_DISK=$disk does not exist"; exit 1; }
		if [ "$vmm" = bhyve ]; then
			devs+=(-s "3,virtio-blk,$disk")
		else
			devs+=(-drive "file=$disk,format=raw,if=none,id=d0"
			       -device virtio-blk-pci,drive=d0,disable-legacy=on)
		fi
	fi
	if [ -n "$tap" ]; then
		if [ "$vmm" = bhyve ]; then
			devs+=(-s "2,virtio-net,$tap")
		else
			devs+=(-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no"
			       -device virtio-net-pci,netdev=n0,disable-legacy=on)
		fi
	fi
	[ -t 0 ] || say "warning: stdin is not a terminal; the guest shell will not be interactive"
	if [ "$vmm" = bhyve ]; then
		[ -x "$bhyve" ] || { say "$bhyve not built (make all)"; exit 1; }
	fi
	cat >&2 <<-EOF
	================================================================================
	lhyve demo: Debian's cloud kernel ($(basename "$kernel")) with a busybox
	initramfs, in a $cpus-vCPU, $mem VM run by $( [ "$vmm" = bhyve ] && echo "lhyve's bhyve" || echo "QEMU ($accel)") on this terminal (serial console).
	The boot is slow (minutes) when this host's KVM emulates guest kernel-mode
	code; kernel messages show the progress. At the shell prompt:
	  poweroff -f                  power the guest off (bhyve exits with status 1)
	  from another terminal:       kill -9 $$   (hard stop; plain 'kill' is an
	                               ACPI power-button press, which this minimal
	                               guest ignores)
	================================================================================
	EOF
	if [ "$vmm" = bhyve ]; then
		exec "$bhyve" -c "$cpus" -m "$mem" -s 0,hostbridge -s 31,lpc "${devs[@]}" -l com1,stdio \
			-o "boot.kernel=$kernel" -o "boot.initrd=$initrd" \
			-o "boot.cmdline=$cmdline" linuxdemo
	fi
	exec qemu-system-x86_64 -accel "$accel" "${qemu_cpu[@]}" -M pc -m "${mem%M}" -smp "$cpus" \
		-display none -serial mon:stdio -no-reboot -kernel "$kernel" \
		-initrd "$initrd" -append "$cmdline" "${devs[@]}"
}

case "$mode" in
check|qemu-check)
	prepare || result FAIL "could not prepare kernel/initramfs"
	if [ "$mode" = check ]; then do_check bhyve; else do_check qemu; fi
	;;
demo|qemu-demo)
	prepare || exit 1
	if [ "$mode" = demo ]; then do_demo bhyve; else do_demo qemu; fi
	;;
prepare)
	prepare || exit 1
	echo "kernel $kernel"
	echo "initrd $initrd"
	;;
*)
	sed -n '2,/^[^#]/p' "$0" | sed -n 's/^# \{0,1\}//p' >&2
	exit 2
	;;
esac
