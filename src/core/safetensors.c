#include "core/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileio.h"

#define ST_MAX_HEADER (100u * 1024u * 1024u)

static int parse_dtype(const char *s, hart_dtype *dt) {
    static const struct { const char *n; hart_dtype d; } map[] = {
        {"F32", HART_F32}, {"F16", HART_F16}, {"BF16", HART_BF16}, {"I64", HART_I64},
        {"I32", HART_I32}, {"I8", HART_I8},   {"U8", HART_U8},     {"BOOL", HART_U8},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(s, map[i].n)) { *dt = map[i].d; return 1; }
    return 0;
}

static int cmp_offset(const void *a, const void *b) {
    const hart_st_entry *x = a, *y = b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes; /* empty tensors first */
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(((const hart_st_entry *)a)->name, ((const hart_st_entry *)b)->name);
}

static void free_entries(hart_safetensors *st) {
    for (int i = 0; i < st->n_entries; i++) free(st->entries[i].name);
    free(st->entries);
    st->entries = NULL;
    st->n_entries = 0;
}

static hart_status parse_entry(const cJSON *item, const char *label, size_t data_size,
                               hart_st_entry *e) {
    const char *name = item->string;
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsObject(item) || !cJSON_IsString(dt) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs))
        return hart_fail(HART_EFORMAT, "%s: tensor '%s': entry needs dtype, shape and data_offsets",
                         label, name);
    if (!parse_dtype(dt->valuestring, &e->dtype))
        return hart_fail(HART_EFORMAT, "%s: tensor '%s': unsupported dtype '%s'", label, name,
                         dt->valuestring);
    int nd = cJSON_GetArraySize(shape);
    if (nd > HART_MAX_DIMS)
        return hart_fail(HART_EFORMAT, "%s: tensor '%s': rank %d > %d", label, name, nd, HART_MAX_DIMS);
    e->ndim = nd;
    unsigned __int128 numel = 1, nonzero = 1;
    for (int i = 0; i < nd; i++) {
        const cJSON *d = cJSON_GetArrayItem(shape, i);
        if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > 9.0e15 ||
            d->valuedouble != (double)(int64_t)d->valuedouble)
            return hart_fail(HART_EFORMAT, "%s: tensor '%s': bad shape entry %d", label, name, i);
        e->shape[i] = (int64_t)d->valuedouble;
        numel *= (unsigned __int128)e->shape[i];
        if (e->shape[i]) nonzero *= (unsigned __int128)e->shape[i];
        if (numel > ((unsigned __int128)1 << 62) || nonzero > ((unsigned __int128)1 << 62))
            return hart_fail(HART_EFORMAT, "%s: tensor '%s': shape too large", label, name);
    }
    if (cJSON_GetArraySize(offs) != 2)
        return hart_fail(HART_EFORMAT, "%s: tensor '%s': data_offsets needs 2 entries", label, name);
    double o[2];
    for (int i = 0; i < 2; i++) {
        const cJSON *d = cJSON_GetArrayItem(offs, i);
        if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > 9.0e15 ||
            d->valuedouble != (double)(int64_t)d->valuedouble)
            return hart_fail(HART_EFORMAT, "%s: tensor '%s': bad data_offsets", label, name);
        o[i] = d->valuedouble;
    }
    if (o[1] < o[0] || (size_t)o[1] > data_size)
        return hart_fail(HART_EFORMAT,
                         "%s: tensor '%s': byte range [%.0f, %.0f) outside the %zu-byte data section "
                         "(truncated file?)", label, name, o[0], o[1], data_size);
    e->offset = (size_t)o[0];
    e->nbytes = (size_t)o[1] - (size_t)o[0];
    unsigned __int128 need = numel * hart_dtype_size_bits(e->dtype) / 8;
    if (need != e->nbytes)
        return hart_fail(HART_EFORMAT, "%s: tensor '%s': shape × dtype is %llu bytes but its range has %zu",
                         label, name, (unsigned long long)need, e->nbytes);
    size_t esize = hart_dtype_size_bits(e->dtype) / 8;
    if (esize > 1 && e->offset % esize != 0)
        return hart_fail(HART_EFORMAT, "%s: tensor '%s': data offset %zu is not a multiple of its %zu-byte element size",
                         label, name, e->offset, esize);
    e->name = strdup(name);
    if (!e->name) return hart_fail(HART_ENOMEM, "out of memory");
    return HART_OK;
}

/* the header length: the file's first 8 bytes, little-endian */
static uint64_t header_len(const unsigned char *p) {
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | p[i];
    return n;
}

hart_status hart_st_parse(const void *buf, size_t size, const char *label, hart_safetensors *st) {
    memset(st, 0, sizeof *st);
    const unsigned char *p = buf;
    if (size < 8) return hart_fail(HART_EFORMAT, "%s: file too short for a safetensors header (%zu bytes)", label, size);
    uint64_t hlen = header_len(p);
    if (hlen > ST_MAX_HEADER) return hart_fail(HART_EFORMAT, "%s: header length %llu exceeds the 100 MB cap", label, (unsigned long long)hlen);
    if (hlen > size - 8) return hart_fail(HART_EFORMAT, "%s: header length %llu runs past the end of the %zu-byte file (truncated?)", label, (unsigned long long)hlen, size);
    const char *hdr = (const char *)p + 8, *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(hdr, (size_t)hlen, &end, 0);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return hart_fail(HART_EFORMAT, "%s: header is not a JSON object", label);
    }
    for (const char *q = end ? end : hdr + hlen; q < hdr + hlen; q++)
        if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r' && *q != 0) {
            cJSON_Delete(root);
            return hart_fail(HART_EFORMAT, "%s: unexpected bytes after the JSON header (at header byte %zu)", label,
                             (size_t)(q - hdr));
        }
    st->data = p + 8 + hlen;
    /* Entries are checked to be element-aligned relative to the data
     * section, so the section itself must be 8-aligned for typed reads to be
     * aligned (hart_st_open places it so; in-memory callers must too). */
    if ((uintptr_t)st->data % 8 != 0) {
        cJSON_Delete(root);
        st->data = NULL;
        return hart_fail(HART_EINVAL, "%s: data section (byte %llu of the buffer) is not 8-byte aligned in memory",
                         label, (unsigned long long)(8 + hlen));
    }
    st->data_size = size - 8 - (size_t)hlen;
    int n = cJSON_GetArraySize(root);
    st->entries = calloc((size_t)n + 1, sizeof *st->entries);
    if (!st->entries) { cJSON_Delete(root); return hart_fail(HART_ENOMEM, "out of memory"); }
    hart_status s = HART_OK;
    for (cJSON *it = root->child; it; it = it->next) {
        if (!it->string) { s = hart_fail(HART_EFORMAT, "%s: header entry without a name", label); break; }
        if (!strcmp(it->string, "__metadata__")) {
            if (!cJSON_IsObject(it)) { s = hart_fail(HART_EFORMAT, "%s: __metadata__ is not an object", label); break; }
            if (st->metadata_json) { s = hart_fail(HART_EFORMAT, "%s: __metadata__ listed twice", label); break; }
            st->metadata_json = cJSON_PrintUnformatted(it);
            if (!st->metadata_json) { s = hart_fail(HART_ENOMEM, "out of memory"); break; }
            continue;
        }
        s = parse_entry(it, label, st->data_size, &st->entries[st->n_entries]);
        if (s) break;
        st->n_entries++;
    }
    cJSON_Delete(root);
    if (s == HART_OK && st->n_entries > 1) {
        hart_st_entry *sorted = malloc(sizeof *sorted * (size_t)st->n_entries);
        if (!sorted) s = hart_fail(HART_ENOMEM, "out of memory");
        else {
            memcpy(sorted, st->entries, sizeof *sorted * (size_t)st->n_entries);
            qsort(sorted, (size_t)st->n_entries, sizeof *sorted, cmp_name);
            for (int i = 1; i < st->n_entries && !s; i++)
                if (!strcmp(sorted[i].name, sorted[i - 1].name))
                    s = hart_fail(HART_EFORMAT, "%s: tensor '%s' listed twice", label, sorted[i].name);
            qsort(sorted, (size_t)st->n_entries, sizeof *sorted, cmp_offset);
            for (int i = 1; i < st->n_entries && !s; i++)
                if (sorted[i].offset < sorted[i - 1].offset + sorted[i - 1].nbytes)
                    s = hart_fail(HART_EFORMAT, "%s: tensors '%s' and '%s' overlap", label,
                                  sorted[i - 1].name, sorted[i].name);
            free(sorted);
        }
    }
    if (s) { free_entries(st); free(st->metadata_json); st->metadata_json = NULL; }
    return s;
}

size_t hart_st_align_pad(const void *file, size_t size) {
    if (size < 8) return 0;
    uint64_t hlen = header_len(file);
    if (hlen > size - 8 || (8 + hlen) % 8 == 0) return 0;
    return 8 - (size_t)((8 + hlen) % 8);
}

hart_status hart_st_open(const char *path, hart_safetensors *st) {
    memset(st, 0, sizeof *st);
    void *map;
    size_t size;
    HART_TRY(hart_file_map(path, &map, &size));
    /* The data section starts at 8 + header length; when that is not a
     * multiple of 8 the tensors would be misaligned in the mapping, so
     * read the file into anonymous memory placed to align it. */
    size_t map_size = size, pad = hart_st_align_pad(map, size);
    if (pad) {
        void *al = mmap(NULL, size + pad, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (al == MAP_FAILED) {
            munmap(map, size);
            return hart_fail(HART_ENOMEM, "%s: cannot allocate %zu bytes to align the data", path, size + pad);
        }
        memcpy((unsigned char *)al + pad, map, size);
        munmap(map, size);
        map = (unsigned char *)al; /* the region starts `pad` bytes before the file copy */
        map_size = size + pad;
    }
    hart_status s = hart_st_parse(map ? (unsigned char *)map + pad : (const void *)"", size, path, st);
    if (s) { if (map) munmap(map, map_size); return s; }
    st->map = map;
    st->map_size = map_size;
    st->file_backed = map && !pad;
    st->path = strdup(path);
    return HART_OK;
}

void hart_st_release(const hart_safetensors *st, const void *p, size_t n) {
    if (!st || !st->file_backed || !st->map || !p || !n) return;
    uintptr_t lo = (uintptr_t)p, hi = lo + n, m0 = (uintptr_t)st->map, m1 = m0 + st->map_size;
    if (lo < m0 || hi > m1) return;
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (lo + pg - 1) / pg * pg, b = hi / pg * pg;
    /* read-only private file mapping never written: dropped pages are
     * re-read from the file on the next access, so this cannot lose data */
    if (a < b) madvise((void *)a, b - a, MADV_DONTNEED);
}

void hart_st_close(hart_safetensors *st) {
    if (!st) return;
    free_entries(st);
    if (st->map) munmap(st->map, st->map_size);
    free(st->path);
    free(st->metadata_json);
    memset(st, 0, sizeof *st);
}

const hart_st_entry *hart_st_find(const hart_safetensors *st, const char *name) {
    for (int i = 0; i < st->n_entries; i++)
        if (!strcmp(st->entries[i].name, name)) return &st->entries[i];
    return NULL;
}

hart_status hart_st_tensor(const hart_safetensors *st, const char *name, hart_tensor *out) {
    const hart_st_entry *e = hart_st_find(st, name);
    if (!e) return hart_fail(HART_EFORMAT, "%s: tensor '%s' not found", st->path ? st->path : "safetensors", name);
    *out = hart_tensor_wrap((void *)(st->data + e->offset), e->dtype, e->ndim, e->shape);
    return HART_OK;
}

/* ---- writer ---- */
typedef struct {
    char *name;
    hart_dtype dt;
    int ndim;
    int64_t shape[HART_MAX_DIMS];
    void *data;
    size_t nbytes;
} st_item;

struct hart_st_writer {
    st_item *items;
    int n, cap;
};

hart_st_writer *hart_st_writer_new(void) { return calloc(1, sizeof(hart_st_writer)); }

hart_status hart_st_writer_add_raw(hart_st_writer *w, const char *name, hart_dtype dt, int ndim,
                                   const int64_t *shape, const void *data) {
    if (dt == HART_Q4) return hart_fail(HART_EUNSUPPORTED, "cannot store Q4 tensor '%s' in safetensors", name);
    if ((unsigned)dt >= HART_DTYPE_COUNT) return hart_fail(HART_EINVAL, "tensor '%s': bad dtype %d", name, (int)dt);
    if (!name || !*name || !strcmp(name, "__metadata__"))
        return hart_fail(HART_EINVAL, "safetensors writer: bad tensor name '%s'", name ? name : "(null)");
    if (ndim < 0 || ndim > HART_MAX_DIMS)
        return hart_fail(HART_EINVAL, "tensor '%s': rank %d outside 0..%d", name, ndim, HART_MAX_DIMS);
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 0 || shape[d] > ((int64_t)1 << 40))
            return hart_fail(HART_EINVAL, "tensor '%s': bad dimension %lld", name, (long long)shape[d]);
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->items[i].name, name)) return hart_fail(HART_EINVAL, "tensor '%s' added twice", name);
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 16;
        st_item *it = realloc(w->items, sizeof *it * (size_t)cap);
        if (!it) return hart_fail(HART_ENOMEM, "out of memory");
        w->items = it;
        w->cap = cap;
    }
    st_item *it = &w->items[w->n];
    memset(it, 0, sizeof *it);
    hart_tensor tmp = hart_tensor_wrap(NULL, dt, ndim, shape);
    if (hart_tensor_nbytes(&tmp) && !data) return hart_fail(HART_EINVAL, "tensor '%s': no data", name);
    it->nbytes = hart_tensor_nbytes(&tmp);
    it->name = strdup(name);
    it->data = malloc(it->nbytes ? it->nbytes : 1);
    if (!it->name || !it->data) { free(it->name); free(it->data); return hart_fail(HART_ENOMEM, "out of memory"); }
    if (it->nbytes) memcpy(it->data, data, it->nbytes);
    it->dt = dt;
    it->ndim = ndim;
    if (ndim > 0) memcpy(it->shape, shape, sizeof(int64_t) * (size_t)ndim);
    w->n++;
    return HART_OK;
}

hart_status hart_st_writer_add(hart_st_writer *w, const char *name, const hart_tensor *t) {
    size_t n = hart_tensor_nbytes(t);
    void *tmp = malloc(n ? n : 1);
    if (!tmp) return hart_fail(HART_ENOMEM, "out of memory");
    hart_status s = hart_tensor_read(t, tmp, n);
    if (!s) s = hart_st_writer_add_raw(w, name, t->dtype, t->ndim, t->shape, tmp);
    free(tmp);
    return s;
}

/* Larger elements first (then insertion order), so every tensor's offset is
 * a multiple of its element size with no gaps, as the reference writer does. */
static int cmp_item_align(const void *a, const void *b) {
    const st_item *x = *(const st_item *const *)a, *y = *(const st_item *const *)b;
    size_t ex = hart_dtype_size_bits(x->dt), ey = hart_dtype_size_bits(y->dt);
    if (ex != ey) return ex > ey ? -1 : 1;
    return x < y ? -1 : x > y;
}

hart_status hart_st_writer_save(hart_st_writer *w, const char *path) {
    st_item **order = malloc(sizeof *order * (size_t)(w->n ? w->n : 1));
    cJSON *root = cJSON_CreateObject();
    if (!order || !root) { free(order); cJSON_Delete(root); return hart_fail(HART_ENOMEM, "out of memory"); }
    for (int i = 0; i < w->n; i++) order[i] = &w->items[i];
    qsort(order, (size_t)w->n, sizeof *order, cmp_item_align);
    size_t off = 0;
    for (int i = 0; i < w->n; i++) {
        st_item *it = order[i];
        cJSON *e = cJSON_AddObjectToObject(root, it->name);
        cJSON_AddStringToObject(e, "dtype", it->dt == HART_U8 ? "U8" : hart_dtype_name(it->dt));
        cJSON *sh = cJSON_AddArrayToObject(e, "shape");
        for (int d = 0; d < it->ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)it->shape[d]));
        cJSON *of = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)(off + it->nbytes)));
        off += it->nbytes;
    }
    char *hdr = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!hdr) { free(order); return hart_fail(HART_ENOMEM, "out of memory"); }
    size_t hlen = strlen(hdr), padded = (hlen + 7) & ~(size_t)7;
    hart_file_writer fw;
    hart_status s = hart_file_begin(&fw, path);
    if (!s) {
        unsigned char len8[8];
        for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
        s = hart_file_put(&fw, len8, 8);
        if (!s) s = hart_file_put(&fw, hdr, hlen);
        for (size_t i = hlen; i < padded && !s; i++) s = hart_file_put(&fw, " ", 1);
        for (int i = 0; i < w->n && !s; i++) s = hart_file_put(&fw, order[i]->data, order[i]->nbytes);
        s = s ? (hart_file_abort(&fw), s) : hart_file_commit(&fw);
    }
    free(hdr);
    free(order);
    return s;
}

void hart_st_writer_free(hart_st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) { free(w->items[i].name); free(w->items[i].data); }
    free(w->items);
    free(w);
}
