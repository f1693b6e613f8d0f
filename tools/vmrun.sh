#!/bin/sh
#
# vmrun.sh: run a virtual machine under lhyve in a loop, the way FreeBSD's
# share/examples/bhyve/vmrun.sh does: bhyveload, then bhyve; a guest reboot
# (bhyve exit 0) starts the next round, anything else ends the loop. The
# registry entry is destroyed after exit 0/1/2 and kept for 3 and above.
#
# The programs are taken from PATH (override with BHYVE, BHYVECTL, BHYVELOAD).

BHYVE=${BHYVE:-bhyve}
BHYVECTL=${BHYVECTL:-bhyvectl}
BHYVELOAD=${BHYVELOAD:-bhyveload}

DEFAULT_CPUS=2
DEFAULT_MEMSIZE=512M
DEFAULT_CONSOLE=stdio
DEFAULT_NIC=virtio-net
DEFAULT_TAPDEV=tap0
DEFAULT_DISK=./diskdev
DEFAULT_DISKSIZE=8G

errmsg() {
	echo "vmrun.sh: $*" >&2
}

usage() {
	cat >&2 <<EOF
Usage: vmrun.sh [-aAEhiTuvw] [-c <CPUs>] [-C <console>] [-d <disk file>]
                [-e <name=value>] [-f <path of firmware>] [-F <size>]
                [-G [w][address:]port] [-H <directory>]
                [-I <location of installation iso>] [-l <loader>]
                [-L <VNC IP for UEFI framebuffer>]
                [-m <memsize>] [-n <network adapter emulation type>]
                [-p <pcidev|bus/slot/func>]
                [-P <port>] [-t <tapdev>] <vmname>

       -h: display this help message
       -a: force memory mapped local APIC access (passed to bhyve)
       -A: use AHCI disk emulation instead of virtio-blk (not in lhyve yet)
       -c: number of virtual cpus (default: ${DEFAULT_CPUS})
       -C: console device (default: ${DEFAULT_CONSOLE}; e.g. /dev/nmdm0A, pty)
       -d: virtio-blk disk file, "file[,opts]" (default: ${DEFAULT_DISK});
           created with truncate -s ${DEFAULT_DISKSIZE} when missing
       -e: set a bhyveload variable (kernel=, initrd=, cmdline=)
       -E: boot UEFI firmware (not in lhyve yet)
       -f: firmware path (not in lhyve yet)
       -F: framebuffer size (not in lhyve yet)
       -G: bhyve gdb stub (not in lhyve yet)
       -H: host directory with the kernel for bhyveload -h
       -i: force boot of the installation image (not in lhyve yet)
       -I: installation ISO (not in lhyve yet)
       -l: bhyveload loader (not in lhyve: kernels boot directly)
       -L: VNC address (not in lhyve yet)
       -m: memory size (default: ${DEFAULT_MEMSIZE})
       -n: network adapter emulation type (default: ${DEFAULT_NIC})
       -p: PCI passthrough device (not in lhyve)
       -P: VNC port (not in lhyve yet)
       -t: tap device for virtio-net (default: ${DEFAULT_TAPDEV}); "-t none" for no network
       -T: USB tablet (not in lhyve yet)
       -u: RTC keeps UTC time
       -v: wait for VNC client (not in lhyve yet)
       -w: ignore unimplemented MSRs

This script is not meant for production use; it is FreeBSD's example
wrapper adapted to lhyve on Linux.
EOF
	exit 1
}

missing() { # option, feature
	errmsg "option $1 needs $2, which lhyve does not have yet"
	exit 1
}

cpus=$DEFAULT_CPUS
memsize=$DEFAULT_MEMSIZE
console=$DEFAULT_CONSOLE
nic=$DEFAULT_NIC
disks=""
taps=""
loader_opts=""
bhyverun_opts=""
hostdir=""
ndisks=0
ntaps=0

while getopts aAc:C:d:e:Ef:F:G:hH:iI:l:L:m:n:p:P:t:Tuvw opt; do
	case $opt in
	a) bhyverun_opts="$bhyverun_opts -a" ;;
	A) missing -A "the AHCI disk emulation (ahci-hd)" ;;
	c) cpus=$OPTARG ;;
	C) console=$OPTARG ;;
	d)
		disks="$disks
$OPTARG"
		ndisks=$((ndisks + 1))
		;;
	e) loader_opts="$loader_opts
-e
$OPTARG" ;;
	E) missing -E "UEFI firmware boot (bootrom)" ;;
	f) missing -f "UEFI firmware boot (bootrom)" ;;
	F) missing -F "the UEFI framebuffer (fbuf)" ;;
	G) missing -G "the gdb debug server" ;;
	H) hostdir=$(realpath "$OPTARG") || { errmsg "-H $OPTARG: no such directory"; exit 1; } ;;
	i) missing -i "booting an installation ISO (ahci-cd and a bootrom)" ;;
	I) missing -I "booting an installation ISO (ahci-cd and a bootrom)" ;;
	l) missing -l "userboot loaders; lhyve boots Linux kernels directly (use -H or -e kernel=)" ;;
	L) missing -L "the UEFI framebuffer's VNC server (fbuf)" ;;
	m) memsize=$OPTARG ;;
	n) nic=$OPTARG ;;
	p) missing -p "PCI passthrough" ;;
	P) missing -P "the UEFI framebuffer's VNC server (fbuf)" ;;
	t)
		taps="$taps
$OPTARG"
		ntaps=$((ntaps + 1))
		;;
	T) missing -T "the XHCI USB tablet" ;;
	u) bhyverun_opts="$bhyverun_opts -u" ;;
	v) missing -v "the UEFI framebuffer's VNC server (fbuf)" ;;
	w) bhyverun_opts="$bhyverun_opts -w" ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))

[ $# -eq 1 ] || usage
vmname=$1

# Linux: KVM instead of FreeBSD's vmm.ko and root check.
if [ ! -e /dev/kvm ]; then
	errmsg "/dev/kvm does not exist: load the kvm_intel or kvm_amd module"
	exit 1
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	errmsg "no access to /dev/kvm: run as root or join the kvm group"
	exit 1
fi
for prog in "$BHYVE" "$BHYVECTL" "$BHYVELOAD"; do
	if ! command -v "$prog" >/dev/null 2>&1; then
		errmsg "$prog not found in PATH"
		exit 1
	fi
done

[ "$ndisks" -eq 0 ] && disks="
$DEFAULT_DISK"
[ "$ntaps" -eq 0 ] && taps="
$DEFAULT_TAPDEV"

# Create missing disks; every disk must be readable and writable.
first_disk=""
IFS_SAVE=$IFS
IFS='
'
for d in $disks; do
	[ -n "$d" ] || continue
	file=${d%%,*}
	if [ ! -e "$file" ]; then
		echo "Creating a new disk image of size ${DEFAULT_DISKSIZE} at ${file}"
		truncate -s "$DEFAULT_DISKSIZE" "$file" || exit 1
	fi
	if [ ! -r "$file" ] || [ ! -w "$file" ]; then
		errmsg "disk $file must be readable and writable"
		exit 1
	fi
	[ -n "$first_disk" ] || first_disk=$file
done
IFS=$IFS_SAVE

# A disk whose first sector ends in 55 AA has a boot sector.
has_boot_sector() {
	[ "$(od -An -tx1 -j510 -N2 "$1" 2>/dev/null | tr -d ' \n')" = 55aa ]
}

# Is a kernel given to bhyveload (-H or -e kernel=)?
kernel_given=no
[ -n "$hostdir" ] && kernel_given=yes
case $loader_opts in
*"
kernel="*) kernel_given=yes ;;
esac

"$BHYVECTL" --vm="$vmname" --destroy >/dev/null 2>&1

while true; do
	if [ "$kernel_given" = no ] && ! has_boot_sector "$first_disk"; then
		errmsg "$first_disk has no boot sector and no kernel was given (-H or -e kernel=);"
		errmsg "installing from an ISO needs ahci-cd and a bootrom, which lhyve does not have yet"
		rc=4
		break
	fi

	set --
	IFS='
'
	for o in $loader_opts; do
		[ -n "$o" ] && set -- "$@" "$o"
	done
	for d in $disks; do
		[ -n "$d" ] && set -- "$@" -d "${d%%,*}"
	done
	IFS=$IFS_SAVE
	[ -n "$hostdir" ] && set -- "$@" -h "$hostdir"
	"$BHYVELOAD" -c "$console" -m "$memsize" "$@" "$vmname"
	rc=$?
	if [ $rc -ne 0 ]; then
		break
	fi

	set -- -c "$cpus" -m "$memsize" -H -P -s 0:0,hostbridge -s 1:0,lpc
	slot=2
	IFS='
'
	for d in $disks; do
		[ -n "$d" ] || continue
		file=${d%%,*}
		opts=""
		case $d in *,*) opts=,${d#*,} ;; esac
		set -- "$@" -s "$slot:0,virtio-blk,$file$opts"
		slot=$((slot + 1))
	done
	for t in $taps; do
		[ -n "$t" ] && [ "$t" != none ] || continue
		set -- "$@" -s "$slot:0,$nic,$t"
		slot=$((slot + 1))
	done
	IFS=$IFS_SAVE
	# shellcheck disable=SC2086
	"$BHYVE" $bhyverun_opts "$@" -l "com1,$console" "$vmname"
	rc=$?
	if [ $rc -ne 0 ]; then
		break
	fi
done

case $rc in
0 | 1 | 2)
	# Cleanup
	"$BHYVECTL" --vm="$vmname" --destroy >/dev/null 2>&1
	;;
esac

exit $rc
