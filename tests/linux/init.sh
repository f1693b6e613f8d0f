#!/bin/sh
# /init of the lhyve test initramfs (busybox-static; applets are symlinks).
# Kernel command line: lhyve.mode=check  run a few commands, print
#                                        LHYVE-CHECK-OK, power off (ACPI S5)
#                      lhyve.mode=demo   (default) interactive shell on the
#                                        console; power off when it exits
#                      lhyve.token=T     check: the token in the disk's files
#                      lhyve.disk=vda    check: mount /dev/vda (ext4), compare
#                                        /lhyve/from-host.txt and from-host.bin
#                                        (md5 in from-host.md5), write
#                                        /lhyve/from-guest.txt and .bin, umount
#                      lhyve.net=A/N,H   check: give the virtio NIC address A/N,
#                                        ping H
# The virtio modules in the archive (/lib/modules/load-order) are loaded when
# the guest has a virtio PCI device (vendor 0x1af4).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root

mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t devtmpfs -o nosuid devtmpfs /dev 2>/dev/null ||
	mount -t tmpfs -o nosuid,mode=0755 tmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o nosuid,noexec devpts /dev/pts 2>/dev/null
mount -t tmpfs -o nosuid,nodev tmpfs /tmp
# Fresh descriptors on the console in case the kernel could not open one.
[ -c /dev/console ] && exec </dev/console >/dev/console 2>&1
hostname lhyve

mode=demo
token='' disk='' net=''
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	lhyve.mode=*) mode=${arg#lhyve.mode=} ;;
	lhyve.token=*) token=${arg#lhyve.token=} ;;
	lhyve.disk=*) disk=${arg#lhyve.disk=} ;;
	lhyve.net=*) net=${arg#lhyve.net=} ;;
	esac
done

uptime_s() {
	local up _
	read -r up _ </proc/uptime
	echo "$up"
}

# Load the virtio modules (dependencies first) if there is a virtio device.
load_modules() {
	local d found='' m n=0
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor" 2>/dev/null)" = 0x1af4 ] && found=1
	done
	[ -n "$found" ] && [ -f /lib/modules/load-order ] || return 0
	while read -r m; do
		if insmod "$m"; then
			n=$((n + 1))
		else
			echo "lhyve-init: insmod $m failed"
		fi
	done </lib/modules/load-order
	echo "lhyve-init: $n virtio modules loaded at $(uptime_s)s"
}

# wait_for PATH SECONDS: wait until PATH exists.
wait_for() {
	local i=0
	while [ ! -e "$1" ]; do
		[ "$i" -ge "$2" ] && return 1
		sleep 1
		i=$((i + 1))
	done
	return 0
}

# The disk check. Prints LHYVE-BLK-OK or LHYVE-BLK-FAIL: why.
check_disk() {
	local dev="/dev/$1" sum want seed
	if ! wait_for "$dev" 60; then
		echo "LHYVE-BLK-FAIL: $dev did not appear"
		return 1
	fi
	echo "lhyve-init: $dev: $(cat "/sys/block/$1/size") sectors of $(cat "/sys/block/$1/queue/logical_block_size") bytes"
	mkdir -p /mnt/disk
	if ! mount -t ext4 "$dev" /mnt/disk; then
		echo "LHYVE-BLK-FAIL: mount -t ext4 $dev failed"
		return 1
	fi
	if [ "$(cat /mnt/disk/lhyve/from-host.txt 2>&1)" != "lhyve host->guest $token" ]; then
		echo "LHYVE-BLK-FAIL: from-host.txt: $(head -c 200 /mnt/disk/lhyve/from-host.txt 2>&1)"
		umount /mnt/disk
		return 1
	fi
	sum=$(md5sum </mnt/disk/lhyve/from-host.bin 2>&1)
	want=$(cat /mnt/disk/lhyve/from-host.md5 2>&1)
	if [ "${sum%% *}" != "$want" ]; then
		echo "LHYVE-BLK-FAIL: from-host.bin md5 ${sum%% *}, want $want"
		umount /mnt/disk
		return 1
	fi
	echo "lhyve-init: read the host's files from $dev (md5 $want)"
	# 1 MiB the host cannot predict (its md5 goes into the text file), made in
	# ring 3 from a 4-byte seed: the kernel's urandom is slow where ring-0
	# code is emulated. awk writes it in 4 KiB pieces.
	seed=$(od -An -tu4 -N4 /dev/urandom | tr -d ' ')
	if ! awk -v s="$seed" 'BEGIN { srand(s); for (j = 0; j < 256; j++) {
		l = ""; for (i = 0; i < 1024; i++) l = l sprintf("%04x", int(rand() * 65536))
		printf "%s", l } }' >/mnt/disk/lhyve/from-guest.bin; then
		echo "LHYVE-BLK-FAIL: writing from-guest.bin failed"
		umount /mnt/disk
		return 1
	fi
	sum=$(md5sum </mnt/disk/lhyve/from-guest.bin)
	if ! printf 'lhyve guest->host %s md5 %s\n' "$token" "${sum%% *}" \
			>/mnt/disk/lhyve/from-guest.txt; then
		echo "LHYVE-BLK-FAIL: writing from-guest.txt failed"
		umount /mnt/disk
		return 1
	fi
	sync
	if ! umount /mnt/disk; then
		echo "LHYVE-BLK-FAIL: umount $dev failed"
		return 1
	fi
	echo "LHYVE-BLK-OK: mounted $dev, read the host's files, wrote from-guest.txt (md5 ${sum%% *} of from-guest.bin), unmounted"
	return 0
}

# The network check: check_net ADDR/LEN HOST. Prints LHYVE-NET-OK or
# LHYVE-NET-FAIL: why.
check_net() {
	local addr="$1" host="$2" nic='' d i
	i=0
	while [ -z "$nic" ]; do
		for d in /sys/class/net/*; do
			case "$(readlink "$d/device/driver" 2>/dev/null)" in
			*/virtio_net) nic=${d##*/} ;;
			esac
		done
		[ -n "$nic" ] && break
		if [ "$i" -ge 60 ]; then
			echo "LHYVE-NET-FAIL: no virtio_net interface appeared"
			return 1
		fi
		sleep 1
		i=$((i + 1))
	done
	ip link set lo up
	if ! ip addr add "$addr" dev "$nic" || ! ip link set "$nic" up; then
		echo "LHYVE-NET-FAIL: cannot configure $nic"
		return 1
	fi
	echo "lhyve-init: $nic $(cat "/sys/class/net/$nic/address") $addr, pinging $host"
	i=0
	while ! ping -c 1 -W 3 "$host" >/tmp/ping.out 2>&1; do
		i=$((i + 1))
		if [ "$i" -ge 20 ]; then
			echo "LHYVE-NET-FAIL: no answer from $host to 20 pings"
			sed 's/^/lhyve-init: ping: /' /tmp/ping.out
			return 1
		fi
	done
	# The link works; now three in a row must come back.
	if ! ping -c 3 -W 5 "$host" >/tmp/ping.out 2>&1; then
		echo "LHYVE-NET-FAIL: ping -c 3 $host lost packets"
		sed 's/^/lhyve-init: ping: /' /tmp/ping.out
		return 1
	fi
	grep -E 'transmitted|round-trip' /tmp/ping.out | sed 's/^/lhyve-init: ping: /'
	echo "LHYVE-NET-OK: $nic $addr pinged $host"
	return 0
}

read -r up _ </proc/uptime
echo "lhyve-init: userspace reached after ${up}s of guest uptime (mode=$mode)"

power_off() {
	sync
	poweroff -f
	# Still here: the ACPI S5 write did not stop the VM.
	echo "lhyve-init: poweroff -f returned; exiting init (kernel panic, reboot)"
	sleep 2
	exit 1
}

case "$mode" in
check)
	echo "lhyve-init: uname: $(uname -a)"
	echo "lhyve-init: processors: $(grep -c ^processor /proc/cpuinfo)"
	echo "lhyve-init: $(grep -m 1 '^model name' /proc/cpuinfo)"
	echo "lhyve-init: $(grep -m 1 '^flags' /proc/cpuinfo)"
	echo "lhyve-init: $(grep ^MemTotal /proc/meminfo)"
	echo "lhyve-init: clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"
	for d in /sys/bus/pci/devices/*; do
		[ -e "$d/vendor" ] || continue
		echo "lhyve-init: pci ${d##*/} $(cat "$d/vendor"):$(cat "$d/device") class $(cat "$d/class")"
	done
	for t in /sys/class/tty/ttyS*; do
		[ -e "$t/port" ] || continue
		echo "lhyve-init: ${t##*/} port $(cat "$t/port") irq $(cat "$t/irq") type $(cat "$t/type")"
	done
	ok=1
	load_modules
	if [ -n "$disk" ]; then
		check_disk "$disk" || ok=
	fi
	if [ -n "$net" ]; then
		check_net "${net%%,*}" "${net#*,}" || ok=
	fi
	read -r up _ </proc/uptime
	echo "lhyve-init: checks done at ${up}s"
	if [ -n "$ok" ]; then
		echo "LHYVE-CHECK-OK"
	else
		echo "LHYVE-CHECK-FAILED"
	fi
	power_off
	;;
*)
	load_modules
	echo
	echo "lhyve demo: type 'poweroff -f' to shut down"
	echo "lhyve demo: Linux $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPU(s), busybox shell"
	echo
	export PS1='lhyve:\w# '
	setsid cttyhack sh -l
	echo "lhyve demo: shell exited, powering off"
	power_off
	;;
esac
