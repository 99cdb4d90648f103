# Shared by the GPU staging and run scripts (sourced, POSIX sh).
# The device tool carries at most 64 MiB with the tracked files, so the largest
# libraries travel xz-compressed (OpenBLAS: 36 MB raw, 10.6 MB gzip, 4.2 MB xz).
#   stage_compress DIR/lib   compress the large libraries in place (cached by content)
#   stage_unpack DIR         unpack DIR/lib/*.xz|*.gz into /tmp/hart-lib (xz, else python3's lzma)

stage_compress() {
    cache=${HART_STAGE_CACHE:-build/stage-cache}
    mkdir -p "$cache"
    for l in "$1"/libopenblas*.so* "$1"/libgfortran*.so* "$1"/libquadmath*.so* "$1"/libdnnl*.so*; do
        [ -f "$l" ] || continue
        case $l in *.xz|*.gz) continue ;; esac
        sum=$(sha256sum "$l" | cut -c1-16)
        # (a cache hit must not run the mv: under set -e a missing .tmp ended the staging)
        if [ ! -f "$cache/$sum.xz" ]; then
            xz -9e -T1 -c "$l" >"$cache/$sum.xz.tmp" && mv -f "$cache/$sum.xz.tmp" "$cache/$sum.xz"
        fi
        cp "$cache/$sum.xz" "$l.xz" && rm -f "$l"
    done
}

stage_unpack() {
    mkdir -p /tmp/hart-lib
    for z in "$1"/lib/*.gz; do [ -f "$z" ] && gzip -dc "$z" >"/tmp/hart-lib/$(basename "$z" .gz)"; done
    for z in "$1"/lib/*.xz; do
        [ -f "$z" ] || continue
        t=/tmp/hart-lib/$(basename "$z" .xz)
        if command -v xz >/dev/null; then xz -dc "$z" >"$t"
        else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$z" "$t"; fi
    done
}
