/* Naive reference: transpose, concat, slice, slice_assign, embedding,
 * pixel (un)shuffle, reduce. Work on elements of any byte size. */
#include <math.h>
#include <string.h>

#include "backend/ref/ref_util.h"

hart_status ref_transpose(hart_backend *be, hart_tensor *y, const hart_tensor *x, const int *perm) {
    int nd = x->ndim;
    size_t es = hart_dtype_size_bits(x->dtype) / 8;
    int64_t xs[HART_MAX_DIMS], n = hart_tensor_numel(x);
    if (nd == 0) { /* a scalar */
        memcpy(y->data, x->data, es);
        return HART_OK;
    }
    xs[nd - 1] = 1;
    for (int d = nd - 2; d >= 0; d--) xs[d] = xs[d + 1] * x->shape[d + 1];
    for (int64_t i = 0; i < n; i++) {
        int64_t rem = i, off = 0;
        for (int d = nd - 1; d >= 0; d--) {
            off += (rem % y->shape[d]) * xs[perm[d]];
            rem /= y->shape[d];
        }
        memcpy((char *)y->data + i * es, (const char *)x->data + off * es, es);
    }
    return HART_OK;
}

/* Copy a [outer, len_src, inner] block into/out of [outer, len_dst, inner] at start. */
static void block_copy(char *dst, const char *src, int64_t outer, int64_t len_dst, int64_t dst_start,
                       int64_t len_src, int64_t src_start, int64_t count, int64_t inner_bytes) {
    for (int64_t o = 0; o < outer; o++)
        memcpy(dst + (o * len_dst + dst_start) * inner_bytes, src + (o * len_src + src_start) * inner_bytes,
               (size_t)(count * inner_bytes));
}

hart_status ref_concat(hart_backend *be, hart_tensor *y, const hart_tensor *a, const hart_tensor *b, int dim) {
    int64_t es = (int64_t)hart_dtype_size_bits(y->dtype) / 8;
    int64_t outer = ref_dims(y, 0, dim), inner = ref_dims(y, dim + 1, y->ndim) * es;
    block_copy(y->data, a->data, outer, y->shape[dim], 0, a->shape[dim], 0, a->shape[dim], inner);
    block_copy(y->data, b->data, outer, y->shape[dim], a->shape[dim], b->shape[dim], 0, b->shape[dim], inner);
    return HART_OK;
}

hart_status ref_slice(hart_backend *be, hart_tensor *y, const hart_tensor *x, int dim, int64_t start) {
    int64_t es = (int64_t)hart_dtype_size_bits(y->dtype) / 8;
    int64_t outer = ref_dims(x, 0, dim), inner = ref_dims(x, dim + 1, x->ndim) * es;
    block_copy(y->data, x->data, outer, y->shape[dim], 0, x->shape[dim], start, y->shape[dim], inner);
    return HART_OK;
}

hart_status ref_slice_assign(hart_backend *be, hart_tensor *y, const hart_tensor *x, int dim, int64_t start) {
    int64_t es = (int64_t)hart_dtype_size_bits(y->dtype) / 8;
    int64_t outer = ref_dims(y, 0, dim), inner = ref_dims(y, dim + 1, y->ndim) * es;
    block_copy(y->data, x->data, outer, y->shape[dim], start, x->shape[dim], 0, x->shape[dim], inner);
    return HART_OK;
}

hart_status ref_embedding(hart_backend *be, hart_tensor *y, const hart_tensor *table, const hart_tensor *ids) {
    int64_t n = hart_tensor_numel(ids), D = table->shape[1], V = table->shape[0];
    for (int64_t i = 0; i < n; i++) {
        int64_t id = ids->dtype == HART_I64 ? ((const int64_t *)ids->data)[i] : ((const int32_t *)ids->data)[i];
        if (id < 0 || id >= V) return hart_fail(HART_EINVAL, "embedding: id %lld outside vocabulary of %lld", (long long)id, (long long)V);
        for (int64_t d = 0; d < D; d++) ref_f(y)[i * D + d] = ref_ld(table, id * D + d);
    }
    return HART_OK;
}

/* shuffle: y[n, c, h*r+i, w*r+j] = x[n, c*r*r + i*r + j, h, w] */
static void shuffle(float *big, float *small, int64_t N, int64_t C, int64_t H, int64_t W, int r, int to_big) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int i = 0; i < r; i++)
                for (int j = 0; j < r; j++)
                    for (int64_t h = 0; h < H; h++)
                        for (int64_t w = 0; w < W; w++) {
                            int64_t bi = ((n * C + c) * H * r + h * r + i) * W * r + w * r + j;
                            int64_t si = ((n * C * r * r + c * r * r + i * r + j) * H + h) * W + w;
                            if (to_big) big[bi] = small[si];
                            else small[si] = big[bi];
                        }
}

hart_status ref_pixel_shuffle(hart_backend *be, hart_tensor *y, const hart_tensor *x, int r) {
    shuffle(ref_f(y), ref_f(x), x->shape[0], y->shape[1], x->shape[2], x->shape[3], r, 1);
    return HART_OK;
}

hart_status ref_pixel_unshuffle(hart_backend *be, hart_tensor *y, const hart_tensor *x, int r) {
    shuffle(ref_f(x), ref_f(y), x->shape[0], x->shape[1], y->shape[2], y->shape[3], r, 0);
    return HART_OK;
}

hart_status ref_reduce(hart_backend *be, hart_tensor *y, const hart_tensor *x, int dim, hart_reduce r) {
    int64_t outer = ref_dims(x, 0, dim), L = x->shape[dim], inner = ref_dims(x, dim + 1, x->ndim);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double acc = r == HART_RED_MAX ? -INFINITY : 0;
            for (int64_t l = 0; l < L; l++) {
                float v = ref_f(x)[(o * L + l) * inner + i];
                if (r == HART_RED_MAX) acc = v > acc ? v : acc;
                else acc += v;
            }
            if (r == HART_RED_MEAN) acc /= (double)L;
            ref_f(y)[o * inner + i] = (float)acc;
        }
    return HART_OK;
}
