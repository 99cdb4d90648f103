/* Internals of the PyTorch checkpoint reader (pth.h): the zip directory and
 * the restricted unpickler's values. Not part of the public API. */
#ifndef HART_PTH_INTERNAL_H
#define HART_PTH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/safetensors.h"
#include "core/tensor.h"

/* ---- zip (pth_zip.c): stored entries (torch.save), and deflated ones on request (.npz) ---- */
typedef struct {
    char *name;
    size_t data_off; /* offset of the entry's bytes in the archive */
    size_t size;     /* uncompressed size */
    size_t csize;    /* bytes at data_off (== size when stored) */
    int deflated;    /* method 8 (only with hart_zip_parse(..., allow_deflate = 1)) */
    uint32_t crc;    /* CRC-32 of the uncompressed bytes */
} pth_zip_entry;

typedef struct {
    pth_zip_entry *e;
    int n;
} pth_zip;

hart_status hart_pth_zip_parse(const uint8_t *buf, size_t size, const char *label, pth_zip *z);
/* Same; allow_deflate: deflated entries are listed (deflated = 1) instead of refused. */
hart_status hart_zip_parse(const uint8_t *buf, size_t size, const char *label, int allow_deflate, pth_zip *z);
const pth_zip_entry *hart_pth_zip_find(const pth_zip *z, const char *name);
void hart_pth_zip_free(pth_zip *z);

/* ---- pickle values (hart_pth_unpickle.c) ---- */
typedef enum {
    PV_NONE, PV_BOOL, PV_INT, PV_FLOAT, PV_STR, PV_TUPLE, PV_LIST, PV_DICT,
    PV_GLOBAL,  /* an allowed callable or storage type, see pv_global */
    PV_STORAGE, /* persistent id ('storage', type, key, location, numel) */
    PV_TENSOR,
    PV_OBJECT,  /* inert stand-in (argparse.Namespace) */
    PV_MARK     /* stack marker, never inside a value */
} pv_kind;

typedef enum {
    PG_ORDERED_DICT, PG_REBUILD_TENSOR_V2, PG_REBUILD_PARAMETER, PG_NAMESPACE, PG_STORAGE_TYPE
} pv_global;

typedef struct pv pv;
struct pv {
    pv_kind kind;
    int64_t i;       /* BOOL, INT; STORAGE: numel */
    double f;
    char *s;         /* STR (NUL-terminated), STORAGE: key */
    size_t len;      /* STR length */
    pv **items;      /* TUPLE, LIST; DICT: keys then values interleaved */
    size_t n, cap;   /* items used (DICT: 2 × pairs) */
    pv_global g;     /* GLOBAL */
    hart_dtype dtype;/* GLOBAL storage type, STORAGE */
    /* TENSOR */
    pv *storage;
    int64_t offset;
    int ndim;
    int64_t shape[HART_MAX_DIMS], stride[HART_MAX_DIMS];
};

typedef struct pv_pool pv_pool;

/* Unpickle `buf`; *root is owned by *pool (free with hart_pv_pool_free). */
hart_status hart_pth_unpickle(const uint8_t *buf, size_t size, const char *label, pv_pool **pool, pv **root);
/* Same for a pickle followed by other bytes: *used = the bytes up to and including its STOP. */
hart_status hart_pth_unpickle_prefix(const uint8_t *buf, size_t size, const char *label, pv_pool **pool, pv **root,
                                     size_t *used);
void hart_pv_pool_free(pv_pool *pool);

/* ---- pth.c / pth_legacy.c ---- */
/* Entries of st for the tensors of the pickled root's state dict (its
 * "model" entry when that is a dict, else the root itself), their storages
 * being the entries "<prefix>data/<key>" of z (bytes in buf). */
hart_status hart_pth_build(const char *label, const char *prefix, const pth_zip *z, const uint8_t *buf, size_t size,
                           const pv *root, hart_safetensors *st);
/* Undo a partly built st (the parsers' failure path). */
void hart_pth_discard(hart_safetensors *st);
/* 1 if buf starts with the legacy torch.save magic-number pickle. */
int hart_pth_legacy_sniff(const void *buf, size_t size);
/* The legacy (torch < 1.6, _use_new_zipfile_serialization=False) stream. */
hart_status hart_pth_legacy_parse(const uint8_t *buf, size_t size, const char *label, hart_safetensors *st);
/* a storage value (PV_STORAGE) of key `key` made by this pool's pickle, or NULL */
const pv *hart_pv_pool_find_storage(const pv_pool *p, const char *key);
/* value of string key `key` in DICT d, or NULL */
pv *hart_pv_dict_get(const pv *d, const char *key);

#endif
