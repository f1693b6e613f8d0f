#!/usr/bin/env bash
# Guest test runner: boots the project's test guests under build/bhyve and
# checks exit status and console output per scenario.
#
#   tests/guest/run.sh [-v] [PATTERN]
#
# PATTERN (a bash glob, default *) selects scenarios by name; -v prints the
# guest console of every scenario, not only of failures. Environment:
# BUILD (default build), BHYVE (default $BUILD/bhyve), GUEST_TIMEOUT
# (seconds per VM run, default 120). Output ends with "N passed, N failed";
# the exit status is non-zero if anything failed.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh

BUILD=${BUILD:-build}
BHYVE=${BHYVE:-$BUILD/bhyve}
GDIR=$BUILD/guests
TIMEOUT=${GUEST_TIMEOUT:-120}
lib_args "$@"
lib_tmp guest
VM_PID=
VM2_PID=

# Start bhyve in the background. Globals: VM_PID, VM_OUT (stdout+stderr).
# usage: vm_start NAME STDIN-FILE ARGS...
vm_start() {
	local name=$1 in=$2
	shift 2
	VM_OUT=$TMP/$name.out
	: >"$VM_OUT"
	"$BHYVE" "$@" "lgt-$$-$name" <"$in" >"$VM_OUT" 2>&1 &
	VM_PID=$!
	PIDS+=("$VM_PID")
	VM_START=$(date +%s)
}

# Wait for the VM to exit; sets VM_RC (124 = timed out and was killed).
vm_wait() {
	local limit=$((VM_START + TIMEOUT))
	while kill -0 "$VM_PID" 2>/dev/null; do
		if [ "$(date +%s)" -ge "$limit" ]; then
			kill -TERM "$VM_PID" 2>/dev/null
			sleep 2
			kill -KILL "$VM_PID" 2>/dev/null
			wait "$VM_PID" 2>/dev/null
			VM_RC=124
			untrack "$VM_PID"
			VM_PID=
			return
		fi
		sleep 0.1
	done
	wait "$VM_PID"
	VM_RC=$?
	untrack "$VM_PID"
	VM_PID=
}

# Wait until the console shows a line matching an ERE; 0, or 1 if the VM
# exited or the timeout passed first.
vm_wait_output() { wait_file "$VM_OUT" "$1" "$VM_PID" $((VM_START + TIMEOUT)); }

# vm_check NAME STATUS ERE...: 0 if the VM exited with STATUS and its
# console has every ERE; else reports the failure and returns 1.
vm_check() {
	local name=$1 status=$2 miss
	shift 2
	if [ "$VM_RC" != "$status" ]; then
		notok "$name" "exit status $(status_name "$VM_RC"), want $(status_name "$status")" "$VM_OUT"
	elif ! miss=$(has_all "$VM_OUT" "$@"); then
		notok "$name" "console lacks /$miss/" "$VM_OUT"
	else
		return 0
	fi
	return 1
}

status_name() {
	case $1 in
	0) echo "0 (reset)" ;; 1) echo "1 (poweroff)" ;; 2) echo "2 (halt)" ;;
	3) echo "3 (triple fault)" ;; 4) echo "4 (error)" ;;
	124) echo "timeout after ${TIMEOUT}s" ;; 143) echo "143 (SIGTERM)" ;;
	*) echo "$1" ;;
	esac
}

# The common scenario: boot, wait for exit, check status and output.
# usage: scenario NAME STATUS KERNEL CMDLINE "BHYVE-OPTS" ERE...
scenario() {
	local name=$1 status=$2 kernel=$3 cmdline=$4 opts=$5
	shift 5
	want "$name" || return 0
	# shellcheck disable=SC2086
	vm_start "$name" /dev/null $opts -m 256M -s 0,hostbridge -s 31,lpc \
		-l com1,stdio -o boot.kernel="$kernel" -o boot.cmdline="$cmdline"
	vm_wait
	vlog "$VM_OUT"
	vm_check "$name" "$status" "$@" && ok "$name"
}

PVH=$GDIR/guest-pvh.elf
MB=$GDIR/guest-mb.elf
BZ=$GDIR/guest.bzImage
PVH64=$GDIR/guest64-pvh.elf

if [ ! -e /dev/kvm ]; then
	SKIP_ALL="no /dev/kvm on this machine"
elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	SKIP_ALL="/dev/kvm is not accessible (permissions)"
elif [ ! -x "$BHYVE" ]; then
	SKIP_ALL="$BHYVE not built"
elif [ ! -f "$PVH" ] || [ ! -f "$MB" ] || [ ! -f "$BZ" ] || [ ! -f "$PVH64" ]; then
	SKIP_ALL="guests not built (make guests)"
fi
[ -n "$SKIP_ALL" ] && echo "# cannot run guest tests: $SKIP_ALL"

# ---- 1. hello on each boot format: banner, command line, S5 ----
HELLO_CMD="test=hello word=abc123"
for f in pvh:$PVH:pvh mb:$MB:multiboot bzimage:$BZ:bzImage; do
	IFS=: read -r tag kernel proto <<<"$f"
	scenario "hello-$tag" 1 "$kernel" "$HELLO_CMD" "-c 1" \
		"^hello: lhyve test guest, boot=$proto" \
		"^cmdline: \[$HELLO_CMD\]$" "^acpi: s5=yes" "^power: S5"
done
scenario "hello-pvh-2cpu" 1 "$PVH" "test=hello foo=bar" "-c 2" \
	"^cmdline: \[test=hello foo=bar\]$" "^acpi: madt cpus=2 "

# ---- 2. COM1 interrupt-driven input, COM2 file output ----
serial_scenario() {
	local name=$1 kernel=$2 line="hello lhyve 42" com2=$TMP/$1.com2 miss
	want "$name" || return 0
	rm -f "$TMP/$name.in"
	mkfifo "$TMP/$name.in"
	vm_start "$name" "$TMP/$name.in" -c 1 -m 256M -s 0,hostbridge -s 31,lpc \
		-l com1,stdio -l com2,"$com2" -o boot.kernel="$kernel" \
		-o boot.cmdline="test=serial"
	exec 3>"$TMP/$name.in"
	if vm_wait_output "^ready"; then
		echo "$line" >&3
	fi
	vm_wait
	exec 3>&-
	vlog "$VM_OUT" "$com2"
	if [ "$VM_RC" != 1 ]; then
		notok "$name" "exit status $(status_name "$VM_RC"), want $(status_name 1)" "$VM_OUT" "$com2"
	elif ! miss=$(has_all "$VM_OUT" "^ready" "^echo: \[$line\]"); then
		notok "$name" "console lacks /$miss/" "$VM_OUT"
	elif ! grep -q "^com2: hello from the" "$com2" 2>/dev/null ||
	     ! grep -q "^com2: got \[$line\]" "$com2"; then
		notok "$name" "COM2 file lacks the expected lines" "$VM_OUT" "$com2"
	else
		ok "$name"
	fi
}
serial_scenario serial-pvh "$PVH"
serial_scenario serial-mb "$MB"

# ---- 3. SMP bring-up and CPUID topology ----
scenario "smp-4cpu-2s2c1t" 1 "$PVH" "test=smp" "-c cpus=4,sockets=2,cores=2,threads=1" \
	"^smp: madt lists 4 cpus" "^smp: 4 cpus$" "^cpu 0: apic=" "^cpu 1: apic=" \
	"^cpu 2: apic=" "^cpu 3: apic=" \
	"^smp: topology sockets=2 cores=2 threads=1$" "^smp ok$"
scenario "smp-1cpu" 1 "$PVH" "test=smp" "-c 1" \
	"^smp: 1 cpus$" "^smp: topology sockets=1 cores=1 threads=1$" "^smp ok$"
scenario "smp-2cpu" 1 "$MB" "test=smp" "-c 2" \
	"^smp: 2 cpus$" "^smp: topology sockets=2 cores=1 threads=1$" "^smp ok$"
scenario "smp-4cpu-1s2c2t" 1 "$PVH" "test=smp" "-c cpus=4,sockets=1,cores=2,threads=2" \
	"^smp: 4 cpus$" "^smp: topology sockets=1 cores=2 threads=2$" "^smp ok$"

# ---- 4. RTC in UTC against the host clock ----
rtc_scenario() {
	local name=$1 kernel=$2 line label t now diff
	want "$name" || return 0
	vm_start "$name" /dev/null -u -c 1 -m 256M -s 0,hostbridge -s 31,lpc \
		-l com1,stdio -o boot.kernel="$kernel" -o boot.cmdline="test=rtc"
	vm_wait
	now=$(date -u +%s)
	vlog "$VM_OUT"
	if [ "$VM_RC" != 1 ]; then
		notok "$name" "exit status $(status_name "$VM_RC"), want $(status_name 1)" "$VM_OUT"
		return
	fi
	for label in rtc rtc-bin12; do
		line=$(tr -d '\r' <"$VM_OUT" | grep -E "^$label: [0-9]{4}-" | head -n 1)
		if [ -z "$line" ]; then
			notok "$name" "no '$label:' line" "$VM_OUT"
			return
		fi
		t=$(date -u -d "$(cut -d' ' -f2,3 <<<"$line")" +%s 2>/dev/null) || {
			notok "$name" "unparsable time in '$line'" "$VM_OUT"
			return
		}
		# The guest read the clock between VM start and now.
		diff=$((t - VM_START))
		if [ "$t" -lt $((VM_START - 30)) ] || [ "$t" -gt $((now + 30)) ]; then
			notok "$name" "$label time off by ${diff}s from host UTC ($line)" "$VM_OUT"
			return
		fi
	done
	ok "$name"
}
rtc_scenario rtc-pvh "$PVH"
rtc_scenario rtc-bzimage "$BZ"

# ---- 5. PIT via IOAPIC and via the 8259 pair, LAPIC timer interrupts ----
scenario "timers" 1 "$PVH" "test=timers" "-c 1" \
	"^timers: PIT IRQ0 -> GSI 2 " "^ioapic: id 1 as in the MADT" "^pit ok" "^8259 ok" "^lapic ok"
scenario "timers-2cpu" 1 "$MB" "test=timers" "-c 2" "^ioapic: id 2 as in the MADT" "^pit ok" \
	"^8259 ok" "^lapic ok"

# ---- 6. power: S5, resets, halt, triple fault ----
scenario "poweroff" 1 "$PVH" "test=poweroff" "-c 1" "^power: S5"
scenario "reset-cf9" 0 "$PVH" "test=reset-cf9" "-c 1" "^power: reset via 0xCF9"
scenario "reset-kbd" 0 "$PVH" "test=reset-kbd" "-c 1" "^power: reset via i8042"
scenario "reset-fadt" 0 "$PVH" "test=reset-fadt" "-c 1" \
	"^power: reset via FADT reset register"
scenario "halt" 2 "$PVH" "test=halt" "-c 1" "^halt: cli; hlt"
scenario "triplefault" 3 "$PVH" "test=triplefault" "-c 1" "^triplefault:"
scenario "reset-cf9-bzimage" 0 "$BZ" "test=reset-cf9" "-c 1" "^power: reset via 0xCF9"
scenario "halt-bzimage" 2 "$BZ" "test=halt" "-c 1" "^halt: cli; hlt"
scenario "triplefault-bzimage" 3 "$BZ" "test=triplefault" "-c 1" "^triplefault:"
scenario "triplefault-mb" 3 "$MB" "test=triplefault" "-c 1" "^triplefault:"

# ---- 7. SIGTERM: ACPI power button, and plain termination ----
sigterm_scenario() {
	local name=$1 test=$2 status=$3 ready=$4
	shift 4
	want "$name" || return 0
	vm_start "$name" /dev/null -c 1 -m 256M -s 0,hostbridge -s 31,lpc \
		-l com1,stdio -o boot.kernel="$PVH" -o boot.cmdline="test=$test"
	if vm_wait_output "$ready"; then
		sleep 0.5 # let the guest reach hlt
		kill -TERM "$VM_PID" 2>/dev/null
	fi
	vm_wait
	vlog "$VM_OUT"
	vm_check "$name" "$status" "$ready" "$@" && ok "$name"
}
sigterm_scenario sigterm-acpi sigterm 1 "^ready$" \
	"^sigterm: ACPI mode on" "^sigterm: power button pressed" "^power: S5"
sigterm_scenario sigterm-noacpi sigterm-noacpi 143 "^ready \(ACPI not enabled\)"

. tests/guest/virtio.sh

lib_finish
