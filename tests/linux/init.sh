#!/bin/sh
# /init of the lhyve test initramfs (busybox-static; applets are symlinks).
# Kernel command line: lhyve.mode=check  run a few commands, print
#                                        LHYVE-CHECK-OK, power off (ACPI S5)
#                      lhyve.mode=demo   (default) interactive shell on the
#                                        console; power off when it exits
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
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	lhyve.mode=*) mode=${arg#lhyve.mode=} ;;
	esac
done

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
	read -r up _ </proc/uptime
	echo "lhyve-init: checks done at ${up}s"
	echo "LHYVE-CHECK-OK"
	power_off
	;;
*)
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
