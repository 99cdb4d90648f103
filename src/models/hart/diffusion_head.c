/* Diffusion head: SimpleMLPAdaLN denoiser (ops) + iDDPM sampler (host math,
 * schedule in double precision, values taken as float32 like the reference). */
#include "models/hart/diffusion_head.h"
#include "ops/ops.h"
#include "quant/qload.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE_STEPS 1000
#define FREQ_DIM 256
#define VAE_SCALE 0.6f

/* Timestep-embedding frequencies exp(-ln(10000)·i/128), i = 0..127, as the
 * reference computes them: float32 on the CPU with PyTorch's vectorised exp
 * (obtained by running that expression). They equal the correctly rounded
 * expf of the same float32 argument except at i = 13, 44, 119 (one ulp
 * higher). The sampler is this sensitive: the argument is t·freq with t up
 * to 999 and the first steps scale eps by √(1/ᾱ−1) (hundreds), so using
 * expf instead moves gen.diff.out by ~5e-5 (relative) on the golden set. */
static const float TIME_FREQS[FREQ_DIM / 2] = {
    0x1p+0f, 0x1.dc73fp-1f, 0x1.bb5facp-1f, 0x1.9c9758p-1f,
    0x1.7ff222p-1f, 0x1.654a0cp-1f, 0x1.4c7bcp-1f, 0x1.356656p-1f,
    0x1.1feb34p-1f, 0x1.0beddcp-1f, 0x1.f2a79cp-2f, 0x1.d008cp-2f,
    0x1.afd134p-2f, 0x1.91d648p-2f, 0x1.75f036p-2f, 0x1.5bf9fep-2f,
    0x1.43d136p-2f, 0x1.2d55d4p-2f, 0x1.186a06p-2f, 0x1.04f21p-2f,
    0x1.e5a844p-3f, 0x1.c3f06cp-3f, 0x1.a48fdap-3f, 0x1.875cf8p-3f,
    0x1.6c310ep-3f, 0x1.52e812p-3f, 0x1.3b607ep-3f, 0x1.257b2p-3f,
    0x1.111aeep-3f, 0x1.fc49bep-4f, 0x1.d8ffaap-4f, 0x1.b828c8p-4f,
    0x1.999998p-4f, 0x1.7d298ep-4f, 0x1.62b2fp-4f, 0x1.4a12aep-4f,
    0x1.33281ap-4f, 0x1.1dd4d8p-4f, 0x1.09fc98p-4f, 0x1.ef0a22p-5f,
    0x1.ccab82p-5f, 0x1.acafc6p-5f, 0x1.8eec8p-5f, 0x1.733a3p-5f,
    0x1.59742cp-5f, 0x1.417836p-5f, 0x1.2b269p-5f, 0x1.166196p-5f,
    0x1.030dc4p-5f, 0x1.e222eep-6f, 0x1.c0a9a2p-6f, 0x1.a1835p-6f,
    0x1.84869cp-6f, 0x1.698d22p-6f, 0x1.507312p-6f, 0x1.39172cp-6f,
    0x1.235a72p-6f, 0x1.0f2012p-6f, 0x1.f89a6p-7f, 0x1.d591ccp-7f,
    0x1.b4f7e2p-7f, 0x1.96a16ap-7f, 0x1.7a661cp-7f, 0x1.6020ap-7f,
    0x1.47ae14p-7f, 0x1.30ee0cp-7f, 0x1.1bc25cp-7f, 0x1.080eeep-7f,
    0x1.eb735ap-8f, 0x1.c9548ap-8f, 0x1.a9942ap-8f, 0x1.8c0814p-8f,
    0x1.708934p-8f, 0x1.56f304p-8f, 0x1.3f2398p-8f, 0x1.28fb5ep-8f,
    0x1.145ceap-8f, 0x1.012cf8p-8f, 0x1.dea41ap-9f, 0x1.bd68f4p-9f,
    0x1.9e7c66p-9f, 0x1.81b584p-9f, 0x1.66ee1ap-9f, 0x1.4e02a6p-9f,
    0x1.36d21ap-9f, 0x1.213dbp-9f, 0x1.0d28dap-9f, 0x1.f4f1ep-10f,
    0x1.d22a5p-10f, 0x1.b1cceap-10f, 0x1.93aeb2p-10f, 0x1.77a7d6p-10f,
    0x1.5d931cp-10f, 0x1.454deep-10f, 0x1.2eb816p-10f, 0x1.19b3b2p-10f,
    0x1.0624dcp-10f, 0x1.e7e344p-11f, 0x1.c603c6p-11f, 0x1.a67e48p-11f,
    0x1.892914p-11f, 0x1.6ddd3ap-11f, 0x1.547688p-11f, 0x1.3cd344p-11f,
    0x1.26d428p-11f, 0x1.125c02p-11f, 0x1.fe9f58p-12f, 0x1.db2bc8p-12f,
    0x1.ba2e42p-12f, 0x1.9b7b26p-12f, 0x1.7ee9acp-12f, 0x1.6453f6p-12f,
    0x1.4b96c2p-12f, 0x1.34914p-12f, 0x1.1f24eap-12f, 0x1.0b3548p-12f,
    0x1.f1501ap-13f, 0x1.cec918p-13f, 0x1.aea7c4p-13f, 0x1.90c18p-13f,
    0x1.74eea6p-13f, 0x1.5b0a54p-13f, 0x1.42f232p-13f, 0x1.2c864cp-13f,
    0x1.17a8dap-13f, 0x1.043e5p-13f, 0x1.e459bap-14f, 0x1.c2b91cp-14f,
};

const float *hart_diff_time_freqs(void) { return TIME_FREQS; }

typedef struct {
    hart_tensor ln_w, ln_b, m0_w, m0_b, m2_w, m2_b, ada_w, ada_b;
} res_block;

struct hart_diffhead {
    hart_backend *be;
    int target, zdim, W, depth;
    hart_tensor t0_w, t0_b, t2_w, t2_b, cond_w, cond_b, in_w, in_b;
    hart_tensor fin_ada_w, fin_ada_b, fin_w, fin_b;
    res_block *blocks;
    /* respaced schedule, K steps */
    int K;
    int *tmap;
    double *sra, *srm1, *c1, *c2, *plvc, *logb;
    hart_tensor temb; /* [K, 256] sinusoidal embedding of each kept timestep, on be (uploaded at load) */
};

static hart_status tnew(hart_backend *be, hart_tensor *t, int nd, int64_t a, int64_t b) {
    return hart_tensor_new4(be, HART_F32, t, nd, a, b, 0, 0);
}

static hart_status dh_getw(hart_diffhead *d, const hart_checkpoint *ck, hart_tensor *dst, int nd, int64_t a,
                        int64_t b, const char *prefix, const char *fmt, int i) {
    char sub[200], name[300];
    snprintf(sub, sizeof sub, fmt, i);
    snprintf(name, sizeof name, "%snet.%s", prefix, sub);
    hart_tensor h;
    HART_TRY(hart_ckpt_get(ck, name, nd, (int64_t[]){a, b}, &h));
    /* every 2-D tensor here is a linear layer's weight */
    hart_status s = nd == 2 ? hart_weight_to(d->be, &h, dst) : hart_tensor_to(d->be, &h, dst);
    hart_ckpt_release(ck, &h);
    return s;
}

/* Linear weight [a, b]: float, quantized in the checkpoint or on load (quant/qload.h). */
static hart_status dh_getlin(hart_diffhead *d, const hart_checkpoint *ck, hart_tensor *dst, int64_t a, int64_t b,
                             const char *prefix, const char *fmt, int i) {
    char sub[200], name[300];
    snprintf(sub, sizeof sub, fmt, i);
    snprintf(name, sizeof name, "%snet.%s", prefix, sub);
    return hart_ckpt_get_linear(ck, d->be, name, a, b, 1, dst);
}

/* space_timesteps(1000, spec): which base steps are kept (flags[1000]). */
static hart_status space_timesteps(const char *spec, int *keep) {
    memset(keep, 0, sizeof(int) * BASE_STEPS);
    if (!strncmp(spec, "ddim", 4)) {
        char *end;
        long want = strtol(spec + 4, &end, 10);
        if (*end || want < 1) return hart_fail(HART_EFORMAT, "num_sampling_steps \"%s\": bad ddim count", spec);
        for (int i = 1; i < BASE_STEPS; i++)
            if ((BASE_STEPS + i - 1) / i == want) {
                for (int s = 0; s < BASE_STEPS; s += i) keep[s] = 1;
                return HART_OK;
            }
        return hart_fail(HART_EFORMAT, "num_sampling_steps \"%s\": cannot make %ld steps with an integer stride", spec, want);
    }
    long counts[BASE_STEPS];
    int nsec = 0;
    const char *p = spec;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || nsec >= BASE_STEPS)
            return hart_fail(HART_EFORMAT, "num_sampling_steps \"%s\" is not a comma-separated list of counts", spec);
        counts[nsec++] = v;
        p = end;
        if (*p == ',') p++;
        else if (*p) return hart_fail(HART_EFORMAT, "num_sampling_steps \"%s\": unexpected '%c'", spec, *p);
    }
    if (!nsec) return hart_fail(HART_EFORMAT, "num_sampling_steps is empty");
    int size_per = BASE_STEPS / nsec, extra = BASE_STEPS % nsec, start = 0;
    for (int i = 0; i < nsec; i++) {
        int size = size_per + (i < extra ? 1 : 0);
        if (size < counts[i])
            return hart_fail(HART_EFORMAT, "num_sampling_steps \"%s\": cannot divide %d steps into %ld", spec, size, counts[i]);
        double stride = counts[i] <= 1 ? 1.0 : (double)(size - 1) / (double)(counts[i] - 1);
        double cur = 0.0;
        for (long k = 0; k < counts[i]; k++) {
            keep[start + (int)nearbyint(cur)] = 1; /* Python round(): half to even */
            cur += stride;
        }
        start += size;
    }
    return HART_OK;
}

hart_status hart_diff_respace(const char *spec, int *timesteps, int max, int *n) {
    int keep[BASE_STEPS];
    HART_TRY(space_timesteps(spec, keep));
    *n = 0;
    for (int i = 0; i < BASE_STEPS; i++)
        if (keep[i]) {
            if (*n < max) timesteps[*n] = i;
            (*n)++;
        }
    return HART_OK;
}

static double alpha_bar(double t) {
    double c = cos((t + 0.008) / 1.008 * M_PI / 2);
    return c * c;
}

static hart_status build_schedule(hart_diffhead *d, const char *spec) {
    int keep[BASE_STEPS];
    HART_TRY(space_timesteps(spec, keep));
    double ac[BASE_STEPS], prod = 1.0;
    for (int i = 0; i < BASE_STEPS; i++) {
        double b = 1 - alpha_bar((double)(i + 1) / BASE_STEPS) / alpha_bar((double)i / BASE_STEPS);
        if (b > 0.999) b = 0.999;
        prod *= 1 - b;
        ac[i] = prod;
    }
    int K = 0;
    for (int i = 0; i < BASE_STEPS; i++) K += keep[i];
    if (K < 2) return hart_fail(HART_EUNSUPPORTED, "num_sampling_steps \"%s\": need at least 2 steps", spec);
    d->K = K;
    d->tmap = calloc((size_t)K, sizeof(int));
    double *mem = calloc((size_t)K * 7, sizeof(double));
    if (!d->tmap || !mem) { free(mem); return hart_fail(HART_ENOMEM, "schedule"); }
    d->sra = mem; d->srm1 = mem + K; d->c1 = mem + 2 * K; d->c2 = mem + 3 * K; d->plvc = mem + 4 * K;
    d->logb = mem + 5 * K;
    double *betas = mem + 6 * K, last = 1.0;
    for (int i = 0, k = 0; i < BASE_STEPS; i++)
        if (keep[i]) {
            betas[k] = 1 - ac[i] / last;
            last = ac[i];
            d->tmap[k++] = i;
        }
    double cp = 1.0, pv[BASE_STEPS];
    for (int k = 0; k < K; k++) {
        double a = 1 - betas[k], prev = cp;
        cp *= a;
        d->sra[k] = sqrt(1.0 / cp);
        d->srm1[k] = sqrt(1.0 / cp - 1);
        pv[k] = betas[k] * (1.0 - prev) / (1.0 - cp);
        d->c1[k] = betas[k] * sqrt(prev) / (1.0 - cp);
        d->c2[k] = (1.0 - prev) * sqrt(a) / (1.0 - cp);
        d->logb[k] = log(betas[k]);
    }
    for (int k = 0; k < K; k++) d->plvc[k] = log(k == 0 ? pv[1] : pv[k]);
    return HART_OK;
}

/* rows of cos/sin(t·freq) (the reference's timestep_embedding, float32) */
static void freq_rows(const float *t, int64_t n, float *buf) {
    int half = FREQ_DIM / 2;
    for (int64_t r = 0; r < n; r++)
        for (int i = 0; i < half; i++) {
            float a = t[r] * TIME_FREQS[i];
            buf[r * FREQ_DIM + i] = cosf(a);
            buf[r * FREQ_DIM + half + i] = sinf(a);
        }
}

/* The embedding input of every kept timestep, uploaded once: the sampler
 * then never writes from the host. */
static hart_status time_table(hart_diffhead *d) {
    float *t = malloc(sizeof(float) * (size_t)d->K), *buf = malloc(sizeof(float) * (size_t)d->K * FREQ_DIM);
    hart_status st = HART_OK;
    if (!t || !buf) st = hart_fail(HART_ENOMEM, "diffusion time table");
    for (int i = 0; !st && i < d->K; i++) t[i] = (float)d->tmap[i];
    if (!st) freq_rows(t, d->K, buf);
    if (!st) st = tnew(d->be, &d->temb, 2, d->K, FREQ_DIM);
    if (!st) st = hart_tensor_write(&d->temb, buf, sizeof(float) * (size_t)d->K * FREQ_DIM);
    free(t);
    free(buf);
    return st;
}

hart_status hart_diff_load(hart_backend *be, const hart_checkpoint *ck, const char *prefix, int target, int zdim,
                           int width, int depth, const char *steps, hart_diffhead **out) {
    *out = NULL;
    if (target < 1 || zdim < 1 || width < 1 || depth < 0)
        return hart_fail(HART_EINVAL, "diffusion head: bad sizes (target %d, z %d, width %d, depth %d)", target, zdim,
                         width, depth);
    hart_diffhead *d = calloc(1, sizeof *d);
    if (!d) return hart_fail(HART_ENOMEM, "diffusion head");
    d->be = be ? be : hart_backend_cpu();
    d->target = target; d->zdim = zdim; d->W = width; d->depth = depth;
    hart_status st = HART_OK;
    int W = width;
    d->blocks = calloc((size_t)(depth ? depth : 1), sizeof *d->blocks);
    if (!d->blocks) HART_TRY_GOTO(st, hart_fail(HART_ENOMEM, "diffusion head"));
    HART_TRY_GOTO(st, dh_getw(d, ck, &d->t0_w, 2, W, FREQ_DIM, prefix, "time_embed.mlp.0.weight", 0));
    HART_TRY_GOTO(st, dh_getw(d, ck, &d->t0_b, 1, W, 0, prefix, "time_embed.mlp.0.bias", 0));
    HART_TRY_GOTO(st, dh_getw(d, ck, &d->t2_w, 2, W, W, prefix, "time_embed.mlp.2.weight", 0));
    HART_TRY_GOTO(st, dh_getw(d, ck, &d->t2_b, 1, W, 0, prefix, "time_embed.mlp.2.bias", 0));
    HART_TRY_GOTO(st, dh_getlin(d, ck, &d->cond_w, W, zdim, prefix, "cond_embed.weight", 0));
    HART_TRY_GOTO(st, dh_getw(d, ck, &d->cond_b, 1, W, 0, prefix, "cond_embed.bias", 0));
    HART_TRY_GOTO(st, dh_getw(d, ck, &d->in_w, 2, W, target, prefix, "input_proj.weight", 0));
    HART_TRY_GOTO(st, dh_getw(d, ck, &d->in_b, 1, W, 0, prefix, "input_proj.bias", 0));
    for (int i = 0; i < depth; i++) {
        res_block *b = &d->blocks[i];
        HART_TRY_GOTO(st, dh_getw(d, ck, &b->ln_w, 1, W, 0, prefix, "res_blocks.%d.in_ln.weight", i));
        HART_TRY_GOTO(st, dh_getw(d, ck, &b->ln_b, 1, W, 0, prefix, "res_blocks.%d.in_ln.bias", i));
        HART_TRY_GOTO(st, dh_getlin(d, ck, &b->m0_w, W, W, prefix, "res_blocks.%d.mlp.0.weight", i));
        HART_TRY_GOTO(st, dh_getw(d, ck, &b->m0_b, 1, W, 0, prefix, "res_blocks.%d.mlp.0.bias", i));
        HART_TRY_GOTO(st, dh_getlin(d, ck, &b->m2_w, W, W, prefix, "res_blocks.%d.mlp.2.weight", i));
        HART_TRY_GOTO(st, dh_getw(d, ck, &b->m2_b, 1, W, 0, prefix, "res_blocks.%d.mlp.2.bias", i));
        HART_TRY_GOTO(st, dh_getlin(d, ck, &b->ada_w, 3 * W, W, prefix, "res_blocks.%d.adaLN_modulation.1.weight", i));
        HART_TRY_GOTO(st, dh_getw(d, ck, &b->ada_b, 1, 3 * W, 0, prefix, "res_blocks.%d.adaLN_modulation.1.bias", i));
    }
    HART_TRY_GOTO(st, dh_getw(d, ck, &d->fin_ada_w, 2, 2 * W, W, prefix, "final_layer.adaLN_modulation.1.weight", 0));
    HART_TRY_GOTO(st, dh_getw(d, ck, &d->fin_ada_b, 1, 2 * W, 0, prefix, "final_layer.adaLN_modulation.1.bias", 0));
    HART_TRY_GOTO(st, dh_getw(d, ck, &d->fin_w, 2, 2 * target, W, prefix, "final_layer.linear.weight", 0));
    HART_TRY_GOTO(st, dh_getw(d, ck, &d->fin_b, 1, 2 * target, 0, prefix, "final_layer.linear.bias", 0));
    HART_TRY_GOTO(st, build_schedule(d, steps));
    HART_TRY_GOTO(st, time_table(d));
    *out = d;
    return HART_OK;
done:
    hart_fail_ctx(st, "diffusion head");
    hart_diff_free(d);
    return st;
}

void hart_diff_free(hart_diffhead *d) {
    if (!d) return;
    for (int i = 0; d->blocks && i < d->depth; i++) {
        res_block *b = &d->blocks[i];
        hart_tensor *ts[] = {&b->ln_w, &b->ln_b, &b->m0_w, &b->m0_b, &b->m2_w, &b->m2_b, &b->ada_w, &b->ada_b};
        for (size_t k = 0; k < 8; k++) hart_tensor_free(ts[k]);
    }
    free(d->blocks);
    hart_tensor *ts[] = {&d->t0_w, &d->t0_b, &d->t2_w, &d->t2_b, &d->cond_w, &d->cond_b, &d->in_w, &d->in_b,
                         &d->fin_ada_w, &d->fin_ada_b, &d->fin_w, &d->fin_b};
    for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) hart_tensor_free(ts[k]);
    hart_tensor_free(&d->temb);
    free(d->tmap);
    free(d->sra);
    free(d);
}

int hart_diff_num_steps(const hart_diffhead *d) { return d->K; }

/* hq = layer_norm(h; w, b)·s1p + shift over rows of W: in f16 mode one
 * norm_mod pass writing the next GEMM's operand (half where the backend takes
 * half activations), else the unfused ops into the f32 hn (hq = hn). */
static hart_status norm_modulate(hart_diffhead *d, hart_tensor *hq, hart_tensor *hn, const hart_tensor *h,
                                 const hart_tensor *w, const hart_tensor *b, const hart_tensor *sc,
                                 const hart_tensor *sh) {
    if (!hq->ndim) {
        HART_TRY(hart_op_layer_norm(hn, h, w, b, 1e-6f));
        HART_TRY(hart_op_binary(hn, hn, sc, HART_BIN_MUL));
        return hart_op_binary(hn, hn, sh, HART_BIN_ADD);
    }
    int64_t n = h->shape[0], W = h->shape[1];
    hart_tensor y3, h3, s3, t3;
    int64_t shp[3] = {n, 1, W};
    HART_TRY(hart_tensor_reshape(hq, 3, shp, &y3));
    HART_TRY(hart_tensor_reshape(h, 3, shp, &h3));
    HART_TRY(hart_tensor_reshape(sc, 3, shp, &s3));
    HART_TRY(hart_tensor_reshape(sh, 3, shp, &t3));
    return hart_op_norm_mod(&y3, &h3, w, b, &s3, &t3, 1e-6f, 0);
}

/* The denoiser on x [n,target] with the frequency rows fr [n,256] of its timesteps. */
static hart_status net_fr(hart_diffhead *d, const hart_tensor *x, const hart_tensor *fr, const hart_tensor *c,
                          hart_tensor *out) {
    int64_t n = x->shape[0];
    int W = d->W;
    hart_status st = HART_OK;
    hart_tensor th = {0}, te = {0}, y = {0}, sy = {0}, h = {0}, hn = {0}, h2 = {0}, ada = {0}, sh = {0}, sc = {0},
                g = {0}, hq = {0};
    if (d->be->precision == HART_PREC_F16) /* the modulated norm in one pass (norm_modulate) */
        HART_TRY_GOTO(st, hart_tensor_new_uninit(d->be, hart_half_activations(d->be) ? HART_F16 : HART_F32, 2,
                                                 (int64_t[]){n, W}, &hq));
    HART_TRY_GOTO(st, tnew(d->be, &th, 2, n, W));
    HART_TRY_GOTO(st, hart_op_linear(&th, fr, &d->t0_w, &d->t0_b));
    HART_TRY_GOTO(st, hart_op_act(&th, &th, HART_ACT_SILU));
    HART_TRY_GOTO(st, tnew(d->be, &te, 2, n, W));
    HART_TRY_GOTO(st, hart_op_linear(&te, &th, &d->t2_w, &d->t2_b));
    HART_TRY_GOTO(st, tnew(d->be, &y, 2, n, W));
    HART_TRY_GOTO(st, hart_op_linear(&y, c, &d->cond_w, &d->cond_b));
    HART_TRY_GOTO(st, hart_op_binary(&y, &te, &y, HART_BIN_ADD));
    HART_TRY_GOTO(st, tnew(d->be, &sy, 2, n, W));
    HART_TRY_GOTO(st, hart_op_act(&sy, &y, HART_ACT_SILU));
    HART_TRY_GOTO(st, tnew(d->be, &h, 2, n, W));
    HART_TRY_GOTO(st, hart_op_linear(&h, x, &d->in_w, &d->in_b));
    HART_TRY_GOTO(st, tnew(d->be, &hn, 2, n, W));
    HART_TRY_GOTO(st, tnew(d->be, &h2, 2, n, W));
    HART_TRY_GOTO(st, tnew(d->be, &sh, 2, n, W));
    HART_TRY_GOTO(st, tnew(d->be, &sc, 2, n, W));
    HART_TRY_GOTO(st, tnew(d->be, &g, 2, n, W));
    for (int i = 0; i < d->depth; i++) {
        res_block *b = &d->blocks[i];
        hart_tensor_free(&ada);
        HART_TRY_GOTO(st, tnew(d->be, &ada, 2, n, 3 * W));
        HART_TRY_GOTO(st, hart_op_linear(&ada, &sy, &b->ada_w, &b->ada_b));
        HART_TRY_GOTO(st, hart_op_slice(&sh, &ada, 1, 0));
        HART_TRY_GOTO(st, hart_op_slice(&sc, &ada, 1, W));
        HART_TRY_GOTO(st, hart_op_slice(&g, &ada, 1, 2 * W));
        HART_TRY_GOTO(st, hart_op_scale(&sc, &sc, 1.0f, 1.0f));
        HART_TRY_GOTO(st, norm_modulate(d, &hq, &hn, &h, &b->ln_w, &b->ln_b, &sc, &sh));
        HART_TRY_GOTO(st, hart_op_linear(&h2, hq.ndim ? &hq : &hn, &b->m0_w, &b->m0_b));
        HART_TRY_GOTO(st, hart_op_act(&h2, &h2, HART_ACT_SILU));
        HART_TRY_GOTO(st, hart_op_linear(&hn, &h2, &b->m2_w, &b->m2_b));
        HART_TRY_GOTO(st, hart_op_binary(&hn, &g, &hn, HART_BIN_MUL));
        HART_TRY_GOTO(st, hart_op_binary(&h, &h, &hn, HART_BIN_ADD));
    }
    hart_tensor_free(&ada);
    HART_TRY_GOTO(st, tnew(d->be, &ada, 2, n, 2 * W));
    HART_TRY_GOTO(st, hart_op_linear(&ada, &sy, &d->fin_ada_w, &d->fin_ada_b));
    HART_TRY_GOTO(st, hart_op_slice(&sh, &ada, 1, 0));
    HART_TRY_GOTO(st, hart_op_slice(&sc, &ada, 1, W));
    HART_TRY_GOTO(st, hart_op_scale(&sc, &sc, 1.0f, 1.0f));
    HART_TRY_GOTO(st, norm_modulate(d, &hq, &hn, &h, NULL, NULL, &sc, &sh));
    HART_TRY_GOTO(st, hart_op_linear(out, hq.ndim ? &hq : &hn, &d->fin_w, &d->fin_b));
done:
    {
        hart_tensor *ts[] = {&th, &te, &y, &sy, &h, &hn, &h2, &ada, &sh, &sc, &g, &hq};
        for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) hart_tensor_free(ts[k]);
    }
    return st;
}

hart_status hart_diff_net(hart_diffhead *d, const hart_tensor *x, const float *t, const hart_tensor *c,
                          hart_tensor *out) {
    int64_t n = x->shape[0];
    if (x->ndim != 2 || x->shape[1] != d->target || c->ndim != 2 || c->shape[0] != n || c->shape[1] != d->zdim ||
        out->ndim != 2 || out->shape[0] != n || out->shape[1] != 2 * d->target)
        return hart_fail(HART_EINVAL, "diffusion net: bad shapes (x [n,%d], c [n,%d], out [n,%d])", d->target, d->zdim,
                         2 * d->target);
    hart_tensor fr = {0};
    float *buf = malloc(sizeof(float) * (size_t)n * FREQ_DIM);
    hart_status st = buf ? HART_OK : hart_fail(HART_ENOMEM, "diffusion net");
    if (!st) freq_rows(t, n, buf);
    if (!st) st = tnew(d->be, &fr, 2, n, FREQ_DIM);
    if (!st) st = hart_tensor_write(&fr, buf, sizeof(float) * (size_t)n * FREQ_DIM);
    if (!st) st = net_fr(d, x, &fr, c, out);
    free(buf);
    hart_tensor_free(&fr);
    return st;
}

/* Device-resident: the state, the model output and the noise stay on the
 * backend; each step is the denoiser plus one ddpm_step op (the float32
 * arithmetic of the reference), nothing is read back. */
hart_status hart_diff_sample(hart_diffhead *d, const hart_tensor *z, double cfg, float temperature,
                             const hart_noise_source *noise, hart_tensor *out) {
    int C = d->target;
    if (z->ndim != 2 || z->shape[1] != d->zdim || z->shape[0] < 1)
        return hart_fail(HART_EINVAL, "diffusion sample: condition must be [n,%d]", d->zdim);
    int64_t n = z->shape[0];
    int guided = cfg != 1.0;
    if (guided && n % 2) return hart_fail(HART_EINVAL, "diffusion sample: guided batch must be even (got %lld)", (long long)n);
    if (out->ndim != 2 || out->shape[0] != n || out->shape[1] != C)
        return hart_fail(HART_EINVAL, "diffusion sample: output must be [%lld,%d]", (long long)n, C);
    if (!noise || !noise->normal) return hart_fail(HART_EINVAL, "diffusion sample: no noise source");
    int64_t h = n / 2;
    hart_status st = HART_OK;
    hart_tensor x = {0}, xt = {0}, mo = {0}, nz = {0}, n0 = {0}, fr = {0}, xh, row;
    HART_TRY_GOTO(st, tnew(d->be, &x, 2, n, C));
    HART_TRY_GOTO(st, tnew(d->be, &nz, 2, n, C));
    HART_TRY_GOTO(st, tnew(d->be, &mo, 2, n, 2 * C));
    if (guided) { /* one draw for the conditional half, shared by the unconditional one */
        HART_TRY_GOTO(st, tnew(d->be, &n0, 2, h, C));
        HART_TRY_GOTO(st, noise->normal(noise->ctx, 0, &n0));
        HART_TRY_GOTO(st, hart_op_slice_assign(&x, &n0, 0, 0));
        HART_TRY_GOTO(st, hart_op_slice_assign(&x, &n0, 0, h));
        HART_TRY_GOTO(st, tnew(d->be, &xt, 2, n, C));
        HART_TRY_GOTO(st, hart_tensor_rows(&x, 0, h, &xh));
    } else {
        HART_TRY_GOTO(st, noise->normal(noise->ctx, 0, &x));
    }
    HART_TRY_GOTO(st, tnew(d->be, &fr, 2, n, FREQ_DIM));
    hart_ddpm_coef k = {.guided = guided, .g1 = (float)(1.0 + cfg), .g0 = (float)cfg, .temperature = temperature};
    for (int i = d->K - 1, draw = 1; i >= 0; i--, draw++) {
        /* model input: guided -> the first half twice */
        if (guided) {
            HART_TRY_GOTO(st, hart_op_slice_assign(&xt, &xh, 0, 0));
            HART_TRY_GOTO(st, hart_op_slice_assign(&xt, &xh, 0, h));
        }
        /* fr = every row the embedding input of timestep i (0 + v is v) */
        HART_TRY_GOTO(st, hart_op_scale(&fr, &fr, 0.0f, 0.0f));
        HART_TRY_GOTO(st, hart_tensor_rows(&d->temb, i, 1, &row));
        HART_TRY_GOTO(st, hart_op_binary(&fr, &fr, &row, HART_BIN_ADD));
        HART_TRY_GOTO(st, net_fr(d, guided ? &xt : &x, &fr, z, &mo));
        HART_TRY_GOTO(st, noise->normal(noise->ctx, draw, &nz));
        k.minl = (float)d->plvc[i]; k.maxl = (float)d->logb[i]; k.sra = (float)d->sra[i]; k.srm1 = (float)d->srm1[i];
        k.c1 = (float)d->c1[i]; k.c2 = (float)d->c2[i]; k.nzm = i != 0 ? 1.0f : 0.0f;
        HART_TRY_GOTO(st, hart_op_ddpm_step(&x, &mo, &nz, &k));
    }
    HART_TRY_GOTO(st, hart_op_scale(out, &x, VAE_SCALE, 0.0f));
done:
    {
        hart_tensor *ts[] = {&x, &xt, &mo, &nz, &n0, &fr};
        for (size_t j = 0; j < sizeof ts / sizeof ts[0]; j++) hart_tensor_free(ts[j]);
    }
    return st;
}
