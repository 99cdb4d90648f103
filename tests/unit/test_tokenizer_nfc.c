/* NFC as the reference tokenizer does it (tokenizer/nfc_opaque.h): ids for
 * text with the code points whose normalisation differs between utf8proc and
 * HF `tokenizers` (tests/data/tokenizer/nfc_vectors.json, recorded from the
 * reference by tools/make_nfc_vectors.py), the table lookup itself, and the
 * corpus tests/data/text/expected.jsonl (HF tokenizers ids). */
#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tokenizer/bpe.h"
#include "tokenizer/nfc_opaque.h"
#include "support/test_skip.h"
#include "support/slurp.h"

#define TOK_XZ "tests/data/tokenizer/qwen2_vl_tokenizer.json.xz"
#define VECTORS "tests/data/tokenizer/nfc_vectors.json"

static hart_bpe *load_tokenizer(const char *xz) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "xz -dc '%s'", xz);
    size_t n = 0;
    char *json = slurp_cmd(cmd, &n);
    if (!json) { fprintf(stderr, "cannot decompress %s (is xz installed?)\n", xz); return NULL; }
    hart_bpe *t = NULL;
    if (hart_bpe_load_mem(json, n, xz, &t)) fprintf(stderr, "%s\n", hart_errmsg());
    free(json);
    return t;
}

static hart_bpe *g_tok;

static int setup(void **state) {
    (void)state;
    g_tok = load_tokenizer(TOK_XZ);
    return g_tok ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    hart_bpe_free(g_tok);
    return 0;
}

/* Encodes text and compares with the JSON id array; prints the first few
 * mismatches. Returns 1 when equal. */
static int check_ids(const hart_bpe *t, const char *text, size_t len, const cJSON *exp, const char *label, int *shown) {
    int64_t *ids = NULL;
    size_t n = 0;
    if (hart_bpe_encode(t, text, len, &ids, &n)) {
        fprintf(stderr, "%s: %s\n", label, hart_errmsg());
        return 0;
    }
    int ok = (int)n == cJSON_GetArraySize(exp);
    for (size_t i = 0; ok && i < n; i++) ok = ids[i] == (int64_t)cJSON_GetArrayItem(exp, (int)i)->valuedouble;
    if (!ok && (*shown)++ < 8) {
        fprintf(stderr, "%s mismatch:", label);
        for (size_t i = 0; i < len; i++) fprintf(stderr, " %02x", (unsigned char)text[i]);
        fprintf(stderr, "\n  got:");
        for (size_t i = 0; i < n; i++) fprintf(stderr, " %lld", (long long)ids[i]);
        fprintf(stderr, "\n  exp:");
        for (int i = 0; i < cJSON_GetArraySize(exp); i++) fprintf(stderr, " %d", cJSON_GetArrayItem(exp, i)->valueint);
        fprintf(stderr, "\n");
    }
    free(ids);
    return ok;
}

static void test_opaque_table(void **state) {
    (void)state;
    /* sorted, disjoint ranges */
    for (int i = 0; i < hart_nfc_opaque_n; i++) {
        assert_true(hart_nfc_opaque[i].lo <= hart_nfc_opaque[i].hi);
        if (i) assert_true(hart_nfc_opaque[i - 1].hi + 1 < hart_nfc_opaque[i].lo);
    }
    /* the three examples of the brief, and marks every Unicode version had */
    assert_true(hart_nfc_is_opaque(0x07FD));
    assert_true(hart_nfc_is_opaque(0x11D44));
    assert_true(hart_nfc_is_opaque(0x16FF1));
    const int32_t old[] = {0x0041, 0x0301, 0x0345, 0x05B0, 0x07EB, 0x094D, 0x3099, 0x1D16E, 0x11938};
    for (size_t i = 0; i < sizeof old / sizeof *old; i++) assert_false(hart_nfc_is_opaque(old[i]));
    /* the scan finds the first one at its byte offset, with its length */
    const char *s = "ab\xc3\xa9\xe4\xb8\xad\xdf\xbd\xf0\x91\xb5\x84";
    size_t len = 0;
    assert_int_equal(hart_nfc_find_opaque((const unsigned char *)s, strlen(s), &len), 7);
    assert_int_equal(len, 2);
    assert_int_equal(hart_nfc_find_opaque((const unsigned char *)s + 9, 4, &len), 0);
    assert_int_equal(len, 4);
    assert_int_equal(hart_nfc_find_opaque((const unsigned char *)s, 7, &len), 7);
}

static void test_reference_ids(void **state) {
    (void)state;
    size_t n = 0;
    char *v = slurp_cmd("cat " VECTORS, &n);
    assert_non_null(v);
    cJSON *vec = cJSON_ParseWithLength(v, n);
    free(v);
    assert_non_null(vec);
    const cJSON *cases = cJSON_GetObjectItem(vec, "cases");
    int nc = cJSON_GetArraySize(cases), bad = 0, shown = 0, sensitive = 0;
    /* every table entry is recorded */
    int ncp = 0;
    for (int i = 0; i < hart_nfc_opaque_n; i++) ncp += hart_nfc_opaque[i].hi - hart_nfc_opaque[i].lo + 1;
    assert_int_equal(cJSON_GetObjectItem(vec, "code_points")->valueint, ncp);
    for (int c = 0; c < nc; c++) {
        const cJSON *cs = cJSON_GetArrayItem(cases, c);
        const char *text = cJSON_GetObjectItem(cs, "text")->valuestring;
        char label[32];
        snprintf(label, sizeof label, "nfc case %d", c);
        bad += !check_ids(g_tok, text, strlen(text), cJSON_GetObjectItem(cs, "ids"), label, &shown);
        sensitive += cJSON_IsTrue(cJSON_GetObjectItem(cs, "sensitive"));
    }
    printf("  %d reference cases (%d where plain utf8proc NFC differs), %d mismatches\n", nc, sensitive, bad);
    assert_true(nc >= 5 * ncp);
    assert_true(sensitive >= 2 * ncp);
    cJSON_Delete(vec);
    assert_int_equal(bad, 0);
}

/* The real tokenizer.json and 40 lines with HF tokenizers ids (a copy of the
 * team's shared/text in tests/data/text; $HART_SHARED_TEXT overrides). */
static void test_shared_corpus(void **state) {
    (void)state;
    const char *env = getenv("HART_SHARED_TEXT"), *cand[] = {env, "tests/data/text", "../shared/text"};
    const char *dir = NULL;
    char path[1024];
    for (size_t i = 0; i < 3 && !dir; i++) {
        if (!cand[i]) continue;
        snprintf(path, sizeof path, "%s/expected.jsonl", cand[i]);
        if (access(path, R_OK) == 0) dir = cand[i];
    }
    if (!dir) test_skip("tests/data/text/expected.jsonl not found");
    snprintf(path, sizeof path, "%s/tokenizer.json.xz", dir);
    hart_bpe *t = load_tokenizer(path);
    assert_non_null(t);
    snprintf(path, sizeof path, "%s/expected.jsonl", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    int lines = 0, bad = 0, shown = 0;
    for (ssize_t r; (r = getline(&line, &cap, f)) > 0;) {
        cJSON *j = cJSON_ParseWithLength(line, (size_t)r);
        assert_non_null(j);
        const cJSON *text = cJSON_GetObjectItem(j, "text");
        char label[32];
        snprintf(label, sizeof label, "corpus line %d", lines + 1);
        bad += !check_ids(t, text->valuestring, strlen(text->valuestring), cJSON_GetObjectItem(j, "ids"), label, &shown);
        cJSON_Delete(j);
        lines++;
    }
    free(line);
    fclose(f);
    hart_bpe_free(t);
    printf("  %d corpus lines from %s, %d mismatches\n", lines, dir, bad);
    assert_true(lines > 0);
    assert_int_equal(bad, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opaque_table),
        cmocka_unit_test(test_reference_ids),
        cmocka_unit_test(test_shared_corpus),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
