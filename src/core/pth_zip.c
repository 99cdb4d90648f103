/* The zip container of torch.save and of NumPy's .npz: the central directory
 * (with its ZIP64 extensions, since release checkpoints exceed 4 GiB) and
 * stored entries. torch.save never compresses, so for it a compressed entry
 * is an error; .npz readers (np.savez_compressed) also take deflated ones. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/pth_internal.h"

#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOC64 0x07064b50u
#define SIG_CEN 0x02014b50u
#define SIG_LOC 0x04034b50u
#define MAX_ENTRIES 1000000

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

void hart_pth_zip_free(pth_zip *z) {
    for (int i = 0; i < z->n; i++) free(z->e[i].name);
    free(z->e);
    z->e = NULL;
    z->n = 0;
}

const pth_zip_entry *hart_pth_zip_find(const pth_zip *z, const char *name) {
    for (int i = 0; i < z->n; i++)
        if (!strcmp(z->e[i].name, name)) return &z->e[i];
    return NULL;
}

/* Locate the central directory: (offset, size, count). */
static hart_status find_cd(const uint8_t *b, size_t size, const char *label, uint64_t *off, uint64_t *len,
                           uint64_t *count) {
    if (size < 22) return hart_fail(HART_EFORMAT, "%s: too short for a zip archive (%zu bytes)", label, size);
    size_t lo = size > 22 + 65535 ? size - 22 - 65535 : 0, at = (size_t)-1;
    for (size_t p = size - 22 + 1; p-- > lo;)
        if (rd32(b + p) == SIG_EOCD && p + 22 + rd16(b + p + 20) == size) { at = p; break; }
    if (at == (size_t)-1) return hart_fail(HART_EFORMAT, "%s: no zip end-of-directory record (not a torch.save file?)", label);
    if (rd16(b + at + 4) != 0 || rd16(b + at + 6) != 0)
        return hart_fail(HART_EFORMAT, "%s: multi-disk zip archives are not supported", label);
    *count = rd16(b + at + 10);
    *len = rd32(b + at + 12);
    *off = rd32(b + at + 16);
    if (*count != 0xFFFF && *len != 0xFFFFFFFFu && *off != 0xFFFFFFFFu) return HART_OK;
    /* ZIP64: the locator sits right before the end record */
    if (at < 20 || rd32(b + at - 20) != SIG_LOC64)
        return hart_fail(HART_EFORMAT, "%s: zip directory needs ZIP64 but has no ZIP64 locator", label);
    uint64_t e64 = rd64(b + at - 12);
    if (e64 > size || size - e64 < 56 || rd32(b + e64) != SIG_EOCD64)
        return hart_fail(HART_EFORMAT, "%s: bad ZIP64 end-of-directory record", label);
    *count = rd64(b + e64 + 32);
    *len = rd64(b + e64 + 40);
    *off = rd64(b + e64 + 48);
    return HART_OK;
}

/* Replace 0xFFFFFFFF sizes/offset by the ZIP64 extra field's values. */
static hart_status zip64_extra(const uint8_t *x, size_t n, const char *label, uint64_t *usize, uint64_t *csize,
                               uint64_t *off) {
    while (n >= 4) {
        uint32_t id = rd16(x), sz = rd16(x + 2);
        if (sz > n - 4) break;
        if (id == 1) {
            const uint8_t *p = x + 4;
            uint32_t left = sz;
            uint64_t *f[3] = {usize, csize, off};
            for (int i = 0; i < 3; i++) {
                if (*f[i] != 0xFFFFFFFFu) continue;
                if (left < 8) return hart_fail(HART_EFORMAT, "%s: truncated ZIP64 extra field", label);
                *f[i] = rd64(p);
                p += 8;
                left -= 8;
            }
            return HART_OK;
        }
        x += 4 + sz;
        n -= 4 + sz;
    }
    if (*usize == 0xFFFFFFFFu || *csize == 0xFFFFFFFFu || *off == 0xFFFFFFFFu)
        return hart_fail(HART_EFORMAT, "%s: zip entry needs a ZIP64 extra field but has none", label);
    return HART_OK;
}

hart_status hart_pth_zip_parse(const uint8_t *b, size_t size, const char *label, pth_zip *z) {
    return hart_zip_parse(b, size, label, 0, z);
}

hart_status hart_zip_parse(const uint8_t *b, size_t size, const char *label, int allow_deflate, pth_zip *z) {
    memset(z, 0, sizeof *z);
    uint64_t off = 0, len = 0, count = 0;
    HART_TRY(find_cd(b, size, label, &off, &len, &count));
    if (off > size || len > size - off)
        return hart_fail(HART_EFORMAT, "%s: zip directory (offset %llu, %llu bytes) lies outside the file", label,
                         (unsigned long long)off, (unsigned long long)len);
    if (count > MAX_ENTRIES || count > len / 46)
        return hart_fail(HART_EFORMAT, "%s: zip directory claims %llu entries in %llu bytes", label,
                         (unsigned long long)count, (unsigned long long)len);
    z->e = calloc(count ? count : 1, sizeof *z->e);
    if (!z->e) return hart_fail(HART_ENOMEM, "out of memory");
    const uint8_t *p = b + off, *end = b + off + len;
    hart_status s = HART_OK;
    for (uint64_t i = 0; i < count && !s; i++) {
        if (end - p < 46 || rd32(p) != SIG_CEN) { s = hart_fail(HART_EFORMAT, "%s: corrupt zip directory entry %llu", label, (unsigned long long)i); break; }
        uint32_t method = rd16(p + 10), flags = rd16(p + 8);
        uint64_t csize = rd32(p + 20), usize = rd32(p + 24), loc = rd32(p + 42);
        size_t nlen = rd16(p + 28), xlen = rd16(p + 30), clen = rd16(p + 32);
        if ((size_t)(end - p) - 46 < nlen + xlen + clen) { s = hart_fail(HART_EFORMAT, "%s: zip directory entry %llu is truncated", label, (unsigned long long)i); break; }
        char *name = malloc(nlen + 1);
        if (!name) { s = hart_fail(HART_ENOMEM, "out of memory"); break; }
        memcpy(name, p + 46, nlen);
        name[nlen] = 0;
        z->e[z->n].name = name;
        z->n++;
        if (memchr(name, 0, nlen)) { s = hart_fail(HART_EFORMAT, "%s: zip entry name with a NUL byte", label); break; }
        s = zip64_extra(p + 46 + nlen, xlen, label, &usize, &csize, &loc);
        if (s) break;
        int deflated = method == 8 && allow_deflate;
        if (method != 0 && !deflated) {
            s = allow_deflate ? hart_fail(HART_EFORMAT, "%s: zip entry '%s' uses compression method %u (only stored and deflated are supported)", label, name, method)
                              : hart_fail(HART_EFORMAT, "%s: zip entry '%s' is compressed (method %u); torch.save stores entries uncompressed", label, name, method);
            break;
        }
        if (flags & 1) { s = hart_fail(HART_EFORMAT, "%s: zip entry '%s' is encrypted", label, name); break; }
        if (!deflated && csize != usize) { s = hart_fail(HART_EFORMAT, "%s: stored zip entry '%s' has different sizes (%llu, %llu)", label, name, (unsigned long long)csize, (unsigned long long)usize); break; }
        if (loc > size || size - loc < 30 || rd32(b + loc) != SIG_LOC) { s = hart_fail(HART_EFORMAT, "%s: zip entry '%s': bad local header offset %llu", label, name, (unsigned long long)loc); break; }
        uint64_t data = loc + 30 + rd16(b + loc + 26) + rd16(b + loc + 28);
        if (data > size || csize > size - data) { s = hart_fail(HART_EFORMAT, "%s: zip entry '%s' (%llu bytes) runs past the end of the file", label, name, (unsigned long long)csize); break; }
        if (usize > SIZE_MAX || csize > SIZE_MAX) { s = hart_fail(HART_EFORMAT, "%s: zip entry '%s' is too large", label, name); break; }
        z->e[z->n - 1].data_off = (size_t)data;
        z->e[z->n - 1].size = (size_t)usize;
        z->e[z->n - 1].csize = (size_t)csize;
        z->e[z->n - 1].deflated = deflated;
        z->e[z->n - 1].crc = rd32(p + 16);
        p += 46 + nlen + xlen + clen;
    }
    if (s) hart_pth_zip_free(z);
    return s;
}
