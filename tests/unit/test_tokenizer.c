/* Qwen2 byte-level BPE tokenizer against ids produced by the Hugging Face
 * `tokenizers` library on the real Qwen2 vocabulary
 * (tools/make_tokenizer_vectors.py -> tests/data/tokenizer/). */
#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

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

static void test_vocab(void **state) {
    (void)state;
    assert_int_equal(hart_bpe_vocab_size(g_tok), 151657);
    assert_int_equal(hart_bpe_token_id(g_tok, "<|endoftext|>"), 151643);
    assert_int_equal(hart_bpe_token_id(g_tok, "<|im_start|>"), 151644);
    assert_int_equal(hart_bpe_token_id(g_tok, "<|im_end|>"), 151645);
    assert_int_equal(hart_bpe_token_id(g_tok, "no such token"), -1);
}

static void test_reference_cases(void **state) {
    (void)state;
    const cJSON *cases = cJSON_GetObjectItem(g_vec, "cases");
    int n = cJSON_GetArraySize(cases), bad = 0;
    assert_true(n >= 30);
    for (int c = 0; c < n; c++) {
        const cJSON *cs = cJSON_GetArrayItem(cases, c);
        const char *text = cJSON_GetObjectItem(cs, "text")->valuestring;
        const cJSON *exp = cJSON_GetObjectItem(cs, "ids");
        int64_t *ids;
        size_t nid;
        hart_status s = hart_bpe_encode(g_tok, text, strlen(text), &ids, &nid);
        if (s) { fprintf(stderr, "case %d: %s\n", c, hart_errmsg()); bad++; continue; }
        int ok = (int)nid == cJSON_GetArraySize(exp);
        for (size_t i = 0; ok && i < nid; i++) ok = ids[i] == (int64_t)cJSON_GetArrayItem(exp, (int)i)->valuedouble;
        if (!ok) {
            fprintf(stderr, "case %d mismatch: %s\n  got:", c, text);
            for (size_t i = 0; i < nid; i++) fprintf(stderr, " %lld", (long long)ids[i]);
            fprintf(stderr, "\n  exp:");
            for (int i = 0; i < cJSON_GetArraySize(exp); i++) fprintf(stderr, " %d", cJSON_GetArrayItem(exp, i)->valueint);
            fprintf(stderr, "\n");
            bad++;
        }
        /* decode (all cases decode to valid UTF-8) */
        const char *dk[2] = {"decoded", "decoded_skip_special"};
        for (int skip = 0; ok && skip < 2; skip++) {
            char *dec;
            size_t dl;
            assert_int_equal(hart_bpe_decode(g_tok, ids, nid, skip, &dec, &dl), HART_OK);
            const char *want = cJSON_GetObjectItem(cs, dk[skip])->valuestring;
            if (dl != strlen(want) || memcmp(dec, want, dl)) {
                fprintf(stderr, "case %d decode(skip=%d) mismatch: '%s' vs '%s'\n", c, skip, dec, want);
                bad++;
            }
            free(dec);
        }
        free(ids);
    }
    printf("  %d reference cases, %d mismatches\n", n, bad);
    assert_int_equal(bad, 0);
}

static void test_decode_lossy(void **state) {
    (void)state;
    const cJSON *cases = cJSON_GetObjectItem(g_vec, "decode_cases");
    int n = cJSON_GetArraySize(cases), bad = 0, replaced = 0;
    assert_true(n > 256);
    for (int c = 0; c < n; c++) {
        const cJSON *cs = cJSON_GetArrayItem(cases, c), *jids = cJSON_GetObjectItem(cs, "ids");
        int64_t ids[8];
        int k = cJSON_GetArraySize(jids);
        assert_true(k <= 8);
        for (int i = 0; i < k; i++) ids[i] = (int64_t)cJSON_GetArrayItem(jids, i)->valuedouble;
        /* expected bytes as hex (they may contain NUL) */
        const char *want = cJSON_GetObjectItem(cs, "decoded_hex")->valuestring;
        char *dec;
        size_t dl;
        assert_int_equal(hart_bpe_decode(g_tok, ids, (size_t)k, 0, &dec, &dl), HART_OK);
        char *hex = malloc(2 * dl + 1);
        for (size_t i = 0; i < dl; i++) snprintf(hex + 2 * i, 3, "%02x", (unsigned char)dec[i]);
        hex[2 * dl] = 0;
        if (strcmp(hex, want)) { if (bad < 5) fprintf(stderr, "decode case %d: %s vs %s\n", c, hex, want); bad++; }
        replaced += strstr(want, "efbfbd") != NULL;
        free(hex);
        free(dec);
    }
    printf("  %d decode cases (%d with U+FFFD), %d mismatches\n", n, replaced, bad);
    assert_true(replaced > 100);
    assert_int_equal(bad, 0);
}

static void test_invalid_utf8(void **state) {
    (void)state;
    const char *bad[] = {"abc\xff", "\xc3", "x\xc0\xafy", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t *ids = NULL;
        size_t n = 0;
        assert_int_equal(hart_bpe_encode(g_tok, bad[i], strlen(bad[i]), &ids, &n), HART_EINVAL);
        assert_null(ids);
        assert_non_null(strstr(hart_errmsg(), "not valid UTF-8"));
    }
    int64_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(hart_bpe_encode(g_tok, "", 0, &ids, &n), HART_OK);
    assert_int_equal(n, 0);
    free(ids);
    /* an embedded NUL is a valid character */
    assert_int_equal(hart_bpe_encode(g_tok, "a\0b", 3, &ids, &n), HART_OK);
    assert_int_equal(n, 3);
    free(ids);
}

static void test_decode_errors(void **state) {
    (void)state;
    int64_t ids[2] = {9707, 999999};
    char *t;
    assert_int_equal(hart_bpe_decode(g_tok, ids, 2, 0, &t, NULL), HART_EINVAL);
    assert_non_null(strstr(hart_errmsg(), "999999"));
}

static void test_bad_files(void **state) {
    (void)state;
    hart_bpe *t;
    const char *bad_json = "{\"model\": ";
    assert_int_equal(hart_bpe_load_mem(bad_json, strlen(bad_json), "x.json", &t), HART_EFORMAT);
    const char *wordpiece = "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}";
    assert_int_equal(hart_bpe_load_mem(wordpiece, strlen(wordpiece), "wp.json", &t), HART_EUNSUPPORTED);
    assert_non_null(strstr(hart_errmsg(), "wp.json"));
    const char *no_bytes = "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}";
    assert_int_equal(hart_bpe_load_mem(no_bytes, strlen(no_bytes), "nb.json", &t), HART_EFORMAT);
    assert_int_equal(hart_bpe_load("/nonexistent/tokenizer.json", &t), HART_EIO);
    const char *huge_id = "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":99999999},\"merges\":[]}}";
    assert_int_equal(hart_bpe_load_mem(huge_id, strlen(huge_id), "huge.json", &t), HART_EFORMAT);
    const char *bad_merge = "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"ab\"]}}";
    assert_int_equal(hart_bpe_load_mem(bad_merge, strlen(bad_merge), "bm.json", &t), HART_EFORMAT);
    const char *bad_re = "{\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(\"},\"behavior\":\"Isolated\"},{\"type\":\"ByteLevel\"}]},\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]}}";
    assert_int_equal(hart_bpe_load_mem(bad_re, strlen(bad_re), "re.json", &t), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "regex"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vocab),
        cmocka_unit_test(test_reference_cases),
        cmocka_unit_test(test_decode_lossy),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
