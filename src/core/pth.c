/* PyTorch checkpoints as a hart_safetensors: the zip directory (pth_zip.c),
 * the pickle (hart_pth_unpickle.c), then every tensor of the state dict checked
 * against its storage entry. */
#include "core/pth.h"
#include "core/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/pth_internal.h"

int hart_pth_sniff(const void *buf, size_t size) {
    return (size >= 4 && !memcmp(buf, "PK\x03\x04", 4)) || hart_pth_legacy_sniff(buf, size);
}

/* "<stem>/data.pkl": the one pickle of the archive; prefix gets "<stem>/". */
static const pth_zip_entry *find_pickle(const pth_zip *z, char *prefix, size_t n) {
    for (int i = 0; i < z->n; i++) {
        const char *nm = z->e[i].name, *sl = strchr(nm, '/');
        if (sl && sl > nm && !strcmp(sl, "/data.pkl") && (size_t)(sl - nm) + 2 <= n) {
            snprintf(prefix, n, "%.*s/", (int)(sl - nm), nm);
            return &z->e[i];
        }
    }
    return NULL;
}

typedef struct {
    const char *name;
    const pv *t;
    const pth_zip_entry *ze;
    size_t esize, nbytes;
    int dense; /* contiguous and aligned in the archive */
} item;

/* Check tensor `name` against its storage; fills it. */
static hart_status check_tensor(const char *label, const char *prefix, const pth_zip *z, const uint8_t *buf,
                                const char *name, const pv *t, item *it) {
    const pv *sto = t->storage;
    char key[512];
    snprintf(key, sizeof key, "%sdata/%s", prefix, sto->s);
    it->name = name;
    it->t = t;
    it->ze = hart_pth_zip_find(z, key);
    if (!it->ze) return hart_fail(HART_EFORMAT, "%s: tensor '%s': storage '%s' is missing from the archive", label, name, key);
    it->esize = hart_dtype_size_bits(sto->dtype) / 8;
    unsigned __int128 snum = (unsigned __int128)sto->i, numel = 1, last = (unsigned __int128)t->offset;
    for (int d = 0; d < t->ndim; d++) {
        numel *= (unsigned __int128)t->shape[d];
        if (t->shape[d]) last += (unsigned __int128)(t->shape[d] - 1) * (unsigned __int128)t->stride[d];
    }
    if (snum * it->esize > it->ze->size)
        return hart_fail(HART_EFORMAT, "%s: tensor '%s': storage '%s' should hold %llu elements but has only %zu bytes",
                         label, name, key, (unsigned long long)snum, it->ze->size);
    if (numel && last >= snum)
        return hart_fail(HART_EFORMAT, "%s: tensor '%s' (offset %lld) reaches element %llu of a %llu-element storage",
                         label, name, (long long)t->offset, (unsigned long long)last, (unsigned long long)snum);
    it->nbytes = (size_t)(numel * it->esize);
    int64_t want = 1;
    it->dense = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && t->stride[d] != want) it->dense = 0;
        want *= t->shape[d];
    }
    uintptr_t at = (uintptr_t)(buf + it->ze->data_off) + (uintptr_t)t->offset * it->esize;
    if (at % it->esize) it->dense = 0;
    return HART_OK;
}

/* Copy a strided tensor into dense row-major order. */
static void gather(const uint8_t *src, const item *it, uint8_t *dst) {
    const pv *t = it->t;
    int64_t sh[HART_MAX_DIMS] = {1, 1, 1, 1}, st[HART_MAX_DIMS] = {0, 0, 0, 0};
    int off = HART_MAX_DIMS - t->ndim;
    for (int d = 0; d < t->ndim; d++) { sh[off + d] = t->shape[d]; st[off + d] = t->stride[d]; }
    const uint8_t *base = src + it->ze->data_off + (size_t)t->offset * it->esize;
    size_t e = it->esize;
    for (int64_t a = 0; a < sh[0]; a++)
        for (int64_t b = 0; b < sh[1]; b++)
            for (int64_t c = 0; c < sh[2]; c++)
                for (int64_t d = 0; d < sh[3]; d++) {
                    memcpy(dst, base + (size_t)(a * st[0] + b * st[1] + c * st[2] + d * st[3]) * e, e);
                    dst += e;
                }
}

void hart_pth_discard(hart_safetensors *st) {
    if (st->map) munmap(st->map, st->map_size);
    for (int i = 0; i < st->n_entries; i++) free(st->entries[i].name);
    free(st->entries);
    memset(st, 0, sizeof *st);
}

hart_status hart_pth_build(const char *label, const char *prefix, const pth_zip *z, const uint8_t *buf, size_t size,
                           const pv *root, hart_safetensors *st) {
    const pv *model = hart_pv_dict_get(root, "model");
    const pv *sd = model && model->kind == PV_DICT ? model : root;
    if (sd->kind != PV_DICT) return hart_fail(HART_EFORMAT, "%s: the pickled object is not a dict (no state dict)", label);
    size_t n = sd->n / 2;
    item *its = calloc(n + 1, sizeof *its);
    st->entries = calloc(n + 1, sizeof *st->entries);
    if (!its || !st->entries) { free(its); return hart_fail(HART_ENOMEM, "out of memory"); }
    hart_status s = HART_OK;
    int all_dense = 1;
    size_t total = 0;
    for (size_t i = 0; i < n && !s; i++) {
        const pv *k = sd->items[2 * i], *v = sd->items[2 * i + 1];
        if (k->kind != PV_STR) { s = hart_fail(HART_EFORMAT, "%s: state dict key %zu is not a string", label, i); break; }
        if (v->kind != PV_TENSOR) { s = hart_fail(HART_EFORMAT, "%s: state dict entry '%s' is not a tensor", label, k->s); break; }
        for (size_t j = 0; j < i && !s; j++)
            if (!strcmp(its[j].name, k->s)) s = hart_fail(HART_EFORMAT, "%s: tensor '%s' appears twice", label, k->s);
        if (!s) s = check_tensor(label, prefix, z, buf, k->s, v, &its[i]);
        if (s) break;
        all_dense &= its[i].dense;
        total += (its[i].nbytes + 63) & ~(size_t)63;
    }
    uint8_t *copy = NULL;
    if (!s && !all_dense) {
        copy = mmap(NULL, total ? total : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (copy == MAP_FAILED) { copy = NULL; s = hart_fail(HART_ENOMEM, "%s: out of memory copying %zu bytes of tensors", label, total); }
    }
    size_t pos = 0;
    for (size_t i = 0; i < n && !s; i++) {
        hart_st_entry *e = &st->entries[i];
        const pv *t = its[i].t;
        e->name = strdup(its[i].name);
        if (!e->name) { s = hart_fail(HART_ENOMEM, "out of memory"); break; }
        st->n_entries++;
        e->dtype = t->storage->dtype;
        e->ndim = t->ndim;
        for (int d = 0; d < t->ndim; d++) e->shape[d] = t->shape[d];
        e->nbytes = its[i].nbytes;
        if (copy) {
            if (e->nbytes) gather(buf, &its[i], copy + pos);
            e->offset = pos;
            pos += (e->nbytes + 63) & ~(size_t)63;
        } else {
            e->offset = its[i].ze->data_off + (size_t)t->offset * its[i].esize;
        }
    }
    if (!s && copy) {
        st->data = copy;
        st->data_size = total;
        st->map = copy;
        st->map_size = total ? total : 1;
    } else if (!s) {
        st->data = buf;
        st->data_size = size;
    } else if (copy) {
        munmap(copy, total ? total : 1);
    }
    free(its);
    return s;
}

hart_status hart_pth_parse(const void *buf, size_t size, const char *label, hart_safetensors *st) {
    memset(st, 0, sizeof *st);
    if (hart_pth_legacy_sniff(buf, size)) return hart_pth_legacy_parse(buf, size, label, st);
    if (!hart_pth_sniff(buf, size))
        return hart_fail(HART_EFORMAT, "%s: not a PyTorch zip checkpoint (nor a legacy torch.save stream)", label);
    pth_zip z;
    HART_TRY(hart_pth_zip_parse(buf, size, label, &z));
    char prefix[256];
    const uint8_t *b = buf;
    const pth_zip_entry *pk = find_pickle(&z, prefix, sizeof prefix);
    hart_status s = HART_OK;
    if (!pk) s = hart_fail(HART_EFORMAT, "%s: zip archive has no '<name>/data.pkl' (not a torch.save file)", label);
    char bo[300];
    snprintf(bo, sizeof bo, "%sbyteorder", prefix);
    const pth_zip_entry *boe = s ? NULL : hart_pth_zip_find(&z, bo);
    if (boe && !(boe->size == 6 && !memcmp(b + boe->data_off, "little", 6)))
        s = hart_fail(HART_EUNSUPPORTED, "%s: checkpoint is not little-endian", label);
    pv_pool *pool = NULL;
    pv *root = NULL;
    if (!s) s = hart_pth_unpickle(b + pk->data_off, pk->size, label, &pool, &root);
    if (!s) s = hart_pth_build(label, prefix, &z, b, size, root, st);
    hart_pv_pool_free(pool);
    hart_pth_zip_free(&z);
    if (s) hart_pth_discard(st);
    return s;
}

hart_status hart_pth_open(const char *path, hart_safetensors *st) {
    memset(st, 0, sizeof *st);
    void *map;
    size_t size;
    HART_TRY(hart_file_map(path, &map, &size));
    hart_status s = hart_pth_parse(map ? map : (const void *)"", size, path, st);
    if (s) {
        if (map) munmap(map, size);
        return s;
    }
    if (!st->map) { /* tensors point into the file mapping, which st now owns */
        st->map = map;
        st->map_size = size;
        st->file_backed = 1;
    } else if (map) {
        munmap(map, size);
    }
    st->path = strdup(path);
    if (!st->path) { hart_st_close(st); return hart_fail(HART_ENOMEM, "out of memory"); }
    return HART_OK;
}

hart_status hart_ckpt_open_file(const char *path, hart_checkpoint *ck) {
    memset(ck, 0, sizeof *ck);
    unsigned char head[16] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return hart_fail(HART_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    ck->dir = strdup(path);
    ck->files = calloc(1, sizeof *ck->files);
    if (!ck->dir || !ck->files) { hart_ckpt_close(ck); return hart_fail(HART_ENOMEM, "out of memory"); }
    const char *dot = strrchr(path, '.');
    int torch_ext = dot && (!strcmp(dot, ".pth") || !strcmp(dot, ".pt") || !strcmp(dot, ".ckpt") || !strcmp(dot, ".bin"));
    hart_status s = hart_pth_sniff(head, got) || torch_ext ? hart_pth_open(path, &ck->files[0]) : hart_st_open(path, &ck->files[0]);
    if (s) { hart_ckpt_close(ck); return s; }
    ck->n_files = 1;
    return HART_OK;
}
