#!/usr/bin/env bash
# `make test` item: run every fuzz harness briefly (FUZZ_SMOKE_SECONDS each,
# default 1) on its seeds; fails on any crash, sanitizer report or leak.
# FUZZ_BUILD is the build folder (the Makefile exports it); missing or stale
# harnesses are built first.
set -u
build=${FUZZ_BUILD:-build}
bins=()
for src in tests/fuzz/fuzz_*.c; do
    n=$(basename "${src%.c}")
    bins+=("$build/fuzz/$n")
done
# (a fresh make: the parent make test's jobserver is not passed down)
env -u MAKEFLAGS -u MFLAGS make -s BUILD="$build" "${bins[@]}" || exit 1
FUZZ_SMOKE=1 FUZZ_SECONDS=${FUZZ_SMOKE_SECONDS:-1} ./tools/fuzz.sh "$build" "${bins[@]}"
