/* Quantized linear weights: format names, allocation, copies (qweight.h). */
#include "core/qweight.h"

#include <stdlib.h>
#include <string.h>

static const char *const g_names[HART_QF_COUNT] = {"none", "w8a8", "w4a16", "w4a8"};

hart_status hart_qformat_parse(const char *s, hart_qformat *out) {
    for (int i = 0; s && i < HART_QF_COUNT; i++)
        if (!strcmp(s, g_names[i])) {
            *out = (hart_qformat)i;
            return HART_OK;
        }
    return hart_fail(HART_EINVAL, "unknown quantization format '%s' (expected w8a8, w4a16 or w4a8)", s ? s : "(null)");
}

const char *hart_qformat_name(hart_qformat f) { return f >= 0 && f < HART_QF_COUNT ? g_names[f] : "?"; }

int hart_qformat_int8_act(hart_qformat f) { return f == HART_QF_W8A8 || f == HART_QF_W4A8; }

hart_status hart_qweight_new(struct hart_backend *be, hart_qformat fmt, int64_t N, int64_t K, int group,
                             hart_qweight *w) {
    memset(w, 0, sizeof *w);
    if (fmt <= HART_QF_NONE || fmt >= HART_QF_COUNT || N < 1 || K < 1 || N > INT32_MAX || K > INT32_MAX)
        return hart_fail(HART_EINVAL, "quantized weight: bad format %d or shape [%lld, %lld]", (int)fmt, (long long)N,
                         (long long)K);
    w->fmt = fmt;
    w->N = N;
    w->K = K;
    hart_status s;
    if (fmt == HART_QF_W8A8) {
        s = hart_tensor_new4(be, HART_I8, &w->q, 2, N, K, 0, 0);
        if (!s) s = hart_tensor_new4(be, HART_F32, &w->scale, 1, N, 0, 0, 0);
    } else {
        if (group < 2 || group % 2) return hart_fail(HART_EINVAL, "quantized weight: bad group size %d", group);
        w->group = group;
        w->ngroups = (K + group - 1) / group;
        s = hart_tensor_new4(be, HART_U8, &w->q, 2, N, (K + 1) / 2, 0, 0);
        if (!s) s = hart_tensor_new4(be, HART_U8, &w->zero, 2, N, w->ngroups, 0, 0);
        if (!s && fmt == HART_QF_W4A16) s = hart_tensor_new4(be, HART_F32, &w->scale, 2, N, w->ngroups, 0, 0);
        if (!s && fmt == HART_QF_W4A8) {
            s = hart_tensor_new4(be, HART_F32, &w->scale, 1, N, 0, 0, 0);
            if (!s) s = hart_tensor_new4(be, HART_U8, &w->gscale, 2, N, w->ngroups, 0, 0);
        }
    }
    if (s) hart_qweight_free(w);
    return s;
}

static hart_status part_to(struct hart_backend *be, const hart_tensor *src, hart_tensor *dst) {
    if (!src->ndim) return HART_OK;
    return hart_tensor_to(be, src, dst);
}

hart_status hart_qweight_to(struct hart_backend *be, const hart_qweight *src, hart_qweight *out) {
    memset(out, 0, sizeof *out);
    out->fmt = src->fmt;
    out->N = src->N;
    out->K = src->K;
    out->group = src->group;
    out->ngroups = src->ngroups;
    hart_status s = part_to(be, &src->q, &out->q);
    if (!s) s = part_to(be, &src->scale, &out->scale);
    if (!s) s = part_to(be, &src->zero, &out->zero);
    if (!s) s = part_to(be, &src->gscale, &out->gscale);
    if (!s) s = part_to(be, &src->insmooth, &out->insmooth);
    if (s) hart_qweight_free(out);
    return s;
}

void hart_qweight_free(hart_qweight *w) {
    if (!w) return;
    hart_tensor_free(&w->q);
    hart_tensor_free(&w->scale);
    hart_tensor_free(&w->zero);
    hart_tensor_free(&w->gscale);
    hart_tensor_free(&w->insmooth);
    memset(w, 0, sizeof *w);
}

size_t hart_qweight_bytes(const hart_qweight *w) {
    size_t n = 0;
    const hart_tensor *ts[] = {&w->q, &w->scale, &w->zero, &w->gscale, &w->insmooth};
    for (int i = 0; i < 5; i++)
        if (ts[i]->ndim) n += hart_tensor_nbytes(ts[i]);
    return n;
}

hart_status hart_qweight_attach(hart_qweight *w, hart_tensor *shell) {
    hart_qweight *h = malloc(sizeof *h);
    if (!h) return hart_fail(HART_ENOMEM, "out of memory");
    *h = *w;
    memset(w, 0, sizeof *w);
    memset(shell, 0, sizeof *shell);
    shell->dtype = HART_F32;
    shell->ndim = 2;
    shell->shape[0] = h->N;
    shell->shape[1] = h->K;
    shell->be = h->q.be;
    shell->owns = 1;
    shell->quant = h;
    return HART_OK;
}

int hart_qweight_int8_at(const hart_qweight *w, int64_t n, int64_t k) {
    if (w->fmt == HART_QF_W8A8) return ((const int8_t *)w->q.data)[n * w->K + k];
    const uint8_t *row = (const uint8_t *)w->q.data + n * ((w->K + 1) / 2);
    int64_t g = n * w->ngroups + k / w->group;
    return hart_w4a8_int8(hart_q4_at(row, k), ((const uint8_t *)w->gscale.data)[g], ((const uint8_t *)w->zero.data)[g]);
}

static hart_status part_rows(const hart_tensor *src, int64_t r0, int64_t n, hart_tensor *dst) {
    if (!src->ndim) return HART_OK;
    hart_tensor v;
    HART_TRY(hart_tensor_rows(src, r0, n, &v));
    return hart_tensor_to(NULL, &v, dst);
}

hart_status hart_qweight_rows(const hart_qweight *src, int64_t r0, int64_t n, hart_qweight *out) {
    memset(out, 0, sizeof *out);
    if (r0 < 0 || n < 1 || r0 + n > src->N) return hart_fail(HART_EINVAL, "quantized weight: rows %lld+%lld of %lld", (long long)r0, (long long)n, (long long)src->N);
    *out = *src;
    out->N = n;
    out->q = out->scale = out->zero = out->gscale = out->insmooth = (hart_tensor){0};
    hart_status s = part_rows(&src->q, r0, n, &out->q);
    if (!s) s = part_rows(&src->scale, r0, n, &out->scale);
    if (!s) s = part_rows(&src->zero, r0, n, &out->zero);
    if (!s) s = part_rows(&src->gscale, r0, n, &out->gscale);
    if (!s && src->insmooth.ndim) s = hart_tensor_to(NULL, &src->insmooth, &out->insmooth);
    if (s) hart_qweight_free(out);
    return s;
}
