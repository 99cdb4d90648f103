# Shared helpers of the CLI test scripts (sourced, POSIX sh): a temp folder $T
# removed at exit (write bits restored first: some tests make it read-only),
# fail MESSAGE, and expect RC SUBSTRING COMMAND... (exit code RC and, unless
# SUBSTRING is empty, SUBSTRING in its stderr; stdout in $T/out, stderr $T/err).
T=$(mktemp -d)
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT
# The sanitizer build of the CLI runs OpenCL on PoCL, whose kernel JIT (LLVM)
# keeps allocations for the life of the process: not ours (the test binaries
# suppress the same libraries). A cold PoCL cache otherwise fails the run.
printf 'leak:libpocl\nleak:libLLVM\nleak:libOpenCL\n' >"$T/lsan.supp"
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$T/lsan.supp"
fail() { echo "FAIL: $*"; exit 1; }
expect() {
  want=$1; sub=$2; shift 2
  "$@" >"$T/out" 2>"$T/err"; rc=$?
  [ $rc = "$want" ] || fail "'$*' exited $rc, expected $want: $(cat "$T/err")"
  [ -z "$sub" ] || grep -q -- "$sub" "$T/err" || fail "'$*': no '$sub' in: $(cat "$T/err")"
}
