/* The NVIDIA implicit-GEMM convolution (kernels/conv_nv.cl) on any OpenCL
 * device (PoCL in `make test`), its PTX helpers replaced by portable
 * emulations: cp.async -> a 16-byte copy, ldmatrix.x4 and mma.m16n8k16 ->
 * the warp's registers exchanged through local memory with the fragment
 * layouts of the PTX ISA, cvt.rn.f16x2 -> vstore_half_rte. Everything else
 * (weight re-layout, input gather with the halo, swizzled tiles, the two-stage
 * loop, epilogue) is the kernel's own code, so its indexing is checked here
 * without a GPU; the real PTX runs in test_opencl_ops with
 * HART_CL_TENSOR_CORES=1 on an NVIDIA device. Every variant of
 * cl_conv_nv.c's table, odd sizes, channels not multiples of 8, the strides
 * and paddings the decoders use. Oracle: a double-precision convolution of
 * the half-rounded input and weights on the host, rounded to half (f16
 * mode). Tolerance 2e-3 of the output's largest magnitude (the sums differ in
 * order: one half ulp is 4.9e-4). Skips when no OpenCL device exists. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include "backend/backend.h"
#include "backend/opencl/cl_internal.h"
#include "backend/opencl/kernel_sources.h"
#include "backend/opencl/opencl.h"
#include "support/golden.h"
#include "support/test_skip.h"

static hart_backend *g_be;
static cl_context g_ctx;
static cl_command_queue g_q;
static cl_device_id g_dev;

/* Portable stand-ins for the kernels/nv_ptx.cl wrappers that conv_nv.cl uses
 * (this test's program leaves that file out; sbase, smem and lane are
 * the kernel's). No cross-lane exchange: an emulated ldmatrix stores, per
 * fragment register, the local-memory byte offsets of the 8-half rows that
 * this lane's mma needs (its own row g = lane / 4 for A, the rows 2t and
 * 2t + 1 for B, t = lane % 4), found by evaluating the row-address
 * expression with `lane` set to the lane that supplies that row in
 * ldmatrix; the emulated mma reads the halves from there. */
static const char EMU[] =
    "\n#define CV_FRAG ulong\n"
    "inline uint nv_saddr(__local const void *p) { return (uint)(size_t)p; }\n"
    "inline uint nv_pack_f16x2(float lo, float hi) {\n"
    "    ushort h[2];\n"
    "    vstore_half_rte(lo, 0, (half *)h);\n"
    "    vstore_half_rte(hi, 1, (half *)h);\n"
    "    return (uint)h[0] | ((uint)h[1] << 16);\n"
    "}\n"
    "#define NV_CP_ASYNC(dst, src, n) do { uint o_ = (dst) - sbase; \\\n"
    "    smem[o_ / 16] = (n) == 16 ? vload4(0, (__global const uint *)(src)) : (uint4)(0); } while (0)\n"
    "#define NV_COMMIT() do { } while (0)\n"
    "#define NV_WAIT_GROUP(n) do { } while (0)\n"
    "#define EMU_OFF(o, l_, addr) { const int lane = (l_); o = (ulong)((addr) - sbase); }\n"
    "#define NV_LDSM4(r, addr) do { const int me_ = lane; \\\n"
    "    for (int j_ = 0; j_ < 4; j_++) { ulong o0_, o1_, o2_; \\\n"
    "        EMU_OFF(o0_, j_ * 8 + me_ / 4, addr) EMU_OFF(o1_, j_ * 8 + 2 * (me_ % 4), addr) \\\n"
    "        EMU_OFF(o2_, j_ * 8 + 2 * (me_ % 4) + 1, addr) (r)[j_] = o0_ | o1_ << 16 | o2_ << 32; } } while (0)\n"
    "__attribute__((noinline)) float emu_h(__local const uint4 *smem, ulong off, int k) {\n"
    "    return vload_half((uint)(off & 0xffff) / 2 + k, (__local const half *)smem); }\n"
    "#define NV_MMA_F16(d, a, b0, b1) do { \\\n"
    "    _Pragma(\"clang loop unroll(disable)\") for (int h_ = 0; h_ < 4; h_++) { const int c_ = h_ & 1; float s_ = 0.0f; \\\n"
    "        _Pragma(\"clang loop unroll(disable)\") for (int k_ = 0; k_ < 16; k_++) \\\n"
    "            s_ += emu_h(smem, (a)[(h_ >> 1) + 2 * (k_ >> 3)], k_ & 7) * \\\n"
    "                  emu_h(smem, (k_ < 8 ? (b0) : (b1)) >> (16 + 16 * c_), k_ & 7); \\\n"
    "        (d)[h_] += s_; } } while (0)\n";

static const char *source(const char *name) {
    for (int i = 0; hart_kernel_sources[i].name; i++)
        if (!strcmp(hart_kernel_sources[i].name, name)) return hart_kernel_sources[i].text;
    return NULL;
}

static cl_program g_prog;

static int build(void) {
    const char *common = source("common"), *hg = source("hgemm_nv"), *cv = source("conv_nv");
    assert_non_null(common); assert_non_null(hg); assert_non_null(cv);
    /* hgemm_nv.cl's helper block (#ifndef HG_ONCE ... #endif) only, not its kernel */
    const char *a = strstr(hg, "#ifndef HG_ONCE"), *e = a ? strstr(a, "\n#endif") : NULL;
    assert_non_null(e);
    size_t n = strlen(common) + (size_t)(e - hg) + 16 + sizeof EMU + (size_t)hart_cl_conv_nvariants * (strlen(cv) + 400);
    char *src = malloc(n);
    assert_non_null(src);
    int k = snprintf(src, n, "%s\n%.*s\n#endif\n%s", common, (int)(e - hg), hg, EMU);
    for (int v = 0; v < hart_cl_conv_nvariants; v++) {
        const clb_conv_variant *c = &hart_cl_conv_variants[v];
        k += snprintf(src + k, n - (size_t)k,
                      "\n#define CV_NAME %s\n#define CV_BM %d\n#define CV_BN %d\n#define CV_WM %d\n#define CV_WN %d\n"
                      "#define CV_NT %d\n%s\n#undef CV_NAME\n#undef CV_BM\n#undef CV_BN\n#undef CV_WM\n#undef CV_WN\n"
                      "#undef CV_NT\n",
                      c->name, c->bm, c->bn, c->wm, c->wn, c->nt, cv);
    }
    cl_int err;
    const char *srcs[1] = {src};
    g_prog = clCreateProgramWithSource(g_ctx, 1, srcs, NULL, &err);
    free(src);
    assert_int_equal(err, CL_SUCCESS);
    /* unoptimized: PoCL's optimizer takes many minutes on the unrolled emulation */
    err = clBuildProgram(g_prog, 1, &g_dev, "-cl-std=CL1.2 -cl-opt-disable", NULL, NULL);
    if (err != CL_SUCCESS) {
        char log[8192] = "";
        clGetProgramBuildInfo(g_prog, g_dev, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, NULL);
        fprintf(stderr, "build failed:\n%s\n", log);
    }
    return err == CL_SUCCESS;
}

static cl_mem buf(size_t bytes, const void *host) {
    cl_int err;
    cl_mem m = clCreateBuffer(g_ctx, CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0), bytes ? bytes : 4,
                              (void *)host, &err);
    assert_int_equal(err, CL_SUCCESS);
    return m;
}

#define ARG(k, i, v) assert_int_equal(clSetKernelArg(k, i, sizeof(v), &(v)), CL_SUCCESS)

static float hround(float v) { return hart_f16_to_f32(hart_f32_to_f16(v)); }

static void run_case(int v, int N, int Ci, int H, int W, int Co, int kh, int stride, int pad, int bias) {
    int Ho = (H + 2 * pad - kh) / stride + 1, Wo = (W + 2 * pad - kh) / stride + 1, P = Ho * Wo, taps = kh * kh;
    int Cc8 = (Ci + 7) / 8 * 8, Kp = taps * Cc8, x_off = 3, y_off = 5; /* odd offsets: views into a buffer */
    size_t nx = (size_t)N * Ci * H * W, nw = (size_t)Co * Ci * taps, ny = (size_t)N * Co * P;
    float *x = malloc(4 * (nx + 3)), *b = malloc(4 * (size_t)Co), *y = malloc(4 * (ny + 5)), *want = malloc(4 * ny);
    uint16_t *w = malloc(2 * nw);
    float *wf = malloc(4 * nw);
    fill_random(x + x_off, (int64_t)nx, 11u + (unsigned)v, -1, 1);
    fill_random(wf, (int64_t)nw, 23u + (unsigned)Ci, -1, 1);
    fill_random(b, Co, 5, -1, 1);
    for (size_t i = 0; i < nw; i++) w[i] = hart_f32_to_f16(wf[i]);
    for (int n = 0; n < N; n++)
        for (int co = 0; co < Co; co++)
            for (int p = 0; p < P; p++) {
                int oy = p / Wo, ox = p % Wo;
                double s = bias ? b[co] : 0;
                for (int ci = 0; ci < Ci; ci++)
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kh; kx++) {
                            int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                            s += (double)hround(x[x_off + ((size_t)(n * Ci + ci) * H + iy) * W + ix]) *
                                 hart_f16_to_f32(w[((size_t)co * Ci + ci) * taps + ky * kh + kx]);
                        }
                want[((size_t)n * Co + co) * P + p] = hround((float)s);
            }
    cl_mem mx = buf(4 * (nx + 3), x), mw = buf(2 * nw, w), mb = buf(4 * (size_t)Co, b);
    cl_mem mwt = buf(2 * (size_t)Co * Kp, NULL), my = buf(4 * (ny + 5), NULL);
    cl_int err, zero = 0, one = 1, dt = 1;
    cl_kernel kp = clCreateKernel(g_prog, "nv_conv_wprep", &err);
    assert_int_equal(err, CL_SUCCESS);
    ARG(kp, 0, Co); ARG(kp, 1, Ci); ARG(kp, 2, taps); ARG(kp, 3, Cc8); ARG(kp, 4, mw); ARG(kp, 5, zero); ARG(kp, 6, dt);
    ARG(kp, 7, mwt);
    size_t g2[2] = {(size_t)Kp, (size_t)Co};
    assert_int_equal(clEnqueueNDRangeKernel(g_q, kp, 2, NULL, g2, NULL, 0, NULL, NULL), CL_SUCCESS);
    const clb_conv_variant *c = &hart_cl_conv_variants[v];
    cl_kernel kc = clCreateKernel(g_prog, c->name, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_int hb = bias;
    /* the argument order of cl_conv_nv.c's conv_launch */
    ARG(kc, 0, Ci); ARG(kc, 1, H); ARG(kc, 2, W); ARG(kc, 3, Co); ARG(kc, 4, Ho); ARG(kc, 5, Wo); ARG(kc, 6, kh);
    ARG(kc, 7, taps); ARG(kc, 8, stride); ARG(kc, 9, pad); ARG(kc, 10, Cc8); ARG(kc, 11, mx); ARG(kc, 12, x_off);
    ARG(kc, 13, mwt); ARG(kc, 14, my); ARG(kc, 15, y_off); ARG(kc, 16, mb); ARG(kc, 17, zero); ARG(kc, 18, zero);
    ARG(kc, 19, hb); ARG(kc, 20, one);
    size_t gws[3] = {(size_t)(P + c->bn - 1) / c->bn * (size_t)c->nt, (size_t)(Co + c->bm - 1) / c->bm, (size_t)N};
    size_t lws[3] = {(size_t)c->nt, 1, 1};
    assert_int_equal(clEnqueueNDRangeKernel(g_q, kc, 3, NULL, gws, lws, 0, NULL, NULL), CL_SUCCESS);
    assert_int_equal(clEnqueueReadBuffer(g_q, my, CL_TRUE, 0, 4 * (ny + 5), y, 0, NULL, NULL), CL_SUCCESS);
    double e = rel_err(y + y_off, want, (int64_t)ny);
    printf("  %-20s N%d Ci%-3d %2dx%-2d Co%-3d k%d s%d p%d%s  rel err %.2e\n", c->name, N, Ci, H, W, Co, kh, stride, pad,
           bias ? " +b" : "   ", e);
    assert_true(e <= 2e-3);
    clReleaseKernel(kp); clReleaseKernel(kc);
    clReleaseMemObject(mx); clReleaseMemObject(mw); clReleaseMemObject(mb); clReleaseMemObject(mwt); clReleaseMemObject(my);
    free(x); free(b); free(y); free(want); free(w); free(wf);
}

static void test_conv_nv_emulated(void **st) {
    (void)st;
    if (!g_be) skip();
    assert_true(build());
    struct { int N, Ci, H, W, Co, k, stride, pad, bias; } cs[] = {
        {1, 13, 9, 11, 37, 3, 1, 1, 1},  /* Ci, Co not multiples of 8, odd sizes */
        {2, 6, 8, 6, 3, 3, 2, 0, 1},     /* batch, stride 2 without padding (the VQGAN downsample after its pad) */
        {1, 24, 15, 13, 17, 3, 2, 1, 0}, /* stride 2, pad 1 */
        {1, 3, 12, 10, 8, 3, 1, 1, 0},   /* 3 input channels (conv_in) */
        {1, 20, 7, 9, 70, 1, 2, 0, 1},   /* 1x1 stride 2 */
        {1, 40, 19, 17, 130, 3, 1, 1, 1}, /* several K steps, M and N tiles with tails */
    };
    const char *only = getenv("HART_TEST_CONV_VARIANT"); /* debugging: one variant */
    for (int v = 0; v < hart_cl_conv_nvariants; v++)
        for (size_t i = 0; (!only || atoi(only) == v) && i < sizeof cs / sizeof cs[0]; i++)
            run_case(v, cs[i].N, cs[i].Ci, cs[i].H, cs[i].W, cs[i].Co, cs[i].k, cs[i].stride, cs[i].pad, cs[i].bias);
    clReleaseProgram(g_prog);
}

int main(void) {
    char why[512];
    if (hart_opencl_list(stdout) == 0 || hart_backend_open("opencl", &g_be, why, sizeof why) != HART_OK) {
        test_skip_part("test_conv_nv_emu: no usable OpenCL device; the emulated NVIDIA convolution is not tested");
        g_be = NULL;
    } else {
        void *ctx, *q, *dev;
        assert_int_equal(hart_opencl_native(g_be, &ctx, &q, &dev), HART_OK);
        g_ctx = ctx; g_q = q; g_dev = dev;
        printf("testing on %s\n", why);
        setvbuf(stdout, NULL, _IONBF, 0);
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_conv_nv_emulated)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    hart_backend_close(g_be);
    return rc;
}

/* PoCL keeps some allocations for the life of the process; they are not ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libpocl\nleak:libOpenCL\n"; }
