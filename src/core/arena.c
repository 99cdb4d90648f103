/* Bump allocator with mark/reset over a chain of host memory blocks. */
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 64

struct hart_arena_block {
    hart_arena_block *next;
    size_t size, off;
    char *mem; /* ARENA_ALIGN-aligned */
};

static hart_arena_block *block_new(size_t size) {
    hart_arena_block *b = malloc(sizeof *b);
    if (!b) return NULL;
    b->mem = aligned_alloc(ARENA_ALIGN, size);
    if (!b->mem) {
        free(b);
        return NULL;
    }
    b->next = NULL;
    b->size = size;
    b->off = 0;
    return b;
}

static size_t round_up(size_t n) { return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1); }

hart_status hart_arena_init(hart_arena *a, size_t block_size, size_t limit) {
    memset(a, 0, sizeof *a);
    a->block_size = round_up(block_size ? block_size : ((size_t)1 << 20));
    a->limit = limit;
    if (limit && a->block_size > limit)
        return hart_fail(HART_EINVAL, "arena: first block of %zu bytes exceeds the limit of %zu", a->block_size, limit);
    a->head = a->cur = block_new(a->block_size);
    if (!a->head) return hart_fail(HART_ENOMEM, "arena: cannot reserve %zu bytes", a->block_size);
    a->reserved = a->block_size;
    return HART_OK;
}

void hart_arena_free(hart_arena *a) {
    for (hart_arena_block *b = a->head, *n; b; b = n) {
        n = b->next;
        free(b->mem);
        free(b);
    }
    memset(a, 0, sizeof *a);
}

hart_status hart_arena_alloc(hart_arena *a, size_t n, void **out) {
    *out = NULL;
    if (!a->cur) return hart_fail(HART_EINVAL, "arena: not initialised");
    size_t need = round_up(n ? n : 1);
    if (need < n) return hart_fail(HART_ENOMEM, "arena: request of %zu bytes is too large", n);
    hart_arena_block *b = a->cur;
    while (b->size - b->off < need) {
        if (b->next && b->next->off == 0 && b->next->size >= need) { /* reuse a kept block */
            b = b->next;
            break;
        }
        if (b->next && b->next->size < need) { /* kept block too small: drop it and its successors */
            for (hart_arena_block *d = b->next, *nx; d; d = nx) {
                nx = d->next;
                a->reserved -= d->size;
                free(d->mem);
                free(d);
            }
            b->next = NULL;
        }
        if (!b->next) {
            size_t sz = need > a->block_size ? need : a->block_size;
            if (a->limit && a->reserved + sz > a->limit)
                return hart_fail(HART_ENOMEM, "arena: %zu more bytes needed but the limit is %zu (in use %zu)", n,
                                 a->limit, a->used);
            hart_arena_block *nb = block_new(sz);
            if (!nb) return hart_fail(HART_ENOMEM, "arena: out of memory allocating a block of %zu bytes", sz);
            b->next = nb;
            a->reserved += sz;
        }
        b = b->next;
    }
    a->cur = b;
    *out = b->mem + b->off;
    b->off += need;
    a->used += need;
    if (a->used > a->peak) a->peak = a->used;
    return HART_OK;
}

hart_status hart_arena_tensor(hart_arena *a, hart_dtype dt, int ndim, const int64_t *shape, hart_tensor *out) {
    memset(out, 0, sizeof *out);
    if (ndim < 0 || ndim > HART_MAX_DIMS) return hart_fail(HART_EINVAL, "arena: tensor rank %d not in 0..%d", ndim, HART_MAX_DIMS);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0) return hart_fail(HART_EINVAL, "arena: tensor dim %d is negative", i);
    hart_tensor t = hart_tensor_wrap(NULL, dt, ndim, shape);
    void *p;
    HART_TRY(hart_arena_alloc(a, hart_tensor_nbytes(&t), &p));
    t.data = p;
    *out = t;
    return HART_OK;
}

hart_arena_mark_t hart_arena_mark(const hart_arena *a) {
    hart_arena_mark_t m = {a->cur, a->cur ? a->cur->off : 0, a->used};
    return m;
}

void hart_arena_reset(hart_arena *a, hart_arena_mark_t m) {
    if (!m.block) {
        hart_arena_clear(a);
        return;
    }
    for (hart_arena_block *b = m.block->next; b; b = b->next) b->off = 0;
    m.block->off = m.off;
    a->cur = m.block;
    a->used = m.used;
}

void hart_arena_clear(hart_arena *a) {
    for (hart_arena_block *b = a->head; b; b = b->next) b->off = 0;
    a->cur = a->head;
    a->used = 0;
}
