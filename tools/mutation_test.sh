#!/usr/bin/env bash
# Mutation test of the test suite: plants each bug of tests/mutation/mutants.txt
# in a scratch copy of the working tree, runs `make test` there, and reports
# whether the suite caught it (a failing test). Every planted bug must be caught.
#
#   tools/mutation_test.sh [--golden DIR] [--only NAME] [--full]
#
# The scratch copy lives under /tmp, where no ../shared exists: the suite runs
# on the golden sets shipped in tests/data/golden only ("without ../shared").
# --golden DIR also gives it DIR (e.g. ../shared/golden) as $HART_GOLDEN
# ("with ../shared"). By default the suite stops at its first failing item
# (HART_TEST_STOP_ON_FAIL=1); --full runs every item and lists all that failed.
# The unmutated copy is run first: it must pass, or nothing can be concluded.
# Exit status: 0 when every mutant was caught.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
golden="" only="" full=0
while [ $# -gt 0 ]; do
    case $1 in
    --golden) golden=$(cd "$2" && pwd) || exit 2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --full) full=1; shift ;;
    *) echo "usage: $0 [--golden DIR] [--only NAME] [--full]" >&2; exit 2 ;;
    esac
done
scratch=$(mktemp -d /tmp/hart-mutation.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/repo"
(cd "$root" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -xf - -C "$scratch/repo"
cd "$scratch/repo" || exit 1
export HART_TEST_STOP_ON_FAIL=$((1 - full))
if [ -n "$golden" ]; then export HART_GOLDEN=$golden; else unset HART_GOLDEN; fi
jobs=$(nproc 2>/dev/null || echo 2)

run_suite() { # $1 = log file; returns make's status
    make -j"$jobs" all >"$1" 2>&1 && make -j"$jobs" test >>"$1" 2>&1
}

echo "scratch copy: $scratch/repo (golden: ${golden:-tests/data/golden only})"
if ! run_suite "$scratch/baseline.log"; then
    echo "the unmutated suite fails; see $scratch/baseline.log:"; tail -n 30 "$scratch/baseline.log"
    trap - EXIT; exit 1
fi
echo "baseline: $(tail -n 1 "$scratch/baseline.log")"

# Split mutants.txt into blocks and apply each one with python3 (exact text).
python3 - "$root/tests/mutation/mutants.txt" "$scratch/mutants" <<'PY'
import os, sys
lines = open(sys.argv[1]).read().split("\n")
while lines and lines[0].startswith("#"):  # the file's header comment (a "#" inside a block is code)
    lines.pop(0)
out = sys.argv[2]
os.makedirs(out, exist_ok=True)
for b in "\n".join(lines).split("\n%%\n"):
    b = b.strip("\n")
    head, rest = b.split("\nfind:\n", 1)
    find, repl = rest.split("\nreplace:\n", 1)
    meta = dict(l.split(": ", 1) for l in head.split("\n") if ": " in l)
    d = os.path.join(out, meta["name"])
    os.makedirs(d)
    for k in ("file", "why"):
        open(os.path.join(d, k), "w").write(meta[k])
    open(os.path.join(d, "find"), "w").write(find)
    open(os.path.join(d, "replace"), "w").write(repl)
PY

caught=0 missed=0 results=()
for m in "$scratch"/mutants/*/; do
    name=$(basename "$m")
    [ -n "$only" ] && [ "$name" != "$only" ] && continue
    file=$(cat "$m/file")
    cp "$file" "$scratch/orig"
    if ! python3 - "$file" "$m/find" "$m/replace" <<'PY'
import sys
path, find, repl = sys.argv[1], open(sys.argv[2]).read(), open(sys.argv[3]).read()
src = open(path).read()
if src.count(find) != 1:
    sys.exit(f"{path}: the text to mutate occurs {src.count(find)} times (want 1)")
open(path, "w").write(src.replace(find, repl))
PY
    then
        results+=("ERROR  $name: mutation does not apply"); missed=$((missed + 1)); continue
    fi
    log="$scratch/$name.log"
    start=$SECONDS
    if run_suite "$log"; then
        results+=("MISSED $name ($(cat "$m/why")): $(tail -n 1 "$log")"); missed=$((missed + 1))
    else
        by=$(sed -n 's/^failed: //p' "$log" | tail -n 1)
        [ -n "$by" ] || by="build failed"
        results+=("CAUGHT $name ($(cat "$m/why")) by: $by [$((SECONDS - start))s]"); caught=$((caught + 1))
    fi
    cp "$scratch/orig" "$file"
    echo "${results[-1]}"
done
echo
echo "mutation test (golden: ${golden:-tests/data/golden only}): $caught caught, $missed missed"
[ "$missed" -eq 0 ]
