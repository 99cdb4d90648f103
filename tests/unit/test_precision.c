/* Precision modes (backend.h, docs/precision.md): parsing and defaults,
 * hart_weight_to's conversion (hand-derived half bit patterns), and what f16
 * mode does to the ops, on the CPU backend and on OpenCL when a device
 * opens: linear/conv2d = the reference op on half-rounded inputs and
 * weights, its result rounded to half; attention = the reference on
 * half-rounded q, k, v; matmul and host tensors unchanged. The oracle is the
 * naive reference backend; the rounding of its operands is done here with
 * the bit-level conversions (themselves checked against hand-derived
 * patterns in test_weight_to). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "backend/backend.h"
#include "ops/ops.h"
#include "support/golden.h"
#include "support/test_skip.h"

#define OK(expr) assert_int_equal((expr), HART_OK)

static float round_half(float v) { return hart_f16_to_f32(hart_f32_to_f16(v)); }

/* One step of half's grid at |v| (normal: 2^(e-10); subnormal: 2^-24). */
static double half_step(double v) {
    int e;
    frexp(fabs(v), &e); /* |v| in [2^(e-1), 2^e) */
    return e - 1 < -14 ? ldexp(1.0, -24) : ldexp(1.0, e - 11);
}

static hart_tensor host_rand(int nd, int64_t d0, int64_t d1, int64_t d2, int64_t d3, unsigned seed) {
    hart_tensor t;
    OK(hart_tensor_new4(NULL, HART_F32, &t, nd, d0, d1, d2, d3));
    fill_random(t.data, hart_tensor_numel(&t), seed, -1.0f, 1.0f);
    return t;
}

static hart_tensor host_rounded(const hart_tensor *t) {
    hart_tensor r;
    OK(hart_tensor_new(NULL, HART_F32, t->ndim, t->shape, &r));
    for (int64_t i = 0; i < hart_tensor_numel(t); i++) ((float *)r.data)[i] = round_half(((const float *)t->data)[i]);
    return r;
}

static hart_tensor on(hart_backend *be, const hart_tensor *h) {
    hart_tensor t;
    OK(hart_tensor_to(be, h, &t));
    return t;
}

static float *read_back(const hart_tensor *t) {
    float *p = malloc(sizeof(float) * (size_t)hart_tensor_numel(t));
    assert_non_null(p);
    OK(hart_tensor_read_f32(t, p));
    return p;
}

/* y (f16 mode, on some backend) against the reference result r on rounded
 * operands: every y is a half value, within one half step of round(r)
 * (the f32 sums of the two backends may fall on either side of a rounding
 * boundary). Returns the largest difference in half steps. */
static double check_half_output(const hart_tensor *y, const hart_tensor *r) {
    float *a = read_back(y);
    const float *b = r->data;
    double worst = 0;
    for (int64_t i = 0; i < hart_tensor_numel(r); i++) {
        assert_true(a[i] == round_half(a[i]));
        double want = round_half(b[i]), d = fabs(a[i] - want) / half_step(want);
        if (d > worst) worst = d;
        assert_true(d <= 1.0);
    }
    free(a);
    return worst;
}

static void test_parse_and_names(void **st) {
    (void)st;
    hart_precision p;
    OK(hart_precision_parse("f32", &p)); assert_int_equal(p, HART_PREC_F32);
    OK(hart_precision_parse("f16", &p)); assert_int_equal(p, HART_PREC_F16);
    OK(hart_precision_parse("auto", &p)); assert_int_equal(p, HART_PREC_AUTO);
    OK(hart_precision_parse(NULL, &p)); assert_int_equal(p, HART_PREC_AUTO);
    OK(hart_precision_parse("", &p)); assert_int_equal(p, HART_PREC_AUTO);
    assert_int_equal(hart_precision_parse("bf16", &p), HART_EINVAL);
    assert_string_equal(hart_precision_name(HART_PREC_F16), "f16");
    assert_string_equal(hart_precision_name(HART_PREC_F32), "f32");
}

static void test_defaults(void **st) {
    (void)st;
    hart_backend *cpu = hart_backend_cpu();
    assert_int_equal(cpu->precision, HART_PREC_F32); /* every backend starts exact */
    assert_int_equal(hart_precision_default(cpu), HART_PREC_F32);
    hart_backend *be;
    char why[768];
    OK(hart_backend_open_prec("cpu", HART_PREC_AUTO, &be, why, sizeof why));
    assert_ptr_equal(be, cpu);
    assert_non_null(strstr(why, "precision f32 (default off a GPU)"));
    OK(hart_backend_open_prec("cpu", HART_PREC_F16, &be, why, sizeof why));
    assert_int_equal(cpu->precision, HART_PREC_F16);
    assert_non_null(strstr(why, "precision f16 (asked for"));
    OK(hart_backend_set_precision(cpu, HART_PREC_AUTO));
    assert_int_equal(cpu->precision, HART_PREC_F32);
    /* the oracles stay exact */
    assert_int_equal(hart_backend_set_precision(hart_backend_ref(), HART_PREC_F16), HART_EUNSUPPORTED);
    assert_int_equal(hart_backend_set_precision(hart_backend_ref64(), HART_PREC_F16), HART_EUNSUPPORTED);
    OK(hart_backend_set_precision(hart_backend_ref(), HART_PREC_F32));
}

static void test_weight_to(void **st) {
    (void)st;
    hart_backend *cpu = hart_backend_cpu();
    /* 1, 1+2^-11 (tie: to even, 1), 1+3*2^-11 (tie: to even, 1+2^-9), -2,
     * half's max, its smallest subnormal, 0.1 (0x2E66 rounds 0x2E66.66) */
    const float v[7] = {1.0f, 1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, -2.0f, 65504.0f, 0x1p-24f, 0.1f};
    const uint16_t want[7] = {0x3C00, 0x3C00, 0x3C02, 0xC000, 0x7BFF, 0x0001, 0x2E66};
    hart_tensor src = hart_tensor_wrap((void *)v, HART_F32, 2, (int64_t[]){7, 1}), dst;
    /* f32 mode: the stored dtype, bytes unchanged */
    OK(hart_weight_to(cpu, &src, &dst));
    assert_int_equal(dst.dtype, HART_F32);
    assert_memory_equal(dst.data, v, sizeof v);
    hart_tensor_free(&dst);
    uint16_t bf[2] = {hart_f32_to_bf16(1.5f), hart_f32_to_bf16(-0.25f)};
    hart_tensor bsrc = hart_tensor_wrap(bf, HART_BF16, 1, (int64_t[]){2});
    OK(hart_weight_to(cpu, &bsrc, &dst));
    assert_int_equal(dst.dtype, HART_BF16);
    hart_tensor_free(&dst);
    /* f16 mode: half, round to nearest even */
    OK(hart_backend_set_precision(cpu, HART_PREC_F16));
    assert_int_equal(hart_weight_dtype(cpu, HART_BF16), HART_F16);
    OK(hart_weight_to(cpu, &src, &dst));
    assert_int_equal(dst.dtype, HART_F16);
    assert_memory_equal(dst.data, want, sizeof want);
    hart_tensor_free(&dst);
    OK(hart_weight_to(cpu, &bsrc, &dst));
    assert_int_equal(dst.dtype, HART_F16);
    assert_int_equal(((uint16_t *)dst.data)[0], 0x3E00);
    assert_int_equal(((uint16_t *)dst.data)[1], 0xB400);
    hart_tensor_free(&dst);
    /* beyond half's range: a clear error, not inf */
    float big[2] = {1.0f, 70000.0f};
    hart_tensor bigt = hart_tensor_wrap(big, HART_F32, 1, (int64_t[]){2});
    assert_int_equal(hart_weight_to(cpu, &bigt, &dst), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "beyond half's range"));
    OK(hart_backend_set_precision(cpu, HART_PREC_F32));
}

/* The backend's one-pass rounding service (backend.h round_half), in place
 * and not, on special values: ties to even, subnormals, beyond half's range
 * (inf), signed zero; bit for bit the host conversions. */
static void round_service_on(hart_backend *be) {
    assert_non_null(be->vt->round_half);
    const float v[10] = {1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 0x1p-25f, 0x1.8p-24f, 3e-8f, 70000.0f, -65519.0f, -0.0f,
                         0.1f, -1234.567f};
    hart_tensor h = hart_tensor_wrap((void *)v, HART_F32, 1, (int64_t[]){10}), x = on(be, &h), y;
    OK(hart_tensor_new4(be, HART_F32, &y, 1, 10, 0, 0, 0));
    for (int inplace = 0; inplace < 2; inplace++) {
        OK(be->vt->round_half(be, inplace ? &x : &y, &x));
        float *got = read_back(inplace ? &x : &y);
        /* hand-derived: ties to even (1, 1+2^-9, 0, 2^-23), a subnormal step
         * (3e-8 -> 2^-24), inf past 65520, -65504, -0, 0x2E66, spacing 1 at 1024 */
        const float want[10] = {1.0f, 1.0f + 0x1p-9f, 0.0f, 0x1p-23f, 0x1p-24f, INFINITY, -65504.0f, -0.0f,
                                0.0999755859375f, -1235.0f};
        for (int i = 0; i < 10; i++) {
            assert_memory_equal(&got[i], &want[i], sizeof want[i]);
            float host = round_half(v[i]);
            assert_memory_equal(&got[i], &host, sizeof host);
        }
        free(got);
    }
    hart_tensor_free(&x);
    hart_tensor_free(&y);
}

/* linear, conv2d, attention and matmul in f16 mode on `be` vs the reference. */
static void ops_f16_on(hart_backend *be) {
    printf("backend %s\n", be->name);
    OK(hart_backend_set_precision(be, HART_PREC_F16));
    hart_backend *ref = hart_backend_ref();
    /* linear: x [2, 5, 67] . w [13, 67]^T + b */
    hart_tensor x = host_rand(3, 2, 5, 67, 0, 1), w = host_rand(2, 13, 67, 0, 0, 2), b = host_rand(1, 13, 0, 0, 0, 3);
    hart_tensor xr = host_rounded(&x), wr = host_rounded(&w), xd = on(be, &x), bd = on(be, &b), wd, y, yr;
    OK(hart_weight_to(be, &w, &wd));
    assert_int_equal(wd.dtype, HART_F16);
    OK(hart_tensor_new4(be, HART_F32, &y, 3, 2, 5, 13, 0));
    OK(hart_tensor_new4(ref, HART_F32, &yr, 3, 2, 5, 13, 0));
    OK(hart_op_linear(&y, &xd, &wd, &bd));
    OK(hart_op_linear(&yr, &xr, &wr, &b));
    double lin = check_half_output(&y, &yr);
    /* and it is not the f32 result */
    hart_tensor y32, wf = on(be, &w);
    OK(hart_tensor_new4(be, HART_F32, &y32, 3, 2, 5, 13, 0));
    OK(hart_backend_set_precision(be, HART_PREC_F32));
    OK(hart_op_linear(&y32, &xd, &wf, &bd));
    OK(hart_backend_set_precision(be, HART_PREC_F16));
    float *a = read_back(&y), *c = read_back(&y32);
    int differ = 0;
    for (int i = 0; i < 2 * 5 * 13; i++) differ += a[i] != c[i];
    assert_true(differ > 0);
    free(a); free(c);
    hart_tensor_free(&y32); hart_tensor_free(&wf);
    hart_tensor_free(&x); hart_tensor_free(&w); hart_tensor_free(&b); hart_tensor_free(&xr); hart_tensor_free(&wr);
    hart_tensor_free(&xd); hart_tensor_free(&bd); hart_tensor_free(&wd); hart_tensor_free(&y); hart_tensor_free(&yr);

    /* conv2d: x [1, 6, 9, 7], w [4, 3, 3, 3], 2 groups, stride 2, pad 1 */
    x = host_rand(4, 1, 6, 9, 7, 4); w = host_rand(4, 4, 3, 3, 3, 5); b = host_rand(1, 4, 0, 0, 0, 6);
    xr = host_rounded(&x); wr = host_rounded(&w); xd = on(be, &x); bd = on(be, &b);
    OK(hart_weight_to(be, &w, &wd));
    OK(hart_tensor_new4(be, HART_F32, &y, 4, 1, 4, 5, 4));
    OK(hart_tensor_new4(ref, HART_F32, &yr, 4, 1, 4, 5, 4));
    OK(hart_op_conv2d(&y, &xd, &wd, &bd, 2, 1, 2));
    OK(hart_op_conv2d(&yr, &xr, &wr, &b, 2, 1, 2));
    double conv = check_half_output(&y, &yr);
    hart_tensor_free(&x); hart_tensor_free(&w); hart_tensor_free(&b); hart_tensor_free(&xr); hart_tensor_free(&wr);
    hart_tensor_free(&xd); hart_tensor_free(&bd); hart_tensor_free(&wd); hart_tensor_free(&y); hart_tensor_free(&yr);

    /* attention: q [1, 4, 7, 16], k/v [1, 2, 9, 16] (GQA); the output is not rounded */
    hart_tensor q = host_rand(4, 1, 4, 7, 16, 7), k = host_rand(4, 1, 2, 9, 16, 8), v = host_rand(4, 1, 2, 9, 16, 9);
    hart_tensor qr = host_rounded(&q), kr = host_rounded(&k), vr = host_rounded(&v);
    hart_tensor qd = on(be, &q), kd = on(be, &k), vd = on(be, &v);
    OK(hart_tensor_new4(be, HART_F32, &y, 4, 1, 4, 7, 16));
    OK(hart_tensor_new4(ref, HART_F32, &yr, 4, 1, 4, 7, 16));
    OK(hart_op_attention(&y, &qd, &kd, &vd, NULL, 0.25f));
    OK(hart_op_attention(&yr, &qr, &kr, &vr, NULL, 0.25f));
    a = read_back(&y);
    double att = rel_err(a, yr.data, hart_tensor_numel(&yr));
    free(a);
    assert_true(att <= 1e-5);
    hart_tensor_free(&q); hart_tensor_free(&k); hart_tensor_free(&v); hart_tensor_free(&qr); hart_tensor_free(&kr);
    hart_tensor_free(&vr); hart_tensor_free(&qd); hart_tensor_free(&kd); hart_tensor_free(&vd);
    hart_tensor_free(&y); hart_tensor_free(&yr);

    /* matmul: untouched by f16 mode, bit for bit */
    hart_tensor ma = host_rand(3, 2, 5, 11, 0, 10), mb = host_rand(3, 2, 11, 6, 0, 11);
    hart_tensor mad = on(be, &ma), mbd = on(be, &mb), c16, c32;
    OK(hart_tensor_new4(be, HART_F32, &c16, 3, 2, 5, 6, 0));
    OK(hart_tensor_new4(be, HART_F32, &c32, 3, 2, 5, 6, 0));
    OK(hart_op_matmul(&c16, &mad, &mbd, 0, 0, 1.0f));
    OK(hart_backend_set_precision(be, HART_PREC_F32));
    OK(hart_op_matmul(&c32, &mad, &mbd, 0, 0, 1.0f));
    a = read_back(&c16); c = read_back(&c32);
    assert_memory_equal(a, c, sizeof(float) * 60);
    free(a); free(c);
    hart_tensor_free(&ma); hart_tensor_free(&mb); hart_tensor_free(&mad); hart_tensor_free(&mbd);
    hart_tensor_free(&c16); hart_tensor_free(&c32);
    printf("  f16 mode: linear %.2g, conv2d %.2g half steps from the rounded reference; attention rel err %.2g\n", lin, conv,
           att);
}

static void test_ops_cpu(void **st) {
    (void)st;
    round_service_on(hart_backend_cpu());
    ops_f16_on(hart_backend_cpu());
    /* host tensors (no backend) stay exact although the CPU backend is in f16 mode */
    OK(hart_backend_set_precision(hart_backend_cpu(), HART_PREC_F16));
    hart_tensor x = host_rand(2, 3, 17, 0, 0, 12), w = host_rand(2, 5, 17, 0, 0, 13), y, yr;
    OK(hart_tensor_new4(NULL, HART_F32, &y, 2, 3, 5, 0, 0));
    OK(hart_tensor_new4(hart_backend_ref(), HART_F32, &yr, 2, 3, 5, 0, 0));
    OK(hart_op_linear(&y, &x, &w, NULL));
    OK(hart_op_linear(&yr, &x, &w, NULL));
    assert_true(rel_err(y.data, yr.data, 15) <= 1e-6);
    hart_tensor_free(&x); hart_tensor_free(&w); hart_tensor_free(&y); hart_tensor_free(&yr);
    OK(hart_backend_set_precision(hart_backend_cpu(), HART_PREC_F32));
}

static void test_ops_opencl(void **st) {
    (void)st;
    hart_backend *be;
    char why[768];
    if (hart_backend_open_prec("opencl", HART_PREC_AUTO, &be, why, sizeof why) != HART_OK) {
        test_skip("no OpenCL device (%s)", hart_errmsg());
        return;
    }
    printf("%s\n", why);
    assert_int_equal(be->precision, hart_precision_default(be)); /* f16 on a GPU, f32 on PoCL */
    round_service_on(be);
    ops_f16_on(be);
    hart_backend_close(be);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_names), cmocka_unit_test(test_defaults), cmocka_unit_test(test_weight_to),
        cmocka_unit_test(test_ops_cpu), cmocka_unit_test(test_ops_opencl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* PoCL's compiler keeps allocations until exit (see tests/support/test_backends.c). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libpocl\nleak:libLLVM\nleak:libOpenCL\n"; }
