/* HART prompt tokenization (src/pipeline/text_encode.c: system prompt,
 * max length 300, right truncation/padding with <|endoftext|>, mask, position
 * ids) against the reference (tools/make_tokenizer_vectors.py, HF tokenizers
 * on the real Qwen2 vocabulary). */
#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pipeline/text_encode.h"
#include "tokenizer/bpe.h"
#include "support/slurp.h"

#define TOK_XZ "tests/data/tokenizer/qwen2_vl_tokenizer.json.xz"
#define VECTORS "tests/data/tokenizer/qwen2_vectors.json"

static hart_bpe *g_tok;
static cJSON *g_vec;

static int setup(void **state) {
    (void)state;
    size_t n = 0;
    char *json = slurp_cmd("xz -dc " TOK_XZ, &n);
    if (!json) { fprintf(stderr, "cannot decompress %s (is xz installed?)\n", TOK_XZ); return -1; }
    hart_status s = hart_bpe_load_mem(json, n, TOK_XZ, &g_tok);
    free(json);
    if (s) { fprintf(stderr, "%s\n", hart_errmsg()); return -1; }
    char *v = slurp_cmd("cat " VECTORS, &n);
    if (!v) return -1;
    g_vec = cJSON_ParseWithLength(v, n);
    free(v);
    return g_vec ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    hart_bpe_free(g_tok);
    cJSON_Delete(g_vec);
    return 0;
}


static int eq_ids(const int64_t *got, const cJSON *exp, int n, const char *what) {
    if (cJSON_GetArraySize(exp) != n) { fprintf(stderr, "%s: length %d vs %d\n", what, n, cJSON_GetArraySize(exp)); return 0; }
    for (int i = 0; i < n; i++)
        if (got[i] != (int64_t)cJSON_GetArrayItem(exp, i)->valuedouble) {
            fprintf(stderr, "%s: differs at %d (%lld vs %d)\n", what, i, (long long)got[i], cJSON_GetArrayItem(exp, i)->valueint);
            return 0;
        }
    return 1;
}

static void test_system_prompt(void **state) {
    (void)state;
    const cJSON *h = cJSON_GetObjectItem(g_vec, "hart");
    int64_t *ids;
    size_t n;
    assert_int_equal(hart_bpe_encode(g_tok, hart_text_system_prompt, strlen(hart_text_system_prompt), &ids, &n), HART_OK);
    assert_true(n <= HART_TEXT_MAX_LEN);
    assert_true(eq_ids(ids, cJSON_GetObjectItem(h, "system_prompt_ids"), (int)n, "system prompt"));
    free(ids);
}

static void test_hart_prompts(void **state) {
    (void)state;
    const cJSON *h = cJSON_GetObjectItem(g_vec, "hart");
    const cJSON *ps = cJSON_GetObjectItem(h, "prompts");
    int B = cJSON_GetArraySize(ps), T = cJSON_GetObjectItem(h, "max_length")->valueint;
    assert_int_equal(T, HART_TEXT_MAX_LEN);
    int64_t pad = hart_bpe_token_id(g_tok, "<|endoftext|>");
    assert_int_equal(pad, cJSON_GetObjectItem(h, "pad_id")->valueint);
    const char **prompts = calloc((size_t)B, sizeof *prompts);
    int64_t *ids = malloc(sizeof *ids * B * T), *pos = malloc(sizeof *pos * B * T), *m64 = malloc(sizeof *m64 * B * T);
    uint8_t *mask = malloc((size_t)B * T);
    for (int b = 0; b < B; b++) prompts[b] = cJSON_GetObjectItem(cJSON_GetArrayItem(ps, b), "prompt")->valuestring;
    assert_int_equal(hart_text_tokenize(g_tok, prompts, B, T, pad, ids, mask, pos), HART_OK);
    int truncated = 0, padded = 0;
    for (int b = 0; b < B; b++) {
        const cJSON *e = cJSON_GetArrayItem(ps, b);
        for (int t = 0; t < T; t++) m64[t] = mask[b * T + t];
        assert_true(eq_ids(ids + b * T, cJSON_GetObjectItem(e, "ids"), T, "ids"));
        assert_true(eq_ids(m64, cJSON_GetObjectItem(e, "mask"), T, "mask"));
        assert_true(eq_ids(pos + b * T, cJSON_GetObjectItem(e, "position_ids"), T, "position ids"));
        truncated += mask[b * T + T - 1];
        padded += !mask[b * T + T - 1];
    }
    assert_true(truncated >= 1 && padded >= 1); /* both truncation and padding exercised */
    assert_int_equal(hart_text_tokenize(g_tok, prompts, 0, T, pad, ids, mask, pos), HART_EINVAL);
    const char *bad[1] = {"bad \xff utf-8"};
    assert_int_equal(hart_text_tokenize(g_tok, bad, 1, T, pad, ids, mask, pos), HART_EINVAL);
    assert_non_null(strstr(hart_errmsg(), "prompt 0"));
    free(prompts); free(ids); free(pos); free(m64); free(mask);
}

/* Left padding / truncation (tokenizer_config padding_side / truncation_side
 * "left"); ids of "a photo of a cat" from the vectors: 64 6548 315 264 8251. */
static void test_sides(void **state) {
    (void)state;
    const char *p[1] = {"a photo of a cat"};
    int64_t ids[7], pos[7];
    uint8_t mask[7];
    assert_int_equal(hart_text_tokenize_sides(g_tok, p, 1, 7, 151643, 1, 0, ids, mask, pos), HART_OK);
    const int64_t e_ids[7] = {151643, 151643, 64, 6548, 315, 264, 8251}, e_pos[7] = {-1, -1, 0, 1, 2, 3, 4};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(ids[i], e_ids[i]);
        assert_int_equal(mask[i], i >= 2);
        assert_int_equal(pos[i], e_pos[i]);
    }
    assert_int_equal(hart_text_tokenize_sides(g_tok, p, 1, 3, 151643, 0, 1, ids, mask, pos), HART_OK);
    assert_int_equal(ids[0], 315); assert_int_equal(ids[1], 264); assert_int_equal(ids[2], 8251);
    assert_int_equal(hart_text_tokenize_sides(g_tok, p, 1, 3, 151643, 0, 0, ids, mask, pos), HART_OK);
    assert_int_equal(ids[0], 64); assert_int_equal(ids[1], 6548); assert_int_equal(ids[2], 315);
}

static void test_null_context(void **state) {
    (void)state;
    hart_tensor c, m, p;
    assert_int_equal(hart_text_null_context(NULL, 2, 5, 3, &c, &m, &p), HART_OK);
    const uint8_t *mm = m.data;
    const int64_t *pp = p.data;
    const float *cc = c.data;
    for (int i = 0; i < 10; i++) { assert_int_equal(mm[i], i % 5 == 0); assert_int_equal(pp[i], 0); }
    for (int i = 0; i < 30; i++) assert_true(cc[i] == 0.0f);
    hart_tensor_free(&c); hart_tensor_free(&m); hart_tensor_free(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_system_prompt),
        cmocka_unit_test(test_hart_prompts),
        cmocka_unit_test(test_sides),
        cmocka_unit_test(test_null_context),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
