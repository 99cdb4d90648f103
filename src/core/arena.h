/* Per-step scratch memory: a bump allocator of host memory.
 * Allocation is a pointer increment (64-byte aligned); hart_arena_mark /
 * hart_arena_reset release everything allocated after a mark at once, so a
 * model step can take all its temporaries from one arena and give them back
 * with a single reset. The arena grows by chaining blocks when a request
 * does not fit; blocks are kept for reuse after a reset and freed by
 * hart_arena_free. Not thread-safe (one arena per thread / model). */
#ifndef HART_ARENA_H
#define HART_ARENA_H

#include <stddef.h>

#include "core/tensor.h"

typedef struct hart_arena_block hart_arena_block;

typedef struct hart_arena {
    hart_arena_block *head;    /* first block */
    hart_arena_block *cur;     /* block allocations come from */
    size_t block_size;         /* default size of a new block */
    size_t used, peak;         /* bytes handed out now / at most (incl. alignment) */
    size_t limit;              /* 0 = unlimited; else total block bytes allowed */
    size_t reserved;           /* total bytes of all blocks */
} hart_arena;

typedef struct {
    hart_arena_block *block;
    size_t off, used;
} hart_arena_mark_t;

/* block_size: bytes of the first block (and default for the next ones);
 * limit: 0 or the most bytes the arena may reserve in all (error past it). */
hart_status hart_arena_init(hart_arena *a, size_t block_size, size_t limit);
void hart_arena_free(hart_arena *a);
/* n bytes, 64-byte aligned, uninitialised; HART_ENOMEM with a message when
 * the limit or the system memory is exhausted. n == 0 gives a valid pointer. */
hart_status hart_arena_alloc(hart_arena *a, size_t n, void **out);
/* A host tensor whose storage lives in the arena (owns = 0). */
hart_status hart_arena_tensor(hart_arena *a, hart_dtype dt, int ndim, const int64_t *shape, hart_tensor *out);
hart_arena_mark_t hart_arena_mark(const hart_arena *a);
/* Free everything allocated after `m` (all if m is from a fresh arena). */
void hart_arena_reset(hart_arena *a, hart_arena_mark_t m);
/* Free everything; blocks are kept. */
void hart_arena_clear(hart_arena *a);

#endif
