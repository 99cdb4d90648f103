/* Qwen2 text-encoder throughput at HART's release shape: the language model
 * of Qwen2-VL-1.5B-Instruct (= Qwen2-1.5B: hidden 1536, 28 layers, 12 heads,
 * 2 KV heads, head dim 128, intermediate 8960, vocab 151936, rope theta 1e6,
 * RMSNorm eps 1e-6), random weights, one forward pass over HART's prompt
 * form: 139 system-prompt tokens (HART's system prompt under the Qwen2
 * tokenizer) + 300 prompt positions (max_len; 20 real tokens, the rest
 * padding, as for a short prompt; padded positions cost the same).
 *
 * usage: bench_qwen2 [--device SPEC] [--layers N] [--batch B] [--reps R]
 *                    [--dtype bf16|f16|f32] [--vocab V]
 *   --device  cpu | opencl | opencl:P | opencl:P:D (default $HART_DEVICE, else cpu)
 *   --layers  layers built and timed (default 2, or $HART_BENCH_QWEN2_LAYERS;
 *             28 = the whole model). With
 *             N < 28 the whole-model time is extrapolated per layer (the
 *             embedding lookup and final norm are negligible next to one
 *             layer) and printed as an estimate.
 *   --batch   prompts per forward pass (default 1)
 *   --reps    timed passes after one untimed warm-up pass (default 2; the
 *             best is reported)
 *   --dtype   weight storage type (default bf16, the release checkpoint's);
 *             activations are f32 on every backend
 *   --vocab   embedding rows (default 151936)
 * The default run takes well under a minute on a 2-core machine. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "models/qwen2/qwen2.h"

#define SYS_TOKENS 139
#define PROMPT_LEN 300
#define PROMPT_REAL 20
#define FULL_LAYERS 28

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t g_rs = 0x2545F4914F6CDD1Dull;

/* Uniform [lo, hi) host tensor of dtype dt, uploaded to be. */
static hart_status rnd(hart_backend *be, hart_dtype dt, hart_tensor *t, int nd, int64_t a, int64_t b, float lo,
                       float hi) {
    hart_tensor h;
    HART_TRY(hart_tensor_new4(NULL, dt, &h, nd, a, b, 0, 0));
    int64_t n = hart_tensor_numel(&h);
    uint64_t s = g_rs;
    for (int64_t i = 0; i < n; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        float v = lo + (hi - lo) * (float)((s >> 40) * (1.0 / 16777216.0));
        if (dt == HART_F32) ((float *)h.data)[i] = v;
        else if (dt == HART_BF16) ((uint16_t *)h.data)[i] = hart_f32_to_bf16(v);
        else ((uint16_t *)h.data)[i] = hart_f32_to_f16(v);
    }
    g_rs = s;
    hart_status st = hart_tensor_to(be, &h, t);
    hart_tensor_free(&h);
    return st;
}

static void usage(void) {
    fprintf(stderr, "usage: bench_qwen2 [--device cpu|opencl[:P[:D]]] [--layers 1..28] [--batch B] [--reps R]\n"
                    "                   [--dtype bf16|f16|f32] [--vocab V]\n");
}

static int arg_int(const char *flag, const char *v, int lo, int hi, int *out) {
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || x < lo || x > hi) {
        fprintf(stderr, "bench_qwen2: %s needs an integer in %d..%d (got '%s')\n", flag, lo, hi, v ? v : "");
        return 0;
    }
    *out = (int)x;
    return 1;
}

int main(int argc, char **argv) {
    const char *dev = NULL, *dts = "bf16", *prec_s = NULL;
    int layers = 2, batch = 1, reps = 2, vocab = 151936;
    const char *env_layers = getenv("HART_BENCH_QWEN2_LAYERS"); /* older interface, still honoured */
    if (env_layers && *env_layers && !arg_int("HART_BENCH_QWEN2_LAYERS", env_layers, 1, FULL_LAYERS, &layers)) return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1;
        if (!strcmp(a, "--device") && v) dev = v;
        else if (!strcmp(a, "--dtype") && v) dts = v;
        else if (!strcmp(a, "--precision") && v) prec_s = v;
        else if (!strcmp(a, "--layers")) ok = arg_int(a, v, 1, FULL_LAYERS, &layers);
        else if (!strcmp(a, "--batch")) ok = arg_int(a, v, 1, 64, &batch);
        else if (!strcmp(a, "--reps")) ok = arg_int(a, v, 1, 100, &reps);
        else if (!strcmp(a, "--vocab")) ok = arg_int(a, v, 1, 1 << 20, &vocab);
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(); return 0; }
        else { fprintf(stderr, "bench_qwen2: unknown or incomplete argument '%s'\n", a); usage(); return 2; }
        if (!ok) return 2;
        i++;
    }
    hart_dtype dt;
    if (!strcmp(dts, "bf16")) dt = HART_BF16;
    else if (!strcmp(dts, "f16")) dt = HART_F16;
    else if (!strcmp(dts, "f32")) dt = HART_F32;
    else { fprintf(stderr, "bench_qwen2: --dtype must be bf16, f16 or f32 (got '%s')\n", dts); return 2; }

    hart_backend *be = NULL;
    hart_precision prec;
    if (hart_precision_parse(prec_s, &prec)) { fprintf(stderr, "%s: --precision: %s\n", argv[0], hart_errmsg()); return 2; }
    char why[768] = "";
    if (hart_backend_open_prec(dev, prec, &be, why, sizeof why)) { fprintf(stderr, "bench_qwen2: %s\n", hart_errmsg()); return 1; }
    printf("bench_qwen2: precision %s\n", hart_precision_name(be->precision));

    hart_qwen2 m;
    memset(&m, 0, sizeof m);
    m.vocab = vocab; m.hidden = 1536; m.n_layers = layers; m.n_heads = 12; m.n_kv_heads = 2; m.head_dim = 128;
    m.inter = 8960; m.rope_theta = 1e6; m.eps = 1e-6; m.be = be;
    const int64_t D = m.hidden, Q = m.n_heads * m.head_dim, KV = m.n_kv_heads * m.head_dim, I = m.inter;
    const float w = 0.02f;
    double t0 = now();
    hart_status s = rnd(be, dt, &m.embed, 2, m.vocab, D, -0.05f, 0.05f);
    if (!s) s = rnd(be, HART_F32, &m.norm, 1, D, 0, 0.9f, 1.1f);
    m.layers = calloc((size_t)layers, sizeof *m.layers);
    if (!m.layers) s = hart_fail(HART_ENOMEM, "bench_qwen2: out of memory");
    for (int i = 0; !s && i < layers; i++) {
        hart_qwen2_layer *l = &m.layers[i];
        s = rnd(be, HART_F32, &l->in_norm, 1, D, 0, 0.9f, 1.1f);
        if (!s) s = rnd(be, HART_F32, &l->post_norm, 1, D, 0, 0.9f, 1.1f);
        if (!s) s = rnd(be, dt, &l->q_w, 2, Q, D, -w, w);
        if (!s) s = rnd(be, dt, &l->k_w, 2, KV, D, -w, w);
        if (!s) s = rnd(be, dt, &l->v_w, 2, KV, D, -w, w);
        if (!s) s = rnd(be, dt, &l->o_w, 2, D, Q, -w, w);
        if (!s) s = rnd(be, HART_F32, &l->q_b, 1, Q, 0, -w, w);
        if (!s) s = rnd(be, HART_F32, &l->k_b, 1, KV, 0, -w, w);
        if (!s) s = rnd(be, HART_F32, &l->v_b, 1, KV, 0, -w, w);
        if (!s) s = rnd(be, dt, &l->gate_w, 2, I, D, -w, w);
        if (!s) s = rnd(be, dt, &l->up_w, 2, I, D, -w, w);
        if (!s) s = rnd(be, dt, &l->down_w, 2, D, I, -w, w);
    }
    if (s) { fprintf(stderr, "bench_qwen2: building the model: %s\n", hart_errmsg()); return 1; }
    double t_build = now() - t0;

    const int64_t B = batch, L = SYS_TOKENS + PROMPT_LEN;
    int64_t *ids = malloc(sizeof *ids * (size_t)(B * L));
    uint8_t *mask = malloc((size_t)(B * L));
    hart_tensor out;
    if (!ids || !mask || hart_tensor_new4(be, HART_F32, &out, 3, B, L, D, 0)) {
        fprintf(stderr, "bench_qwen2: out of memory for the activations\n");
        return 1;
    }
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < L; t++) {
            ids[b * L + t] = (b * L + t) * 7919 % m.vocab;
            mask[b * L + t] = t < SYS_TOKENS + PROMPT_REAL;
        }
    printf("qwen2 text encoder, Qwen2-1.5B shape (hidden 1536, 12/2 heads, intermediate 8960, vocab %d), "
           "%s weights, random\n", vocab, hart_dtype_name(dt));
    printf("backend: %s\n", be->name);
    printf("input: batch %lld x %lld tokens (%d system + %d prompt positions); %d of %d layers built in %.1f s\n",
           (long long)B, (long long)L, SYS_TOKENS, PROMPT_LEN, layers, FULL_LAYERS, t_build);
    double best = 1e30, first = 0;
    for (int rep = 0; rep <= reps; rep++) {
        double a = now();
        s = hart_qwen2_forward(&m, ids, mask, B, L, &out, NULL);
        /* the time includes the device finishing its queue */
        if (!s && be->vt->sync) s = be->vt->sync(be);
        double dt_s = now() - a;
        if (s) { fprintf(stderr, "bench_qwen2: forward: %s\n", hart_errmsg()); return 1; }
        if (rep == 0) first = dt_s;
        else if (dt_s < best) best = dt_s;
    }
    const double tokens = (double)(B * L);
    /* multiply-adds per token and layer in the projections (q, k, v, o, gate, up, down) */
    const double macs = (double)(D * Q + 2 * D * KV + Q * D + 3 * D * I);
    const double gflop = 2.0 * macs * tokens * layers * 1e-9;
    printf("warm-up pass (kernel build / weight conversion included): %.3f s\n", first);
    printf("measured, %d layer%s: %.3f s per pass (best of %d) -> %.0f tokens/s, %.1f ms per layer, "
           "%.0f GFLOP/s in the projections\n", layers, layers > 1 ? "s" : "", best, reps, tokens / best,
           1e3 * best / layers, gflop / best);
    if (layers == FULL_LAYERS)
        printf("full model, 28 layers (measured): %.3f s per pass -> %.0f tokens/s\n", best, tokens / best);
    else
        printf("full model, 28 layers (ESTIMATE extrapolated from %d): %.3f s per pass -> %.0f tokens/s\n", layers,
               best * FULL_LAYERS / layers, tokens / (best * FULL_LAYERS / layers));
    free(ids);
    free(mask);
    hart_tensor_free(&out);
    hart_qwen2_free(&m);
    hart_backend_close(be);
    return 0;
}
