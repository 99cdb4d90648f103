/* CPU quantized linear (docs/quant.md): int8 GEMM on three kernel variants
 * chosen at run time (portable C, AVX2, AVX-512 VNNI), OpenMP over blocks of
 * output columns; W4A16 by dequantizing blocks of columns to f32 for sgemm.
 *
 * Int8 layout: A rows are copied (or quantized) into a buffer of Kp = K
 * rounded up to 64 bytes per row, zero padded; each thread dequantizes (W4A8)
 * or copies (W8A8) a block of NB weight rows into the same padded layout, so
 * the kernels never see a tail. Exactness: AVX2 multiplies |a| (u8, <= 127)
 * by sign(a)·w (s8, |w| <= 127) with maddubs — a pair sums to at most
 * 2·127·127 < 2^15, so the saturating add never saturates; VNNI multiplies
 * a + 128 (u8) by w and subtracts 128·Σw afterwards. Both give the same
 * int32 sums as the reference (tested). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_internal.h"
#include "backend/cpu/cpu_quant.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_X86 1
#else
#define CPU_X86 0
#endif

#define KPAD 64 /* row padding of the int8 buffers */
#define NB 64   /* weight rows per block (one thread's unit of work) */
#define MB 128  /* A rows per pass over a block */

/* ---- variant choice ---- */

static int g_isa = -2; /* -2: not chosen yet */

int hart_cpu_qisa_available(hart_cpu_qisa isa) {
    switch (isa) {
    case HART_CPU_QISA_C: return 1;
#if CPU_X86
    case HART_CPU_QISA_AVX2: return __builtin_cpu_supports("avx2");
    case HART_CPU_QISA_VNNI:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vnni");
#endif
    default: return 0;
    }
}

const char *hart_cpu_qisa_name(hart_cpu_qisa isa) {
    static const char *n[] = {"c", "avx2", "avx512-vnni"};
    return isa >= 0 && isa < HART_CPU_QISA_COUNT ? n[isa] : "auto";
}

static int best_isa(void) {
    const char *e = getenv("HART_CPU_QISA");
    for (int i = 0; e && i < HART_CPU_QISA_COUNT; i++)
        if (!strcmp(e, hart_cpu_qisa_name((hart_cpu_qisa)i)) && hart_cpu_qisa_available((hart_cpu_qisa)i)) return i;
    for (int i = HART_CPU_QISA_COUNT - 1; i > 0; i--)
        if (hart_cpu_qisa_available((hart_cpu_qisa)i)) return i;
    return HART_CPU_QISA_C;
}

int hart_cpu_qisa_force(hart_cpu_qisa isa) {
    if (isa == HART_CPU_QISA_AUTO) {
        g_isa = best_isa();
        return 1;
    }
    if (!hart_cpu_qisa_available(isa)) return 0;
    g_isa = isa;
    return 1;
}

hart_cpu_qisa hart_cpu_qisa_current(void) {
    if (g_isa == -2) g_isa = best_isa();
    return (hart_cpu_qisa)g_isa;
}

/* ---- tile kernels: out[i*4 + j] = Σ_k A[i][k]·W[j][k], i < mr <= 4, j < nr <= 4,
 * Kp a multiple of 64, rows at strides lda / ldw. wsum[j] = Σ_k W[j][k]. ---- */

typedef void (*tile_fn)(const int8_t *A, int64_t lda, const int8_t *W, int64_t ldw, const int32_t *wsum, int64_t Kp,
                        int mr, int nr, int32_t *out);

static void tile_c(const int8_t *A, int64_t lda, const int8_t *W, int64_t ldw, const int32_t *wsum, int64_t Kp,
                   int mr, int nr, int32_t *out) {
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            const int8_t *a = A + i * lda, *w = W + j * ldw;
            int32_t s = 0;
            for (int64_t k = 0; k < Kp; k++) s += (int32_t)a[k] * (int32_t)w[k];
            out[i * 4 + j] = s;
        }
}

#if CPU_X86
__attribute__((target("avx2"))) static inline int32_t hsum256(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* |a|·(sign(a)·w) pairs, widened to int32 and accumulated */
#define AVX2_MAC(acc, au, a, w) \
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(au, _mm256_sign_epi8(w, a)), ones))

__attribute__((target("avx2"))) static void tile_avx2(const int8_t *A, int64_t lda, const int8_t *W, int64_t ldw,
                                                      const int32_t *wsum, int64_t Kp, int mr, int nr, int32_t *out) {
    const __m256i ones = _mm256_set1_epi16(1);
    if (mr == 2 && nr == 4) {
        __m256i c00 = _mm256_setzero_si256(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00,
                c13 = c00;
        for (int64_t k = 0; k < Kp; k += 32) {
            __m256i a0 = _mm256_loadu_si256((const __m256i *)(A + k));
            __m256i a1 = _mm256_loadu_si256((const __m256i *)(A + lda + k));
            __m256i u0 = _mm256_abs_epi8(a0), u1 = _mm256_abs_epi8(a1);
            __m256i w0 = _mm256_loadu_si256((const __m256i *)(W + k));
            __m256i w1 = _mm256_loadu_si256((const __m256i *)(W + ldw + k));
            __m256i w2 = _mm256_loadu_si256((const __m256i *)(W + 2 * ldw + k));
            __m256i w3 = _mm256_loadu_si256((const __m256i *)(W + 3 * ldw + k));
            AVX2_MAC(c00, u0, a0, w0); AVX2_MAC(c01, u0, a0, w1); AVX2_MAC(c02, u0, a0, w2); AVX2_MAC(c03, u0, a0, w3);
            AVX2_MAC(c10, u1, a1, w0); AVX2_MAC(c11, u1, a1, w1); AVX2_MAC(c12, u1, a1, w2); AVX2_MAC(c13, u1, a1, w3);
        }
        out[0] = hsum256(c00); out[1] = hsum256(c01); out[2] = hsum256(c02); out[3] = hsum256(c03);
        out[4] = hsum256(c10); out[5] = hsum256(c11); out[6] = hsum256(c12); out[7] = hsum256(c13);
        return;
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            __m256i c = _mm256_setzero_si256();
            for (int64_t k = 0; k < Kp; k += 32) {
                __m256i a = _mm256_loadu_si256((const __m256i *)(A + i * lda + k));
                __m256i w = _mm256_loadu_si256((const __m256i *)(W + j * ldw + k));
                AVX2_MAC(c, _mm256_abs_epi8(a), a, w);
            }
            out[i * 4 + j] = hsum256(c);
        }
}

#define VNNI_ATTR __attribute__((target("avx512f,avx512bw,avx512vnni")))
/* (a + 128)·w summed by vpdpbusd, then − 128·Σw */
VNNI_ATTR static void tile_vnni(const int8_t *A, int64_t lda, const int8_t *W, int64_t ldw, const int32_t *wsum,
                                int64_t Kp, int mr, int nr, int32_t *out) {
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    __m512i c[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) c[i][j] = _mm512_setzero_si512();
    if (mr == 4 && nr == 4) {
        for (int64_t k = 0; k < Kp; k += 64) {
            __m512i w0 = _mm512_loadu_si512(W + k), w1 = _mm512_loadu_si512(W + ldw + k);
            __m512i w2 = _mm512_loadu_si512(W + 2 * ldw + k), w3 = _mm512_loadu_si512(W + 3 * ldw + k);
            for (int i = 0; i < 4; i++) {
                __m512i a = _mm512_xor_si512(_mm512_loadu_si512(A + i * lda + k), flip);
                c[i][0] = _mm512_dpbusd_epi32(c[i][0], a, w0);
                c[i][1] = _mm512_dpbusd_epi32(c[i][1], a, w1);
                c[i][2] = _mm512_dpbusd_epi32(c[i][2], a, w2);
                c[i][3] = _mm512_dpbusd_epi32(c[i][3], a, w3);
            }
        }
    } else {
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nr; j++)
                for (int64_t k = 0; k < Kp; k += 64) {
                    __m512i a = _mm512_xor_si512(_mm512_loadu_si512(A + i * lda + k), flip);
                    c[i][j] = _mm512_dpbusd_epi32(c[i][j], a, _mm512_loadu_si512(W + j * ldw + k));
                }
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) out[i * 4 + j] = _mm512_reduce_add_epi32(c[i][j]) - 128 * wsum[j];
}
#endif

static tile_fn pick_tile(int *mr) {
    *mr = 4;
#if CPU_X86
    switch (hart_cpu_qisa_current()) {
    case HART_CPU_QISA_AVX2: *mr = 2; return tile_avx2;
    case HART_CPU_QISA_VNNI: return tile_vnni;
    default: break;
    }
#endif
    return tile_c;
}

/* ---- the int8 GEMM driver ---- */

typedef struct {
    int64_t M, N, K, Kp;
    const int8_t *A;        /* [M][Kp] */
    const hart_qweight *w;  /* host */
    int32_t *acc;           /* [M][N], or NULL: */
    float *y;               /* y = acc·(sx[m]·sw[n]) + bias[n] */
    const float *sx, *sw, *bias;
} qgemm_job;

/* rows n0..n0+nb of the weight as int8 [nb][Kp] (zero padded) and their sums */
static void weight_block(const hart_qweight *w, int64_t n0, int nb, int64_t Kp, int8_t *dst, int32_t *wsum) {
    int64_t K = w->K;
    for (int j = 0; j < nb; j++) {
        int8_t *d = dst + j * Kp;
        int64_t n = n0 + j;
        if (w->fmt == HART_QF_W8A8) memcpy(d, (const int8_t *)w->q.data + n * K, (size_t)K);
        else {
            const uint8_t *row = (const uint8_t *)w->q.data + n * ((K + 1) / 2);
            const uint8_t *gs = (const uint8_t *)w->gscale.data + n * w->ngroups, *z = (const uint8_t *)w->zero.data + n * w->ngroups;
            for (int64_t g = 0; g < w->ngroups; g++) {
                int s = gs[g], zs = (uint8_t)(z[g] * s);
                int64_t k1 = (g + 1) * w->group < K ? (g + 1) * w->group : K;
                for (int64_t k = g * w->group; k < k1; k++) d[k] = (int8_t)((int)(uint8_t)(hart_q4_at(row, k) * s) - zs);
            }
        }
        memset(d + K, 0, (size_t)(Kp - K));
        int32_t s = 0;
        for (int64_t k = 0; k < K; k++) s += d[k];
        wsum[j] = s;
    }
}

static hart_status run_qgemm(const qgemm_job *J) {
    int mr;
    tile_fn tile = pick_tile(&mr);
    int64_t nblocks = (J->N + NB - 1) / NB;
    int8_t *wbuf = malloc((size_t)hart_cpu_threads() * NB * (size_t)J->Kp);
    if (!wbuf) return hart_fail(HART_ENOMEM, "hart_op_qgemm: out of memory");
    int par = !omp_in_parallel() && hart_cpu_threads() > 1 && (double)J->M * J->N * J->K > 1e6;
#pragma omp parallel for schedule(dynamic, 1) if (par)
    for (int64_t nbk = 0; nbk < nblocks; nbk++) {
        int8_t *wb = wbuf + (size_t)omp_get_thread_num() * NB * J->Kp;
        int32_t wsum[NB];
        int64_t n0 = nbk * NB;
        int nb = (int)(J->N - n0 < NB ? J->N - n0 : NB);
        weight_block(J->w, n0, nb, J->Kp, wb, wsum);
        for (int64_t m0 = 0; m0 < J->M; m0 += MB) {
            int64_t m1 = m0 + MB < J->M ? m0 + MB : J->M;
            for (int j = 0; j < nb; j += 4) {
                int nr = nb - j < 4 ? nb - j : 4;
                for (int64_t m = m0; m < m1; m += mr) {
                    int r = (int)(m1 - m < mr ? m1 - m : mr);
                    int32_t out[16];
                    tile(J->A + m * J->Kp, J->Kp, wb + (size_t)j * J->Kp, J->Kp, wsum + j, J->Kp, r, nr, out);
                    for (int i = 0; i < r; i++)
                        for (int jj = 0; jj < nr; jj++) {
                            int64_t n = n0 + j + jj, o = (m + i) * J->N + n;
                            if (J->acc) J->acc[o] = out[i * 4 + jj];
                            else J->y[o] = (float)out[i * 4 + jj] * (J->sx[m + i] * J->sw[n]) + (J->bias ? J->bias[n] : 0.0f);
                        }
                }
            }
        }
    }
    free(wbuf);
    return HART_OK;
}

static int64_t kpad(int64_t K) { return (K + KPAD - 1) / KPAD * KPAD; }

/* Row quantization (same arithmetic as the reference) into rows of stride ldq. */
static void quant_rows_into(const float *x, int64_t M, int64_t K, int8_t *q, int64_t ldq, float *s) {
#pragma omp parallel for schedule(static) if (M * K > CPU_PAR_MIN && !omp_in_parallel())
    for (int64_t m = 0; m < M; m++) {
        const float *xr = x + m * K;
        float a = 0.0f;
        for (int64_t k = 0; k < K; k++) a = fmaxf(a, fabsf(xr[k]));
        s[m] = a / 127.0f;
        float inv = a > 0.0f ? 127.0f / a : 0.0f;
        int8_t *qr = q + m * ldq;
        for (int64_t k = 0; k < K; k++) {
            float r = rintf(xr[k] * inv);
            qr[k] = (int8_t)(r > 127.0f ? 127 : r < -127.0f ? -127 : r == r ? (int)r : 0);
        }
        memset(qr + K, 0, (size_t)(ldq - K));
    }
}

hart_status hart_cpu_quant_rows(hart_backend *be, hart_tensor *q, hart_tensor *s, const hart_tensor *x) {
    quant_rows_into(x->data, x->shape[0], x->shape[1], q->data, x->shape[1], s->data);
    return HART_OK;
}

hart_status hart_cpu_qgemm(hart_backend *be, hart_tensor *acc, const hart_tensor *a, const hart_qweight *w) {
    int64_t M = a->shape[0], K = w->K, Kp = kpad(K);
    if (M == 0) return HART_OK;
    int8_t *ap = calloc((size_t)(M * Kp), 1);
    if (!ap) return hart_fail(HART_ENOMEM, "hart_op_qgemm: out of memory");
    for (int64_t m = 0; m < M; m++) memcpy(ap + m * Kp, (const int8_t *)a->data + m * K, (size_t)K);
    qgemm_job J = {.M = M, .N = w->N, .K = K, .Kp = Kp, .A = ap, .w = w, .acc = acc->data};
    hart_status s = run_qgemm(&J);
    free(ap);
    return s;
}

static void bias_f32(const hart_tensor *b, float *dst) {
    if (b) hart_cpu_to_f32(b, dst);
}

/* W4A16: blocks of NB dequantized f32 weight rows, one sgemm each. */
static hart_status w4a16_linear(const float *x, int64_t M, const hart_qweight *w, const float *bias, float *y) {
    int64_t K = w->K, N = w->N, nblocks = (N + NB - 1) / NB;
    float *wbuf = malloc((size_t)hart_cpu_threads() * NB * (size_t)K * sizeof(float));
    if (!wbuf) return hart_fail(HART_ENOMEM, "hart_op_qlinear: out of memory");
    int par = !omp_in_parallel() && hart_cpu_threads() > 1 && nblocks > 1;
#pragma omp parallel for schedule(dynamic, 1) if (par)
    for (int64_t nbk = 0; nbk < nblocks; nbk++) {
        float *wb = wbuf + (size_t)omp_get_thread_num() * NB * K;
        int64_t n0 = nbk * NB;
        int nb = (int)(N - n0 < NB ? N - n0 : NB);
        for (int j = 0; j < nb; j++) {
            int64_t n = n0 + j;
            const uint8_t *row = (const uint8_t *)w->q.data + n * ((K + 1) / 2);
            const uint8_t *z = (const uint8_t *)w->zero.data + n * w->ngroups;
            const float *sc = (const float *)w->scale.data + n * w->ngroups;
            for (int64_t g = 0; g < w->ngroups; g++) {
                int64_t k1 = (g + 1) * w->group < K ? (g + 1) * w->group : K;
                float s = sc[g];
                int zz = z[g];
                for (int64_t k = g * w->group; k < k1; k++) wb[j * K + k] = (float)(hart_q4_at(row, k) - zz) * s;
            }
        }
        hart_cpu_sgemm(0, 1, M, nb, K, 1.0f, x, K, wb, K, 0.0f, y + n0, N);
        if (bias)
            for (int64_t m = 0; m < M; m++)
                for (int j = 0; j < nb; j++) y[m * N + n0 + j] += bias[n0 + j];
    }
    free(wbuf);
    return HART_OK;
}

/* W4A16 for few rows (memory-bound): each weight row is dequantized once into
 * a thread-local f32 row and dotted with the M input rows; the packed weight
 * is read exactly once. */
#define W4A16_SMALL_M 16
static hart_status w4a16_small(const float *x, int64_t M, const hart_qweight *w, const float *bias, float *y) {
    int64_t K = w->K, N = w->N, rb = (K + 1) / 2;
    float *buf = malloc((size_t)hart_cpu_threads() * (size_t)(K + 1) * sizeof(float));
    if (!buf) return hart_fail(HART_ENOMEM, "hart_op_qlinear: out of memory");
    int par = !omp_in_parallel() && hart_cpu_threads() > 1 && N * K > 65536;
#pragma omp parallel for schedule(static) if (par)
    for (int64_t n = 0; n < N; n++) {
        float *d = buf + (size_t)omp_get_thread_num() * (K + 1);
        const uint8_t *row = (const uint8_t *)w->q.data + n * rb;
        const uint8_t *z = (const uint8_t *)w->zero.data + n * w->ngroups;
        const float *sc = (const float *)w->scale.data + n * w->ngroups;
        for (int64_t g = 0; g < w->ngroups; g++) {
            int64_t k0 = g * w->group, k1 = k0 + w->group < K ? k0 + w->group : K;
            float s = sc[g], zs = (float)z[g] * s;
            for (int64_t j = k0 / 2; j < (k1 + 1) / 2; j++) { /* group sizes are even: whole bytes */
                d[2 * j] = (float)(row[j] & 15) * s - zs;
                d[2 * j + 1] = (float)(row[j] >> 4) * s - zs;
            }
        }
        for (int64_t m = 0; m < M; m++) {
            const float *xr = x + m * K;
            float p[8] = {0}; /* 8 partial sums: a loop the compiler vectorizes */
            int64_t k = 0;
            for (; k + 8 <= K; k += 8)
                for (int i = 0; i < 8; i++) p[i] += xr[k + i] * d[k + i];
            float acc = ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
            for (; k < K; k++) acc += xr[k] * d[k];
            y[m * N + n] = acc + (bias ? bias[n] : 0.0f);
        }
    }
    free(buf);
    return HART_OK;
}

hart_status hart_cpu_qlinear(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_qweight *w,
                             const hart_tensor *b) {
    int64_t K = w->K, N = w->N, M = hart_tensor_numel(x) / K, Kp = kpad(K);
    if (M == 0) return HART_OK;
    float *bias = b ? malloc((size_t)N * sizeof(float)) : NULL;
    if (b && !bias) return hart_fail(HART_ENOMEM, "hart_op_qlinear: out of memory");
    bias_f32(b, bias);
    hart_status s;
    if (w->fmt == HART_QF_W4A16)
        s = M <= W4A16_SMALL_M ? w4a16_small(x->data, M, w, bias, y->data) : w4a16_linear(x->data, M, w, bias, y->data);
    else {
        int8_t *ap = malloc((size_t)(M * Kp));
        float *sx = malloc((size_t)M * sizeof(float));
        if (!ap || !sx) s = hart_fail(HART_ENOMEM, "hart_op_qlinear: out of memory");
        else {
            quant_rows_into(x->data, M, K, ap, Kp, sx);
            qgemm_job J = {.M = M, .N = N, .K = K, .Kp = Kp, .A = ap, .w = w, .y = y->data, .sx = sx,
                           .sw = w->scale.data, .bias = bias};
            s = run_qgemm(&J);
        }
        free(ap);
        free(sx);
    }
    free(bias);
    return s;
}
