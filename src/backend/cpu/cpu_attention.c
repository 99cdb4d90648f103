/* CPU fast path of scaled dot-product attention (dense and block-sparse) and RoPE.
 * Attention works on tasks of (batch, head, block of query rows): scores
 * S = scale·Q·Kᵀ by sgemm, + mask, row softmax (all -inf -> zeros), then
 * O = P·V by sgemm. Tasks run in parallel (one serial sgemm each); when
 * there are fewer tasks than threads, hart_cpu_sgemm splits each product. */
#include <omp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_internal.h"

#define QB 64

/* One attention call: dense (blocks NULL, query blocks of QB rows) or
 * block-sparse (query blocks of bq rows, key tiles of bk keys). */
typedef struct {
    const hart_tensor *q, *k, *v, *mask, *blocks;
    float scale, *out;
    int64_t bq, bk, nqb;
} attn_job;

/* Per-thread scratch: scores [bq, Lk], 1/row sums [bq], and (sparse only)
 * the kept keys and values gathered [Lk, D] each. */
typedef struct {
    float *S, *inv, *Kc, *Vc;
} attn_scratch;

/* The kept key tiles of query block `qb` of (b, h) gathered into Kc/Vc;
 * returns how many keys were kept (Lk when every tile is: then K and V are
 * used in place and kp, vp are left alone, so the dense path runs). */
static int64_t gather_kept(const attn_job *j, int64_t b, int64_t h, int64_t qb, const float **kp, const float **vp,
                           attn_scratch *w) {
    const hart_tensor *bl = j->blocks;
    int64_t Lk = j->k->shape[2], D = j->q->shape[3], nkb = bl->shape[3];
    int64_t bb = bl->shape[0] == 1 ? 0 : b, bh = bl->shape[1] == 1 ? 0 : h;
    const uint8_t *row = (const uint8_t *)bl->data + ((bb * bl->shape[1] + bh) * bl->shape[2] + qb) * nkb;
    int all = 1;
    for (int64_t t = 0; t < nkb && all; t++) all = row[t] != 0;
    if (all) return Lk;
    int64_t n = 0;
    for (int64_t t = 0; t < nkb; t++) {
        if (!row[t]) continue;
        int64_t j0 = t * j->bk, w_ = Lk - j0 < j->bk ? Lk - j0 : j->bk;
        memcpy(w->Kc + n * D, *kp + j0 * D, sizeof(float) * (size_t)(w_ * D));
        memcpy(w->Vc + n * D, *vp + j0 * D, sizeof(float) * (size_t)(w_ * D));
        n += w_;
    }
    *kp = w->Kc;
    *vp = w->Vc;
    return n;
}

/* S[i, :n] += the additive mask's entries of the kept keys of row i. */
static void add_mask(const attn_job *j, const float *mrow, const uint8_t *brow, int64_t rows, int64_t n, float *S) {
    int64_t Lk = j->k->shape[2];
    if (n == Lk) {
        for (int64_t i = 0; i < rows * Lk; i++) S[i] += mrow[i];
        return;
    }
    for (int64_t i = 0; i < rows; i++) {
        int64_t c = 0;
        for (int64_t t = 0; t < j->blocks->shape[3]; t++) {
            if (!brow[t]) continue;
            int64_t j0 = t * j->bk, w_ = Lk - j0 < j->bk ? Lk - j0 : j->bk;
            for (int64_t x = 0; x < w_; x++) S[i * n + c + x] += mrow[i * Lk + j0 + x];
            c += w_;
        }
    }
}

static void attn_task(const attn_job *j, int64_t t, attn_scratch *w) {
    const hart_tensor *q = j->q, *k = j->k, *mask = j->mask;
    int64_t H = q->shape[1], Lq = q->shape[2], D = q->shape[3];
    int64_t Hkv = k->shape[1], Lk = k->shape[2], rep = H / Hkv;
    int64_t bh = t / j->nqb, qb = t % j->nqb, i0 = qb * j->bq, rows = Lq - i0 < j->bq ? Lq - i0 : j->bq;
    int64_t b = bh / H, h = bh % H;
    const float *qp = (const float *)q->data + (bh * Lq + i0) * D;
    const float *kp = (const float *)k->data + (b * Hkv + h / rep) * Lk * D;
    const float *vp = (const float *)j->v->data + (b * Hkv + h / rep) * Lk * D;
    float *op = j->out + (bh * Lq + i0) * D, *S = w->S, *inv = w->inv;
    int64_t n = Lk; /* keys attended: all, or those of the kept tiles */
    const uint8_t *brow = NULL;
    if (j->blocks) {
        const hart_tensor *bl = j->blocks;
        int64_t bb = bl->shape[0] == 1 ? 0 : b, bhh = bl->shape[1] == 1 ? 0 : h;
        brow = (const uint8_t *)bl->data + ((bb * bl->shape[1] + bhh) * bl->shape[2] + qb) * bl->shape[3];
        n = gather_kept(j, b, h, qb, &kp, &vp, w);
        if (n == 0) { /* every tile skipped: rows fully masked -> zeros */
            memset(op, 0, sizeof(float) * (size_t)(rows * D));
            return;
        }
    }
    if (D > 0)
        hart_cpu_sgemm(0, 1, rows, n, D, j->scale, qp, D, kp, D, 0.0f, S, n);
    else
        for (int64_t i = 0; i < rows * n; i++) S[i] = 0;
    if (mask) {
        int64_t mb = mask->shape[0] == 1 ? 0 : b, mh = mask->shape[1] == 1 ? 0 : h;
        const float *mrow = (const float *)mask->data + ((mb * mask->shape[1] + mh) * Lq + i0) * Lk;
        add_mask(j, mrow, brow, rows, n, S);
    }
    /* unnormalised weights; the 1/sum goes on the D-wide output rows */
    for (int64_t i = 0; i < rows; i++) {
        float *s = S + i * n, mx = hart_cpu_row_max(s, n);
        if (mx == -INFINITY) { /* fully masked row: zeros */
            memset(s, 0, (size_t)n * sizeof(float));
            inv[i] = 0.0f;
        } else {
            inv[i] = (float)(1.0 / hart_cpu_exp_shift(s, s, n, mx));
        }
    }
    if (D > 0) {
        hart_cpu_sgemm(0, 0, rows, D, n, 1.0f, S, n, vp, D, 0.0f, op, D);
        for (int64_t i = 0; i < rows; i++) hart_cpu_row_scale(op + i * D, D, inv[i]);
    }
}

/* Floats of one thread's scratch. */
static size_t scratch_floats(const attn_job *j) {
    size_t Lk = (size_t)j->k->shape[2], D = (size_t)j->q->shape[3], bq = (size_t)j->bq;
    return bq * Lk + bq + (j->blocks ? 2 * Lk * D : 0);
}

static attn_scratch scratch_at(const attn_job *j, float *base) {
    size_t Lk = (size_t)j->k->shape[2], D = (size_t)j->q->shape[3], bq = (size_t)j->bq;
    attn_scratch w = {base, base + bq * Lk, NULL, NULL};
    if (j->blocks) {
        w.Kc = w.inv + bq;
        w.Vc = w.Kc + Lk * D;
    }
    return w;
}

static hart_status run_job(const char *op, attn_job *j) {
    const hart_tensor *q = j->q;
    int64_t B = q->shape[0], H = q->shape[1], Lq = q->shape[2], D = q->shape[3], Lk = j->k->shape[2];
    float *o = j->out;
    if (B * H * Lq * D == 0) return HART_OK;
    if (Lk == 0) {
        for (int64_t i = 0; i < B * H * Lq * D; i++) o[i] = 0;
        return HART_OK;
    }
    j->nqb = (Lq + j->bq - 1) / j->bq;
    int64_t tasks = B * H * j->nqb;
    int nt = hart_cpu_threads();
    int par = tasks >= nt && nt > 1;
    size_t per = scratch_floats(j);
    float *S = malloc((size_t)(par ? nt : 1) * per * sizeof(float));
    if (!S) return hart_fail(HART_ENOMEM, "%s: out of memory for scores (%lld keys)", op, (long long)Lk);
    if (par) {
#pragma omp parallel num_threads(nt)
        {
            attn_scratch w = scratch_at(j, S + (size_t)omp_get_thread_num() * per);
#pragma omp for schedule(dynamic, 1)
            for (int64_t t = 0; t < tasks; t++) attn_task(j, t, &w);
        }
    } else {
        attn_scratch w = scratch_at(j, S);
        for (int64_t t = 0; t < tasks; t++) attn_task(j, t, &w);
    }
    free(S);
    return HART_OK;
}

hart_status hart_cpu_attention(hart_backend *be, hart_tensor *out, const hart_tensor *q, const hart_tensor *k,
                          const hart_tensor *v, const hart_tensor *mask, float scale) {
    attn_job j = {q, k, v, mask, NULL, scale, out->data, QB, 1, 0};
    return run_job("hart_op_attention", &j);
}

/* Skipped tiles cost nothing: the kept key tiles of a query block are
 * gathered and the block runs the dense code on them (so all tiles kept is
 * the dense path itself, bit for bit when block_q == QB). */
hart_status hart_cpu_attention_sparse(hart_backend *be, hart_tensor *out, const hart_tensor *q, const hart_tensor *k,
                                      const hart_tensor *v, const hart_tensor *mask, const hart_tensor *blocks,
                                      int block_q, int block_k, float scale) {
    attn_job j = {q, k, v, mask, blocks, scale, out->data, block_q, block_k, 0};
    return run_job("hart_op_attention_sparse", &j);
}

hart_status hart_cpu_rope(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *cos_t,
                     const hart_tensor *sin_t, int interleaved) {
    int64_t B = x->shape[0], H = x->shape[1], L = x->shape[2], D = x->shape[3], half = D / 2;
    const float *X = x->data, *C = cos_t->data, *Sn = sin_t->data;
    float *Y = y->data;
    int64_t bc = cos_t->shape[0];
#pragma omp parallel for collapse(2) if (B * H * L * D > CPU_PAR_MIN) schedule(static)
    for (int64_t bh = 0; bh < B * H; bh++)
        for (int64_t l = 0; l < L; l++) {
            int64_t cb = bc == 1 ? 0 : bh / H;
            const float *c = C + (cb * L + l) * half, *s = Sn + (cb * L + l) * half;
            const float *xi = X + (bh * L + l) * D;
            float *yi = Y + (bh * L + l) * D;
            if (interleaved) {
                for (int64_t i = 0; i < half; i++) {
                    float a = xi[2 * i], b2 = xi[2 * i + 1];
                    yi[2 * i] = a * c[i] - b2 * s[i];
                    yi[2 * i + 1] = b2 * c[i] + a * s[i];
                }
            } else {
                for (int64_t i = 0; i < half; i++) {
                    float a = xi[i], b2 = xi[i + half];
                    yi[i] = a * c[i] - b2 * s[i];
                    yi[i + half] = b2 * c[i] + a * s[i];
                }
            }
        }
    return HART_OK;
}
