/* The transformer's config handling: unsupported values and missing keys
 * are rejected with a message naming the key; a wrong tensor shape names
 * the tensor. Uses the hart-tiny-a weights with edited config files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "models/hart/transformer.h"
#include "support/golden.h"
#include "support/test_skip.h"

static char tmpdir[256];

/* llm folder in tmpdir: the golden weights (symlink) + the golden config
 * with `key` replaced by the JSON text `val` (val NULL: key removed). */
static void make_llm(const char *key, const char *val) {
    char src[1024], p[1400];
    golden_path("hart-tiny-a/llm", src, sizeof src);
    snprintf(p, sizeof p, "%s/llm", tmpdir);
    mkdir(p, 0755);
    char ws[1400], wd[1400], abs_src[4096];
    snprintf(ws, sizeof ws, "%s/model.safetensors", src);
    snprintf(wd, sizeof wd, "%s/llm/model.safetensors", tmpdir);
    unlink(wd);
    assert_non_null(realpath(ws, abs_src));
    assert_int_equal(symlink(abs_src, wd), 0);
    snprintf(p, sizeof p, "%s/config.json", src);
    cJSON *c;
    assert_int_equal(hart_json_load(p, &c), HART_OK);
    if (key) {
        cJSON_DeleteItemFromObject(c, key);
        if (val) cJSON_AddItemToObject(c, key, cJSON_Parse(val));
    }
    snprintf(p, sizeof p, "%s/llm/config.json", tmpdir);
    golden_write_json(p, c);
    cJSON_Delete(c);
}

static void expect(const char *key, const char *val, hart_status want, const char *needle) {
    make_llm(key, val);
    char p[512];
    snprintf(p, sizeof p, "%s/llm", tmpdir);
    hart_transformer *tf = NULL;
    hart_status st = hart_tf_load(hart_backend_cpu(), p, 1024, 8, &tf);
    if (st == HART_OK) hart_tf_free(tf);
    printf("  %s=%s -> %s: %s\n", key ? key : "-", val ? val : "(removed)", hart_status_name(st),
           st ? hart_errmsg() : "ok");
    assert_int_equal(st, want);
    if (needle) assert_non_null(strstr(hart_errmsg(), needle));
}

static void test_config_values(void **state) {
    (void)state;
    if (!golden_available()) test_skip("golden data not found");
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hart_cfg_test_%d", (int)getpid());
    mkdir(tmpdir, 0755);
    expect(NULL, NULL, HART_OK, NULL);
    expect("attn_type", "\"bogus\"", HART_EUNSUPPORTED, "attn_type");
    expect("mlp_type", "\"swiglu\"", HART_EUNSUPPORTED, "mlp_type");
    expect("sep_aln_pooling_mode", "\"min\"", HART_EUNSUPPORTED, "sep_aln_pooling_mode");
    expect("use_cross_attn", "true", HART_EUNSUPPORTED, "use_cross_attn");
    expect("sampler", "\"ddim\"", HART_EUNSUPPORTED, "sampler");
    expect("depth", NULL, HART_EFORMAT, "depth");
    expect("num_heads", "5", HART_EFORMAT, "num_heads");
    expect("patch_nums", "[1]", HART_EFORMAT, "patch_nums");
    expect("num_sampling_steps", "{}", HART_EFORMAT, "num_sampling_steps");
    /* a config that disagrees with the weights: the tensor is named */
    expect("embed_dim", "128", HART_EMISMATCH, "context_embed.weight");
    char p[512];
    snprintf(p, sizeof p, "rm -rf %s", tmpdir);
    assert_int_equal(system(p), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_config_values)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
