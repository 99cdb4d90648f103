/* The ref64 backend's storage: floats as double, integers as themselves
 * (layout in ref64_store.h). Uploads widen exactly; reads in the tensor's
 * dtype round, reads as f64 do not. */
#include <stdlib.h>
#include <string.h>

#include "backend/ref64/ref64_internal.h"
#include "backend/ref64/ref64_store.h"

static hart_status untyped(void) {
    return hart_fail(HART_EINVAL, "ref64 stores tensors by dtype: use hart_tensor_new/write/read, not raw bytes");
}

static hart_status ref64_alloc(hart_backend *be, size_t nbytes, void **dev) { return untyped(); }
static hart_status ref64_write(hart_backend *be, void *dev, size_t off, const void *src, size_t n) { return untyped(); }
static hart_status ref64_read(hart_backend *be, const void *dev, size_t off, void *dst, size_t n) { return untyped(); }
static void ref64_release(hart_backend *be, void *dev) { free(dev); }
hart_status hart_ref64_sync(hart_backend *be) { return HART_OK; }

static hart_status ref64_alloc_tensor(hart_backend *be, hart_tensor *t) {
    if (t->dtype == HART_Q4) return hart_fail(HART_EINVAL, "ref64 has no Q4 tensors");
    size_t n = (size_t)hart_tensor_numel(t) * ref64_elem_size(t->dtype);
    t->dev = calloc(1, n ? n : 1);
    if (!t->dev) return hart_fail(HART_ENOMEM, "out of memory allocating %zu bytes", n);
    return HART_OK;
}

static hart_status ref64_write_tensor(hart_backend *be, hart_tensor *t, const void *src, int f64) {
    int64_t n = hart_tensor_numel(t);
    void *p = ref64_ptr(t);
    if (!ref64_is_float(t->dtype)) {
        if (f64) return hart_fail(HART_EINVAL, "ref64: f64 write into a %s tensor", hart_dtype_name(t->dtype));
        memcpy(p, src, (size_t)n * ref64_elem_size(t->dtype));
        return HART_OK;
    }
    double *d = p;
    if (f64) memcpy(d, src, (size_t)n * sizeof(double));
    else if (t->dtype == HART_F32)
        for (int64_t i = 0; i < n; i++) d[i] = ((const float *)src)[i];
    else
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = ((const uint16_t *)src)[i];
            d[i] = t->dtype == HART_F16 ? hart_f16_to_f32(h) : hart_bf16_to_f32(h);
        }
    return HART_OK;
}

static hart_status ref64_read_tensor(hart_backend *be, const hart_tensor *t, void *dst, int f64) {
    int64_t n = hart_tensor_numel(t);
    const void *p = ref64_ptr(t);
    if (!ref64_is_float(t->dtype)) {
        if (f64) return hart_fail(HART_EINVAL, "ref64: f64 read of a %s tensor", hart_dtype_name(t->dtype));
        memcpy(dst, p, (size_t)n * ref64_elem_size(t->dtype));
        return HART_OK;
    }
    const double *d = p;
    if (f64) memcpy(dst, d, (size_t)n * sizeof(double));
    else if (t->dtype == HART_F32)
        for (int64_t i = 0; i < n; i++) ((float *)dst)[i] = (float)d[i];
    else /* via float: F16/BF16 tensors only ever hold values of their own precision */
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)dst)[i] = t->dtype == HART_F16 ? hart_f32_to_f16((float)d[i]) : hart_f32_to_bf16((float)d[i]);
    return HART_OK;
}

static const hart_storage_vt ref64_storage = {
    .alloc = ref64_alloc, .release = ref64_release, .write = ref64_write, .read = ref64_read,
    .alloc_tensor = ref64_alloc_tensor, .write_tensor = ref64_write_tensor, .read_tensor = ref64_read_tensor,
};

static hart_backend g_ref64 = {.storage = {&ref64_storage}, .vt = &hart_ref64_vt, .kind = HART_BACKEND_CPU, .name = "ref64 (naive C, double)"};

hart_backend *hart_backend_ref64(void) { return &g_ref64; }
