/* Round-to-nearest weight quantization, dequantization, AutoAWQ layout (quantize.h). */
#include "quant/quantize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int clampi(float v, int lo, int hi) { return v < (float)lo ? lo : v > (float)hi ? hi : (int)v; }

static void put_q4(uint8_t *row, int64_t k, int q) {
    if (k & 1) row[k >> 1] = (uint8_t)((row[k >> 1] & 0x0f) | (q << 4));
    else row[k >> 1] = (uint8_t)((row[k >> 1] & 0xf0) | q);
}

static void rtn_w8a8(const float *w, int64_t N, int64_t K, hart_qweight *o) {
    int8_t *q = o->q.data;
    float *sc = o->scale.data;
    for (int64_t n = 0; n < N; n++) {
        float a = 0.0f;
        for (int64_t k = 0; k < K; k++) a = fmaxf(a, fabsf(w[n * K + k]));
        float s = a / 127.0f;
        sc[n] = s;
        for (int64_t k = 0; k < K; k++) q[n * K + k] = (int8_t)(s > 0.0f ? clampi(rintf(w[n * K + k] / s), -127, 127) : 0);
    }
}

static void rtn_w4a16(const float *w, int64_t N, int64_t K, hart_qweight *o) {
    int64_t G = o->group, ng = o->ngroups, rb = (K + 1) / 2;
    for (int64_t n = 0; n < N; n++)
        for (int64_t g = 0; g < ng; g++) {
            int64_t k0 = g * G, k1 = k0 + G < K ? k0 + G : K;
            float mn = w[n * K + k0], mx = mn;
            for (int64_t k = k0; k < k1; k++) {
                mn = fminf(mn, w[n * K + k]);
                mx = fmaxf(mx, w[n * K + k]);
            }
            float s = hart_f16_to_f32(hart_f32_to_f16(fmaxf((mx - mn) / 15.0f, 1e-5f)));
            int z = clampi(rintf(-mn / s), 0, 15);
            ((float *)o->scale.data)[n * ng + g] = s;
            ((uint8_t *)o->zero.data)[n * ng + g] = (uint8_t)z;
            for (int64_t k = k0; k < k1; k++)
                put_q4((uint8_t *)o->q.data + n * rb, k, clampi(rintf(w[n * K + k] / s) + (float)z, 0, 15));
        }
}

static hart_status rtn_w4a8(const float *w, int64_t N, int64_t K, hart_qweight *o) {
    int64_t G = o->group, ng = o->ngroups, rb = (K + 1) / 2;
    int *w8 = malloc((size_t)K * sizeof(int));
    if (!w8) return hart_fail(HART_ENOMEM, "quantize: out of memory");
    for (int64_t n = 0; n < N; n++) {
        float a = 0.0f;
        for (int64_t k = 0; k < K; k++) a = fmaxf(a, fabsf(w[n * K + k]));
        float s1 = a / 119.0f;
        ((float *)o->scale.data)[n] = s1;
        for (int64_t k = 0; k < K; k++) w8[k] = s1 > 0.0f ? clampi(rintf(w[n * K + k] / s1), -119, 119) : 0;
        for (int64_t g = 0; g < ng; g++) {
            int64_t k0 = g * G, k1 = k0 + G < K ? k0 + G : K;
            int mn = w8[k0], mx = w8[k0];
            for (int64_t k = k0; k < k1; k++) {
                mn = w8[k] < mn ? w8[k] : mn;
                mx = w8[k] > mx ? w8[k] : mx;
            }
            int s = (mx - mn + 14) / 15;
            if (s < 1) s = 1;
            int z = clampi(rintf((float)-mn / (float)s), 0, 15);
            ((uint8_t *)o->gscale.data)[n * ng + g] = (uint8_t)s;
            ((uint8_t *)o->zero.data)[n * ng + g] = (uint8_t)z;
            for (int64_t k = k0; k < k1; k++) {
                int q = clampi(rintf((float)w8[k] / (float)s) + (float)z, 0, 15);
                int v = hart_w4a8_int8(q, s, z);
                if (v < -127 || v > 127) {
                    free(w8);
                    return hart_fail(HART_EINVAL, "quantize w4a8: int8 value %d out of range (row %lld)", v, (long long)n);
                }
                put_q4((uint8_t *)o->q.data + n * rb, k, q);
            }
        }
    }
    free(w8);
    return HART_OK;
}

hart_status hart_quantize_rtn(const float *w, int64_t N, int64_t K, hart_qformat fmt, int group, hart_qweight *out) {
    if (group <= 0) group = HART_QGROUP;
    HART_TRY(hart_qweight_new(NULL, fmt, N, K, group, out));
    for (int64_t i = 0; i < N * K; i++)
        if (!isfinite(w[i])) {
            hart_qweight_free(out);
            return hart_fail(HART_EINVAL, "quantize: weight element %lld is not finite", (long long)i);
        }
    hart_status s = HART_OK;
    if (fmt == HART_QF_W8A8) rtn_w8a8(w, N, K, out);
    else if (fmt == HART_QF_W4A16) rtn_w4a16(w, N, K, out);
    else s = rtn_w4a8(w, N, K, out);
    if (s) hart_qweight_free(out);
    return s;
}

hart_status hart_quantize_tensor(const hart_tensor *w, hart_qformat fmt, hart_qweight *out) {
    if (w->ndim != 2) return hart_fail(HART_EINVAL, "quantize: weight must be 2-D");
    int64_t N = w->shape[0], K = w->shape[1];
    float *f = malloc((size_t)(N * K) * sizeof(float));
    if (!f) return hart_fail(HART_ENOMEM, "quantize: out of memory");
    hart_status s = hart_tensor_read_f32(w, f);
    if (!s) s = hart_quantize_rtn(f, N, K, fmt, HART_QGROUP, out);
    free(f);
    return s;
}

void hart_qweight_dequant(const hart_qweight *w, float *out) {
    int64_t N = w->N, K = w->K;
    for (int64_t n = 0; n < N; n++)
        for (int64_t k = 0; k < K; k++) {
            float v;
            if (w->fmt == HART_QF_W4A16) {
                int64_t g = n * w->ngroups + k / w->group;
                int q = hart_q4_at((const uint8_t *)w->q.data + n * ((K + 1) / 2), k);
                v = (float)(q - (int)((const uint8_t *)w->zero.data)[g]) * ((const float *)w->scale.data)[g];
            } else
                v = (float)hart_qweight_int8_at(w, n, k) * ((const float *)w->scale.data)[n];
            out[n * K + k] = v;
        }
}

static const int g_awq_order[8] = {0, 2, 4, 6, 1, 3, 5, 7};

static hart_status awq_check(int64_t N, int64_t K, int group) {
    if (group < 2 || K % group || N % 8)
        return hart_fail(HART_EUNSUPPORTED, "AutoAWQ layout needs K %% group == 0 and N %% 8 == 0 (K %lld, N %lld, group %d)",
                         (long long)K, (long long)N, group);
    return HART_OK;
}

hart_status hart_awq_pack(const hart_qweight *w, int32_t *qweight, int32_t *qzeros, uint16_t *scales) {
    if (w->fmt != HART_QF_W4A16) return hart_fail(HART_EINVAL, "AutoAWQ layout is for w4a16 weights");
    int64_t N = w->N, K = w->K, ng = w->ngroups;
    HART_TRY(awq_check(N, K, w->group));
    const uint8_t *q = w->q.data, *z = w->zero.data;
    const float *sc = w->scale.data;
    for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j < N / 8; j++) {
            uint32_t v = 0;
            for (int i = 0; i < 8; i++) v |= (uint32_t)hart_q4_at(q + (8 * j + g_awq_order[i]) * ((K + 1) / 2), k) << (4 * i);
            qweight[k * (N / 8) + j] = (int32_t)v;
        }
    for (int64_t g = 0; g < ng; g++) {
        for (int64_t j = 0; j < N / 8; j++) {
            uint32_t v = 0;
            for (int i = 0; i < 8; i++) v |= (uint32_t)z[(8 * j + g_awq_order[i]) * ng + g] << (4 * i);
            qzeros[g * (N / 8) + j] = (int32_t)v;
        }
        for (int64_t n = 0; n < N; n++) scales[g * N + n] = hart_f32_to_f16(sc[n * ng + g]);
    }
    return HART_OK;
}

hart_status hart_awq_unpack(const int32_t *qweight, const int32_t *qzeros, const uint16_t *scales, int64_t N,
                            int64_t K, int group, hart_qweight *out) {
    HART_TRY(awq_check(N, K, group));
    HART_TRY(hart_qweight_new(NULL, HART_QF_W4A16, N, K, group, out));
    int64_t ng = out->ngroups, rb = (K + 1) / 2;
    uint8_t *q = out->q.data, *z = out->zero.data;
    float *sc = out->scale.data;
    for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j < N / 8; j++) {
            uint32_t v = (uint32_t)qweight[k * (N / 8) + j];
            for (int i = 0; i < 8; i++) put_q4(q + (8 * j + g_awq_order[i]) * rb, k, (int)((v >> (4 * i)) & 15));
        }
    for (int64_t g = 0; g < ng; g++) {
        for (int64_t j = 0; j < N / 8; j++) {
            uint32_t v = (uint32_t)qzeros[g * (N / 8) + j];
            for (int i = 0; i < 8; i++) z[(8 * j + g_awq_order[i]) * ng + g] = (uint8_t)((v >> (4 * i)) & 15);
        }
        for (int64_t n = 0; n < N; n++) {
            float s = hart_f16_to_f32(scales[g * N + n]);
            if (!isfinite(s)) {
                hart_qweight_free(out);
                return hart_fail(HART_EFORMAT, "AutoAWQ scales: element [%lld, %lld] is not finite", (long long)g, (long long)n);
            }
            sc[n * ng + g] = s;
        }
    }
    return HART_OK;
}
