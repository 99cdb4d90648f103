/* The NVIDIA tensor-core flash-attention kernel (kernels/flash_nv.cl) run on
 * any OpenCL device (PoCL in CI) with its PTX warp instructions replaced by
 * portable stand-ins (tests/support/flash_emu.cl): the kernel's own tiling,
 * cp.async double-buffer pipeline, online softmax, masks, GQA and the
 * block-sparse kept-tile lists are checked without a GPU. On an NVIDIA GPU
 * the real instructions are checked by test_opencl_ops and
 * test_attention_sparse with HART_CL_TENSOR_CORES=1.
 *
 * Oracle: float64 attention over the f16-rounded q, k, v (the kernel's
 * inputs) with the block mask as -inf. Bound, hand-derived: the kernel
 * rounds the softmax weights p to f16 before P·V (relative error <= 2^-11
 * each) while its row sum uses the unrounded p, so |o - o_exact| <=
 * 2^-11 · max|v| plus f32 rounding; the limit is 2^-10 · max|v|.
 * Bit-for-bit: an all-ones block mask equals the dense kernel, and 64- and
 * 128-row work-groups give the same result. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <CL/cl.h>

#include "backend/backend.h"
#include "backend/opencl/kernel_sources.h"
#include "backend/opencl/opencl.h"
#include "core/tensor.h"
#include "pipeline/t2i_timings.h"
#include "support/golden.h"
#include "support/test_skip.h"

static cl_context g_ctx;
static cl_command_queue g_q;
static cl_program g_prog;
static hart_backend *g_be;

static const char *kernel_text(const char *name) {
    for (int i = 0; hart_kernel_sources[i].name; i++)
        if (!strcmp(hart_kernel_sources[i].name, name)) return hart_kernel_sources[i].text;
    return NULL;
}

static char *slurp_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) { free(s); s = NULL; }
    if (s) s[n] = 0;
    fclose(f);
    return s;
}

/* the instances cl_program.c builds (FA_DEFS) */
static const struct { const char *name; int D, bk, warps; } INST[] = {
    {"nv_flash_d64_r128", 64, 64, 8}, {"nv_flash_d64_r64", 64, 64, 4},
    {"nv_flash_d128_r128", 128, 32, 8}, {"nv_flash_d128_r64", 128, 32, 4},
};
#define NINST 4

static int build(void) {
    void *ctx, *q, *dev;
    if (hart_opencl_native(g_be, &ctx, &q, &dev)) return 0;
    g_ctx = ctx;
    g_q = q;
    char *emu = slurp_file("tests/support/flash_emu.cl");
    assert_non_null(emu);
    const char *srcs[3 + 3 * NINST];
    char defs[NINST][256];
    int k = 0;
    srcs[k++] = "#define HART_NVIDIA 0\n";
    srcs[k++] = kernel_text("common");
    srcs[k++] = emu;
    for (int i = 0; i < NINST; i++) {
        snprintf(defs[i], sizeof defs[i], "\n#define FA_NAME %s\n#define FA_D %d\n#define FA_BK %d\n#define FA_WARPS %d\n",
                 INST[i].name, INST[i].D, INST[i].bk, INST[i].warps);
        srcs[k++] = defs[i];
        srcs[k++] = kernel_text("flash_nv");
        srcs[k++] = "\n#undef FA_NAME\n#undef FA_D\n#undef FA_BK\n#undef FA_WARPS\n";
    }
    assert_non_null(srcs[1]);
    assert_non_null(srcs[4]);
    cl_int err;
    g_prog = clCreateProgramWithSource(g_ctx, (cl_uint)k, srcs, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_device_id d = dev;
    err = clBuildProgram(g_prog, 1, &d, "-cl-std=CL1.2", NULL, NULL);
    if (err != CL_SUCCESS) {
        char log[8192] = {0};
        clGetProgramBuildInfo(g_prog, d, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, NULL);
        printf("build log:\n%s\n", log);
    }
    free(emu);
    assert_int_equal(err, CL_SUCCESS);
    return 1;
}

typedef struct {
    int B, H, Hkv, Lq, Lk, D;
    int mask;   /* additive mask: 0 none, 1 [1,1,Lq,Lk], 2 [B,H,Lq,Lk]; row 0 fully masked */
    int bq, bk; /* block mask (random, query block 1 all skipped); 0: dense only */
} fcase;

static cl_mem buf(size_t n, const void *src) {
    cl_int err;
    cl_mem m = clCreateBuffer(g_ctx, CL_MEM_READ_WRITE | (src ? CL_MEM_COPY_HOST_PTR : 0), n ? n : 16, (void *)src, &err);
    assert_int_equal(err, CL_SUCCESS);
    return m;
}

/* one kernel run; blocks NULL = dense; out: B*H*Lq*D floats */
static void run(const char *name, int rows, const fcase *c, cl_mem q, cl_mem k, cl_mem v, cl_mem m, int mb, int mh,
                cl_mem bl, int bb, int bh, int nkb, int sparse, float scale, float *out) {
    size_t no = (size_t)c->B * c->H * c->Lq * c->D;
    float *nan_fill = malloc(no * sizeof(float) + 4);
    for (size_t i = 0; i < no; i++) nan_fill[i] = NAN;
    cl_mem o = buf(no * sizeof(float), nan_fill);
    free(nan_fill);
    cl_int err;
    cl_kernel kn = clCreateKernel(g_prog, name, &err);
    assert_int_equal(err, CL_SUCCESS);
    int zero = 0, has_mask = c->mask != 0, bq = sparse ? c->bq : 1 << 30, bk = sparse ? c->bk : 1 << 30;
    int a = 0;
#define ARG(x) assert_int_equal(clSetKernelArg(kn, a++, sizeof(x), &(x)), CL_SUCCESS)
    ARG(q); ARG(zero); ARG(k); ARG(zero); ARG(v); ARG(zero); ARG(m); ARG(zero); ARG(has_mask); ARG(mb); ARG(mh);
    ARG(o); ARG(zero); ARG(c->H); ARG(c->Hkv); ARG(c->Lq); ARG(c->Lk); ARG(scale); ARG(sparse);
    ARG(bl); ARG(zero); ARG(bb); ARG(bh); ARG(nkb); ARG(bq); ARG(bk);
#undef ARG
    size_t gws[2] = {(size_t)(c->Lq + rows - 1) / rows * (size_t)(rows * 2), (size_t)(c->B * c->H)};
    size_t lws[2] = {(size_t)rows * 2, 1};
    assert_int_equal(clEnqueueNDRangeKernel(g_q, kn, 2, NULL, gws, lws, 0, NULL, NULL), CL_SUCCESS);
    assert_int_equal(clEnqueueReadBuffer(g_q, o, CL_TRUE, 0, no * sizeof(float), out, 0, NULL, NULL), CL_SUCCESS);
    clReleaseKernel(kn);
    clReleaseMemObject(o);
}

static void check_case(const fcase *c, unsigned seed) {
    size_t nq = (size_t)c->B * c->H * c->Lq * c->D, nk = (size_t)c->B * c->Hkv * c->Lk * c->D;
    size_t nm = c->mask == 2 ? (size_t)c->B * c->H * c->Lq * c->Lk : (size_t)c->Lq * c->Lk;
    float *q = malloc(nq * 4 + 4), *k = malloc(nk * 4 + 4), *v = malloc(nk * 4 + 4), *m = malloc(nm * 4 + 4);
    uint16_t *kh = malloc(nk * 2 + 4), *vh = malloc(nk * 2 + 4);
    fill_random(q, (int64_t)nq, seed, -2, 2);
    fill_random(k, (int64_t)nk, seed + 1, -2, 2);
    fill_random(v, (int64_t)nk, seed + 2, -1, 1);
    fill_random(m, (int64_t)nm, seed + 3, -1, 1);
    for (size_t i = 0; i < nm; i++)
        if (i % 7 == 3 || (i % ((size_t)c->Lq * c->Lk)) < (size_t)c->Lk) m[i] = -INFINITY; /* row 0: all masked */
    /* the kernel's inputs: q rounded by the kernel, k/v handed over as f16 */
    for (size_t i = 0; i < nq; i++) q[i] = hart_f16_to_f32(hart_f32_to_f16(q[i]));
    for (size_t i = 0; i < nk; i++) {
        kh[i] = hart_f32_to_f16(k[i]);
        vh[i] = hart_f32_to_f16(v[i]);
        k[i] = hart_f16_to_f32(kh[i]);
        v[i] = hart_f16_to_f32(vh[i]);
    }
    int nqb = c->bq ? (c->Lq + c->bq - 1) / c->bq : 1, nkb = c->bk ? (c->Lk + c->bk - 1) / c->bk : 1;
    size_t nbl = (size_t)c->B * c->H * nqb * nkb;
    uint8_t *bl = malloc(nbl + 16), *ones = malloc(nbl + 16);
    float *r = malloc(nbl * 4 + 4);
    fill_random(r, (int64_t)nbl, seed + 4, 0, 1);
    for (size_t i = 0; i < nbl; i++) bl[i] = r[i] < 0.5f, ones[i] = 1;
    if (nqb > 1) /* query block 1 of every (b, h): nothing kept */
        for (int bh = 0; bh < c->B * c->H; bh++) memset(bl + ((size_t)bh * nqb + 1) * nkb, 0, (size_t)nkb);
    free(r);
    float scale = 1.0f / sqrtf((float)c->D);
    int mh = c->mask == 2 ? c->Lq * c->Lk : 0, mb = c->mask == 2 ? c->H * c->Lq * c->Lk : 0;
    int bbs = nqb * nkb * c->H, bhs = nqb * nkb;

    /* oracle (float64) */
    double *want = malloc(nq * sizeof(double) + 8);
    double vmax = 0;
    for (size_t i = 0; i < nk; i++) vmax = fmax(vmax, fabs(v[i]));
    double *sc = malloc((size_t)c->Lk * sizeof(double) + 8);
    for (int variant = 0; variant < 2; variant++) { /* 0: dense, 1: block mask bl */
        if (variant == 1 && !c->bq) break;
        for (int b = 0; b < c->B; b++)
            for (int h = 0; h < c->H; h++) {
                int hk = h / (c->H / c->Hkv);
                for (int i = 0; i < c->Lq; i++) {
                    double mx = -INFINITY;
                    for (int j = 0; j < c->Lk; j++) {
                        double s = 0;
                        for (int d = 0; d < c->D; d++)
                            s += (double)q[(((size_t)b * c->H + h) * c->Lq + i) * c->D + d] *
                                 k[(((size_t)b * c->Hkv + hk) * c->Lk + j) * c->D + d];
                        s *= scale;
                        if (c->mask) s += m[(c->mask == 2 ? ((size_t)b * c->H + h) * c->Lq * c->Lk : 0) + (size_t)i * c->Lk + j];
                        if (variant && !bl[(((size_t)b * c->H + h) * nqb + i / c->bq) * nkb + j / c->bk]) s = -INFINITY;
                        sc[j] = s;
                        mx = fmax(mx, s);
                    }
                    double l = 0;
                    for (int j = 0; j < c->Lk; j++) l += sc[j] = mx == -INFINITY ? 0 : exp(sc[j] - mx);
                    for (int d = 0; d < c->D; d++) {
                        double acc = 0;
                        for (int j = 0; j < c->Lk; j++) acc += sc[j] * v[(((size_t)b * c->Hkv + hk) * c->Lk + j) * c->D + d];
                        want[(((size_t)b * c->H + h) * c->Lq + i) * c->D + d] = l > 0 ? acc / l : 0;
                    }
                }
            }
        cl_mem dq = buf(nq * 4, q), dk = buf(nk * 2, kh), dv = buf(nk * 2, vh), dm = buf(nm * 4, m);
        cl_mem dbl = buf(nbl, variant ? bl : ones);
        float *got = malloc(nq * 4 + 4), *ref0 = malloc(nq * 4 + 4);
        for (int inst = 0; inst < NINST; inst++) {
            if (INST[inst].D != c->D) continue;
            int rows = INST[inst].warps * 16;
            run(INST[inst].name, rows, c, dq, dk, dv, dm, mb, mh, dbl, bbs, bhs, nkb, variant, scale, got);
            double worst = 0;
            for (size_t x = 0; x < nq; x++) {
                assert_false(isnan(got[x]));
                worst = fmax(worst, fabs(got[x] - want[x]));
            }
            printf("  %s B%d H%d/%d Lq%d Lk%d D%d mask%d %s: max err %.3g (limit %.3g)\n", INST[inst].name, c->B, c->H,
                   c->Hkv, c->Lq, c->Lk, c->D, c->mask, variant ? "block-sparse" : "dense", worst, ldexp(vmax, -10));
            assert_true(worst <= ldexp(vmax, -10));
            if (c->mask) /* query row 0 has no key: zeros */
                for (int d = 0; d < c->D; d++) assert_true(got[d] == 0.0f);
            if (variant && nqb > 1) /* the skipped query block: zeros */
                for (size_t x = (size_t)c->bq * c->D; x < (size_t)c->D * (size_t)(c->Lq < 2 * c->bq ? c->Lq : 2 * c->bq); x++)
                    assert_true(got[x] == 0.0f);
            if (!variant) {
                /* the other row count, and an all-ones block mask: bit for bit */
                if (inst % 2 == 0) memcpy(ref0, got, nq * 4);
                else assert_memory_equal(ref0, got, nq * 4);
                if (c->bq) {
                    run(INST[inst].name, rows, c, dq, dk, dv, dm, mb, mh, dbl, bbs, bhs, nkb, 1, scale, got);
                    assert_memory_equal(ref0, got, nq * 4);
                }
            }
        }
        free(got); free(ref0);
        clReleaseMemObject(dq); clReleaseMemObject(dk); clReleaseMemObject(dv); clReleaseMemObject(dm);
        clReleaseMemObject(dbl);
    }
    free(want); free(sc); free(q); free(k); free(v); free(m); free(kh); free(vh); free(bl); free(ones);
}

static const fcase CASES[] = {
    /* partial tiles and work-groups, GQA, per-head mask, several double-buffered tiles */
    {1, 2, 1, 150, 200, 64, 2, 64, 64},
    {2, 2, 2, 70, 137, 64, 1, 16, 24},   /* blocks that straddle tiles: mixed tiles */
    {1, 1, 1, 20, 2200, 64, 0, 64, 64},  /* 35 key tiles: two rounds of the kept-tile compaction */
    {1, 2, 2, 130, 75, 128, 1, 64, 32},
    {1, 1, 1, 5, 1, 64, 0, 0, 0},        /* one key */
};

static void test_flash_emulated(void **st) {
    (void)st;
    if (!g_be) skip();
    double t0 = hart_clock();
    if (!build()) skip();
    printf("  program built in %.1f s\n", hart_clock() - t0);
    unsigned seed = 7100;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++, seed += 10) check_case(&CASES[i], seed);
    clReleaseProgram(g_prog);
}

int main(void) {
    char why[512];
    setvbuf(stdout, NULL, _IONBF, 0);
    if (hart_opencl_list(stdout) == 0 || hart_backend_open("opencl", &g_be, why, sizeof why) != HART_OK) {
        test_skip_part("test_flash_emu: no OpenCL device; the emulated tensor-core kernel is not tested");
        g_be = NULL;
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_flash_emulated)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    hart_backend_close(g_be);
    return rc;
}
