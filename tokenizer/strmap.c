/* Hash maps for the tokenizer (see strmap.h). */
#include "tokenizer/strmap.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 1099511628211ULL; }
    return h ^ (h >> 29);
}

static uint64_t hash_u64(uint64_t x) {
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL; x ^= x >> 33;
    return x;
}

static size_t cap_for(size_t expected) {
    size_t c = 16;
    while (c < expected * 2 + 16) c <<= 1;
    return c;
}

int hart_strmap_init(hart_strmap *m, size_t expected) {
    memset(m, 0, sizeof *m);
    m->cap = cap_for(expected);
    m->keys = calloc(m->cap, sizeof *m->keys);
    m->lens = calloc(m->cap, sizeof *m->lens);
    m->vals = calloc(m->cap, sizeof *m->vals);
    if (!m->keys || !m->lens || !m->vals) { hart_strmap_free(m); return -1; }
    return 0;
}

void hart_strmap_free(hart_strmap *m) {
    if (m->keys) for (size_t i = 0; i < m->cap; i++) free(m->keys[i]);
    free(m->keys); free(m->lens); free(m->vals);
    memset(m, 0, sizeof *m);
}

static size_t str_slot(const hart_strmap *m, const char *key, size_t len) {
    size_t i = (size_t)hash_bytes(key, len) & (m->cap - 1);
    while (m->keys[i] && !(m->lens[i] == len && !memcmp(m->keys[i], key, len))) i = (i + 1) & (m->cap - 1);
    return i;
}

static int str_grow(hart_strmap *m) {
    hart_strmap n;
    if (hart_strmap_init(&n, m->cap)) return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = str_slot(&n, m->keys[i], m->lens[i]);
        n.keys[j] = m->keys[i]; n.lens[j] = m->lens[i]; n.vals[j] = m->vals[i]; n.count++;
        m->keys[i] = NULL;
    }
    hart_strmap_free(m);
    *m = n;
    return 0;
}

int hart_strmap_put(hart_strmap *m, const char *key, size_t len, int32_t val) {
    if ((m->count + 1) * 2 > m->cap && str_grow(m)) return -1;
    size_t i = str_slot(m, key, len);
    if (!m->keys[i]) {
        char *k = malloc(len + 1);
        if (!k) return -1;
        memcpy(k, key, len);
        k[len] = 0;
        m->keys[i] = k; m->lens[i] = (uint32_t)len; m->count++;
    }
    m->vals[i] = val;
    return 0;
}

int32_t hart_strmap_get(const hart_strmap *m, const char *key, size_t len) {
    if (!m->cap) return -1;
    size_t i = str_slot(m, key, len);
    return m->keys[i] ? m->vals[i] : -1;
}

int hart_pairmap_init(hart_pairmap *m, size_t expected) {
    memset(m, 0, sizeof *m);
    m->cap = cap_for(expected);
    m->keys = malloc(m->cap * sizeof *m->keys);
    m->a = malloc(m->cap * sizeof *m->a);
    m->b = malloc(m->cap * sizeof *m->b);
    if (!m->keys || !m->a || !m->b) { hart_pairmap_free(m); return -1; }
    memset(m->keys, 0xff, m->cap * sizeof *m->keys);
    return 0;
}

void hart_pairmap_free(hart_pairmap *m) {
    free(m->keys); free(m->a); free(m->b);
    memset(m, 0, sizeof *m);
}

static size_t pair_slot(const hart_pairmap *m, uint64_t key) {
    size_t i = (size_t)hash_u64(key) & (m->cap - 1);
    while (m->keys[i] != UINT64_MAX && m->keys[i] != key) i = (i + 1) & (m->cap - 1);
    return i;
}

int hart_pairmap_put(hart_pairmap *m, uint64_t key, int32_t a, int32_t b) {
    if ((m->count + 1) * 2 > m->cap) {
        hart_pairmap n;
        if (hart_pairmap_init(&n, m->cap)) return -1;
        for (size_t i = 0; i < m->cap; i++) {
            if (m->keys[i] == UINT64_MAX) continue;
            size_t j = pair_slot(&n, m->keys[i]);
            n.keys[j] = m->keys[i]; n.a[j] = m->a[i]; n.b[j] = m->b[i]; n.count++;
        }
        hart_pairmap_free(m);
        *m = n;
    }
    size_t i = pair_slot(m, key);
    if (m->keys[i] == UINT64_MAX) { m->keys[i] = key; m->count++; }
    m->a[i] = a; m->b[i] = b;
    return 0;
}

int hart_pairmap_get(const hart_pairmap *m, uint64_t key, int32_t *a, int32_t *b) {
    if (!m->cap) return 0;
    size_t i = pair_slot(m, key);
    if (m->keys[i] == UINT64_MAX) return 0;
    *a = m->a[i]; *b = m->b[i];
    return 1;
}
