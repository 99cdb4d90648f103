/* Arena: alignment, mark/reset reuse, growth by chained blocks, limit errors, tensors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"

static void test_basic(void **st) {
    hart_arena a;
    assert_int_equal(hart_arena_init(&a, 1000, 0), HART_OK);
    void *p, *q, *r;
    assert_int_equal(hart_arena_alloc(&a, 3, &p), HART_OK);
    assert_int_equal(hart_arena_alloc(&a, 100, &q), HART_OK);
    assert_true(((uintptr_t)p % 64) == 0 && ((uintptr_t)q % 64) == 0);
    assert_true((char *)q >= (char *)p + 3);
    memset(q, 1, 100);
    hart_arena_mark_t m = hart_arena_mark(&a);
    size_t used = a.used;
    assert_int_equal(hart_arena_alloc(&a, 200, &r), HART_OK);
    assert_true((char *)r >= (char *)q + 100);
    hart_arena_reset(&a, m);
    assert_int_equal(a.used, used);
    void *r2;
    assert_int_equal(hart_arena_alloc(&a, 200, &r2), HART_OK);
    assert_ptr_equal(r, r2); /* same memory handed out again after the reset */
    /* zero-size request gives a valid, distinct pointer */
    void *z;
    assert_int_equal(hart_arena_alloc(&a, 0, &z), HART_OK);
    assert_non_null(z);
    hart_arena_free(&a);
}

static void test_growth_and_reuse(void **st) {
    hart_arena a;
    assert_int_equal(hart_arena_init(&a, 4096, 0), HART_OK);
    hart_arena_mark_t m0 = hart_arena_mark(&a);
    void *big, *small;
    assert_int_equal(hart_arena_alloc(&a, 3000, &small), HART_OK);
    assert_int_equal(hart_arena_alloc(&a, 100000, &big), HART_OK); /* new block, larger than default */
    memset(big, 7, 100000);
    memset(small, 3, 3000);
    size_t reserved = a.reserved;
    assert_true(reserved >= 4096 + 100000);
    assert_true(a.peak >= 103000);
    for (int step = 0; step < 5; step++) { /* steady state: no more reservations */
        hart_arena_reset(&a, m0);
        assert_int_equal(a.used, 0);
        void *p1, *p2;
        assert_int_equal(hart_arena_alloc(&a, 3000, &p1), HART_OK);
        assert_int_equal(hart_arena_alloc(&a, 100000, &p2), HART_OK);
        assert_ptr_equal(p1, small);
        assert_ptr_equal(p2, big);
        assert_int_equal(a.reserved, reserved);
    }
    hart_arena_clear(&a);
    assert_int_equal(a.used, 0);
    void *huge;
    assert_int_equal(hart_arena_alloc(&a, 5000, &huge), HART_OK);
    assert_int_equal(hart_arena_alloc(&a, 200000, &huge), HART_OK); /* kept block too small: replaced */
    memset(huge, 1, 200000);
    hart_arena_free(&a);
}

static void test_limit_and_tensor(void **st) {
    hart_arena a;
    assert_int_equal(hart_arena_init(&a, 4096, 8192), HART_OK);
    void *p;
    assert_int_equal(hart_arena_alloc(&a, 4000, &p), HART_OK);
    assert_int_equal(hart_arena_alloc(&a, 4000, &p), HART_OK);
    assert_int_equal(hart_arena_alloc(&a, 4000, &p), HART_ENOMEM);
    assert_non_null(strstr(hart_errmsg(), "arena"));
    hart_arena_clear(&a);
    int64_t shape[3] = {2, 3, 5};
    hart_tensor t;
    assert_int_equal(hart_arena_tensor(&a, HART_F32, 3, shape, &t), HART_OK);
    assert_int_equal(hart_tensor_numel(&t), 30);
    assert_int_equal(t.owns, 0);
    assert_null(t.be);
    ((float *)t.data)[29] = 1.0f;
    int64_t bad[1] = {-1};
    assert_int_equal(hart_arena_tensor(&a, HART_F32, 1, bad, &t), HART_EINVAL);
    assert_int_equal(hart_arena_tensor(&a, HART_F32, 5, shape, &t), HART_EINVAL);
    hart_arena_free(&a);
    hart_arena b;
    assert_int_equal(hart_arena_init(&b, 1 << 20, 4096), HART_EINVAL);
    hart_arena_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_growth_and_reuse),
        cmocka_unit_test(test_limit_and_tensor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
