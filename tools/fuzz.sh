#!/usr/bin/env bash
# Build and run the libFuzzer harnesses:  ./tools/fuzz.sh BUILD_DIR tests/fuzz/fuzz_X.c...
# (`make fuzz` calls it). Each harness is linked with the core sources it
# needs, all built by clang with -fsanitize=fuzzer,address,undefined, and run
# for $FUZZ_SECONDS seconds (default 60) on its seed corpus
# tests/fuzz/corpus/<name>/ (new inputs go to BUILD_DIR/fuzz/corpus/<name>/), with the
# dictionary tests/fuzz/<name>.dict when present.
# Crashing inputs are saved as BUILD_DIR/fuzz/artifacts/<name>-crash-*; the
# script exits non-zero if any harness fails.
set -uo pipefail
if [ $# -lt 1 ]; then echo "usage: $0 BUILD_DIR fuzz_sources..." >&2; exit 2; fi
build=$1; shift
secs=${FUZZ_SECONDS:-60}
CLANG=${CLANG:-clang}
if ! command -v "$CLANG" >/dev/null 2>&1; then
    echo "fuzz: clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1
fi
out=$build/fuzz
mkdir -p "$out/obj" "$out/artifacts"
# shellcheck disable=SC2046
CFLAGS=(-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Isrc -I. $(pkg-config --cflags libcjson)
        -fsanitize=address,undefined -fno-sanitize-recover=undefined)
LIBS=($(pkg-config --libs libcjson) -lm)
# The parsers under test and what they depend on.
CORE_SRCS=(src/core/status.c src/core/tensor.c src/core/fileio.c src/core/safetensors.c src/core/checkpoint.c
           src/core/pth.c src/core/pth_zip.c src/core/pth_unpickle.c)

objs=()
for src in "${CORE_SRCS[@]}"; do
    obj=$out/obj/$(basename "${src%.c}").o
    if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$0" -nt "$obj" ]; then
        echo "CC $src"
        "$CLANG" "${CFLAGS[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj" || exit 1
    fi
    objs+=("$obj")
done

fails=0
for src in "$@"; do
    name=$(basename "${src%.c}")
    bin=$out/$name
    echo "LINK $bin"
    "$CLANG" "${CFLAGS[@]}" -fsanitize=fuzzer "$src" "${objs[@]}" "${LIBS[@]}" -o "$bin" || { fails=$((fails+1)); continue; }
    corpus=$out/corpus/$name
    mkdir -p "$corpus"
    seeds=()
    [ -d "tests/fuzz/corpus/$name" ] && seeds=("tests/fuzz/corpus/$name")
    dict=()
    [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
    echo "== fuzzing $name for ${secs}s"
    log=$out/$name.log
    "$bin" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "${dict[@]}" \
        -artifact_prefix="$out/artifacts/$name-" "$corpus" "${seeds[@]}" >"$log" 2>&1
    rc=$?
    grep -E '^#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb|cov:' "$log" | tail -n 3
    if [ $rc -ne 0 ]; then
        echo "FAIL $name (exit $rc); log $log:"
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 20
        fails=$((fails+1))
    else
        echo "PASS $name: no crash in ${secs}s ($(sed -n 's/^stat::number_of_executed_units: *//p' "$log") runs)"
    fi
done
[ $fails -eq 0 ]
