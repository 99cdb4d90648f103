/* LPD inference steps: step inputs, pre-norm ViT blocks with the KV cache
 * in generation order, block-causal attention, final norm and head. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/lpd/lpd_internal.h"
#include "ops/ops.h"

void hart_lpd_block_mask(const int *g, int K, uint8_t *mask) {
    int n = 1;
    for (int i = 0; i < K; i++) n += g[i];
    memset(mask, 0, (size_t)n * n);
    int start = 0;
    for (int b = -1; b < K; b++) { /* block -1 is the class token */
        int end = start + (b < 0 ? 1 : g[b]);
        for (int r = start; r < end; r++) memset(mask + (size_t)r * n, 1, (size_t)end);
        start = end;
    }
}

hart_status hart_lpd_begin(hart_lpd *m, int B, const int64_t *labels, const int64_t *orders, const int *g, int K,
                           int guided) {
    const hart_lpd_config *c = &m->cfg;
    if (B < 1 || K < 1 || K > LPD_MAX_STEPS) return hart_fail(HART_EINVAL, "lpd: batch %d / %d steps out of range", B, K);
    int sum = 0;
    for (int i = 0; i < K; i++) {
        if (g[i] < 1) return hart_fail(HART_EINVAL, "lpd: group size %d of step %d must be >= 1", g[i], i);
        sum += g[i];
        if (sum > c->N) break;
    }
    if (sum != c->N) return hart_fail(HART_EINVAL, "lpd: the group sizes add up to %d, the model has %d tokens", sum, c->N);
    for (int b = 0; b < B; b++) {
        if (labels[b] < 0 || labels[b] >= c->n_classes)
            return hart_fail(HART_EINVAL, "lpd: class %lld out of range (the model has %d classes)", (long long)labels[b], c->n_classes);
        uint8_t *seen = calloc((size_t)c->N, 1);
        if (!seen) return hart_fail(HART_ENOMEM, "out of memory");
        for (int k = 0; k < c->N; k++) {
            int64_t o = orders[(size_t)b * c->N + k];
            if (o < 0 || o >= c->N || seen[o]) { free(seen); return hart_fail(HART_EINVAL, "lpd: order of image %d is not a permutation of 0..%d", b, c->N - 1); }
            seen[o] = 1;
        }
        free(seen);
    }
    free(m->labels); free(m->orders); free(m->g); free(m->cs);
    m->labels = malloc(sizeof(int64_t) * (size_t)B);
    m->orders = malloc(sizeof(int64_t) * (size_t)B * c->N);
    m->g = malloc(sizeof(int) * (size_t)K);
    m->cs = malloc(sizeof(int) * (size_t)(K + 2));
    if (!m->labels || !m->orders || !m->g || !m->cs) return hart_fail(HART_ENOMEM, "out of memory");
    memcpy(m->labels, labels, sizeof(int64_t) * (size_t)B);
    memcpy(m->orders, orders, sizeof(int64_t) * (size_t)B * c->N);
    memcpy(m->g, g, sizeof(int) * (size_t)K);
    m->cs[0] = 0;
    m->cs[1] = 1;
    for (int i = 0; i < K; i++) m->cs[i + 2] = m->cs[i + 1] + g[i];
    int R = guided ? 2 * B : B;
    if (m->R != R) { /* (re)allocate the caches */
        for (int l = 0; l < c->depth; l++) {
            hart_tensor_free(&m->blocks[l].kc);
            hart_tensor_free(&m->blocks[l].vc);
            HART_TRY(hart_tensor_new4(m->be, HART_F32, &m->blocks[l].kc, 4, R, c->H, c->N + 1, c->hd));
            HART_TRY(hart_tensor_new4(m->be, HART_F32, &m->blocks[l].vc, 4, R, c->H, c->N + 1, c->hd));
        }
    }
    m->B = B, m->R = R, m->K = K, m->guided = guided;
    return HART_OK;
}

/* Embedding + position of cache slot `slot` (0 = class) for row r. */
static void slot_input(const hart_lpd *m, int r, int slot, int is_query, int64_t token, double *out) {
    const hart_lpd_config *c = &m->cfg;
    int b = r % m->B, D = c->D;
    const float *e;
    if (is_query) e = m->mask_token;
    else if (slot == 0) e = r < m->B ? m->class_emb + (size_t)m->labels[b] * D : m->fake_latent;
    else e = m->token_emb + (size_t)token * D;
    int64_t pos = slot == 0 ? 0 : 1 + m->orders[(size_t)b * c->N + slot - 1];
    const float *p = m->pos_embed + (size_t)pos * D;
    for (int j = 0; j < D; j++) out[j] = (double)e[j] + (double)p[j];
}

static hart_status tnew(hart_lpd *m, hart_tensor *t, int nd, int64_t a, int64_t b, int64_t c, int64_t d) {
    return hart_tensor_new4(m->be, HART_F32, t, nd, a, b, c, d);
}

static hart_status block_fwd(hart_lpd *m, lpd_block *bk, hart_tensor *x, int i, const hart_tensor *mask) {
    const hart_lpd_config *c = &m->cfg;
    int R = m->R, n = m->cs[i + 2] - m->cs[i], D = c->D, H = c->H, hd = c->hd, Lk = m->cs[i + 2];
    hart_status st = HART_OK;
    hart_tensor xn = {0}, q = {0}, k = {0}, v = {0}, qT = {0}, kT = {0}, vT = {0}, ka = {0}, va = {0}, o = {0},
                oT = {0}, a = {0}, h1 = {0}, view;
    int perm[4] = {0, 2, 1, 3};
    HART_TRY_GOTO(st, tnew(m, &xn, 3, R, n, D, 0));
    HART_TRY_GOTO(st, hart_op_layer_norm(&xn, x, &bk->n1w, &bk->n1b, c->eps));
    HART_TRY_GOTO(st, tnew(m, &q, 3, R, n, D, 0));
    HART_TRY_GOTO(st, tnew(m, &k, 3, R, n, D, 0));
    HART_TRY_GOTO(st, tnew(m, &v, 3, R, n, D, 0));
    HART_TRY_GOTO(st, hart_op_linear(&q, &xn, &bk->wq, &bk->bq));
    HART_TRY_GOTO(st, hart_op_linear(&k, &xn, &bk->wk, &bk->bk));
    HART_TRY_GOTO(st, hart_op_linear(&v, &xn, &bk->wv, &bk->bv));
    HART_TRY_GOTO(st, tnew(m, &qT, 4, R, H, n, hd));
    HART_TRY_GOTO(st, tnew(m, &kT, 4, R, H, n, hd));
    HART_TRY_GOTO(st, tnew(m, &vT, 4, R, H, n, hd));
    HART_TRY_GOTO(st, hart_tensor_reshape(&q, 4, (int64_t[]){R, n, H, hd}, &view)); HART_TRY_GOTO(st, hart_op_transpose(&qT, &view, perm));
    HART_TRY_GOTO(st, hart_tensor_reshape(&k, 4, (int64_t[]){R, n, H, hd}, &view)); HART_TRY_GOTO(st, hart_op_transpose(&kT, &view, perm));
    HART_TRY_GOTO(st, hart_tensor_reshape(&v, 4, (int64_t[]){R, n, H, hd}, &view)); HART_TRY_GOTO(st, hart_op_transpose(&vT, &view, perm));
    /* the previous group lands on its own slots, the queries on the slots of
     * the tokens they predict (overwritten by those tokens next step) */
    HART_TRY_GOTO(st, hart_op_slice_assign(&bk->kc, &kT, 2, m->cs[i]));
    HART_TRY_GOTO(st, hart_op_slice_assign(&bk->vc, &vT, 2, m->cs[i]));
    HART_TRY_GOTO(st, tnew(m, &ka, 4, R, H, Lk, hd));
    HART_TRY_GOTO(st, tnew(m, &va, 4, R, H, Lk, hd));
    HART_TRY_GOTO(st, hart_op_slice(&ka, &bk->kc, 2, 0));
    HART_TRY_GOTO(st, hart_op_slice(&va, &bk->vc, 2, 0));
    HART_TRY_GOTO(st, tnew(m, &o, 4, R, H, n, hd));
    HART_TRY_GOTO(st, hart_op_attention(&o, &qT, &ka, &va, mask, (float)(1.0 / sqrt((double)hd))));
    HART_TRY_GOTO(st, tnew(m, &oT, 4, R, n, H, hd));
    HART_TRY_GOTO(st, hart_op_transpose(&oT, &o, perm));
    HART_TRY_GOTO(st, hart_tensor_reshape(&oT, 3, (int64_t[]){R, n, D}, &view));
    HART_TRY_GOTO(st, tnew(m, &a, 3, R, n, D, 0));
    HART_TRY_GOTO(st, hart_op_linear(&a, &view, &bk->projw, &bk->projb));
    HART_TRY_GOTO(st, hart_op_binary(x, x, &a, HART_BIN_ADD));
    HART_TRY_GOTO(st, hart_op_layer_norm(&xn, x, &bk->n2w, &bk->n2b, c->eps));
    HART_TRY_GOTO(st, tnew(m, &h1, 3, R, n, c->mlp, 0));
    HART_TRY_GOTO(st, hart_op_linear(&h1, &xn, &bk->fc1w, &bk->fc1b));
    HART_TRY_GOTO(st, hart_op_act(&h1, &h1, HART_ACT_GELU_ERF));
    HART_TRY_GOTO(st, hart_op_linear(&a, &h1, &bk->fc2w, &bk->fc2b));
    HART_TRY_GOTO(st, hart_op_binary(x, x, &a, HART_BIN_ADD));
done: {
    hart_tensor *ts[] = {&xn, &q, &k, &v, &qT, &kT, &vT, &ka, &va, &o, &oT, &a, &h1};
    for (size_t j = 0; j < sizeof ts / sizeof ts[0]; j++) hart_tensor_free(ts[j]);
}
    return st;
}

hart_status hart_lpd_step(hart_lpd *m, int i, const int64_t *prev, hart_tensor *x_out, hart_tensor *logits) {
    const hart_lpd_config *c = &m->cfg;
    if (!m->R || i < 0 || i >= m->K) return hart_fail(HART_EINVAL, "lpd: step %d outside the %d steps of the batch", i, m->K);
    if (i > 0 && !prev) return hart_fail(HART_EINVAL, "lpd: step %d needs the tokens of step %d", i, i - 1);
    int R = m->R, B = m->B, D = c->D, gi = m->g[i], gp = i ? m->g[i - 1] : 1, n = gp + gi, Lk = m->cs[i + 2];
    if (logits->ndim != 3 || logits->shape[0] != R || logits->shape[1] != gi || logits->shape[2] != c->V)
        return hart_fail(HART_EINVAL, "lpd: logits of step %d must be [%d,%d,%d]", i, R, gi, c->V);
    for (int j = 0; i > 0 && j < B * gp; j++)
        if (prev[j] < 0 || prev[j] >= c->V) return hart_fail(HART_EINVAL, "lpd: token %lld out of the vocabulary (%d)", (long long)prev[j], c->V);
    hart_status st = HART_OK;
    hart_tensor x = {0}, xn = {0}, mask = {0}, last = {0};
    double *in = malloc(sizeof(double) * (size_t)R * n * D);
    float *mk = malloc(sizeof(float) * (size_t)n * Lk);
    if (!in || !mk) HART_TRY_GOTO(st, hart_fail(HART_ENOMEM, "out of memory"));
    for (int r = 0; r < R; r++)
        for (int t = 0; t < n; t++) {
            int slot = m->cs[i] + t, query = t >= gp;
            int64_t tok = !query && i > 0 ? prev[(size_t)(r % B) * gp + t] : 0;
            slot_input(m, r, slot, query, tok, in + ((size_t)r * n + t) * D);
        }
    /* rows cs[i]..cs[i+2]-1 of the block-causal mask: row of block b sees
     * every slot up to the end of block b */
    for (int t = 0; t < n; t++) {
        int end = t < gp ? m->cs[i + 1] : m->cs[i + 2];
        for (int s = 0; s < Lk; s++) mk[(size_t)t * Lk + s] = s < end ? 0.0f : -INFINITY;
    }
    HART_TRY_GOTO(st, tnew(m, &x, 3, R, n, D, 0));
    HART_TRY_GOTO(st, tnew(m, &xn, 3, R, n, D, 0));
    HART_TRY_GOTO(st, hart_tensor_write_f64(&xn, in));
    HART_TRY_GOTO(st, hart_op_layer_norm(&x, &xn, &m->lnzw, &m->lnzb, c->eps));
    if (x_out) HART_TRY_GOTO(st, hart_op_copy(x_out, &x));
    HART_TRY_GOTO(st, tnew(m, &mask, 4, 1, 1, n, Lk));
    HART_TRY_GOTO(st, hart_tensor_write(&mask, mk, sizeof(float) * (size_t)n * Lk));
    for (int l = 0; l < c->depth; l++) HART_TRY_GOTO(st, block_fwd(m, &m->blocks[l], &x, i, &mask));
    HART_TRY_GOTO(st, hart_op_layer_norm(&xn, &x, &m->normw, &m->normb, c->eps));
    HART_TRY_GOTO(st, tnew(m, &last, 3, R, gi, D, 0));
    HART_TRY_GOTO(st, hart_op_slice(&last, &xn, 1, gp));
    HART_TRY_GOTO(st, hart_op_linear(logits, &last, &m->headw, NULL));
done:
    free(in);
    free(mk);
    hart_tensor_free(&x);
    hart_tensor_free(&xn);
    hart_tensor_free(&mask);
    hart_tensor_free(&last);
    return st;
}
