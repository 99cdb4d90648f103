/* hart_tf_begin_uncond (the unconditional half of guidance given, e.g. a
 * negative prompt's context): given the null context explicitly (zeros,
 * mask 1 at position 0 only, position ids 0) it must give exactly what
 * hart_tf_begin gives (the golden path); given another context, the
 * conditional half is unchanged and the unconditional half differs. Golden
 * hart-tiny-a transformer, scale 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "models/hart/transformer.h"
#include "support/golden.h"
#include "support/test_skip.h"

static const int V = 1024, Z = 8; /* hart-tiny-a tokenizer: vocab_size, z_channels */

typedef struct {
    const hart_tensor *uc, *um, *up;
} uncond;

/* scale-0 logits [2B,1,V] on the host, caller frees */
static float *logits0(hart_transformer *tf, const hart_tensor *ctx, const hart_tensor *mask, const uncond *u) {
    const hart_tf_config *g = hart_tf_get_config(tf);
    int B = (int)ctx->shape[0], N = 2 * B, T = g->ctx_tokens;
    if (u) assert_int_equal(hart_tf_begin_uncond(tf, ctx, mask, NULL, u->uc, u->um, u->up), HART_OK);
    else assert_int_equal(hart_tf_begin(tf, ctx, mask, NULL), HART_OK);
    hart_tensor x = {0}, h = {0}, lg = {0};
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &x, 3, N, T, g->C, 0), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &h, 3, N, T, g->C, 0), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &lg, 3, N, 1, V, 0), HART_OK);
    assert_int_equal(hart_tf_first_input(tf, &x), HART_OK);
    assert_int_equal(hart_tf_forward(tf, 0, &x, &h, &lg), HART_OK);
    float *out = malloc(sizeof(float) * (size_t)N * V);
    assert_non_null(out);
    memcpy(out, lg.data, sizeof(float) * (size_t)N * V);
    hart_tensor_free(&x);
    hart_tensor_free(&h);
    hart_tensor_free(&lg);
    return out;
}

static void test_uncond(void **s) {
    char dir[1024];
    golden_path("hart-tiny-a/llm", dir, sizeof dir);
    hart_transformer *tf = NULL;
    if (hart_tf_load(hart_backend_cpu(), dir, V, Z, &tf) != HART_OK) skip();
    const hart_tf_config *g = hart_tf_get_config(tf);
    int B = 2, T = g->ctx_tokens, D = g->ctx_dim;
    hart_tensor ctx = {0}, mask = {0}, nctx = {0}, nmask = {0}, npos = {0}, pos = {0};
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &ctx, 3, B, T, D, 0), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_U8, &mask, 2, B, T, 0, 0), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_I64, &pos, 2, B, T, 0, 0), HART_OK);
    unsigned r = 7;
    for (int64_t i = 0; i < (int64_t)B * T * D; i++) {
        r = r * 1664525u + 1013904223u;
        ((float *)ctx.data)[i] = (float)(r >> 8) / 8388608.0f - 1.0f;
    }
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            ((uint8_t *)mask.data)[b * T + t] = t < T - 1 - b;
            ((int64_t *)pos.data)[b * T + t] = t < T - 1 - b ? t : T - 2 - b;
        }
    /* the null context, spelled out */
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &nctx, 3, B, T, D, 0), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_U8, &nmask, 2, B, T, 0, 0), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_I64, &npos, 2, B, T, 0, 0), HART_OK);
    for (int b = 0; b < B; b++) ((uint8_t *)nmask.data)[b * T] = 1;
    float *ref = logits0(tf, &ctx, &mask, NULL);
    uncond null_u = {&nctx, &nmask, &npos};
    float *same = logits0(tf, &ctx, &mask, &null_u);
    assert_memory_equal(ref, same, sizeof(float) * (size_t)2 * B * V);
    /* another unconditional context: the prompt's own */
    uncond own = {&ctx, &mask, &pos};
    float *other = logits0(tf, &ctx, &mask, &own);
    assert_memory_equal(ref, other, sizeof(float) * (size_t)B * V); /* conditional half */
    assert_memory_not_equal(ref + (size_t)B * V, other + (size_t)B * V, sizeof(float) * (size_t)B * V);
    /* own context as the unconditional half: both halves alike */
    for (int i = 0; i < B * V; i++) assert_float_equal(other[i], other[B * V + i], 1e-4);
    /* shape mismatch: one clear error */
    uncond bad = {&ctx, &mask, NULL};
    assert_int_not_equal(hart_tf_begin_uncond(tf, &ctx, &mask, NULL, bad.uc, bad.um, bad.up), HART_OK);
    free(ref);
    free(same);
    free(other);
    hart_tensor *ts[] = {&ctx, &mask, &pos, &nctx, &nmask, &npos};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) hart_tensor_free(ts[i]);
    hart_tf_free(tf);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_uncond)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
