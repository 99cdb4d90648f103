/* Qwen2 text encoder against ../shared/golden/qwen2-tiny (hidden states of
 * every layer and HART's context slice), on the CPU backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "backend/backend.h"
#include "models/qwen2.h"
#include "ops/ops.h"
#include "pipeline/text_encode.h"
#include "support/golden.h"

static const double TOL = 1e-4;

static void test_qwen2_tiny(void **state) {
    (void)state;
    if (!golden_available()) { printf("SKIP: golden data not found\n"); skip(); }
    char dir[1024], gp[1024];
    golden_path("qwen2-tiny", dir, sizeof dir);
    golden_path("qwen2-tiny/golden.safetensors", gp, sizeof gp);
    hart_safetensors g;
    assert_int_equal(hart_st_open(gp, &g), HART_OK);
    hart_qwen2 m;
    hart_status s = hart_qwen2_load(dir, hart_backend_cpu(), &m);
    if (s) fprintf(stderr, "%s\n", hart_errmsg());
    assert_int_equal(s, HART_OK);

    hart_tensor ids, amask;
    assert_int_equal(hart_st_tensor(&g, "input_ids", &ids), HART_OK);
    assert_int_equal(hart_st_tensor(&g, "attention_mask", &amask), HART_OK);
    const int64_t B = ids.shape[0], L = ids.shape[1], D = m.hidden;
    hart_tensor out, hid[16];
    assert_true(m.n_layers + 1 <= 16);
    assert_int_equal(hart_tensor_new4(hart_backend_cpu(), HART_F32, &out, 3, B, L, D, 0), HART_OK);
    for (int i = 0; i <= m.n_layers; i++)
        assert_int_equal(hart_tensor_new4(hart_backend_cpu(), HART_F32, &hid[i], 3, B, L, D, 0), HART_OK);
    s = hart_qwen2_forward(&m, (const int64_t *)ids.data, (const uint8_t *)amask.data, B, L, &out, hid);
    if (s) fprintf(stderr, "%s\n", hart_errmsg());
    assert_int_equal(s, HART_OK);
    for (int i = 0; i <= m.n_layers; i++) {
        char nm[64];
        snprintf(nm, sizeof nm, "hidden_states.%d", i);
        assert_true(golden_compare(&g, nm, &hid[i]) <= TOL);
    }
    /* context: drop the system-prompt positions */
    hart_tensor ctx_g;
    assert_int_equal(hart_st_tensor(&g, "context", &ctx_g), HART_OK);
    const int64_t T = ctx_g.shape[1], S = L - T;
    hart_tensor ctx;
    assert_int_equal(hart_tensor_new4(hart_backend_cpu(), HART_F32, &ctx, 3, B, T, D, 0), HART_OK);
    assert_int_equal(op_slice(&ctx, &out, 1, S), HART_OK);
    assert_true(golden_compare(&g, "context", &ctx) <= TOL);

    hart_tensor_free(&ctx);
    hart_tensor_free(&out);
    for (int i = 0; i <= m.n_layers; i++) hart_tensor_free(&hid[i]);
    hart_qwen2_free(&m);
    hart_st_close(&g);
}

static void test_qwen2_bad_input(void **state) {
    (void)state;
    if (!golden_available()) skip();
    char dir[1024];
    golden_path("qwen2-tiny", dir, sizeof dir);
    hart_qwen2 m;
    assert_int_equal(hart_qwen2_load(dir, NULL, &m), HART_OK);
    hart_tensor out;
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &out, 3, 1, 2, m.hidden, 0), HART_OK);
    int64_t ids[2] = {1, 100000};
    assert_int_equal(hart_qwen2_forward(&m, ids, NULL, 1, 2, &out, NULL), HART_EINVAL);
    assert_non_null(strstr(hart_errmsg(), "outside the vocabulary"));
    hart_tensor_free(&out);
    hart_qwen2_free(&m);
    assert_int_not_equal(hart_qwen2_load("/nonexistent/qwen", NULL, &m), HART_OK);
}


/* HART's prompt encoding on the golden ids: system part + prompt part ->
 * context (system positions dropped) and the transformer's position ids. */
static void test_text_encode_ids(void **state) {
    (void)state;
    if (!golden_available()) skip();
    char dir[1024], gp[1024];
    golden_path("qwen2-tiny", dir, sizeof dir);
    golden_path("qwen2-tiny/golden.safetensors", gp, sizeof gp);
    hart_safetensors g;
    assert_int_equal(hart_st_open(gp, &g), HART_OK);
    hart_qwen2 m;
    assert_int_equal(hart_qwen2_load(dir, hart_backend_cpu(), &m), HART_OK);
    hart_tensor ids, pids, pmask;
    assert_int_equal(hart_st_tensor(&g, "input_ids", &ids), HART_OK);
    assert_int_equal(hart_st_tensor(&g, "prompt_ids", &pids), HART_OK);
    assert_int_equal(hart_st_tensor(&g, "prompt_mask", &pmask), HART_OK);
    const int B = (int)pids.shape[0], T = (int)pids.shape[1], S = (int)(ids.shape[1] - T);
    const int64_t *all = ids.data;
    /* every row shares the same system ids */
    for (int b = 1; b < B; b++) assert_memory_equal(all, all + (size_t)b * ids.shape[1], (size_t)S * sizeof(int64_t));
    hart_tensor ctx, pos;
    assert_int_equal(hart_tensor_new4(hart_backend_cpu(), HART_F32, &ctx, 3, B, T, m.hidden, 0), HART_OK);
    assert_int_equal(hart_text_encode_ids(&m, all, (size_t)S, pids.data, pmask.data, B, T, &ctx), HART_OK);
    assert_true(golden_compare(&g, "context", &ctx) <= TOL);
    assert_int_equal(hart_tensor_new4(NULL, HART_I64, &pos, 2, B, T, 0, 0), HART_OK);
    hart_text_position_ids(pmask.data, B, T, pos.data);
    assert_int_equal(golden_compare_idx(&g, "prompt_position_ids", &pos), 0);
    hart_tensor_free(&pos);
    hart_tensor_free(&ctx);
    hart_qwen2_free(&m);
    hart_st_close(&g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qwen2_tiny),
        cmocka_unit_test(test_qwen2_bad_input),
        cmocka_unit_test(test_text_encode_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
