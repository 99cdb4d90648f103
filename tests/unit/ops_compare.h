/* Helpers of the CPU-vs-reference op tests (tests/unit/test_ops_*.c):
 * random host tensors, NaN-poisoned outputs on either backend, comparison
 * with the project's rule max|a-b|/max|b| and a per-op summary of the
 * largest error measured. Header-only (static) so each test binary gets its
 * own copy. */
#ifndef HART_TEST_OPS_COMPARE_H
#define HART_TEST_OPS_COMPARE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "ops/ops.h"
#include "support/golden.h"

#define OPS_TOL 1e-5

/* A host tensor with its own storage; be = NULL means "CPU backend". */
static inline hart_tensor mk(hart_dtype dt, int nd, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
    hart_tensor t;
    hart_status s = hart_tensor_new4(NULL, dt, &t, nd, d0, d1, d2, d3);
    if (s != HART_OK) {
        fprintf(stderr, "tensor alloc failed: %s\n", hart_errmsg());
        abort();
    }
    return t;
}

/* Fill a float tensor of any float dtype with uniform random values. */
static inline void fill_t(hart_tensor *t, unsigned seed, float lo, float hi) {
    int64_t n = hart_tensor_numel(t);
    float *tmp = malloc(sizeof(float) * (size_t)(n ? n : 1));
    fill_random(tmp, n, seed, lo, hi);
    for (int64_t i = 0; i < n; i++) {
        if (t->dtype == HART_F32) ((float *)t->data)[i] = tmp[i];
        else if (t->dtype == HART_F16) ((uint16_t *)t->data)[i] = hart_f32_to_f16(tmp[i]);
        else if (t->dtype == HART_BF16) ((uint16_t *)t->data)[i] = hart_f32_to_bf16(tmp[i]);
    }
    free(tmp);
}

static inline hart_tensor rnd(hart_dtype dt, int nd, int64_t d0, int64_t d1, int64_t d2, int64_t d3, unsigned seed) {
    hart_tensor t = mk(dt, nd, d0, d1, d2, d3);
    fill_t(&t, seed, -1.0f, 1.0f);
    return t;
}

/* Output pair: `cpu` dispatches to the CPU backend, `ref` to the reference;
 * both poisoned with NaN (f32) or 0xA5 bytes (other dtypes). */
typedef struct {
    hart_tensor cpu, ref;
} outpair;

static inline outpair outs(hart_dtype dt, int nd, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
    outpair o = {mk(dt, nd, d0, d1, d2, d3), mk(dt, nd, d0, d1, d2, d3)};
    if (dt == HART_F32) {
        fill_nan(o.cpu.data, hart_tensor_numel(&o.cpu));
        fill_nan(o.ref.data, hart_tensor_numel(&o.ref));
    } else {
        memset(o.cpu.data, 0xA5, hart_tensor_nbytes(&o.cpu));
        memset(o.ref.data, 0xA5, hart_tensor_nbytes(&o.ref));
    }
    o.ref.be = hart_backend_ref();
    return o;
}

static inline void outs_free(outpair *o) {
    o->ref.be = NULL;
    hart_tensor_free(&o->cpu);
    hart_tensor_free(&o->ref);
}

/* Per-op summary of the largest relative error measured. */
typedef struct {
    const char *op;
    double worst;
    int cases;
} op_stat;
static op_stat g_stats[32];

static inline void record(const char *op, double e) {
    for (int i = 0; i < 32; i++) {
        if (!g_stats[i].op) g_stats[i].op = op;
        if (!strcmp(g_stats[i].op, op)) {
            if (!(e <= g_stats[i].worst)) g_stats[i].worst = e;
            g_stats[i].cases++;
            return;
        }
    }
}

static inline int print_stats(void **st) {
    (void)st;
    printf("  max rel err CPU vs reference (tolerance %.0e):\n", OPS_TOL);
    for (int i = 0; i < 32 && g_stats[i].op; i++)
        printf("    %-18s %4d cases  max rel err %.3g\n", g_stats[i].op, g_stats[i].cases, g_stats[i].worst);
    return 0;
}

/* Relative error of the f32 outputs; prints a line for failures. */
static inline double cmp_f32(const char *op, const char *what, const outpair *o) {
    int64_t n = hart_tensor_numel(&o->cpu);
    double e = rel_err(o->cpu.data, o->ref.data, n);
    record(op, e);
    if (!(e <= OPS_TOL)) {
        char sh[96];
        printf("  FAIL %s %s %s: rel err %.3g\n", op, what, hart_shape_str(&o->cpu, sh, sizeof sh), e);
    }
    return e;
}

/* Bytes equal (exact ops: shape ops, integer outputs). */
static inline int cmp_bytes(const char *op, const char *what, const outpair *o) {
    int same = memcmp(o->cpu.data, o->ref.data, hart_tensor_nbytes(&o->cpu)) == 0;
    record(op, same ? 0.0 : INFINITY);
    if (!same) printf("  FAIL %s %s: outputs differ\n", op, what);
    return same;
}

#define CHECK_OK(expr)                                                                   \
    do {                                                                                 \
        hart_status s_ = (expr);                                                         \
        if (s_ != HART_OK) fprintf(stderr, "%s failed: %s\n", #expr, hart_errmsg());     \
        assert_int_equal(s_, HART_OK);                                                   \
    } while (0)

#endif
