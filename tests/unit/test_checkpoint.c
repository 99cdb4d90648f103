/* Checkpoint folders: single file, diffusers name, sharded index (and a
 * missing shard), shape checks, config helpers and their errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/checkpoint.h"

static char root[256];

static int setup(void **s) {
    snprintf(root, sizeof root, "/tmp/hart_test_ckpt_XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}
static int teardown(void **s) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *mkdir_in(const char *name) {
    static char p[400];
    snprintf(p, sizeof p, "%s/%s", root, name);
    mkdir(p, 0755);
    return p;
}

static void put_text(const char *d, const char *file, const char *text) {
    char p[600];
    snprintf(p, sizeof p, "%s/%s", d, file);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* safetensors file d/file with F32 tensors names[i] of shape [n_i] filled with base+i */
static void put_st(const char *d, const char *file, int n, const char *const *names, const int64_t *lens,
                   float base) {
    hart_st_writer *w = hart_st_writer_new();
    for (int i = 0; i < n; i++) {
        float *v = malloc(sizeof(float) * (size_t)lens[i]);
        for (int64_t j = 0; j < lens[i]; j++) v[j] = base + (float)i;
        assert_int_equal(hart_st_writer_add_raw(w, names[i], HART_F32, 1, &lens[i], v), HART_OK);
        free(v);
    }
    char p[600];
    snprintf(p, sizeof p, "%s/%s", d, file);
    assert_int_equal(hart_st_writer_save(w, p), HART_OK);
    hart_st_writer_free(w);
}

static void test_single_file(void **s) {
    const char *d = mkdir_in("single");
    put_text(d, "config.json", "{\"hidden_size\": 64, \"eps\": 1e-6, \"name\": \"tiny\"}");
    const char *names[] = {"blocks.0.w", "blocks.1.w", "norm"};
    put_st(d, "model.safetensors", 3, names, (int64_t[]){6, 6, 4}, 10);
    hart_checkpoint ck;
    assert_int_equal(hart_ckpt_open(d, "config.json", NULL, &ck), HART_OK);
    assert_non_null(ck.config);
    assert_int_equal(ck.n_files, 1);
    int64_t hs;
    assert_int_equal(hart_cfg_int(ck.config, "hidden_size", &hs), HART_OK);
    assert_int_equal(hs, 64);
    assert_true(hart_ckpt_has(&ck, "norm"));
    assert_false(hart_ckpt_has(&ck, "nope"));
    hart_tensor t;
    assert_int_equal(hart_ckpt_get(&ck, "norm", 1, (int64_t[]){4}, &t), HART_OK);
    assert_float_equal(((float *)t.data)[3], 12.0f, 0);
    assert_int_equal(hart_ckpt_get(&ck, "norm", 0, NULL, &t), HART_OK); /* no shape check */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(hart_ckpt_getf(&ck, &t, 1, (int64_t[]){6}, "blocks.%d.w", i), HART_OK);
        assert_float_equal(((float *)t.data)[0], 10.0f + (float)i, 0);
    }
    /* wrong shape: error names the file, the tensor, both shapes */
    assert_int_equal(hart_ckpt_get(&ck, "norm", 2, (int64_t[]){2, 2}, &t), HART_EMISMATCH);
    assert_non_null(strstr(hart_errmsg(), "model.safetensors"));
    assert_non_null(strstr(hart_errmsg(), "'norm'"));
    assert_non_null(strstr(hart_errmsg(), "[4]"));
    assert_non_null(strstr(hart_errmsg(), "[2,2]"));
    assert_int_equal(hart_ckpt_getf(&ck, &t, 1, (int64_t[]){6}, "blocks.%d.w", 2), HART_EMISMATCH);
    assert_non_null(strstr(hart_errmsg(), "'blocks.2.w' is missing"));
    hart_ckpt_close(&ck);
    hart_ckpt_close(&ck); /* idempotent */

    /* no config required; explicit weights name; diffusers default name */
    const char *d2 = mkdir_in("diffusers");
    put_st(d2, "diffusion_pytorch_model.safetensors", 1, names, (int64_t[]){2}, 0);
    assert_int_equal(hart_ckpt_open(d2, NULL, NULL, &ck), HART_OK);
    assert_null(ck.config);
    assert_true(hart_ckpt_has(&ck, "blocks.0.w"));
    hart_ckpt_close(&ck);
    put_st(d2, "other.safetensors", 1, names + 2, (int64_t[]){2}, 0);
    assert_int_equal(hart_ckpt_open(d2, NULL, "other.safetensors", &ck), HART_OK);
    assert_true(hart_ckpt_has(&ck, "norm"));
    assert_false(hart_ckpt_has(&ck, "blocks.0.w"));
    hart_ckpt_close(&ck);
    assert_int_equal(hart_ckpt_open(d2, NULL, "absent.safetensors", &ck), HART_EIO);
    assert_non_null(strstr(hart_errmsg(), "absent.safetensors"));
}

static void test_folder_errors(void **s) {
    hart_checkpoint ck;
    char p[500];
    snprintf(p, sizeof p, "%s/does-not-exist", root);
    assert_int_equal(hart_ckpt_open(p, "config.json", NULL, &ck), HART_EIO);
    assert_non_null(strstr(hart_errmsg(), "does-not-exist"));
    const char *d = mkdir_in("errs");
    assert_int_equal(hart_ckpt_open(d, "config.json", NULL, &ck), HART_EIO);
    assert_non_null(strstr(hart_errmsg(), "missing config.json"));
    put_text(d, "config.json", "{\"a\": 1,,}");
    assert_int_equal(hart_ckpt_open(d, "config.json", NULL, &ck), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "invalid JSON"));
    put_text(d, "config.json", "[1, 2]");
    assert_int_equal(hart_ckpt_open(d, "config.json", NULL, &ck), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "not a JSON object"));
    put_text(d, "config.json", "{}");
    assert_int_equal(hart_ckpt_open(d, "config.json", NULL, &ck), HART_EIO);
    assert_non_null(strstr(hart_errmsg(), "no weights"));
    put_text(d, "model.safetensors", "garbage");
    assert_int_equal(hart_ckpt_open(d, "config.json", NULL, &ck), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "model.safetensors"));
    assert_null(ck.dir); /* closed on failure */
}

static void test_sharded(void **s) {
    const char *d = mkdir_in("sharded");
    const char *n1[] = {"embed", "layers.0.w"}, *n2[] = {"layers.1.w", "norm"};
    put_st(d, "model-00001-of-00002.safetensors", 2, n1, (int64_t[]){8, 4}, 1);
    put_st(d, "model-00002-of-00002.safetensors", 2, n2, (int64_t[]){4, 2}, 5);
    put_text(d, "config.json", "{\"num_hidden_layers\": 2}");
    const char *index = "{\"metadata\": {\"total_size\": 72}, \"weight_map\": {"
                        "\"embed\": \"model-00001-of-00002.safetensors\","
                        "\"layers.0.w\": \"model-00001-of-00002.safetensors\","
                        "\"layers.1.w\": \"model-00002-of-00002.safetensors\","
                        "\"norm\": \"model-00002-of-00002.safetensors\"}}";
    put_text(d, "model.safetensors.index.json", index);
    hart_checkpoint ck;
    assert_int_equal(hart_ckpt_open(d, "config.json", NULL, &ck), HART_OK);
    assert_int_equal(ck.n_files, 2);
    hart_tensor t;
    assert_int_equal(hart_ckpt_get(&ck, "embed", 1, (int64_t[]){8}, &t), HART_OK);
    assert_float_equal(((float *)t.data)[0], 1.0f, 0);
    assert_int_equal(hart_ckpt_get(&ck, "norm", 1, (int64_t[]){2}, &t), HART_OK);
    assert_float_equal(((float *)t.data)[1], 6.0f, 0);
    hart_ckpt_close(&ck);

    /* a shard the index names is missing */
    char p[600];
    snprintf(p, sizeof p, "%s/model-00002-of-00002.safetensors", d);
    char q[600];
    snprintf(q, sizeof q, "%s/moved.safetensors", d);
    assert_int_equal(rename(p, q), 0);
    assert_int_equal(hart_ckpt_open(d, "config.json", NULL, &ck), HART_EIO);
    assert_non_null(strstr(hart_errmsg(), "model-00002-of-00002.safetensors"));
    assert_non_null(strstr(hart_errmsg(), "model.safetensors.index.json"));
    assert_null(ck.files);
    assert_int_equal(rename(q, p), 0);

    /* the index lists a tensor that its shard does not hold */
    put_text(d, "model.safetensors.index.json",
             "{\"weight_map\": {\"embed\": \"model-00001-of-00002.safetensors\","
             "\"ghost\": \"model-00002-of-00002.safetensors\"}}");
    assert_int_equal(hart_ckpt_open(d, "config.json", NULL, &ck), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "'ghost'"));
    /* malformed indexes */
    put_text(d, "model.safetensors.index.json", "{\"weight_map\": [1]}");
    assert_int_equal(hart_ckpt_open(d, "config.json", NULL, &ck), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "weight_map"));
    put_text(d, "model.safetensors.index.json", "{\"weight_map\": {\"embed\": \"../escape.safetensors\"}}");
    assert_int_equal(hart_ckpt_open(d, "config.json", NULL, &ck), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "bad shard name"));
    put_text(d, "model.safetensors.index.json", "{\"weight_map\": {\"embed\": 3}}");
    assert_int_equal(hart_ckpt_open(d, "config.json", NULL, &ck), HART_EFORMAT);
    put_text(d, "model.safetensors.index.json", "{\"weight_map\": {\"embed\": \"\"}}");
    assert_int_not_equal(hart_ckpt_open(d, "config.json", NULL, &ck), HART_OK);
    put_text(d, "model.safetensors.index.json", "{oops");
    assert_int_equal(hart_ckpt_open(d, "config.json", NULL, &ck), HART_EFORMAT);
}

static void test_config_helpers(void **s) {
    cJSON *c = cJSON_Parse("{\"i\": 8, \"s8\": \"8\", \"f\": 1.5, \"big\": 1e300, \"neg\": -3, \"t\": true,"
                           "\"zero\": 0, \"two\": 2, \"str\": \"abc\", \"nul\": null, \"arr\": [1, 2, 4],"
                           "\"farr\": [1, 2.5], \"sarr\": [1, \"x\"], \"obj\": {}, \"hugearr\": [1e300]}");
    assert_non_null(c);
    int64_t i;
    double d;
    int b;
    const char *str;
    assert_int_equal(hart_cfg_int(c, "i", &i), HART_OK);
    assert_int_equal(i, 8);
    assert_int_equal(hart_cfg_int(c, "s8", &i), HART_OK); /* numbers stored as strings */
    assert_int_equal(i, 8);
    assert_int_equal(hart_cfg_int(c, "neg", &i), HART_OK);
    assert_int_equal(i, -3);
    assert_int_equal(hart_cfg_int(c, "f", &i), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "'f'"));
    assert_int_equal(hart_cfg_int(c, "big", &i), HART_EFORMAT);
    assert_int_equal(hart_cfg_int(c, "missing", &i), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "config key 'missing' is missing"));
    assert_int_equal(hart_cfg_int(c, "nul", &i), HART_EFORMAT); /* null counts as absent */
    assert_int_equal(hart_cfg_int(c, "str", &i), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "'abc' is not a number"));
    assert_int_equal(hart_cfg_int(c, "obj", &i), HART_EFORMAT);
    assert_int_equal(hart_cfg_int_or(c, "missing", 77, &i), HART_OK);
    assert_int_equal(i, 77);
    assert_int_equal(hart_cfg_int_or(c, "nul", 5, &i), HART_OK);
    assert_int_equal(i, 5);
    assert_int_equal(hart_cfg_num(c, "f", &d), HART_OK);
    assert_float_equal(d, 1.5, 0);
    assert_int_equal(hart_cfg_num(c, "missing", &d), HART_EFORMAT);
    assert_int_equal(hart_cfg_num_or(c, "missing", 0.25, &d), HART_OK);
    assert_float_equal(d, 0.25, 0);
    assert_int_equal(hart_cfg_bool_or(c, "t", 0, &b), HART_OK);
    assert_int_equal(b, 1);
    assert_int_equal(hart_cfg_bool_or(c, "zero", 1, &b), HART_OK);
    assert_int_equal(b, 0);
    assert_int_equal(hart_cfg_bool_or(c, "missing", 1, &b), HART_OK);
    assert_int_equal(b, 1);
    assert_int_equal(hart_cfg_bool_or(c, "two", 0, &b), HART_EFORMAT);
    assert_int_equal(hart_cfg_bool_or(c, "str", 0, &b), HART_EFORMAT);
    assert_int_equal(hart_cfg_str_or(c, "str", NULL, &str), HART_OK);
    assert_string_equal(str, "abc");
    assert_int_equal(hart_cfg_str_or(c, "missing", "dflt", &str), HART_OK);
    assert_string_equal(str, "dflt");
    assert_int_equal(hart_cfg_str_or(c, "nul", NULL, &str), HART_OK);
    assert_null(str);
    assert_int_equal(hart_cfg_str_or(c, "i", NULL, &str), HART_EFORMAT);
    int64_t arr[4];
    int n;
    assert_int_equal(hart_cfg_int_array(c, "arr", arr, 4, &n), HART_OK);
    assert_int_equal(n, 3);
    assert_int_equal(arr[2], 4);
    assert_int_equal(hart_cfg_int_array(c, "arr", arr, 2, &n), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "3 entries (max 2)"));
    assert_int_equal(hart_cfg_int_array(c, "farr", arr, 4, &n), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "'farr'[1]"));
    assert_int_equal(hart_cfg_int_array(c, "sarr", arr, 4, &n), HART_EFORMAT);
    assert_int_equal(hart_cfg_int_array(c, "hugearr", arr, 4, &n), HART_EFORMAT);
    assert_int_equal(hart_cfg_int_array(c, "i", arr, 4, &n), HART_EFORMAT);
    assert_int_equal(hart_cfg_int_array(c, "missing", arr, 4, &n), HART_EFORMAT);
    /* NULL config behaves like an empty one */
    assert_int_equal(hart_cfg_int_or(NULL, "x", 3, &i), HART_OK);
    assert_int_equal(i, 3);
    assert_int_equal(hart_cfg_int(NULL, "x", &i), HART_EFORMAT);
    cJSON_Delete(c);
}

static void test_json_load(void **s) {
    const char *d = mkdir_in("json");
    cJSON *j = NULL;
    put_text(d, "ok.json", "{\"a\": [1, 2]}");
    char p[600];
    snprintf(p, sizeof p, "%s/ok.json", d);
    assert_int_equal(hart_json_load(p, &j), HART_OK);
    assert_non_null(j);
    cJSON_Delete(j);
    put_text(d, "bad.json", "{\"a\": [1, 2}");
    snprintf(p, sizeof p, "%s/bad.json", d);
    assert_int_equal(hart_json_load(p, &j), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "bad.json: invalid JSON near byte"));
    snprintf(p, sizeof p, "%s/none.json", d);
    assert_int_equal(hart_json_load(p, &j), HART_EIO);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_file),    cmocka_unit_test(test_folder_errors),
        cmocka_unit_test(test_sharded),        cmocka_unit_test(test_config_helpers),
        cmocka_unit_test(test_json_load),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
