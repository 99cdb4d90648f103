/* HART generation against the golden run (hart-tiny-a), with the sampled
 * indices and diffusion noise replayed from the golden file.
 * - test_transformer_and_head: model level, fed with the golden next-scale
 *   inputs (independent of the tokenizer): logits after guidance at every
 *   scale, the diffusion condition, the diffusion output, final f_hat.
 * - test_pipeline: the whole t2i pipeline (tokenizer included) in replay
 *   mode: every recorded gen.* tensor. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "models/hart/diffusion_head.h"
#include "models/hart/transformer.h"
#include "models/hart/sampler.h"
#include "pipeline/t2i.h"
#include "support/golden.h"
#include "support/test_backends.h"
#include "support/golden_check.h"
#include "support/test_skip.h"
#include "ops/ops.h"




static void must(hart_status st) {
    if (st != HART_OK) fail_msg("%s", hart_errmsg());
}

typedef struct {
    const hart_safetensors *st;
} replay_ctx;

static hart_status replay_noise(void *ctx, int draw, hart_tensor *out) {
    replay_ctx *r = ctx;
    char nm[64];
    snprintf(nm, sizeof nm, "gen.diff.noise.%d", draw);
    hart_tensor t;
    HART_TRY(hart_st_tensor(r->st, nm, &t));
    if (t.dtype != HART_F32 || hart_tensor_numel(&t) != hart_tensor_numel(out)) return hart_fail(HART_EINVAL, "%s: size mismatch", nm);
    return hart_tensor_write(out, t.data, hart_tensor_nbytes(&t));
}

static test_backends TB;

/* Model level on backend `be`: golden inputs are uploaded to it, results read
 * back for the host-side guidance mix and the comparisons. */
static void run_transformer_and_head(const char *dir, hart_backend *be) {
    char p[1200];
    printf("set %s, backend %s\n", dir, be->name);
    golden_run_begin(be);
    hart_safetensors g;
    snprintf(p, sizeof p, "%s/golden.safetensors", dir);
    must(hart_st_open(p, &g));
    cJSON *gj;
    snprintf(p, sizeof p, "%s/golden.json", dir);
    must(hart_json_load(p, &gj));
    double cfg = (cJSON_IsNumber(cJSON_GetObjectItem(gj, "cfg")) ? cJSON_GetObjectItem(gj, "cfg")->valuedouble : 4.5);
    cJSON_Delete(gj);
    cJSON *tokcfg;
    snprintf(p, sizeof p, "%s/tokenizer/config.json", dir);
    must(hart_json_load(p, &tokcfg));
    int V = cJSON_GetObjectItem(tokcfg, "vocab_size")->valueint;
    int Z = cJSON_GetObjectItem(tokcfg, "z_channels")->valueint;
    cJSON_Delete(tokcfg);
    hart_checkpoint tok;
    snprintf(p, sizeof p, "%s/tokenizer", dir);
    must(hart_ckpt_open(p, "config.json", NULL, &tok));
    hart_tensor codebook;
    must(hart_ckpt_get(&tok, "vae.quantize.embedding.weight", 2, (int64_t[]){V, Z}, &codebook));

    hart_transformer *tf;
    snprintf(p, sizeof p, "%s/llm", dir);
    must(hart_tf_load(be, p, V, Z, &tf));
    const hart_tf_config *c = hart_tf_get_config(tf);
    hart_tensor ctx, mask, pos;
    must(hart_st_tensor(&g, "gen.context", &ctx));
    must(hart_st_tensor(&g, "gen.context_mask", &mask));
    must(hart_st_tensor(&g, "gen.context_position_ids", &pos));
    int B = (int)ctx.shape[0], N = 2 * B, S = c->n_scales, C = c->C;
    must(hart_tf_begin(tf, &ctx, &mask, &pos));
    hart_tensor hidden = {0};
    for (int si = 0; si < S; si++) {
        int l = si == 0 ? c->ctx_tokens : c->patch_nums[si] * c->patch_nums[si];
        hart_tensor x, logits;
        must(hart_tensor_new4(be, HART_F32, &x, 3, N, l, C, 0));
        must(hart_tensor_new4(be, HART_F32, &logits, 3, N, l, V, 0));
        hart_tensor_free(&hidden);
        must(hart_tensor_new4(be, HART_F32, &hidden, 3, N, l, C, 0));
        if (si == 0) must(hart_tf_first_input(tf, &x));
        else {
            char nm[64];
            snprintf(nm, sizeof nm, "gen.si%d.next_input", si - 1);
            hart_tensor ni, nid;
            must(hart_st_tensor(&g, nm, &ni));
            must(hart_tensor_to(be, &ni, &nid));
            must(hart_tf_embed_next(tf, si, &nid, &x));
            hart_tensor_free(&nid);
        }
        must(hart_tf_forward(tf, si, &x, &hidden, &logits));
        int lo = si == 0 ? 1 : l, off = si == 0 ? l - 1 : 0;
        hart_tensor mix, lh;
        must(hart_tensor_new4(NULL, HART_F32, &mix, 3, B, lo, V, 0));
        must(hart_tensor_to(NULL, &logits, &lh));
        float *L = lh.data, *M = mix.data;
        double t = hart_cfg_ramp(cfg, si, S);
        for (int b = 0; b < B; b++)
            hart_cfg_mix(M + (size_t)b * lo * V, L + ((size_t)b * l + off) * V, L + ((size_t)(b + B) * l + off) * V,
                         (int64_t)lo * V, t);
        char nm[64];
        snprintf(nm, sizeof nm, "gen.si%d.logits_cfg", si);
        golden_check(&g, nm, &mix);
        hart_tensor_free(&x);
        hart_tensor_free(&logits);
        hart_tensor_free(&lh);
        hart_tensor_free(&mix);
    }
    /* last scale: diffusion condition from golden indices */
    int l = c->patch_nums[S - 1] * c->patch_nums[S - 1];
    char nm[64];
    snprintf(nm, sizeof nm, "gen.si%d.idx", S - 1);
    hart_tensor idx;
    must(hart_st_tensor(&g, nm, &idx));
    hart_tensor codes, codes_d, cond;
    must(hart_tensor_new4(NULL, HART_F32, &codes, 3, B, l, Z, 0));
    must(hart_op_embedding(&codes, &codebook, &idx));
    must(hart_tensor_to(be, &codes, &codes_d));
    must(hart_tensor_new4(be, HART_F32, &cond, 3, N, l, C, 0));
    must(hart_tf_diff_cond(tf, &hidden, &codes_d, &cond));
    hart_tensor cond2;
    must(hart_tensor_reshape(&cond, 2, (int64_t[]){(int64_t)N * l, C}, &cond2));
    golden_check(&g, "gen.diff.cond", &cond2);
    /* diffusion head with replayed noise; condition from golden to isolate it */
    hart_diffhead *dh;
    must(hart_diff_load(be, hart_tf_checkpoint(tf), "diffloss.", Z, C, c->diff_width, c->diff_depth,
                        c->sampling_steps, &dh));
    hart_tensor gcond, gcond_d, out_d, out;
    must(hart_st_tensor(&g, "gen.diff.cond", &gcond));
    must(hart_tensor_to(be, &gcond, &gcond_d));
    must(hart_tensor_new4(be, HART_F32, &out_d, 2, (int64_t)N * l, Z, 0, 0));
    replay_ctx rc = {&g};
    hart_noise_source ns = {replay_noise, &rc};
    must(hart_diff_sample(dh, &gcond_d, hart_cfg_ramp(cfg, S - 1, S), 1.0f, &ns, &out_d));
    golden_check(&g, "gen.diff.out", &out_d);
    must(hart_tensor_to(NULL, &out_d, &out));
    /* final f_hat = f_hat after scale S-2 + (codes + residual) as a map */
    hart_tensor fh, ff;
    snprintf(nm, sizeof nm, "gen.si%d.f_hat", S - 2);
    must(hart_st_tensor(&g, nm, &fh));
    must(hart_tensor_new4(NULL, HART_F32, &ff, 4, B, Z, c->patch_nums[S - 1], c->patch_nums[S - 1]));
    float *F = ff.data, *FH = fh.data, *CD = codes.data, *O = out.data;
    for (int b = 0; b < B; b++)
        for (int z = 0; z < Z; z++)
            for (int t = 0; t < l; t++)
                F[((size_t)b * Z + z) * l + t] =
                    FH[((size_t)b * Z + z) * l + t] + (CD[((size_t)b * l + t) * Z + z] + O[((size_t)b * l + t) * Z + z]);
    golden_check(&g, "gen.final_f_hat", &ff);
    hart_tensor_free(&ff); hart_tensor_free(&out); hart_tensor_free(&out_d); hart_tensor_free(&gcond_d);
    hart_tensor_free(&cond); hart_tensor_free(&codes); hart_tensor_free(&codes_d);
    hart_tensor_free(&hidden);
    hart_diff_free(dh);
    hart_tf_free(tf);
    hart_ckpt_close(&tok);
    hart_st_close(&g);
}

/* Whole pipeline in replay mode; every recorded gen.* tensor is compared. */
static void run_pipeline(const char *dir, hart_backend *be) {
    char p[1200];
    printf("set %s, backend %s\n", dir, be->name);
    golden_run_begin(be);
    hart_t2i *pl;
    if (hart_t2i_load(be, dir, &pl) != HART_OK) fail_msg("pipeline of %s not loadable: %s", dir, hart_errmsg());
    hart_safetensors g;
    snprintf(p, sizeof p, "%s/golden.safetensors", dir);
    must(hart_st_open(p, &g));
    hart_tensor ctx, mask, pos, img;
    must(hart_st_tensor(&g, "gen.context", &ctx));
    must(hart_st_tensor(&g, "gen.context_mask", &mask));
    must(hart_st_tensor(&g, "gen.context_position_ids", &pos));
    hart_t2i_opts o;
    hart_t2i_default_opts(&o);
    snprintf(p, sizeof p, "%s/golden.json", dir);
    cJSON *gj;
    must(hart_json_load(p, &gj));
    o.cfg = (cJSON_IsNumber(cJSON_GetObjectItem(gj, "cfg")) ? cJSON_GetObjectItem(gj, "cfg")->valuedouble : 4.5);
    o.more_smooth = cJSON_IsTrue(cJSON_GetObjectItem(gj, "more_smooth"));
    cJSON_Delete(gj);
    o.replay = &g;
    o.dump = hart_st_writer_new();
    assert_non_null(o.dump);
    must(hart_t2i_generate(pl, &ctx, &mask, &pos, &o, &img));
    const char *tmp = "build/test_hart_gen_trace.safetensors";
    must(hart_st_writer_save(o.dump, tmp));
    hart_st_writer_free(o.dump);
    hart_safetensors tr;
    must(hart_st_open(tmp, &tr));
    int64_t bad_idx = 0, missing = 0;
    for (int i = 0; i < g.n_entries; i++) {
        const char *nm = g.entries[i].name;
        if (strncmp(nm, "gen.", 4) || !strncmp(nm, "gen.context", 11) || !strncmp(nm, "gen.diff.noise", 14)) continue;
        hart_tensor t;
        if (hart_st_tensor(&tr, nm, &t) != HART_OK) { printf("  %s: not dumped\n", nm); missing++; continue; }
        if (t.dtype == HART_I64) {
            int64_t d = golden_compare_idx(&g, nm, &t);
            if (d != 0) { printf("  %s: %lld indices differ\n", nm, (long long)d); bad_idx++; }
        } else {
            golden_check(&g, nm, &t);
        }
    }
    hart_tensor_free(&img);
    hart_st_close(&tr);
    hart_st_close(&g);
    hart_t2i_free(pl);
    assert_int_equal(bad_idx, 0);
    assert_int_equal(missing, 0);
}

static void test_transformer_and_head(void **state) {
    (void)state;
    char dirs[16][1024];
    int n = golden_hart_sets(dirs, 16);
    if (!n) test_skip("no HART golden set found");
    for (int i = 0; i < n; i++) {
        for (int b = 0; b < TB.n; b++) run_transformer_and_head(dirs[i], TB.be[b]);
        golden_verify();
    }
}

static void test_pipeline(void **state) {
    (void)state;
    char dirs[16][1024];
    int n = golden_hart_sets(dirs, 16);
    if (!n) test_skip("no HART golden set found");
    for (int i = 0; i < n; i++) {
        for (int b = 0; b < TB.n; b++) run_pipeline(dirs[i], TB.be[b]);
        golden_verify();
    }
}

static int setup(void **state) {
    (void)state;
    test_backends_open(&TB);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    test_backends_close(&TB);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transformer_and_head),
        cmocka_unit_test(test_pipeline),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
