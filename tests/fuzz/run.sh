#!/usr/bin/env bash
# Run libFuzzer harnesses: run.sh BUILD_DIR SECONDS NAME...
# Each harness runs for SECONDS on one core over a working corpus in
# BUILD_DIR/corpus/NAME, seeded from tests/fuzz/corpus/NAME and the
# regression inputs in tests/fuzz/regress/NAME. Crash/leak/timeout inputs
# land in BUILD_DIR/artifacts/NAME/. Prints one line per harness and a
# summary; exits 1 if any harness found a problem.
set -u
build=$1; secs=$2; shift 2
cd "$(dirname "$0")/../.."
failed=0; total_start=$(date +%s)
# Harness temporary directories (libFuzzer exits without atexit handlers).
case $build in /*) TMPDIR=$build/tmp ;; *) TMPDIR=$PWD/$build/tmp ;; esac
export TMPDIR
mkdir -p "$TMPDIR"
for name in "$@"; do
	bin=$build/fuzz_$name
	work=$build/corpus/$name; art=$build/artifacts/$name
	mkdir -p "$work" "$art" "tests/fuzz/corpus/$name"
	seeds=("tests/fuzz/corpus/$name")
	[ -d "tests/fuzz/regress/$name" ] && seeds+=("tests/fuzz/regress/$name")
	log=$build/fuzz_$name.log
	start=$(date +%s)
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-malloc_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
		-artifact_prefix="$art/" "$work" "${seeds[@]}" >"$log" 2>&1; then
		res=ok
	else
		res=FAILED; failed=$((failed + 1))
	fi
	end=$(date +%s)
	rm -rf "$TMPDIR"/lhyve-fuzz.*
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1)
	printf '%-16s %-6s %4ss  %s execs  %s\n' "$name" "$res" $((end - start)) "${execs:-?}" "${cov:-}"
	if [ "$res" = FAILED ]; then
		grep -E 'ERROR|SUMMARY|Test unit written|==[0-9]+==' "$log" | head -n 20 | sed 's/^/    /'
	fi
	# Append to the running total kept for the README (per harness seconds).
	echo "$name $((end - start))" >>"$build/fuzz-time.log"
done
echo "fuzz: $# harnesses, $failed failed, $(( $(date +%s) - total_start ))s"
[ "$failed" -eq 0 ]
