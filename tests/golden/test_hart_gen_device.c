/* The generation loop on an OpenCL device (PoCL here) with the hart-tiny-a
 * model and its real tokenizer:
 * - test_loop_never_waits: from the end of the first scale to the image, the
 *   host never waits for the device (no blocking read but the image, no
 *   blocking write, no queue sync), with keyed sampling and in replay mode
 *   (counted by hart_opencl_wait_stats between the progress callbacks).
 * - test_batch_equals_alone: `-n 2` on the device (images keyed by seeds 11
 *   and 12 in one batch) gives each image the tokens of its render alone at
 *   every scale, and pixels within 8x the float32 stray of a render alone
 *   (measured against the float64 oracle, ref64, on the same image). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "backend/opencl/opencl.h"
#include "models/hart/sampler.h"
#include "pipeline/t2i.h"
#include "support/golden.h"
#include "support/golden_check.h"
#include "support/test_skip.h"

static hart_backend *g_cl;
static char g_dir[1024];
static hart_safetensors G;

static void must(hart_status st) {
    if (st != HART_OK) fail_msg("%s", hart_errmsg());
}

/* waits counted from the end of scale 1 to the end (done = total) */
typedef struct {
    long r0, w0, s0, r1, w1, s1;
    int seen_first, seen_last;
} waits;

static void on_progress(void *arg, int done, int total) {
    waits *w = arg;
    long r, wr, s;
    hart_opencl_wait_stats(g_cl, &r, &wr, &s);
    if (done == 1) { w->r0 = r; w->w0 = wr; w->s0 = s; w->seen_first = 1; }
    if (done == total) { w->r1 = r; w->w1 = wr; w->s1 = s; w->seen_last = 1; }
}

static void context_rows(int b, int n, hart_tensor *ctx, hart_tensor *mask, hart_tensor *pos) {
    hart_tensor c, m, p;
    must(hart_st_tensor(&G, "gen.context", &c));
    must(hart_st_tensor(&G, "gen.context_mask", &m));
    must(hart_st_tensor(&G, "gen.context_position_ids", &p));
    must(hart_tensor_rows(&c, b, n, ctx));
    must(hart_tensor_rows(&m, b, n, mask));
    must(hart_tensor_rows(&p, b, n, pos));
}

static void open_golden(void) {
    char dirs[16][1024], p[1200];
    if (!golden_hart_sets(dirs, 16)) test_skip("no HART golden set found");
    snprintf(g_dir, sizeof g_dir, "%s", dirs[0]);
    snprintf(p, sizeof p, "%s/golden.safetensors", g_dir);
    must(hart_st_open(p, &G));
}

static void test_loop_never_waits(void **state) {
    (void)state;
    if (!g_cl) test_skip("no OpenCL device");
    open_golden();
    hart_t2i *pl;
    must(hart_t2i_load(g_cl, g_dir, &pl));
    hart_tensor ctx, mask, pos, img;
    context_rows(0, 2, &ctx, &mask, &pos);
    for (int replay = 0; replay < 2; replay++) {
        hart_t2i_opts o;
        hart_t2i_default_opts(&o);
        o.seed = 5;
        o.replay = replay ? &G : NULL;
        waits w = {0};
        o.progress = on_progress;
        o.progress_arg = &w;
        must(hart_t2i_generate(pl, &ctx, &mask, &pos, &o, &img));
        assert_true(w.seen_first && w.seen_last);
        printf("%s: after scale 1: %ld blocking reads, %ld blocking writes, %ld syncs\n", replay ? "replay" : "keyed",
               w.r1 - w.r0, w.w1 - w.w0, w.s1 - w.s0);
        assert_int_equal(w.r1 - w.r0, 1); /* the image */
        assert_int_equal(w.w1 - w.w0, 0);
        assert_int_equal(w.s1 - w.s0, 0);
        hart_tensor_free(&img);
    }
    hart_t2i_free(pl);
    hart_st_close(&G);
}

/* render images [b, b+n) of the golden context with seeds on be; tokens of
 * every scale to a trace file */
static void render(hart_backend *be, int b, int n, const uint64_t *seeds, const char *trace, hart_tensor *img) {
    hart_t2i *pl;
    must(hart_t2i_load(be, g_dir, &pl));
    hart_tensor ctx, mask, pos;
    context_rows(b, n, &ctx, &mask, &pos);
    hart_t2i_opts o;
    hart_t2i_default_opts(&o);
    o.seeds = seeds;
    o.dump = hart_st_writer_new();
    must(hart_t2i_generate(pl, &ctx, &mask, &pos, &o, img));
    must(hart_st_writer_save(o.dump, trace));
    hart_st_writer_free(o.dump);
    hart_t2i_free(pl);
}

static double max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - (double)b[i]));
    return m;
}

static void test_batch_equals_alone(void **state) {
    (void)state;
    if (!g_cl) test_skip("no OpenCL device");
    open_golden();
    const uint64_t seeds[2] = {11, 12};
    hart_tensor both, alone[2], oracle;
    render(g_cl, 0, 2, seeds, "build/t2i_dev_b2.safetensors", &both);
    render(g_cl, 0, 1, &seeds[0], "build/t2i_dev_a0.safetensors", &alone[0]);
    render(g_cl, 1, 1, &seeds[1], "build/t2i_dev_a1.safetensors", &alone[1]);
    render(golden_oracle(), 0, 1, &seeds[0], "build/t2i_dev_f64.safetensors", &oracle);
    size_t per = (size_t)hart_tensor_numel(&both) / 2;
    double stray = max_abs_diff(alone[0].data, oracle.data, per), limit = 8 * fmax(stray, 1e-7);
    hart_safetensors tb, ta[2];
    must(hart_st_open("build/t2i_dev_b2.safetensors", &tb));
    must(hart_st_open("build/t2i_dev_a0.safetensors", &ta[0]));
    must(hart_st_open("build/t2i_dev_a1.safetensors", &ta[1]));
    int S = 0;
    for (char nm[64]; snprintf(nm, sizeof nm, "gen.si%d.idx", S), hart_st_find(&tb, nm);) S++;
    assert_true(S >= 2);
    int64_t differ = 0, total = 0;
    for (int b = 0; b < 2; b++) {
        for (int si = 0; si < S; si++) {
            char nm[64];
            snprintf(nm, sizeof nm, "gen.si%d.idx", si);
            hart_tensor x, y;
            must(hart_st_tensor(&tb, nm, &x));
            must(hart_st_tensor(&ta[b], nm, &y));
            int64_t lo = x.shape[1];
            for (int64_t j = 0; j < lo; j++) {
                differ += ((int64_t *)x.data)[b * lo + j] != ((int64_t *)y.data)[j];
                total++;
            }
        }
        double d = max_abs_diff((float *)both.data + per * (size_t)b, alone[b].data, per);
        printf("image %d: batched vs alone max |diff| %.3g (limit %.3g = 8 x float32 stray %.3g)\n", b, d, limit, stray);
        assert_true(d <= limit);
    }
    printf("tokens: %lld of %lld differ between the batch and the renders alone\n", (long long)differ, (long long)total);
    assert_int_equal(differ, 0);
    hart_st_close(&tb);
    hart_st_close(&ta[0]);
    hart_st_close(&ta[1]);
    hart_tensor_free(&both);
    hart_tensor_free(&alone[0]);
    hart_tensor_free(&alone[1]);
    hart_tensor_free(&oracle);
    hart_st_close(&G);
}

int main(void) {
    char why[512];
    if (hart_opencl_list(stdout) == 0)
        test_skip_part("test_hart_gen_device: no OpenCL platform/device; the device loop is not tested");
    else if (hart_backend_open("opencl", &g_cl, why, sizeof why) != HART_OK)
        test_skip_part("test_hart_gen_device: no usable OpenCL device (%s)", hart_errmsg());
    else
        printf("testing %s\n", why);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loop_never_waits),
        cmocka_unit_test(test_batch_equals_alone),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    hart_backend_close(g_cl);
    return rc;
}

/* PoCL keeps some allocations for the life of the process; they are not ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libpocl\nleak:libOpenCL\nleak:libLLVM\n"; }
