/* The legacy torch.save stream (torch < 1.6, or _use_new_zipfile_serialization
 * =False), e.g. pytorch-fid's pt_inception-2015-12-05-*.pth: five pickles
 * back to back - the magic number, the format version (1001), a sys_info
 * dict, the object itself (storages as persistent ids), and the list of
 * storage keys - then each listed storage as an int64 element count and its
 * raw little-endian bytes. The storages become the entries "data/<key>" of a
 * synthetic zip directory, so the zip format's tensor checks (pth.c) apply. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pth.h"
#include "core/pth_internal.h"

/* protocol 2 pickle of the magic number 0x1950a86a20f9469cfc6c (LONG1, 10 bytes) */
static const uint8_t MAGIC[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
#define MAX_STORAGES 1000000

int hart_pth_legacy_sniff(const void *buf, size_t size) {
    return size >= sizeof MAGIC && !memcmp(buf, MAGIC, sizeof MAGIC);
}

static uint64_t rd64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* One small header pickle at *pos (version or sys_info): checked, then freed. */
static hart_status header_pickle(const uint8_t *buf, size_t size, size_t *pos, const char *label, int which) {
    pv_pool *pool = NULL;
    pv *v = NULL;
    size_t used = 0;
    HART_TRY(hart_pth_unpickle_prefix(buf + *pos, size - *pos, label, &pool, &v, &used));
    hart_status s = HART_OK;
    if (which == 0 && !(v->kind == PV_INT && v->i == 1001))
        s = hart_fail(HART_EUNSUPPORTED, "%s: legacy torch.save format version is not 1001", label);
    if (which == 1) {
        const pv *le = v->kind == PV_DICT ? hart_pv_dict_get(v, "little_endian") : NULL;
        if (v->kind != PV_DICT) s = hart_fail(HART_EFORMAT, "%s: legacy torch.save stream: bad sys_info", label);
        else if (le && !(le->kind == PV_BOOL && le->i)) s = hart_fail(HART_EUNSUPPORTED, "%s: checkpoint is not little-endian", label);
    }
    hart_pv_pool_free(pool);
    *pos += used;
    return s;
}

hart_status hart_pth_legacy_parse(const uint8_t *buf, size_t size, const char *label, hart_safetensors *st) {
    memset(st, 0, sizeof *st);
    if (!hart_pth_legacy_sniff(buf, size)) return hart_fail(HART_EFORMAT, "%s: not a legacy torch.save stream", label);
    size_t pos = sizeof MAGIC;
    HART_TRY(header_pickle(buf, size, &pos, label, 0));
    HART_TRY(header_pickle(buf, size, &pos, label, 1));
    pv_pool *pool = NULL, *kpool = NULL;
    pv *root = NULL, *keys = NULL;
    size_t used = 0;
    pth_zip z = {0};
    hart_status s = hart_pth_unpickle_prefix(buf + pos, size - pos, label, &pool, &root, &used);
    if (!s) {
        pos += used;
        s = hart_pth_unpickle_prefix(buf + pos, size - pos, label, &kpool, &keys, &used);
    }
    if (!s) {
        pos += used;
        if (keys->kind != PV_LIST || keys->n > MAX_STORAGES)
            s = hart_fail(HART_EFORMAT, "%s: legacy torch.save stream: the storage key list is not a list", label);
    }
    if (!s && !(z.e = calloc(keys->n + 1, sizeof *z.e))) s = hart_fail(HART_ENOMEM, "out of memory");
    for (size_t i = 0; !s && i < keys->n; i++) {
        const pv *k = keys->items[i];
        if (k->kind != PV_STR) { s = hart_fail(HART_EFORMAT, "%s: legacy storage key %zu is not a string", label, i); break; }
        const pv *sto = hart_pv_pool_find_storage(pool, k->s);
        if (!sto) { s = hart_fail(HART_EFORMAT, "%s: storage '%s' is listed but never used", label, k->s); break; }
        size_t es = hart_dtype_size_bits(sto->dtype) / 8;
        if (size - pos < 8) { s = hart_fail(HART_EFORMAT, "%s: storage '%s' is cut off (the file is truncated)", label, k->s); break; }
        uint64_t numel = rd64(buf + pos);
        pos += 8;
        if (numel > (size - pos) / (es ? es : 1)) {
            s = hart_fail(HART_EFORMAT, "%s: storage '%s' claims %llu elements, past the end of the file (truncated?)", label,
                          k->s, (unsigned long long)numel);
            break;
        }
        char name[300];
        snprintf(name, sizeof name, "data/%s", k->s);
        if (hart_pth_zip_find(&z, name)) { s = hart_fail(HART_EFORMAT, "%s: storage '%s' is listed twice", label, k->s); break; }
        if (!(z.e[z.n].name = strdup(name))) { s = hart_fail(HART_ENOMEM, "out of memory"); break; }
        z.e[z.n].data_off = pos;
        z.e[z.n].size = z.e[z.n].csize = (size_t)numel * es;
        z.n++;
        pos += (size_t)numel * es;
    }
    if (!s) s = hart_pth_build(label, "", &z, buf, size, root, st);
    hart_pv_pool_free(pool);
    hart_pv_pool_free(kpool);
    hart_pth_zip_free(&z);
    if (s) hart_pth_discard(st);
    return s;
}
