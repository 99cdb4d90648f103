#include "core/tensor.h"
#include "core/qweight.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/storage.h"

size_t hart_dtype_size_bits(hart_dtype dt) {
    switch (dt) {
    case HART_F32: case HART_I32: return 32;
    case HART_F16: case HART_BF16: return 16;
    case HART_I64: return 64;
    case HART_I8: case HART_U8: return 8;
    case HART_Q4: return 4;
    default: return 0;
    }
}

const char *hart_dtype_name(hart_dtype dt) {
    static const char *names[] = {"F32", "F16", "BF16", "I64", "I32", "I8", "U8", "Q4"};
    return (unsigned)dt < HART_DTYPE_COUNT ? names[dt] : "?";
}

int64_t hart_tensor_numel(const hart_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

size_t hart_tensor_nbytes(const hart_tensor *t) {
    return (size_t)((hart_tensor_numel(t) * (int64_t)hart_dtype_size_bits(t->dtype) + 7) / 8);
}

const char *hart_shape_str(const hart_tensor *t, char *buf, size_t n) {
    size_t used = 0;
    used += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < t->ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, i ? ",%lld" : "%lld", (long long)t->shape[i]);
    if (used < n) snprintf(buf + used, n - used, "]");
    return buf;
}

int hart_tensor_same_shape(const hart_tensor *a, const hart_tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

static hart_status check_shape(int ndim, const int64_t *shape) {
    if (ndim < 0 || ndim > HART_MAX_DIMS)
        return hart_fail(HART_EINVAL, "tensor rank %d not in 0..%d", ndim, HART_MAX_DIMS);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0 || shape[i] > ((int64_t)1 << 40))
            return hart_fail(HART_EINVAL, "tensor dim %d has bad size %lld", i, (long long)shape[i]);
    return HART_OK;
}

/* out's header for a new owned tensor of that shape (no storage yet) */
static hart_status tensor_header(struct hart_backend *be, hart_dtype dt, int ndim, const int64_t *shape,
                                 hart_tensor *out) {
    memset(out, 0, sizeof *out);
    HART_TRY(check_shape(ndim, shape));
    out->dtype = dt;
    out->ndim = ndim;
    for (int i = 0; i < ndim; i++) out->shape[i] = shape[i];
    out->be = be;
    out->owns = 1;
    return HART_OK;
}

hart_status hart_tensor_new(struct hart_backend *be, hart_dtype dt, int ndim, const int64_t *shape,
                            hart_tensor *out) {
    HART_TRY(tensor_header(be, dt, ndim, shape, out));
    size_t n = hart_tensor_nbytes(out);
    const hart_storage_vt *sv = hart_storage_of(be);
    if (sv && sv->alloc_tensor) return sv->alloc_tensor(be, out);
    if (sv && sv->alloc) {
        HART_TRY(sv->alloc(be, n ? n : 1, &out->dev));
        return HART_OK;
    }
    out->data = calloc(1, n ? n : 1);
    if (!out->data) return hart_fail(HART_ENOMEM, "out of memory allocating %zu bytes", n);
    return HART_OK;
}

hart_status hart_tensor_new_uninit(struct hart_backend *be, hart_dtype dt, int ndim, const int64_t *shape,
                                   hart_tensor *out) {
    const hart_storage_vt *sv = hart_storage_of(be);
    if (!sv || !sv->alloc_uninit || sv->alloc_tensor) return hart_tensor_new(be, dt, ndim, shape, out);
    HART_TRY(tensor_header(be, dt, ndim, shape, out));
    size_t n = hart_tensor_nbytes(out);
    return sv->alloc_uninit(be, n ? n : 1, &out->dev);
}

hart_status hart_tensor_new4(struct hart_backend *be, hart_dtype dt, hart_tensor *out, int ndim,
                             int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
    int64_t s[4] = {d0, d1, d2, d3};
    return hart_tensor_new(be, dt, ndim, s, out);
}

hart_tensor hart_tensor_wrap(void *data, hart_dtype dt, int ndim, const int64_t *shape) {
    hart_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.ndim = ndim;
    for (int i = 0; i < ndim && i < HART_MAX_DIMS; i++) t.shape[i] = shape[i];
    t.data = data;
    return t;
}

void hart_tensor_free(hart_tensor *t) {
    if (!t) return;
    if (t->owns) {
        if (t->quant) {
            hart_qweight_free(t->quant);
            free(t->quant);
        }
        const hart_storage_vt *sv = hart_storage_of(t->be);
        if (t->dev && sv && sv->release) sv->release(t->be, t->dev);
        free(t->data);
    }
    memset(t, 0, sizeof *t);
}

hart_status hart_tensor_reshape(const hart_tensor *t, int ndim, const int64_t *shape,
                                hart_tensor *view) {
    HART_TRY(check_shape(ndim, shape));
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    if (n != hart_tensor_numel(t)) {
        char a[96];
        return hart_fail(HART_EINVAL, "reshape of %s to %d dims: numel %lld != %lld",
                         hart_shape_str(t, a, sizeof a), ndim, (long long)n,
                         (long long)hart_tensor_numel(t));
    }
    *view = *t;
    view->owns = 0;
    view->ndim = ndim;
    for (int i = 0; i < HART_MAX_DIMS; i++) view->shape[i] = i < ndim ? shape[i] : 0;
    return HART_OK;
}

hart_status hart_tensor_rows(const hart_tensor *t, int64_t start, int64_t count,
                             hart_tensor *view) {
    if (t->ndim < 1 || start < 0 || count < 0 || start + count > t->shape[0])
        return hart_fail(HART_EINVAL, "row view [%lld, %lld) outside dim 0 of size %lld",
                         (long long)start, (long long)(start + count),
                         (long long)(t->ndim ? t->shape[0] : 0));
    *view = *t;
    view->owns = 0;
    view->shape[0] = count;
    int64_t row = 1;
    for (int i = 1; i < t->ndim; i++) row *= t->shape[i];
    size_t off = (size_t)(start * row * (int64_t)hart_dtype_size_bits(t->dtype) / 8);
    if (t->data) view->data = (char *)t->data + off;
    else view->dev_offset += off;
    return HART_OK;
}

static int on_device(const hart_tensor *t) { return t->data == NULL && t->dev != NULL; }
/* On a backend with typed storage (see hart_storage_vt.alloc_tensor). */
static int typed(const hart_tensor *t) { return on_device(t) && hart_storage_of(t->be)->read_tensor; }
static int is_float(hart_dtype dt) { return dt == HART_F32 || dt == HART_F16 || dt == HART_BF16; }

hart_status hart_tensor_write(hart_tensor *t, const void *src, size_t nbytes) {
    if (nbytes != hart_tensor_nbytes(t))
        return hart_fail(HART_EINVAL, "tensor write of %zu bytes into a %zu-byte tensor", nbytes,
                         hart_tensor_nbytes(t));
    if (typed(t)) return hart_storage_of(t->be)->write_tensor(t->be, t, src, 0);
    if (on_device(t)) return hart_storage_of(t->be)->write(t->be, t->dev, t->dev_offset, src, nbytes);
    memcpy(t->data, src, nbytes);
    return HART_OK;
}

hart_status hart_tensor_read(const hart_tensor *t, void *dst, size_t nbytes) {
    if (nbytes != hart_tensor_nbytes(t))
        return hart_fail(HART_EINVAL, "tensor read of %zu bytes from a %zu-byte tensor", nbytes,
                         hart_tensor_nbytes(t));
    if (typed(t)) return hart_storage_of(t->be)->read_tensor(t->be, t, dst, 0);
    if (on_device(t)) return hart_storage_of(t->be)->read(t->be, t->dev, t->dev_offset, dst, nbytes);
    memcpy(dst, t->data, nbytes);
    return HART_OK;
}

hart_status hart_tensor_read_f32(const hart_tensor *t, float *dst) {
    int64_t n = hart_tensor_numel(t);
    if (t->dtype == HART_F32) return hart_tensor_read(t, dst, (size_t)n * 4);
    if (t->dtype != HART_F16 && t->dtype != HART_BF16)
        return hart_fail(HART_EINVAL, "read_f32 of a %s tensor", hart_dtype_name(t->dtype));
    uint16_t *tmp = malloc((size_t)n * 2 + 1);
    if (!tmp) return hart_fail(HART_ENOMEM, "out of memory");
    hart_status s = hart_tensor_read(t, tmp, (size_t)n * 2);
    if (s == HART_OK)
        for (int64_t i = 0; i < n; i++)
            dst[i] = t->dtype == HART_F16 ? hart_f16_to_f32(tmp[i]) : hart_bf16_to_f32(tmp[i]);
    free(tmp);
    return s;
}

hart_status hart_tensor_read_f64(const hart_tensor *t, double *dst) {
    int64_t n = hart_tensor_numel(t);
    if (!is_float(t->dtype)) return hart_fail(HART_EINVAL, "read_f64 of a %s tensor", hart_dtype_name(t->dtype));
    if (typed(t)) return hart_storage_of(t->be)->read_tensor(t->be, t, dst, 1);
    float *tmp = malloc((size_t)n * sizeof(float) + 1);
    if (!tmp) return hart_fail(HART_ENOMEM, "out of memory");
    hart_status s = hart_tensor_read_f32(t, tmp);
    if (s == HART_OK)
        for (int64_t i = 0; i < n; i++) dst[i] = tmp[i];
    free(tmp);
    return s;
}

hart_status hart_tensor_write_f64(hart_tensor *t, const double *src) {
    int64_t n = hart_tensor_numel(t);
    if (!is_float(t->dtype)) return hart_fail(HART_EINVAL, "write_f64 of a %s tensor", hart_dtype_name(t->dtype));
    if (typed(t)) return hart_storage_of(t->be)->write_tensor(t->be, t, src, 1);
    size_t es = hart_dtype_size_bits(t->dtype) / 8;
    char *tmp = malloc((size_t)n * es + 1);
    if (!tmp) return hart_fail(HART_ENOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        float f = (float)src[i];
        if (t->dtype == HART_F32) memcpy(tmp + i * 4, &f, 4);
        else {
            uint16_t h = t->dtype == HART_F16 ? hart_f32_to_f16(f) : hart_f32_to_bf16(f);
            memcpy(tmp + i * 2, &h, 2);
        }
    }
    hart_status s = hart_tensor_write(t, tmp, (size_t)n * es);
    free(tmp);
    return s;
}

/* Float tensor from a typed-storage backend: copy through doubles so that
 * ref64 -> ref64 keeps full precision. */
static hart_status copy_f64(const hart_tensor *src, hart_tensor *out) {
    double *tmp = malloc((size_t)hart_tensor_numel(src) * sizeof(double) + 1);
    if (!tmp) return hart_fail(HART_ENOMEM, "out of memory");
    hart_status s = hart_tensor_read_f64(src, tmp);
    if (s == HART_OK) s = hart_tensor_write_f64(out, tmp);
    free(tmp);
    return s;
}

hart_status hart_tensor_to(struct hart_backend *be, const hart_tensor *src, hart_tensor *out) {
    HART_TRY(hart_tensor_new(be, src->dtype, src->ndim, src->shape, out));
    size_t n = hart_tensor_nbytes(src);
    if (typed(src) && is_float(src->dtype)) {
        hart_status s = copy_f64(src, out);
        if (s) hart_tensor_free(out);
        return s;
    }
    if (!on_device(src)) {
        hart_status s = hart_tensor_write(out, src->data, n);
        if (s) hart_tensor_free(out);
        return s;
    }
    void *tmp = malloc(n ? n : 1);
    if (!tmp) { hart_tensor_free(out); return hart_fail(HART_ENOMEM, "out of memory"); }
    hart_status s = hart_tensor_read(src, tmp, n);
    if (s == HART_OK) s = hart_tensor_write(out, tmp, n);
    free(tmp);
    if (s) hart_tensor_free(out);
    return s;
}

float hart_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) bits = sign;
        else { /* subnormal: renormalise */
            exp = 127 - 15 + 1;
            while (!(man & 0x400)) { man <<= 1; exp--; }
            man &= 0x3ff;
            bits = sign | (exp << 23) | (man << 13);
        }
    } else if (exp == 31) bits = sign | 0x7f800000u | (man << 13);
    else bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t hart_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    int32_t exp = (int32_t)((x >> 23) & 0xff);
    uint32_t man = x & 0x7fffff;
    if (exp == 255) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
    int32_t e = exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)e << 10) | (man >> 13);
    uint32_t rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++;
    return (uint16_t)half;
}

float hart_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t hart_f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}
