/* Linear weights from checkpoints, quantized on load, and the calibration
 * registry + observer (qload.h). */
#include "quant/qload.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "quant/quantize.h"

static hart_qformat g_on_load = HART_QF_NONE;

void hart_quant_set_on_load(hart_qformat f) { g_on_load = f; }
hart_qformat hart_quant_on_load(void) { return g_on_load; }

/* "P.weight" -> "P.<part>" */
static void part_name(const char *name, const char *part, char *out, size_t n) {
    size_t l = strlen(name);
    if (l > 7 && !strcmp(name + l - 7, ".weight")) l -= 7;
    snprintf(out, n, "%.*s.%s", (int)l, name, part);
}

int hart_ckpt_has_quant(const hart_checkpoint *ck, const char *name) {
    char nm[512];
    part_name(name, "qweight", nm, sizeof nm);
    return hart_ckpt_has(ck, nm);
}

static hart_status get_part(const hart_checkpoint *ck, const char *name, const char *part, hart_dtype dt, int ndim,
                            const int64_t *shape, hart_tensor *dst) {
    char nm[512];
    part_name(name, part, nm, sizeof nm);
    hart_tensor v;
    HART_TRY(hart_ckpt_get(ck, nm, ndim, shape, &v));
    if (v.dtype != dt)
        return hart_fail(HART_EFORMAT, "%s: tensor '%s' is %s, expected %s", ck->dir, nm, hart_dtype_name(v.dtype),
                         hart_dtype_name(dt));
    hart_status s = hart_tensor_to(NULL, &v, dst);
    hart_ckpt_release(ck, &v);
    return s;
}

/* the optional P.insmooth [K] (F32, finite) into q->insmooth */
static hart_status read_insmooth(const hart_checkpoint *ck, const char *name, int64_t K, hart_qweight *q) {
    char in[512];
    part_name(name, "insmooth", in, sizeof in);
    if (!hart_ckpt_has(ck, in)) return HART_OK;
    HART_TRY(get_part(ck, name, "insmooth", HART_F32, 1, &K, &q->insmooth));
    for (int64_t i = 0; i < K; i++)
        if (!isfinite(((float *)q->insmooth.data)[i]))
            return hart_fail(HART_EFORMAT, "%s: weight %s: insmooth element %lld is not finite", ck->dir, name, (long long)i);
    return HART_OK;
}

static hart_status read_quant(const hart_checkpoint *ck, const char *name, int64_t N, int64_t K, hart_qweight *q) {
    char nm[512];
    part_name(name, "qweight", nm, sizeof nm);
    hart_tensor qv;
    HART_TRY(hart_ckpt_get(ck, nm, 0, NULL, &qv));
    memset(q, 0, sizeof *q);
    hart_status s;
    if (qv.dtype == HART_I32) { /* AutoAWQ */
        char zn[512], sn[512];
        part_name(name, "qzeros", zn, sizeof zn);
        part_name(name, "scales", sn, sizeof sn);
        hart_tensor zv, sv;
        if (N % 8 || qv.ndim != 2 || qv.shape[0] != K || qv.shape[1] != N / 8)
            return hart_fail(HART_EFORMAT, "%s: AutoAWQ '%s' must be I32 [%lld, %lld]", ck->dir, nm, (long long)K, (long long)N / 8);
        HART_TRY(hart_ckpt_get(ck, sn, 0, NULL, &sv));
        if (sv.dtype != HART_F16 || sv.ndim != 2 || sv.shape[1] != N || sv.shape[0] < 1 || K % sv.shape[0])
            return hart_fail(HART_EFORMAT, "%s: AutoAWQ '%s' must be F16 [K/group, %lld]", ck->dir, sn, (long long)N);
        int64_t G = sv.shape[0];
        HART_TRY(hart_ckpt_get(ck, zn, 2, (int64_t[]){G, N / 8}, &zv));
        if (zv.dtype != HART_I32) return hart_fail(HART_EFORMAT, "%s: AutoAWQ '%s' must be I32", ck->dir, zn);
        HART_TRY(hart_awq_unpack(qv.data, zv.data, sv.data, N, K, (int)(K / G), q));
        s = read_insmooth(ck, name, K, q); /* AWQ's 1/s (hart quantize --calib writes it beside the AutoAWQ tensors) */
        if (s) hart_qweight_free(q);
        return s;
    }
    hart_qformat fmt;
    char gn[512];
    part_name(name, "wgscale", gn, sizeof gn);
    if (qv.dtype == HART_I8) fmt = HART_QF_W8A8;
    else if (qv.dtype == HART_U8) fmt = hart_ckpt_has(ck, gn) ? HART_QF_W4A8 : HART_QF_W4A16;
    else return hart_fail(HART_EFORMAT, "%s: '%s' has dtype %s (I8, U8 or I32 expected)", ck->dir, nm, hart_dtype_name(qv.dtype));
    int64_t G = HART_QGROUP;
    if (fmt != HART_QF_W8A8) { /* group size from the zero points' shape */
        char zn[512];
        part_name(name, "wzero", zn, sizeof zn);
        hart_tensor zv;
        HART_TRY(hart_ckpt_get(ck, zn, 0, NULL, &zv));
        if (zv.ndim != 2 || zv.shape[0] != N || zv.shape[1] < 1)
            return hart_fail(HART_EFORMAT, "%s: '%s' must be U8 [%lld, groups]", ck->dir, zn, (long long)N);
        G = (K + zv.shape[1] - 1) / zv.shape[1];
        G += G % 2;
        if ((K + G - 1) / G != zv.shape[1]) return hart_fail(HART_EFORMAT, "%s: '%s': %lld groups do not divide K %lld", ck->dir, zn, (long long)zv.shape[1], (long long)K);
    }
    HART_TRY(hart_qweight_new(NULL, fmt, N, K, (int)G, q));
    hart_qweight_free(q); /* shapes known; parts come from the file */
    q->fmt = fmt; q->N = N; q->K = K;
    if (fmt != HART_QF_W8A8) { q->group = (int)G; q->ngroups = (K + G - 1) / G; }
    int64_t ng = q->ngroups;
    s = get_part(ck, name, "qweight", fmt == HART_QF_W8A8 ? HART_I8 : HART_U8, 2,
                 (int64_t[]){N, fmt == HART_QF_W8A8 ? K : (K + 1) / 2}, &q->q);
    if (!s) s = get_part(ck, name, "wscale", HART_F32, fmt == HART_QF_W4A16 ? 2 : 1, (int64_t[]){N, ng}, &q->scale);
    if (!s && fmt != HART_QF_W8A8) s = get_part(ck, name, "wzero", HART_U8, 2, (int64_t[]){N, ng}, &q->zero);
    if (!s && fmt == HART_QF_W4A8) s = get_part(ck, name, "wgscale", HART_U8, 2, (int64_t[]){N, ng}, &q->gscale);
    for (int64_t i = 0; !s && i < hart_tensor_numel(&q->scale); i++)
        if (!isfinite(((float *)q->scale.data)[i]))
            s = hart_fail(HART_EFORMAT, "%s: weight %s: wscale element %lld is not finite", ck->dir, name, (long long)i);
    if (!s) s = read_insmooth(ck, name, K, q);
    /* validate what the kernels rely on: 4-bit fields, group scales 1..16, every W4A8 int8 value in [-127, 127] */
    for (int64_t i = 0; !s && fmt != HART_QF_W8A8 && i < N * ng; i++) {
        int z = ((uint8_t *)q->zero.data)[i], g = fmt == HART_QF_W4A8 ? ((uint8_t *)q->gscale.data)[i] : 1;
        if (z > 15 || g < 1 || g > 16) s = hart_fail(HART_EFORMAT, "%s: '%s': zero %d / group scale %d out of range", ck->dir, nm, z, g);
    }
    for (int64_t n = 0; !s && fmt == HART_QF_W4A8 && n < N; n++)
        for (int64_t k = 0; k < K; k++) {
            int v = hart_qweight_int8_at(q, n, k);
            if (v < -127 || v > 127) {
                s = hart_fail(HART_EFORMAT, "%s: '%s': element [%lld, %lld] dequantizes to %d, outside [-127, 127]", ck->dir, nm,
                              (long long)n, (long long)k, v);
                break;
            }
        }
    for (int64_t i = 0; !s && fmt == HART_QF_W8A8 && i < N * K; i++)
        if (((int8_t *)q->q.data)[i] == -128) s = hart_fail(HART_EFORMAT, "%s: '%s' holds -128 (int8 weights are in [-127, 127])", ck->dir, nm);
    if (s) hart_qweight_free(q);
    return s;
}

hart_status hart_linear_read(const hart_checkpoint *ck, const char *name, int64_t N, int64_t K, hart_linear_src *out) {
    memset(out, 0, sizeof *out);
    if (hart_ckpt_has_quant(ck, name)) {
        out->is_q = 1;
        hart_status s = read_quant(ck, name, N, K, &out->q);
        return s ? hart_fail_ctx(s, "loading quantized weight %s", name) : HART_OK;
    }
    return hart_ckpt_get(ck, name, 2, (int64_t[]){N, K}, &out->f);
}

void hart_linear_src_free(const hart_checkpoint *ck, hart_linear_src *src) {
    if (src->is_q) hart_qweight_free(&src->q);
    else if (src->f.ndim) hart_ckpt_release(ck, &src->f);
    memset(src, 0, sizeof *src);
}

/* ---- calibration registry ---- */

typedef struct {
    const hart_tensor *t;
    int entry;
} reg_item;

static struct {
    int armed, recording, sample_rows;
    reg_item *items;
    int nitems, citems;
    hart_calib_entry *e;
    int ne, ce;
} g_cal;

hart_calib_entry *hart_calib_find(const char *name) {
    for (int i = 0; i < g_cal.ne; i++)
        if (!strcmp(g_cal.e[i].name, name)) return &g_cal.e[i];
    return NULL;
}

static void observe(const hart_tensor *w, const hart_tensor *x) {
    if (!g_cal.recording) return;
    int idx = -1;
    for (int i = 0; i < g_cal.nitems; i++)
        if (g_cal.items[i].t == w) { idx = g_cal.items[i].entry; break; }
    if (idx < 0) return;
    hart_calib_entry *e = &g_cal.e[idx];
    int64_t K = e->K, M = hart_tensor_numel(x) / K;
    float *h = malloc(sizeof(float) * (size_t)(M * K));
    if (!h || hart_tensor_read_f32(x, h)) { free(h); hart_clear_error(); return; }
    for (int64_t m = 0; m < M; m++) {
        const float *r = h + m * K;
        for (int64_t k = 0; k < K; k++) {
            float a = fabsf(r[k]);
            if (a > e->absmax[k]) e->absmax[k] = a;
            e->abssum[k] += a;
        }
        if (e->rows % e->stride == 0) { /* keep every stride-th row; thin out when full */
            if (e->nsample == e->cap) {
                for (int64_t i = 0; i < e->cap / 2; i++) memcpy(e->sample + i * K, e->sample + 2 * i * K, sizeof(float) * (size_t)K);
                e->nsample = e->cap / 2;
                e->stride *= 2;
            }
            if (e->rows % e->stride == 0) memcpy(e->sample + e->nsample++ * K, r, sizeof(float) * (size_t)K);
        }
        e->rows++;
    }
    free(h);
}

static void reg(const hart_tensor *t, const char *name, int64_t r0, int64_t N, int64_t K) {
    if (!g_cal.armed) return;
    hart_calib_entry *e = hart_calib_find(name);
    if (!e) {
        if (g_cal.ne == g_cal.ce) {
            int c = g_cal.ce ? 2 * g_cal.ce : 64;
            hart_calib_entry *ne = realloc(g_cal.e, sizeof *ne * (size_t)c);
            if (!ne) return;
            g_cal.e = ne;
            g_cal.ce = c;
        }
        e = &g_cal.e[g_cal.ne];
        memset(e, 0, sizeof *e);
        snprintf(e->name, sizeof e->name, "%s", name);
        e->N = N; e->K = K; e->cap = g_cal.sample_rows; e->stride = 1;
        e->absmax = calloc((size_t)K, sizeof(float));
        e->abssum = calloc((size_t)K, sizeof(double));
        e->sample = malloc(sizeof(float) * (size_t)(K * e->cap));
        if (!e->absmax || !e->abssum || !e->sample) { free(e->absmax); free(e->abssum); free(e->sample); return; }
        g_cal.ne++;
    }
    if (r0 != 0) return; /* row slices of one weight (fused q/k/v) see the same input: count it once */
    if (g_cal.nitems == g_cal.citems) {
        int c = g_cal.citems ? 2 * g_cal.citems : 64;
        reg_item *ni = realloc(g_cal.items, sizeof *ni * (size_t)c);
        if (!ni) return;
        g_cal.items = ni;
        g_cal.citems = c;
    }
    g_cal.items[g_cal.nitems++] = (reg_item){t, (int)(e - g_cal.e)};
}

void hart_calib_begin(int sample_rows) {
    g_cal.armed = 1;
    g_cal.recording = 1;
    g_cal.sample_rows = sample_rows < 2 ? 2 : sample_rows;
    hart_linear_observer = observe;
}

void hart_calib_end(void) {
    g_cal.recording = 0;
    g_cal.armed = 0;
    hart_linear_observer = NULL;
}

int hart_calib_count(void) { return g_cal.ne; }
hart_calib_entry *hart_calib_get(int i) { return i >= 0 && i < g_cal.ne ? &g_cal.e[i] : NULL; }

void hart_calib_free(void) {
    for (int i = 0; i < g_cal.ne; i++) {
        free(g_cal.e[i].absmax);
        free(g_cal.e[i].abssum);
        free(g_cal.e[i].sample);
    }
    free(g_cal.e);
    free(g_cal.items);
    memset(&g_cal, 0, sizeof g_cal);
}

/* ---- upload ---- */

hart_status hart_linear_upload(hart_backend *be, const hart_checkpoint *ck, const char *name, const hart_linear_src *src,
                               int64_t r0, int64_t n, int as_weight, hart_tensor *out) {
    hart_status s;
    hart_qweight hq, dq;
    memset(&hq, 0, sizeof hq);
    memset(&dq, 0, sizeof dq);
    if (src->is_q) {
        s = hart_qweight_rows(&src->q, r0, n, &hq);
    } else {
        hart_tensor view;
        HART_TRY(hart_tensor_rows(&src->f, r0, n, &view));
        if (g_on_load == HART_QF_NONE || g_cal.armed) {
            s = as_weight ? hart_weight_to(be, &view, out) : hart_tensor_to(be, &view, out);
            if (!s) reg(out, name, r0, src->f.shape[0], src->f.shape[1]);
            return s;
        }
        s = hart_quantize_tensor(&view, g_on_load, &hq);
    }
    if (!s) s = hart_qweight_to(be, &hq, &dq);
    if (!s) s = hart_qweight_attach(&dq, out);
    hart_qweight_free(&hq);
    hart_qweight_free(&dq);
    return s ? hart_fail_ctx(s, "weight %s", name) : HART_OK;
}

hart_status hart_ckpt_get_linear(const hart_checkpoint *ck, hart_backend *be, const char *name, int64_t N, int64_t K,
                                 int as_weight, hart_tensor *out) {
    hart_linear_src src;
    HART_TRY(hart_linear_read(ck, name, N, K, &src));
    hart_status s = hart_linear_upload(be, ck, name, &src, 0, N, as_weight, out);
    hart_linear_src_free(ck, &src);
    return s;
}
