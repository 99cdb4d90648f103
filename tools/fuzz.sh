#!/usr/bin/env bash
# Run the libFuzzer harnesses:  ./tools/fuzz.sh BUILD_DIR BUILD_DIR/fuzz/fuzz_X...
# (`make fuzz` builds them - clang, ASan + UBSan, see the Makefile - and calls
# this). Each runs for $FUZZ_SECONDS seconds (default 60) on its seed corpus
# tests/fuzz/corpus/<name>/ (new inputs go to BUILD_DIR/fuzz/corpus/<name>/),
# with the dictionary tests/fuzz/<name>.dict when present. FUZZ_SMOKE=1 (used
# by tests/fuzz/smoke.sh) keeps new inputs in a throwaway folder instead.
# Crashing inputs are saved as BUILD_DIR/fuzz/artifacts/<name>-crash-*; the
# script exits non-zero if any harness fails. Run from the repository root.
set -uo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 BUILD_DIR harness_binary..." >&2; exit 2; fi
build=$1; shift
secs=${FUZZ_SECONDS:-60}
out=$build/fuzz
mkdir -p "$out/artifacts"
tmp=
if [ "${FUZZ_SMOKE:-0}" = 1 ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
fi
# sanitizer defaults unless the caller chose: report leaks, stop on UB
export ASAN_OPTIONS=${FUZZ_ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${FUZZ_UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

fails=0
for bin in "$@"; do
    name=$(basename "$bin")
    if [ ! -x "$bin" ]; then echo "FAIL $name: $bin not built (make fuzz-build)"; fails=$((fails+1)); continue; fi
    corpus=${tmp:-$out/corpus}/$name
    mkdir -p "$corpus"
    seeds=()
    [ -d "tests/fuzz/corpus/$name" ] && seeds=("tests/fuzz/corpus/$name")
    dict=()
    [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
    echo "== fuzzing $name for ${secs}s"
    log=$out/$name.log
    "$bin" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2560 -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 "${dict[@]}" \
        -artifact_prefix="$out/artifacts/$name-" "$corpus" "${seeds[@]}" >"$log" 2>&1
    rc=$?
    grep -E '^#[0-9]+.*DONE|stat::peak_rss_mb' "$log" | tail -n 2
    if [ $rc -ne 0 ]; then
        echo "FAIL $name (exit $rc); log $log:"
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written|^    #[0-9] ' "$log" | head -n 25
        fails=$((fails+1))
    else
        echo "PASS $name: no crash in ${secs}s ($(sed -n 's/^stat::number_of_executed_units: *//p' "$log") runs)"
    fi
done
[ $fails -eq 0 ]
