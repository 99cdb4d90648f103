/* Qwen2 text encoder against every golden qwen2-* set (hidden states of
 * every layer, the last hidden state and HART's context slice, and the
 * prompt encoding) on the float64 oracle and every backend of
 * $HART_TEST_DEVICES (default "cpu,opencl"), each tensor within its
 * measured limit (support/golden_check.h); plus loading / error handling /
 * end-to-end text encoding. Every size comes from the set. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "backend/backend.h"
#include "models/qwen2/qwen2.h"
#include "ops/ops.h"
#include "pipeline/text_encode.h"
#include "support/golden.h"
#include "support/test_backends.h"
#include "support/golden_check.h"
#include "support/test_skip.h"

static test_backends TB;
static char g_sets[16][1024];
static int g_nsets;
static const char *g_set; /* the set the current check reads */

/* Run `body` once per golden qwen2-* set with g_set pointing at it. */
#define FOR_EACH_SET                                                          \
    if (!g_nsets) test_skip("no qwen2-* golden set found");                   \
    for (int set_i_ = 0; set_i_ < g_nsets && (g_set = g_sets[set_i_]); set_i_++)

static const char *set_file(const char *name, char *buf, size_t n) {
    snprintf(buf, n, "%s/%s", g_set, name);
    return buf;
}

/* Every layer's hidden state, the last hidden state and the context slice
 * on backend `be`; prints the measured errors. */
static void qwen2_tiny_on(hart_backend *be, const char *spec) {
    char gp[1024];
    const char *dir = g_set;
    set_file("golden.safetensors", gp, sizeof gp);
    printf("set %s, backend %s (%s):\n", dir, spec, be->name);
    golden_run_begin(be);
    hart_safetensors g;
    assert_int_equal(hart_st_open(gp, &g), HART_OK);
    hart_qwen2 m;
    hart_status s = hart_qwen2_load(dir, be, &m);
    if (s) fprintf(stderr, "%s\n", hart_errmsg());
    assert_int_equal(s, HART_OK);

    hart_tensor ids, amask;
    assert_int_equal(hart_st_tensor(&g, "input_ids", &ids), HART_OK);
    assert_int_equal(hart_st_tensor(&g, "attention_mask", &amask), HART_OK);
    const int64_t B = ids.shape[0], L = ids.shape[1], D = m.hidden;
    hart_tensor out, hid[64];
    assert_true(m.n_layers + 1 <= 64);
    assert_int_equal(hart_tensor_new4(be, HART_F32, &out, 3, B, L, D, 0), HART_OK);
    for (int i = 0; i <= m.n_layers; i++)
        assert_int_equal(hart_tensor_new4(be, HART_F32, &hid[i], 3, B, L, D, 0), HART_OK);
    s = hart_qwen2_forward(&m, (const int64_t *)ids.data, (const uint8_t *)amask.data, B, L, &out, hid);
    if (s) fprintf(stderr, "%s\n", hart_errmsg());
    assert_int_equal(s, HART_OK);
    for (int i = 0; i <= m.n_layers; i++) {
        char nm[64];
        snprintf(nm, sizeof nm, "hidden_states.%d", i);
        golden_check(&g, nm, &hid[i]);
    }
    /* the forward's output is the last hidden state (after the final norm) */
    char last[64];
    snprintf(last, sizeof last, "hidden_states.%d", (int)m.n_layers);
    printf("  (output tensor)\n");
    golden_check(&g, last, &out);
    /* context: drop the system-prompt positions */
    hart_tensor ctx_g;
    assert_int_equal(hart_st_tensor(&g, "context", &ctx_g), HART_OK);
    const int64_t T = ctx_g.shape[1], S = L - T;
    hart_tensor ctx;
    assert_int_equal(hart_tensor_new4(be, HART_F32, &ctx, 3, B, T, D, 0), HART_OK);
    assert_int_equal(hart_op_slice(&ctx, &out, 1, S), HART_OK);
    golden_check(&g, "context", &ctx);

    hart_tensor_free(&ctx);
    hart_tensor_free(&out);
    for (int i = 0; i <= m.n_layers; i++) hart_tensor_free(&hid[i]);
    hart_qwen2_free(&m);
    hart_st_close(&g);
}

static void test_qwen2_tiny(void **state) {
    (void)state;
    FOR_EACH_SET {
        for (int b = 0; b < TB.n; b++) qwen2_tiny_on(TB.be[b], TB.spec[b]);
        golden_verify();
    }
}

static void test_qwen2_bad_input(void **state) {
    (void)state;
    FOR_EACH_SET {
    hart_qwen2 m;
    assert_int_equal(hart_qwen2_load(g_set, NULL, &m), HART_OK);
    hart_tensor out;
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &out, 3, 1, 2, m.hidden, 0), HART_OK);
    int64_t ids[2] = {1, m.vocab};
    assert_int_equal(hart_qwen2_forward(&m, ids, NULL, 1, 2, &out, NULL), HART_EINVAL);
    assert_non_null(strstr(hart_errmsg(), "outside the vocabulary"));
    hart_tensor_free(&out);
    hart_qwen2_free(&m);
    assert_int_not_equal(hart_qwen2_load("/nonexistent/qwen", NULL, &m), HART_OK);
    }
}


/* HART's prompt encoding on the golden ids: system part + prompt part ->
 * context (system positions dropped) and the transformer's position ids. */
static void text_encode_ids_on(hart_backend *be, const char *spec) {
    char gp[1024];
    const char *dir = g_set;
    set_file("golden.safetensors", gp, sizeof gp);
    printf("set %s, backend %s (%s):\n", dir, spec, be->name);
    golden_run_begin(be);
    hart_safetensors g;
    assert_int_equal(hart_st_open(gp, &g), HART_OK);
    hart_qwen2 m;
    assert_int_equal(hart_qwen2_load(dir, be, &m), HART_OK);
    hart_tensor ids, pids, pmask;
    assert_int_equal(hart_st_tensor(&g, "input_ids", &ids), HART_OK);
    assert_int_equal(hart_st_tensor(&g, "prompt_ids", &pids), HART_OK);
    assert_int_equal(hart_st_tensor(&g, "prompt_mask", &pmask), HART_OK);
    const int B = (int)pids.shape[0], T = (int)pids.shape[1], S = (int)(ids.shape[1] - T);
    const int64_t *all = ids.data;
    /* every row shares the same system ids */
    for (int b = 1; b < B; b++) assert_memory_equal(all, all + (size_t)b * ids.shape[1], (size_t)S * sizeof(int64_t));
    hart_tensor ctx, pos;
    assert_int_equal(hart_tensor_new4(be, HART_F32, &ctx, 3, B, T, m.hidden, 0), HART_OK);
    assert_int_equal(hart_text_encode_ids(&m, all, (size_t)S, pids.data, pmask.data, B, T, &ctx), HART_OK);
    golden_check(&g, "context", &ctx);
    assert_int_equal(hart_tensor_new4(NULL, HART_I64, &pos, 2, B, T, 0, 0), HART_OK);
    hart_text_position_ids(pmask.data, B, T, pos.data);
    assert_int_equal(golden_compare_idx(&g, "prompt_position_ids", &pos), 0);
    hart_tensor_free(&pos);
    hart_tensor_free(&ctx);
    hart_qwen2_free(&m);
    hart_st_close(&g);
}

static void test_text_encode_ids(void **state) {
    (void)state;
    FOR_EACH_SET {
        for (int b = 0; b < TB.n; b++) text_encode_ids_on(TB.be[b], TB.spec[b]);
        golden_verify();
    }
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Re-save the golden weights under another key layout (prefix, two shards +
 * index, optionally a Qwen2-VL config with text_config) and check the output
 * is identical to the bare layout's. */
static void run_layout(const char *prefix, int vl_config, const float *want, int64_t n) {
    char tmpl[] = "/tmp/hart_qwen2_layout_XXXXXX";
    const char *gdir = g_set;
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    hart_checkpoint ck;
    assert_int_equal(hart_ckpt_open(gdir, "config.json", NULL, &ck), HART_OK);
    hart_st_writer *w[2] = {hart_st_writer_new(), hart_st_writer_new()};
    char idx[65536] = "{\"metadata\":{},\"weight_map\":{";
    const hart_safetensors *st = &ck.files[0];
    for (int i = 0; i < st->n_entries; i++) {
        hart_tensor t;
        assert_int_equal(hart_st_tensor(st, st->entries[i].name, &t), HART_OK);
        char name[256];
        snprintf(name, sizeof name, "%s%s", prefix, st->entries[i].name);
        int shard = i % 2;
        assert_int_equal(hart_st_writer_add(w[shard], name, &t), HART_OK);
        snprintf(idx + strlen(idx), sizeof idx - strlen(idx), "%s\"%s\":\"model-0000%d-of-00002.safetensors\"",
                 i ? "," : "", name, shard + 1);
    }
    strcat(idx, "}}");
    /* an unrelated tensor (e.g. the vision tower) must be ignored */
    float junk[3] = {1, 2, 3};
    assert_int_equal(hart_st_writer_add_raw(w[0], "visual.patch_embed.proj.weight", HART_F32, 1, (int64_t[]){3}, junk), HART_OK);
    idx[strlen(idx) - 2] = 0;
    strcat(idx, ",\"visual.patch_embed.proj.weight\":\"model-00001-of-00002.safetensors\"}}");
    char path[1200];
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/model-0000%d-of-00002.safetensors", dir, k + 1);
        assert_int_equal(hart_st_writer_save(w[k], path), HART_OK);
        hart_st_writer_free(w[k]);
    }
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    write_text(path, idx);
    char *cfg = cJSON_PrintUnformatted(ck.config);
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (vl_config) {
        /* Qwen2-VL style: text part under text_config, rope theta at top level, mrope */
        char buf[8192];
        snprintf(buf, sizeof buf, "{\"model_type\":\"qwen2_vl\",\"rope_theta\":1000000.0,\"text_config\":%s}", cfg);
        cJSON *c = cJSON_Parse(buf);
        cJSON *tc = cJSON_GetObjectItem(c, "text_config");
        cJSON_DeleteItemFromObject(tc, "rope_parameters");
        cJSON *rs = cJSON_AddObjectToObject(tc, "rope_scaling");
        cJSON_AddStringToObject(rs, "type", "mrope");
        char *o = cJSON_PrintUnformatted(c);
        write_text(path, o);
        free(o);
        cJSON_Delete(c);
    } else {
        write_text(path, cfg);
    }
    free(cfg);
    hart_ckpt_close(&ck);

    hart_qwen2 m;
    hart_status s = hart_qwen2_load(dir, NULL, &m);
    if (s) fprintf(stderr, "%s\n", hart_errmsg());
    assert_int_equal(s, HART_OK);
    assert_true(m.rope_theta == 1e6);
    int64_t ids[6] = {1, 5, 9, 33, 2, 7};
    for (int i = 0; i < 6; i++) ids[i] %= m.vocab;
    hart_tensor out;
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &out, 3, 1, 6, m.hidden, 0), HART_OK);
    assert_int_equal(hart_qwen2_forward(&m, ids, NULL, 1, 6, &out, NULL), HART_OK);
    assert_int_equal(hart_tensor_numel(&out), n);
    assert_memory_equal(out.data, want, (size_t)n * sizeof(float));
    hart_tensor_free(&out);
    hart_qwen2_free(&m);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_qwen2_layouts(void **state) {
    (void)state;
    FOR_EACH_SET {
    hart_qwen2 m;
    assert_int_equal(hart_qwen2_load(g_set, NULL, &m), HART_OK);
    int64_t ids[6] = {1, 5, 9, 33, 2, 7};
    for (int i = 0; i < 6; i++) ids[i] %= m.vocab;
    hart_tensor ref;
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &ref, 3, 1, 6, m.hidden, 0), HART_OK);
    assert_int_equal(hart_qwen2_forward(&m, ids, NULL, 1, 6, &ref, NULL), HART_OK);
    hart_qwen2_free(&m);
    run_layout("model.", 0, ref.data, hart_tensor_numel(&ref));
    run_layout("model.language_model.", 1, ref.data, hart_tensor_numel(&ref));
    run_layout("language_model.model.", 1, ref.data, hart_tensor_numel(&ref));
    hart_tensor_free(&ref);
    }
}

/* hart_text_encode end to end with the golden model and a byte-only
 * tokenizer.json (id = byte value, specials 256..258, no merges), so the
 * expected ids are simply the UTF-8 bytes of the texts. */
static void test_text_encode_end_to_end(void **state) {
    (void)state;
    FOR_EACH_SET {
    char tmpl[] = "/tmp/hart_text_encode_XXXXXX", path[1200];
    const char *gdir = g_set;
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    const char *files[2] = {"config.json", "model.safetensors"};
    for (int i = 0; i < 2; i++) {
        char cmd[3000];
        snprintf(cmd, sizeof cmd, "cp '%s/%s' '%s/'", gdir, files[i], dir);
        assert_int_equal(system(cmd), 0);
    }
    cJSON *root = cJSON_CreateObject(), *model = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(model, "type", "BPE");
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
    cJSON_AddArrayToObject(model, "merges");
    int next = 256;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
        int cp = printable ? b : next++;
        char u[4] = {0};
        if (cp < 0x80) u[0] = (char)cp;
        else { u[0] = (char)(0xc0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3f)); }
        cJSON_AddNumberToObject(vocab, u, b);
    }
    cJSON *pre = cJSON_AddObjectToObject(root, "pre_tokenizer");
    cJSON_AddStringToObject(pre, "type", "ByteLevel");
    cJSON *added = cJSON_AddArrayToObject(root, "added_tokens");
    const char *sp[3] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    for (int i = 0; i < 3; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", 256 + i);
        cJSON_AddStringToObject(a, "content", sp[i]);
        cJSON_AddBoolToObject(a, "special", 1);
        cJSON_AddItemToArray(added, a);
    }
    char *js = cJSON_PrintUnformatted(root);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    write_text(path, js);
    free(js);
    cJSON_Delete(root);

    hart_text_encoder te;
    hart_status s = hart_text_encoder_load(dir, NULL, &te);
    if (s) fprintf(stderr, "%s\n", hart_errmsg());
    assert_int_equal(s, HART_OK);
    assert_int_equal(te.pad_id, 256);
    const int T = 12;
    const char *prompts[2] = {"a cat", "a very long prompt, cut"};
    hart_tensor ctx, mask, pos;
    assert_int_equal(hart_text_encode(&te, prompts, 2, T, &ctx, &mask, &pos), HART_OK);
    /* expected ids: bytes, right-truncated / padded with 256 */
    int64_t ids[2 * 12];
    uint8_t m[2 * 12];
    for (int b = 0; b < 2; b++)
        for (int t = 0; t < T; t++) {
            size_t l = strlen(prompts[b]);
            ids[b * T + t] = (size_t)t < l ? (unsigned char)prompts[b][t] : 256;
            m[b * T + t] = (size_t)t < l;
            assert_int_equal(((uint8_t *)mask.data)[b * T + t], m[b * T + t]);
            assert_int_equal(((int64_t *)pos.data)[b * T + t], (size_t)t < l ? t : (int64_t)l - 1);
        }
    /* system prompt: its bytes, truncated to max_len */
    int64_t sys[12];
    for (int i = 0; i < T; i++) sys[i] = (unsigned char)hart_text_system_prompt[i];
    hart_tensor want;
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &want, 3, 2, T, te.model.hidden, 0), HART_OK);
    assert_int_equal(hart_text_encode_ids(&te.model, sys, T, ids, m, 2, T, &want), HART_OK);
    assert_memory_equal(ctx.data, want.data, hart_tensor_nbytes(&want));
    const int width = (int)te.model.hidden; /* the set's, never a constant */
    hart_tensor_free(&ctx); hart_tensor_free(&mask); hart_tensor_free(&pos); hart_tensor_free(&want);
    hart_text_encoder_free(&te);

    /* width check of the one-shot helper */
    assert_int_equal(hart_text_encode_from_dir(dir, NULL, prompts, 2, T, width + 32, &ctx, &mask, &pos), HART_EMISMATCH);
    assert_non_null(strstr(hart_errmsg(), "width"));
    assert_int_equal(hart_text_encode_from_dir(dir, NULL, prompts, 2, T, width, &ctx, &mask, &pos), HART_OK);
    hart_tensor_free(&ctx); hart_tensor_free(&mask); hart_tensor_free(&pos);
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    }
}

/* Copy of the golden model with its 2-D weights (embedding + projections)
 * rounded to `dt` (see golden_write_rounded_copy); norm weights and biases
 * stay f32. */
static void write_rounded_copy(const char *dir, hart_dtype dt, int upcast) {
    golden_write_rounded_copy(strrchr(g_set, '/') + 1, dir, 2, dt, upcast, 1);
}

static void forward_dir(const char *dir, hart_backend *be, const hart_tensor *ids, const hart_tensor *amask,
                        float *out_host) {
    hart_qwen2 m;
    hart_status s = hart_qwen2_load(dir, be, &m);
    if (s) fprintf(stderr, "%s\n", hart_errmsg());
    assert_int_equal(s, HART_OK);
    const int64_t B = ids->shape[0], L = ids->shape[1];
    hart_tensor out;
    assert_int_equal(hart_tensor_new4(be, HART_F32, &out, 3, B, L, m.hidden, 0), HART_OK);
    s = hart_qwen2_forward(&m, ids->data, amask->data, B, L, &out, NULL);
    if (s) fprintf(stderr, "%s\n", hart_errmsg());
    assert_int_equal(s, HART_OK);
    assert_int_equal(hart_tensor_read_f32(&out, out_host), HART_OK);
    hart_tensor_free(&out);
    hart_qwen2_free(&m);
}

/* The release checkpoint is bf16 and hart.c keeps the stored dtype, so the
 * bf16/f16 weight paths (hart_op_linear, hart_op_embedding) of every backend are what
 * really runs. Oracle: the naive reference ops on the same rounded values
 * stored as f32. */
static void test_qwen2_half_weights(void **state) {
    (void)state;
    FOR_EACH_SET {
    char gp[1024];
    set_file("golden.safetensors", gp, sizeof gp);
    hart_safetensors g;
    assert_int_equal(hart_st_open(gp, &g), HART_OK);
    hart_tensor ids, amask;
    assert_int_equal(hart_st_tensor(&g, "input_ids", &ids), HART_OK);
    assert_int_equal(hart_st_tensor(&g, "attention_mask", &amask), HART_OK);
    const hart_dtype dts[2] = {HART_BF16, HART_F16};
    for (int k = 0; k < 2; k++) {
        char t1[] = "/tmp/hart_qwen2_half_XXXXXX", t2[] = "/tmp/hart_qwen2_up_XXXXXX";
        assert_non_null(mkdtemp(t1));
        assert_non_null(mkdtemp(t2));
        write_rounded_copy(t1, dts[k], 0);
        write_rounded_copy(t2, dts[k], 1);
        hart_qwen2 probe;
        assert_int_equal(hart_qwen2_load(t1, NULL, &probe), HART_OK);
        assert_int_equal(probe.layers[0].q_w.dtype, dts[k]); /* kept in the stored dtype */
        assert_int_equal(probe.embed.dtype, dts[k]);
        const int64_t n = ids.shape[0] * ids.shape[1] * probe.hidden;
        char last[64];
        snprintf(last, sizeof last, "hidden_states.%d", (int)probe.n_layers);
        hart_qwen2_free(&probe);
        /* want: the float reference ops on the same rounded values stored as f32;
         * got[b]: every backend on the 16-bit file (got[0] is the float64 oracle,
         * exact on the rounded weights). Limit from the measured float32 strays. */
        float *want = malloc((size_t)n * sizeof *want), *got = malloc((size_t)n * TB.n * sizeof *got);
        assert_true(want && got && TB.be[0] == golden_oracle());
        forward_dir(t2, hart_backend_ref(), &ids, &amask, want);
        for (int b = 0; b < TB.n; b++) forward_dir(t1, TB.be[b], &ids, &amask, got + (size_t)b * n);
        double stray = rel_err(want, got, n);
        for (int b = 1; b < TB.n; b++) stray = fmax(stray, rel_err(got + (size_t)b * n, got, n));
        const double limit = golden_limit(stray);
        for (int b = 0; b < TB.n; b++) {
            double e = rel_err(got + (size_t)b * n, want, n);
            printf("backend %s: %s weights, output vs reference ops on the same values in f32: rel err %.3g (limit %.3g)\n",
                   TB.spec[b], hart_dtype_name(dts[k]), e, limit);
            assert_true(e <= limit);
        }
        /* sanity: the rounding is visible at that limit, so a backend that
         * lost it (or misread the 16-bit values) could not pass */
        hart_tensor gl;
        assert_int_equal(hart_st_tensor(&g, last, &gl), HART_OK);
        double dg = rel_err(want, gl.data, n);
        printf("  (%s rounding moves the output by %.3g from the f32 golden)\n", hart_dtype_name(dts[k]), dg);
        assert_true(dg > 2 * limit);
        free(want);
        free(got);
        char cmd[200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", t1, t2);
        assert_int_equal(system(cmd), 0);
    }
    hart_st_close(&g);
    }
}

static int setup(void **state) {
    (void)state;
    g_nsets = golden_sets("qwen2-", "golden.safetensors", g_sets, 16);
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
        cmocka_unit_test(test_qwen2_tiny),
        cmocka_unit_test(test_qwen2_bad_input),
        cmocka_unit_test(test_text_encode_ids),
        cmocka_unit_test(test_qwen2_layouts),
        cmocka_unit_test(test_text_encode_end_to_end),
        cmocka_unit_test(test_qwen2_half_weights),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
