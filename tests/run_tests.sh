#!/usr/bin/env bash
# Test runner used by the Makefile:
#   ./tests/run_tests.sh BUILD_DIR test_bin... -- cli_test.sh...
# Runs each cmocka test binary, then each CLI test script (with HART_BIN
# exported), prints one result line per binary/script and ends with
# "N passed, N failed, N skipped". For cmocka binaries the counts are test
# cases (parsed from cmocka's summary); a binary that crashes or whose summary
# is missing counts as one failure. Skips are counted, never passed: cmocka's
# skipped cases, each "SKIP: why" line a test prints for a part it could not
# run (e.g. a backend that does not open), and a script that exits 77.
# Under CI=true (or HART_TEST_STRICT=1) every skip is a failure: on a
# prepared machine nothing may be missing. Exit status is non-zero on any
# failure.
# The one exception is an optional dependency that the project deliberately
# does not install (see docs/testing.md, "Optional dependencies"): a CLI script
# that prints "SKIP-OPTIONAL: NAME: why" and exits 0 is counted as
# "optional", not as a skip, in every mode, but only when NAME is in
# OPTIONAL_DEPS below; any other name counts as an ordinary skip.
# Per-item logs go to BUILD_DIR/test-logs/; a failing item's log is printed.
# TEST_TIMEOUT (seconds, default 900) bounds each item.
# HART_TEST_STOP_ON_FAIL=1 stops after the first failing item.
set -u
if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR test_bin... [-- cli_test.sh...]" >&2
    exit 2
fi
build=$1; shift
logdir="$build/test-logs"
mkdir -p "$logdir"
export HART_BIN=${HART_BIN:-bin/hart}
# Sanitizer defaults for the ASan/UBSan test builds (caller may override).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
tmo=${TEST_TIMEOUT:-900}

strict=0
if [ -n "${HART_TEST_STRICT:-}" ]; then [ "$HART_TEST_STRICT" != 0 ] && strict=1
elif [ "${CI:-}" = true ]; then strict=1; fi
pass=0; fail=0; skipped=0; optional=0; failed_items=()
# Dependencies whose absence is not a failure even under CI=true: PyTorch (the
# training code under tools/train is not part of the product; the CI image does
# not ship it).
OPTIONAL_DEPS=" pytorch "

run_item() { # $1 = kind (bin|cli), $2 = path
    local kind=$1 t=$2 log rc p f k name
    name=$(echo "$t" | tr '/' '_')
    log="$logdir/$name.log"
    local start=$SECONDS
    if [ "$kind" = cli ]; then
        timeout "$tmo" bash "$t" >"$log" 2>&1; rc=$?
    else
        timeout "$tmo" "$t" >"$log" 2>&1; rc=$?
        # LeakSanitizer's own tracer occasionally crashes at exit while
        # stopping the OpenCL runtime's worker threads (a tool failure, not a
        # leak report): run the binary once more, saying so in the log.
        if [ "$rc" -ne 0 ] && grep -q "LeakSanitizer has encountered a fatal error" "$log" &&
            ! grep -q "^\[  FAILED  \]" "$log"; then
            mv "$log" "$log.lsan-crash"
            echo "note: LeakSanitizer crashed at exit (log: $log.lsan-crash); rerunning once" >"$log"
            timeout "$tmo" "$t" >>"$log" 2>&1; rc=$?
        fi
    fi
    local secs=$((SECONDS - start))
    if [ "$kind" = bin ]; then
        # cmocka summary lines: "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s), listed below:"
        p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' "$log" | tail -n 1)
        f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' "$log" | tail -n 1)
        k=$(sed -n 's/^\[  SKIPPED \] \([0-9][0-9]*\) test.*/\1/p' "$log" | tail -n 1)
        p=${p:-0}; f=${f:-0}; k=$(( ${k:-0} + $(grep -c '^SKIP: ' "$log") ))
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi # crash / no summary
        if [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$k" -eq 0 ]; then
            f=1; echo "no test case ran (no cmocka summary)" >>"$log"
        fi
    else
        k=0
        if [ "$rc" -eq 0 ]; then p=1; f=0; elif [ "$rc" -eq 77 ]; then p=0; f=0; k=1; rc=0; else p=0; f=1; fi
        k=$((k + $(grep -c '^SKIP: ' "$log")))
        local opt_lines opt_bad=0 dep
        opt_lines=$(grep '^SKIP-OPTIONAL: ' "$log")
        if [ -n "$opt_lines" ]; then
            while IFS= read -r line; do
                dep=$(echo "$line" | sed -n 's/^SKIP-OPTIONAL: \([a-z0-9_-]*\):.*/\1/p')
                case "$OPTIONAL_DEPS" in *" $dep "*) [ -n "$dep" ] || opt_bad=$((opt_bad + 1)) ;; *) opt_bad=$((opt_bad + 1)) ;; esac
            done <<<"$opt_lines"
            if [ "$opt_bad" -gt 0 ]; then
                echo "$opt_bad SKIP-OPTIONAL line(s) name a dependency outside OPTIONAL_DEPS ($OPTIONAL_DEPS): ordinary skips" >>"$log"
                k=$((k + opt_bad))
            elif [ "$rc" -eq 0 ] && [ "$p" -eq 1 ]; then
                p=0; optional=$((optional + 1))
                printf 'SKIP %-50s optional dependency: %s\n' "$t" "$(echo "$opt_lines" | head -n 1 | cut -c16-100)"
                return
            fi
        fi
    fi
    if [ "$strict" = 1 ] && [ "$k" -gt 0 ]; then
        echo "$k skip(s) under CI=true / HART_TEST_STRICT: counted as failures" >>"$log"
        f=$((f + k)); k=0
    fi
    pass=$((pass + p)); fail=$((fail + f)); skipped=$((skipped + k))
    if [ "$rc" -eq 0 ] && [ "$f" -eq 0 ]; then
        printf '%s %-50s %3d case(s) %4ds%s\n' "$([ "$p" -eq 0 ] && echo SKIP || echo PASS)" "$t" "$p" "$secs" \
            "$([ "$k" -gt 0 ] && echo " ($k skipped: $(grep -m1 -E '^SKIP: |^skipped: ' "$log" | cut -c1-80))")"
    else
        printf 'FAIL %-50s %3d passed, %d failed (exit %d%s) %4ds\n' "$t" "$p" "$f" "$rc" \
            "$([ "$rc" -eq 124 ] && echo ", timeout")" "$secs"
        echo "----- log of $t ($log) -----"
        tail -n 60 "$log"
        echo "-----"
        failed_items+=("$t")
    fi
}

mode=bin
for t in "$@"; do
    if [ "$t" = "--" ]; then mode=cli; continue; fi
    if [ ! -e "$t" ]; then
        echo "FAIL $t (missing)"; fail=$((fail + 1)); failed_items+=("$t"); continue
    fi
    run_item "$mode" "$t"
    # HART_TEST_STOP_ON_FAIL=1: stop at the first failing item (the mutation
    # script only needs to know that something failed)
    if [ "${HART_TEST_STOP_ON_FAIL:-0}" = 1 ] && [ ${#failed_items[@]} -gt 0 ]; then break; fi
done

if [ ${#failed_items[@]} -gt 0 ]; then
    echo "failed: ${failed_items[*]}"
fi
echo "$pass passed, $fail failed, $skipped skipped$([ "$optional" -gt 0 ] && echo ", $optional optional (dependency not installed)")"
[ "$fail" -eq 0 ]
