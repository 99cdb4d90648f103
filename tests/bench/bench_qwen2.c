/* Qwen2 text-encoder throughput at the HART release shape (Qwen2-VL-1.5B:
 * hidden 1536, 12 heads, 2 KV heads, head dim 128, intermediate 8960) with
 * random f32 weights, on one HART prompt: 139 system + 300 prompt tokens.
 * To fit this shared machine it runs HART_BENCH_QWEN2_LAYERS layers (default
 * 1 of the model's 28) and a 4096-entry embedding table (the lookup cost does
 * not depend on the vocabulary size); the full-model time is extrapolated
 * per layer and printed as an estimate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "models/qwen2.h"
#include "support/golden.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static unsigned seed = 1;

static hart_status rnd(hart_backend *be, hart_tensor *t, int nd, int64_t a, int64_t b, float lo, float hi) {
    hart_tensor h;
    HART_TRY(hart_tensor_new4(NULL, HART_F32, &h, nd, a, b, 0, 0));
    fill_random((float *)h.data, hart_tensor_numel(&h), seed++, lo, hi);
    hart_status s = hart_tensor_to(be, &h, t);
    hart_tensor_free(&h);
    return s;
}

int main(void) {
    const char *env = getenv("HART_BENCH_QWEN2_LAYERS");
    int layers = env ? atoi(env) : 1;
    if (layers < 1 || layers > 28) { fprintf(stderr, "HART_BENCH_QWEN2_LAYERS must be 1..28\n"); return 2; }
    hart_backend *be = hart_backend_cpu();
    hart_qwen2 m;
    memset(&m, 0, sizeof m);
    m.vocab = 4096; m.hidden = 1536; m.n_layers = layers; m.n_heads = 12; m.n_kv_heads = 2; m.head_dim = 128;
    m.inter = 8960; m.rope_theta = 1e6; m.eps = 1e-6; m.be = be;
    const int64_t D = m.hidden, Q = 12 * 128, KV = 2 * 128, I = m.inter;
    const float w = 0.02f;
    hart_status s = rnd(be, &m.embed, 2, m.vocab, D, -1, 1);
    if (!s) s = rnd(be, &m.norm, 1, D, 0, 0.9f, 1.1f);
    m.layers = calloc((size_t)layers, sizeof *m.layers);
    for (int i = 0; !s && i < layers; i++) {
        hart_qwen2_layer *l = &m.layers[i];
        s = rnd(be, &l->in_norm, 1, D, 0, 0.9f, 1.1f);
        if (!s) s = rnd(be, &l->post_norm, 1, D, 0, 0.9f, 1.1f);
        if (!s) s = rnd(be, &l->q_w, 2, Q, D, -w, w);
        if (!s) s = rnd(be, &l->k_w, 2, KV, D, -w, w);
        if (!s) s = rnd(be, &l->v_w, 2, KV, D, -w, w);
        if (!s) s = rnd(be, &l->o_w, 2, D, Q, -w, w);
        if (!s) s = rnd(be, &l->q_b, 1, Q, 0, -w, w);
        if (!s) s = rnd(be, &l->k_b, 1, KV, 0, -w, w);
        if (!s) s = rnd(be, &l->v_b, 1, KV, 0, -w, w);
        if (!s) s = rnd(be, &l->gate_w, 2, I, D, -w, w);
        if (!s) s = rnd(be, &l->up_w, 2, I, D, -w, w);
        if (!s) s = rnd(be, &l->down_w, 2, D, I, -w, w);
    }
    if (s) { fprintf(stderr, "%s\n", hart_errmsg()); return 1; }
    const int64_t B = 1, L = 139 + 300;
    int64_t *ids = malloc(sizeof *ids * B * L);
    uint8_t *mask = malloc((size_t)(B * L));
    for (int64_t i = 0; i < B * L; i++) { ids[i] = (i * 7919) % m.vocab; mask[i] = i < 139 + 20; }
    hart_tensor out;
    if (hart_tensor_new4(be, HART_F32, &out, 3, B, L, D, 0)) { fprintf(stderr, "%s\n", hart_errmsg()); return 1; }
    double best = 1e30;
    for (int rep = 0; rep < 1; rep++) {
        double t0 = now();
        if (hart_qwen2_forward(&m, ids, mask, B, L, &out, NULL)) { fprintf(stderr, "%s\n", hart_errmsg()); return 1; }
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    printf("qwen2 1.5B shape (%s), %d of 28 layers, %lld tokens: %.3f s -> %.0f tokens/s\n", be->name, layers,
           (long long)(B * L), best, (double)(B * L) / best);
    printf("qwen2 1.5B shape, 28 layers (estimate from %d): %.2f s per prompt -> %.0f tokens/s\n", layers,
           best * 28.0 / layers, (double)(B * L) / (best * 28.0 / layers));
    free(ids);
    free(mask);
    hart_tensor_free(&out);
    hart_qwen2_free(&m);
    return 0;
}
