#!/usr/bin/env bash
# System tests of the bhyve binary's command-line and error contract:
# exit statuses, exact messages libvirt relies on, nothing left behind.
# Output ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
BUILD=${BUILD:-build}
BHYVE=$PWD/${BHYVE:-$BUILD/bhyve}
GUEST=$PWD/$BUILD/guests/guest-pvh.elf
lib_tmp sys
ON_EXIT='pkill -KILL -f "bhyve: systest" 2>/dev/null'
bad() { num=$((num + 1)); failed=$((failed + 1)); echo "not ok $num - $1"; }
# expect NAME STATUS REGEX -- CMD...: run, check status and that stderr+stdout match REGEX
expect() {
	local name=$1 want=$2 re=$3; shift 4
	"$@" >"$TMP/out" 2>&1 </dev/null; local rc=$?
	if [ "$rc" -ne "$want" ]; then bad "$name (status $rc, want $want)"; sed 's/^/#   /' "$TMP/out" | head -5; return; fi
	if [ -n "$re" ] && ! grep -qE -- "$re" "$TMP/out"; then bad "$name (output does not match /$re/)"; sed 's/^/#   /' "$TMP/out" | head -5; return; fi
	ok "$name"
}
base=(-s 0,hostbridge -s 31,lpc -l com1,stdio)
boot=(-o "boot.kernel=$GUEST" -o boot.cmdline=test=hello)

expect "help exits 0 and shows -u:" 0 '-u:' -- "$BHYVE" -h
expect "usage error exits 1" 1 'Usage' -- "$BHYVE" -q x
expect "no vm name is a usage error" 1 'Usage' -- "$BHYVE" -c 1
expect "-s help lists lpc" 0 'lpc' -- "$BHYVE" -s help
expect "-l help lists com1" 0 'com1' -- "$BHYVE" -l help
expect "unknown device string for libvirt" 4 'pci slot 0:3:0: unknown device "nosuch"' -- "$BHYVE" -s 3,nosuch vm
expect "bootrom probe string for libvirt" 64 "invalid lpc device configuration 'bootrom'" -- "$BHYVE" -l bootrom vm
expect "bad topology exits 64" 64 'invalid cpu topology' -- "$BHYVE" -c cpus=3,sockets=2 vm
expect "bad memsize exits 64" 64 'memory.size' -- "$BHYVE" -m 12Q "${base[@]}" "${boot[@]}" systest
expect "unknown key exits 64" 64 "unknown configuration key 'memory.sise'" -- "$BHYVE" -o memory.sise=1G vm
expect "config.dump exits 1 and prints the tree" 1 '^memory.size=512M$' -- "$BHYVE" -m 512M -o config.dump=1 vm
expect "missing kernel file exits 4" 4 'nosuchkernel' -- "$BHYVE" "${base[@]}" -o boot.kernel=/nonexistent/nosuchkernel systest
expect "no kernel configured exits 4" 4 'boot.kernel' -- "$BHYVE" "${base[@]}" systest
expect "not a kernel exits 4" 4 'not a bzImage, PVH ELF or multiboot' -- "$BHYVE" "${base[@]}" -o boot.kernel=/etc/hostname systest
expect "com without lpc exits 4" 4 'needs an LPC bridge' -- "$BHYVE" -l com1,stdio "${boot[@]}" systest
expect "bad console backend exits 4" 4 'com1' -- "$BHYVE" -s 31,lpc -l com1,/nonexistent/dir/tty "${boot[@]}" systest
expect "guest boots and powers off (1)" 1 'cmdline: \[test=hello\]' -- "$BHYVE" "${base[@]}" "${boot[@]}" systest
expect "initrd too big exits 4" 4 'does not fit' -- sh -c "truncate -s 300M '$TMP/big.img' && '$BHYVE' -m 256M ${base[*]} -o boot.kernel=$GUEST -o boot.initrd=$TMP/big.img systest"

# Nothing left behind after the failures above.
if [ -z "$(ls -A "$BHYVE_RUNDIR" 2>/dev/null)" ]; then ok "no registry entries left behind"; else bad "registry entries left: $(ls "$BHYVE_RUNDIR")"; fi

# A running VM: process title, duplicate name refused, SIGKILL leaves a stale entry that is reused.
"$BHYVE" "${base[@]}" -o "boot.kernel=$GUEST" -o boot.cmdline=test=sigterm systest >"$TMP/vm.out" 2>&1 </dev/null &
vm=$!
for _ in $(seq 100); do grep -q ready "$TMP/vm.out" && break; sleep 0.1; done
if tr '\0' ' ' </proc/$vm/cmdline | grep -q '^bhyve: systest'; then ok "process title is 'bhyve: systest'"; else bad "process title: $(tr '\0' ' ' </proc/$vm/cmdline)"; fi
expect "duplicate name exits 4" 4 "VM 'systest' is already running \(pid $vm\)" -- "$BHYVE" "${base[@]}" "${boot[@]}" systest
kill -KILL $vm; wait $vm 2>/dev/null
expect "stale entry after SIGKILL is reused" 1 'cmdline' -- "$BHYVE" "${base[@]}" "${boot[@]}" systest

# No access to /dev/kvm: one clear line, status 4.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	chmod 755 "$TMP"; mkdir "$TMP/nobody"; chown 65534:65534 "$TMP/nobody"
	expect "no /dev/kvm access exits 4" 4 '/dev/kvm: Permission denied' -- \
		setpriv --reuid=65534 --regid=65534 --clear-groups env BHYVE_RUNDIR="$TMP/nobody/run" "$BHYVE" "${base[@]}" "${boot[@]}" systest
fi
lib_finish
