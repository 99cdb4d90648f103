/* Precision modes (backend.h, docs/precision.md): the one place that decides
 * what "f16" means for weights; the op front-ends (src/ops/ops.c) do the
 * rounding of the values between GEMMs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/opencl/opencl.h"

hart_precision hart_precision_default(const hart_backend *be) {
    return be && be->gpu ? HART_PREC_F16 : HART_PREC_F32;
}

const char *hart_precision_name(hart_precision p) {
    return p == HART_PREC_F16 ? "f16" : p == HART_PREC_F32 ? "f32" : "auto";
}

hart_status hart_precision_parse(const char *s, hart_precision *p) {
    if (!s || !*s || !strcmp(s, "auto")) *p = HART_PREC_AUTO;
    else if (!strcmp(s, "f32")) *p = HART_PREC_F32;
    else if (!strcmp(s, "f16")) *p = HART_PREC_F16;
    else return hart_fail(HART_EINVAL, "unknown precision '%s' (expected f32, f16 or auto)", s);
    return HART_OK;
}

static int env_tensor_cores(void) {
    const char *e = getenv("HART_CL_TENSOR_CORES");
    return e && atoi(e);
}

hart_status hart_backend_set_precision(hart_backend *be, hart_precision prec) {
    if (prec == HART_PREC_AUTO) prec = hart_precision_default(be);
    if (prec != HART_PREC_F32 && prec != HART_PREC_F16)
        return hart_fail(HART_EINVAL, "precision %d is not f32 or f16", (int)prec);
    if (prec == HART_PREC_F16 && (be == hart_backend_ref() || be == hart_backend_ref64()))
        return hart_fail(HART_EUNSUPPORTED, "%s is an exactness oracle: it has no f16 mode", be->name);
    be->precision = prec;
    /* f32 keeps today's choice (tensor cores only when asked for) */
    if (be->kind == HART_BACKEND_OPENCL) hart_opencl_set_tensor_cores(be, prec == HART_PREC_F16 || env_tensor_cores());
    return HART_OK;
}

hart_status hart_backend_open_prec(const char *spec, hart_precision prec, hart_backend **out, char *why, size_t why_n) {
    HART_TRY(hart_backend_open(spec, out, why, why_n));
    hart_precision want = prec == HART_PREC_AUTO ? hart_precision_default(*out) : prec;
    hart_status s = hart_backend_set_precision(*out, want);
    if (s) {
        hart_backend_close(*out);
        *out = NULL;
        return s;
    }
    if (why && why_n) {
        size_t n = strlen(why);
        const char *reason = prec != HART_PREC_AUTO ? "asked for" : (*out)->gpu ? "default on a GPU" : "default off a GPU";
        int tc = (*out)->kind == HART_BACKEND_OPENCL && want == HART_PREC_F16 && hart_opencl_set_tensor_cores(*out, 1);
        if (n < why_n)
            snprintf(why + n, why_n - n, "; precision %s (%s%s)", hart_precision_name(want), reason,
                     want == HART_PREC_F16 ? (tc ? "; GEMMs on the tensor cores" : "; half rounding, f32 kernels") : "");
    }
    return HART_OK;
}

hart_dtype hart_weight_dtype(const hart_backend *be, hart_dtype stored) {
    return be && be->precision == HART_PREC_F16 ? HART_F16 : stored;
}

hart_status hart_weight_to(hart_backend *be, const hart_tensor *src, hart_tensor *dst) {
    hart_dtype want = hart_weight_dtype(be, src->dtype);
    if (want == src->dtype) return hart_tensor_to(be, src, dst);
    if (src->dtype != HART_F32 && src->dtype != HART_BF16)
        return hart_fail(HART_EINVAL, "weight of dtype %s cannot be stored as %s", hart_dtype_name(src->dtype),
                         hart_dtype_name(want));
    int64_t n = hart_tensor_numel(src);
    float *f = malloc(sizeof(float) * (size_t)(n ? n : 1));
    uint16_t *h = malloc(sizeof(uint16_t) * (size_t)(n ? n : 1));
    hart_status s = f && h ? HART_OK : hart_fail(HART_ENOMEM, "out of memory converting a weight to f16");
    if (!s) s = hart_tensor_read_f32(src, f);
    for (int64_t i = 0; i < n && !s; i++) {
        h[i] = hart_f32_to_f16(f[i]);
        if ((h[i] & 0x7c00) == 0x7c00) /* rounds to inf (or was not finite) */
            s = hart_fail(HART_EFORMAT, "weight value %g at %lld is beyond half's range (use --precision f32)",
                          (double)f[i], (long long)i);
    }
    hart_tensor half = hart_tensor_wrap(h, HART_F16, src->ndim, src->shape);
    if (!s) s = hart_tensor_to(be, &half, dst);
    free(f);
    free(h);
    return s;
}
