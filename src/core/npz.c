/* Streamed .npz writer (see npz.h). */
#include "core/npz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n) {
    static uint32_t table[256];
    if (!table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 255] ^ (crc >> 8);
    return ~crc;
}

typedef struct { uint8_t b[128]; size_t n; } rec;
static void p16(rec *r, uint32_t v) { r->b[r->n++] = v & 255; r->b[r->n++] = (v >> 8) & 255; }
static void p32(rec *r, uint32_t v) { p16(r, v & 0xffff); p16(r, v >> 16); }
static void p64(rec *r, uint64_t v) { p32(r, (uint32_t)v); p32(r, (uint32_t)(v >> 32)); }

/* local header (sizes in the ZIP64 extra field; crc patched at the end) */
static hart_status local_header(hart_npz_writer *w, const char *fname) {
    rec r = {.n = 0};
    size_t fl = strlen(fname);
    p32(&r, 0x04034b50); p16(&r, 45); p16(&r, 0); p16(&r, 0); p16(&r, 0); p16(&r, 0x21);
    p32(&r, 0); p32(&r, 0xFFFFFFFFu); p32(&r, 0xFFFFFFFFu); p16(&r, (uint32_t)fl); p16(&r, 20);
    HART_TRY(hart_file_put(&w->f, r.b, r.n));
    HART_TRY(hart_file_put(&w->f, fname, fl));
    r.n = 0;
    p16(&r, 1); p16(&r, 16); p64(&r, w->want); p64(&r, w->want);
    return hart_file_put(&w->f, r.b, r.n);
}

hart_status hart_npz_begin_u8(hart_npz_writer *w, const char *path, const char *name, int ndim, const int64_t *shape) {
    memset(w, 0, sizeof *w);
    if (ndim < 1 || ndim > 8 || strlen(name) > 40) return hart_fail(HART_EINVAL, "npz: bad array rank or name");
    snprintf(w->name, sizeof w->name, "%s.npy", name);
    char hdr[256], dims[200] = "";
    uint64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        snprintf(dims + strlen(dims), sizeof dims - strlen(dims), "%lld%s", (long long)shape[i], ndim == 1 || i + 1 < ndim ? ", " : "");
        n *= (uint64_t)shape[i];
    }
    int len = snprintf(hdr + 10, sizeof hdr - 10, "{'descr': '|u1', 'fortran_order': False, 'shape': (%s), }", dims);
    int total = (10 + len + 1 + 63) / 64 * 64; /* NPY 1.0: header padded with spaces, ends in \n, 64-aligned */
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    hdr[8] = (char)((total - 10) & 255);
    hdr[9] = (char)((total - 10) >> 8);
    memset(hdr + 10 + len, ' ', (size_t)(total - 10 - len));
    hdr[total - 1] = '\n';
    w->want = (uint64_t)total + n;
    HART_TRY(hart_file_begin(&w->f, path));
    hart_status s = local_header(w, w->name);
    if (!s) s = hart_npz_put(w, hdr, (size_t)total);
    if (s) hart_npz_abort(w);
    return s;
}

hart_status hart_npz_put(hart_npz_writer *w, const void *data, size_t n) {
    if (w->size + n > w->want) return hart_fail(HART_EINVAL, "npz: more bytes than the array holds");
    w->crc = crc_update(w->crc, data, n);
    w->size += n;
    return hart_file_put(&w->f, data, n);
}

hart_status hart_npz_finish(hart_npz_writer *w) {
    if (w->size != w->want) {
        hart_npz_abort(w);
        return hart_fail(HART_EINVAL, "npz: %llu of %llu bytes given", (unsigned long long)w->size, (unsigned long long)w->want);
    }
    size_t fl = strlen(w->name);
    uint64_t cd = 30 + fl + 20 + w->size;
    rec r = {.n = 0};
    p32(&r, 0x02014b50); p16(&r, 45); p16(&r, 45); p16(&r, 0); p16(&r, 0); p16(&r, 0); p16(&r, 0x21);
    p32(&r, w->crc); p32(&r, 0xFFFFFFFFu); p32(&r, 0xFFFFFFFFu); p16(&r, (uint32_t)fl); p16(&r, 20); p16(&r, 0);
    p16(&r, 0); p16(&r, 0); p32(&r, 0); p32(&r, 0);
    hart_status s = hart_file_put(&w->f, r.b, r.n);
    if (!s) s = hart_file_put(&w->f, w->name, fl);
    r.n = 0;
    p16(&r, 1); p16(&r, 16); p64(&r, w->size); p64(&r, w->size);
    uint64_t cdlen = 46 + fl + 20, e64 = cd + cdlen;
    p32(&r, 0x06064b50); p64(&r, 44); p16(&r, 45); p16(&r, 45); p32(&r, 0); p32(&r, 0);
    p64(&r, 1); p64(&r, 1); p64(&r, cdlen); p64(&r, cd);
    p32(&r, 0x07064b50); p32(&r, 0); p64(&r, e64); p32(&r, 1);
    p32(&r, 0x06054b50); p16(&r, 0); p16(&r, 0); p16(&r, 1); p16(&r, 1); p32(&r, (uint32_t)cdlen);
    p32(&r, cd > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)cd); p16(&r, 0);
    if (!s) s = hart_file_put(&w->f, r.b, r.n);
    uint8_t c[4] = {w->crc & 255, (w->crc >> 8) & 255, (w->crc >> 16) & 255, w->crc >> 24};
    if (!s && (fseek(w->f.f, 14, SEEK_SET) != 0 || fwrite(c, 1, 4, w->f.f) != 4))
        s = hart_fail(HART_EIO, "%s: write failed", w->f.path);
    if (s) { hart_npz_abort(w); return s; }
    return hart_file_commit(&w->f);
}

void hart_npz_abort(hart_npz_writer *w) {
    if (w->f.f) hart_file_abort(&w->f);
}

/* ---- a small .npz of float64 arrays, written whole (hart_npz_save_f64) ---- */

/* The .npy header of a float64 array (NPY 1.0, padded to 64 bytes). */
static int npy_f64_header(char *hdr, size_t cap, int ndim, const int64_t *shape) {
    char dims[200] = "";
    for (int i = 0; i < ndim; i++)
        snprintf(dims + strlen(dims), sizeof dims - strlen(dims), "%lld%s", (long long)shape[i],
                 ndim == 1 || i + 1 < ndim ? ", " : "");
    int len = snprintf(hdr + 10, cap - 10, "{'descr': '<f8', 'fortran_order': False, 'shape': (%s), }", dims);
    int total = (10 + len + 1 + 63) / 64 * 64;
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    hdr[8] = (char)((total - 10) & 255);
    hdr[9] = (char)((total - 10) >> 8);
    memset(hdr + 10 + len, ' ', (size_t)(total - 10 - len));
    hdr[total - 1] = '\n';
    return total;
}

hart_status hart_npz_save_f64(const char *path, int n, const char *const *names, const int *ndims,
                              const int64_t *const *shapes, const double *const *data) {
    if (n < 1 || n > 16) return hart_fail(HART_EINVAL, "npz: 1 to 16 arrays");
    uint32_t crc[16];
    uint64_t size[16], off[16], pos = 0;
    char hdr[16][320], fname[16][64];
    int hl[16];
    for (int i = 0; i < n; i++) {
        if (ndims[i] < 1 || ndims[i] > 8 || strlen(names[i]) > 40) return hart_fail(HART_EINVAL, "npz: bad array rank or name");
        uint64_t numel = 1;
        for (int k = 0; k < ndims[i]; k++) numel *= (uint64_t)shapes[i][k];
        snprintf(fname[i], sizeof fname[i], "%s.npy", names[i]);
        hl[i] = npy_f64_header(hdr[i], sizeof hdr[i], ndims[i], shapes[i]);
        size[i] = (uint64_t)hl[i] + numel * 8;
        if (size[i] >= 0xFFFFFFFFu) return hart_fail(HART_EINVAL, "npz: array '%s' too large for this writer", names[i]);
        crc[i] = crc_update(crc_update(0, (const uint8_t *)hdr[i], (size_t)hl[i]), (const uint8_t *)data[i], numel * 8);
    }
    hart_npz_writer w; /* only its file */
    memset(&w, 0, sizeof w);
    HART_TRY(hart_file_begin(&w.f, path));
    hart_status s = HART_OK;
    for (int i = 0; i < n && !s; i++) {
        rec r = {.n = 0};
        size_t fl = strlen(fname[i]);
        off[i] = pos;
        p32(&r, 0x04034b50); p16(&r, 20); p16(&r, 0); p16(&r, 0); p16(&r, 0); p16(&r, 0x21);
        p32(&r, crc[i]); p32(&r, (uint32_t)size[i]); p32(&r, (uint32_t)size[i]); p16(&r, (uint32_t)fl); p16(&r, 0);
        s = hart_file_put(&w.f, r.b, r.n);
        if (!s) s = hart_file_put(&w.f, fname[i], fl);
        if (!s) s = hart_file_put(&w.f, hdr[i], (size_t)hl[i]);
        if (!s) s = hart_file_put(&w.f, data[i], size[i] - (uint64_t)hl[i]);
        pos += 30 + fl + size[i];
    }
    uint64_t cd = pos, cdlen = 0;
    for (int i = 0; i < n && !s; i++) {
        rec r = {.n = 0};
        size_t fl = strlen(fname[i]);
        p32(&r, 0x02014b50); p16(&r, 20); p16(&r, 20); p16(&r, 0); p16(&r, 0); p16(&r, 0); p16(&r, 0x21);
        p32(&r, crc[i]); p32(&r, (uint32_t)size[i]); p32(&r, (uint32_t)size[i]); p16(&r, (uint32_t)fl); p16(&r, 0);
        p16(&r, 0); p16(&r, 0); p16(&r, 0); p32(&r, 0); p32(&r, (uint32_t)off[i]);
        s = hart_file_put(&w.f, r.b, r.n);
        if (!s) s = hart_file_put(&w.f, fname[i], fl);
        cdlen += 46 + fl;
    }
    if (!s && (cd >= 0xFFFFFFFFu)) s = hart_fail(HART_EINVAL, "npz: archive too large for this writer");
    if (!s) {
        rec r = {.n = 0};
        p32(&r, 0x06054b50); p16(&r, 0); p16(&r, 0); p16(&r, (uint32_t)n); p16(&r, (uint32_t)n);
        p32(&r, (uint32_t)cdlen); p32(&r, (uint32_t)cd); p16(&r, 0);
        s = hart_file_put(&w.f, r.b, r.n);
    }
    if (s) { hart_file_abort(&w.f); return s; }
    return hart_file_commit(&w.f);
}
