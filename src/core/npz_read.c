/* .npz reader (npz.h): the zip directory from pth_zip.c (stored and deflated
 * members, zlib for the latter) and the .npy header of each member. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <zlib.h>

#include "core/fileio.h"
#include "core/npz.h"
#include "core/pth_internal.h"

struct hart_npz_file {
    const uint8_t *buf;
    size_t size;
    void *map; /* owned mapping (hart_npz_open) or NULL */
    char *label;
    pth_zip z;
};

void hart_npz_close(hart_npz_file *f) {
    if (!f) return;
    hart_pth_zip_free(&f->z);
    if (f->map) munmap(f->map, f->size);
    free(f->label);
    free(f);
}

hart_status hart_npz_parse(const void *buf, size_t size, const char *label, hart_npz_file **out) {
    *out = NULL;
    hart_npz_file *f = calloc(1, sizeof *f);
    if (!f || !(f->label = strdup(label))) { free(f); return hart_fail(HART_ENOMEM, "out of memory"); }
    f->buf = buf;
    f->size = size;
    hart_status s = hart_zip_parse(buf, size, label, 1, &f->z);
    if (s) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", hart_errmsg());
        free(f->label);
        free(f);
        return hart_fail(s, "%s (not a .npz file?)", msg);
    }
    *out = f;
    return HART_OK;
}

hart_status hart_npz_open(const char *path, hart_npz_file **out) {
    void *map;
    size_t size;
    HART_TRY(hart_file_map(path, &map, &size));
    hart_status s = hart_npz_parse(map ? map : (const void *)"", size, path, out);
    if (s) {
        if (map) munmap(map, size);
        return s;
    }
    (*out)->map = map;
    return HART_OK;
}

static const pth_zip_entry *member(const hart_npz_file *f, const char *name) {
    char n[300];
    snprintf(n, sizeof n, "%s.npy", name);
    return hart_pth_zip_find(&f->z, n);
}

int hart_npz_has(const hart_npz_file *f, const char *name) { return member(f, name) != NULL; }

int64_t hart_npy_numel(const hart_npy *a) {
    int64_t n = 1;
    for (int i = 0; i < a->ndim; i++) n *= a->shape[i];
    return n;
}

void hart_npy_free(hart_npy *a) {
    free(a->owned);
    memset(a, 0, sizeof *a);
}

static hart_status inflate_all(const uint8_t *src, size_t csize, uint8_t *dst, size_t size, const char *label,
                               const char *name) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return hart_fail(HART_ENOMEM, "%s: zlib init failed", label);
    int rc = Z_OK;
    size_t in_left = csize, out_left = size;
    zs.next_in = (Bytef *)src;
    zs.next_out = dst;
    while (rc == Z_OK) { /* zlib's counters are 32-bit: feed at most 1 GiB at a time */
        if (zs.avail_in == 0 && in_left) { zs.avail_in = (uInt)(in_left < (1u << 30) ? in_left : (1u << 30)); in_left -= zs.avail_in; }
        if (zs.avail_out == 0 && out_left) { zs.avail_out = (uInt)(out_left < (1u << 30) ? out_left : (1u << 30)); out_left -= zs.avail_out; }
        if (zs.avail_out == 0 && zs.avail_in == 0) break;
        if (zs.avail_out == 0) { rc = Z_BUF_ERROR; break; } /* more data than the directory said */
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc == Z_BUF_ERROR && zs.avail_in == 0 && !in_left) break;
        if (rc == Z_BUF_ERROR) rc = Z_OK;
    }
    int ok = rc == Z_STREAM_END && zs.avail_out == 0 && out_left == 0;
    inflateEnd(&zs);
    if (!ok) return hart_fail(HART_EFORMAT, "%s: member '%s' does not inflate to its %zu bytes (corrupt archive)", label, name, size);
    return HART_OK;
}

/* The value text after 'key': in the header dict, or NULL. */
static const char *dict_value(const char *h, size_t n, const char *key) {
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl + 2 < n; i++)
        if ((h[i] == '\'' || h[i] == '"') && !memcmp(h + i + 1, key, kl) && h[i + 1 + kl] == h[i]) {
            const char *p = h + i + 2 + kl;
            while (p < h + n && (*p == ' ' || *p == ':')) p++;
            return p < h + n ? p : NULL;
        }
    return NULL;
}

/* Parse the .npy header of `d` (n bytes): dtype, shape, data offset. */
static hart_status npy_header(const uint8_t *d, size_t n, const char *label, const char *name, hart_npy *a,
                              size_t *data_off) {
    if (n < 10 || memcmp(d, "\x93NUMPY", 6)) return hart_fail(HART_EFORMAT, "%s: member '%s' is not a .npy array", label, name);
    size_t hl, at;
    if (d[6] == 1) { hl = (size_t)d[8] | (size_t)d[9] << 8; at = 10; }
    else if ((d[6] == 2 || d[6] == 3) && n >= 12) { hl = (size_t)d[8] | (size_t)d[9] << 8 | (size_t)d[10] << 16 | (size_t)d[11] << 24; at = 12; }
    else return hart_fail(HART_EFORMAT, "%s: member '%s': unsupported .npy version %u", label, name, d[6]);
    if (hl > n - at || hl > 1 << 20) return hart_fail(HART_EFORMAT, "%s: member '%s': .npy header runs past the data", label, name);
    const char *h = (const char *)d + at;
    const char *descr = dict_value(h, hl, "descr"), *fo = dict_value(h, hl, "fortran_order"), *sh = dict_value(h, hl, "shape");
    if (!descr || !fo || !sh) return hart_fail(HART_EFORMAT, "%s: member '%s': .npy header lacks descr, fortran_order or shape", label, name);
    const char *end = h + hl;
    if (end - descr < 5 || (descr[0] != '\'' && descr[0] != '"')) return hart_fail(HART_EFORMAT, "%s: member '%s': bad descr", label, name);
    int es = 0;
    if (!memcmp(descr + 1, "<f8", 3)) { a->dtype = 'd'; es = 8; }
    else if (!memcmp(descr + 1, "<f4", 3)) { a->dtype = 'f'; es = 4; }
    else if (!memcmp(descr + 1, "|u1", 3) || !memcmp(descr + 1, "<u1", 3)) { a->dtype = 'B'; es = 1; }
    else return hart_fail(HART_EUNSUPPORTED, "%s: member '%s': dtype %.5s is not float64, float32 or uint8 (little-endian)", label, name, descr);
    if (end - fo < 5 || memcmp(fo, "False", 5)) return hart_fail(HART_EUNSUPPORTED, "%s: member '%s': Fortran-order arrays are not supported", label, name);
    if (*sh != '(') return hart_fail(HART_EFORMAT, "%s: member '%s': bad shape", label, name);
    const char *p = sh + 1;
    a->ndim = 0;
    unsigned __int128 total = (unsigned)es;
    for (;;) {
        while (p < end && (*p == ' ' || *p == ',')) p++;
        if (p >= end) return hart_fail(HART_EFORMAT, "%s: member '%s': unterminated shape", label, name);
        if (*p == ')') break;
        if (*p < '0' || *p > '9' || a->ndim == 8) return hart_fail(HART_EFORMAT, "%s: member '%s': bad shape (or more than 8 dims)", label, name);
        int64_t v = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (v > (INT64_MAX - 9) / 10) return hart_fail(HART_EFORMAT, "%s: member '%s': shape too large", label, name);
            v = v * 10 + (*p++ - '0');
        }
        if (p < end && *p == 'L') p++;
        a->shape[a->ndim++] = v;
        total *= (unsigned __int128)v;
        if (total > SIZE_MAX) return hart_fail(HART_EFORMAT, "%s: member '%s': shape too large", label, name);
    }
    *data_off = at + hl;
    a->nbytes = (size_t)total;
    if (n - *data_off != a->nbytes)
        return hart_fail(HART_EFORMAT, "%s: member '%s': %zu data bytes, the shape needs %zu", label, name, n - *data_off, a->nbytes);
    return HART_OK;
}

hart_status hart_npz_get(const hart_npz_file *f, const char *name, hart_npy *a) {
    memset(a, 0, sizeof *a);
    const pth_zip_entry *e = member(f, name);
    if (!e) return hart_fail(HART_EFORMAT, "%s: no array '%s' in the archive", f->label, name);
    const uint8_t *d = f->buf + e->data_off;
    if (e->deflated) {
        /* deflate expands at most 1032:1, so a declared size beyond that is a lie (and
         * would make us allocate what a hostile header asks for before inflating) */
        if (e->size / 1032 > e->csize + 1)
            return hart_fail(HART_EFORMAT, "%s: member '%s' declares %zu bytes from %zu compressed (corrupt archive)",
                             f->label, name, e->size, (size_t)e->csize);
        uint8_t *buf = malloc(e->size ? e->size : 1);
        if (!buf) return hart_fail(HART_ENOMEM, "%s: out of memory inflating '%s' (%zu bytes)", f->label, name, e->size);
        hart_status s = inflate_all(d, e->csize, buf, e->size, f->label, name);
        if (!s && crc32(crc32(0L, Z_NULL, 0), buf, e->size > UINT_MAX ? 0 : (uInt)e->size) != e->crc && e->size <= UINT_MAX)
            s = hart_fail(HART_EFORMAT, "%s: member '%s' fails its CRC check (corrupt archive)", f->label, name);
        if (s) { free(buf); return s; }
        a->owned = buf;
        d = buf;
    }
    size_t off = 0;
    hart_status s = npy_header(d, e->size, f->label, name, a, &off);
    if (s) { hart_npy_free(a); return s; }
    a->data = d + off;
    return HART_OK;
}
