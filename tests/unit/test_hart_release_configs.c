/* The two 0.7B architecture files in configs/: the release one (depth 24,
 * width 1536, 24 heads, disable_aln, SwiGLU hidden 4096, diffusion head
 * 1024 x 6, 14 scales) and the depth-16 per-block AdaLN variant. Each is read
 * and its sizes checked; then the transformer loader builds it from random
 * weights with every key of the file kept except the widths, depth and scale
 * list, which are shrunk so the test stays small (full-size builds: bench_hart
 * --config FILE), and runs six scales; the diffusion head (depth 6) loads
 * from the same checkpoint. A release checkpoint (no ada_lin tensors) must
 * not load under the AdaLN variant's config: the two layouts differ. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/checkpoint.h"
#include "models/hart/diffusion_head.h"
#include "models/hart/transformer.h"
#include "support/hart_random.h"
#include "support/test_skip.h"
#include "support/golden.h"

static const char *RELEASE = "configs/hart-0.7b-1024px-llm.json";
static const char *ADALN16 = "configs/hart-0.7b-1024px-llm-depth16-adaln.json";
static char tmpdir[256];

static cJSON *load_cfg(const char *path) {
    cJSON *c = NULL;
    if (access(path, R_OK) != 0) test_skip("%s not found (run from the repository root)", path);
    assert_int_equal(hart_json_load(path, &c), HART_OK);
    return c;
}

static void check_sizes(const char *path, int depth, int disable_aln) {
    cJSON *c = load_cfg(path);
    hart_random_llm z;
    assert_int_equal(hart_random_llm_from_config(c, &z), 0);
    printf("  %s: depth %d, width %d, %d heads, disable_aln %d, MLP hidden %d, diffusion head %dx%d, %d scales\n", path,
           z.full_depth, z.C, z.H, z.disable_aln, z.Hd, z.DW, z.DD, z.S);
    assert_int_equal(z.full_depth, depth);
    assert_int_equal(z.C, 1536);
    assert_int_equal(z.H, 24);
    assert_int_equal(z.disable_aln, disable_aln);
    assert_int_equal(z.shared_aln, 0);
    assert_true(z.llama_mlp);
    assert_int_equal(z.Hd, 4096);
    assert_int_equal(z.DW, 1024);
    assert_int_equal(z.DD, 6);
    assert_int_equal(z.S, 14);
    assert_int_equal(z.T, 300);
    assert_int_equal(z.Dc, 1536);
    cJSON_Delete(c);
}

static void set_num(cJSON *c, const char *key, double v) {
    if (cJSON_HasObjectItem(c, key)) cJSON_ReplaceItemInObject(c, key, cJSON_CreateNumber(v));
    else cJSON_AddNumberToObject(c, key, v);
}

/* <tmpdir>/<name>: config `path` shrunk, random weights written for the
 * layout of config `weights_of` (shrunk the same way) */
static void write_shrunk(const char *name, const char *path, const char *weights_of) {
    char dir[600], p[700];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, name);
    mkdir(dir, 0755);
    cJSON *cfgs[2] = {load_cfg(path), load_cfg(weights_of)};
    hart_random_llm z;
    for (int k = 0; k < 2; k++) {
        cJSON *c = cfgs[k];
        set_num(c, "embed_dim", 96);
        set_num(c, "context_dim", 48);
        set_num(c, "context_token", 12);
        set_num(c, "diff_width", 32);
        set_num(c, "depth", 2);
        cJSON_ReplaceItemInObject(c, "patch_nums", cJSON_CreateIntArray((const int[]){1, 2, 3, 4, 5, 7}, 6));
    }
    snprintf(p, sizeof p, "%s/config.json", dir);
    golden_write_json(p, cfgs[0]);
    assert_int_equal(hart_random_llm_from_config(cfgs[1], &z), 0);
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    assert_int_equal(hart_random_llm_write(p, &z, 256, 8, 3), 0);
    cJSON_Delete(cfgs[0]);
    cJSON_Delete(cfgs[1]);
}

static void build_and_run(const char *name, int disable_aln) {
    char dir[600];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, name);
    hart_transformer *tf = NULL;
    hart_status st = hart_tf_load(hart_backend_cpu(), dir, 256, 8, &tf);
    if (st) printf("  %s: %s\n", name, hart_errmsg());
    assert_int_equal(st, HART_OK);
    const hart_tf_config *g = hart_tf_get_config(tf);
    assert_int_equal(g->disable_aln, disable_aln);
    assert_int_equal(g->shared_aln, 0);
    assert_int_equal(g->H, 24);
    assert_true(g->mlp_llama && g->attn_llama);
    assert_int_equal(g->mlp_hidden, 256); /* int(96 * 4 * 2/3 + 255) // 256 * 256 */
    assert_int_equal(g->diff_depth, 6);
    hart_diffhead *dh = NULL;
    assert_int_equal(hart_diff_load(hart_backend_cpu(), hart_tf_checkpoint(tf), "diffloss.", 8, g->C, g->diff_width,
                                    g->diff_depth, g->sampling_steps, &dh),
                     HART_OK);
    hart_diff_free(dh);
    int B = 1, N = 2, T = g->ctx_tokens;
    hart_tensor ctx = {0}, mask = {0}, x = {0}, lg = {0};
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &ctx, 3, B, T, g->ctx_dim, 0), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_U8, &mask, 2, B, T, 0, 0), HART_OK);
    for (int64_t i = 0; i < hart_tensor_numel(&ctx); i++) ((float *)ctx.data)[i] = (float)sin(0.37 * (double)i);
    memset(mask.data, 1, (size_t)T);
    assert_int_equal(hart_tf_begin(tf, &ctx, &mask, NULL), HART_OK);
    for (int si = 0; si < g->n_scales; si++) {
        int pn = g->patch_nums[si], l = si == 0 ? T : pn * pn;
        hart_tensor_free(&x);
        hart_tensor_free(&lg);
        assert_int_equal(hart_tensor_new4(NULL, HART_F32, &x, 3, N, l, g->C, 0), HART_OK);
        assert_int_equal(hart_tensor_new4(NULL, HART_F32, &lg, 3, N, si == 0 ? 1 : l, 256, 0), HART_OK);
        if (si == 0) assert_int_equal(hart_tf_first_input(tf, &x), HART_OK);
        else
            for (int64_t i = 0; i < hart_tensor_numel(&x); i++) ((float *)x.data)[i] = (float)cos(0.11 * (double)i);
        assert_int_equal(hart_tf_forward(tf, si, &x, NULL, &lg), HART_OK);
        for (int64_t i = 0; i < hart_tensor_numel(&lg); i++) assert_true(isfinite(((float *)lg.data)[i]));
    }
    hart_tensor_free(&x);
    hart_tensor_free(&lg);
    hart_tensor_free(&ctx);
    hart_tensor_free(&mask);
    hart_tf_free(tf);
}

static void test_release_configs(void **state) {
    (void)state;
    check_sizes(RELEASE, 24, 1);
    check_sizes(ADALN16, 16, 0);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hart_relcfg_test_%d", (int)getpid());
    mkdir(tmpdir, 0755);
    write_shrunk("release", RELEASE, RELEASE);
    write_shrunk("adaln16", ADALN16, ADALN16);
    write_shrunk("mixed", ADALN16, RELEASE); /* AdaLN config, release checkpoint */
    build_and_run("release", 1);
    build_and_run("adaln16", 0);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/mixed", tmpdir);
    hart_transformer *tf = NULL;
    hart_status st = hart_tf_load(hart_backend_cpu(), dir, 256, 8, &tf);
    printf("  AdaLN config with a release checkpoint: %s: %s\n", hart_status_name(st), st ? hart_errmsg() : "loaded");
    assert_int_not_equal(st, HART_OK);
    assert_non_null(strstr(hart_errmsg(), "ada_lin"));
    char p[700];
    snprintf(p, sizeof p, "rm -rf %s", tmpdir);
    assert_int_equal(system(p), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_release_configs)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
