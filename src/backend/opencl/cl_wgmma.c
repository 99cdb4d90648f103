/* Hopper wgmma GEMM: device selection, program build (PTX through
 * clCreateProgramWithBinary) and launch. See cl_wgmma.h / cl_wgmma_ptx.c.
 *
 * Build, first route: an OpenCL C placeholder per variant (same signature,
 * work-group size and local memory) is compiled by the driver; its program
 * binary is PTX text, into which the generated bodies are spliced and whose
 * `.target` becomes sm_90a (the driver's own conventions and metadata stay).
 * Second route: a standalone module written in the driver's conventions.
 * Any failure leaves the wgmma program unset: the mma.sync kernels run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/opencl/cl_internal.h"
#include "backend/opencl/cl_wgmma.h"

int hart_cl_wg_device_ok(int nvidia, int cc_major, int cc_minor) {
    const char *e = getenv("HART_CL_WGMMA");
    if (e && *e && !atoi(e)) return 0;
    return nvidia && cc_major == 9 && cc_minor == 0; /* wgmma is sm_90a only */
}

int hart_cl_wg_default(int M, int N, int nz, int cus) {
    int64_t tiles = (int64_t)((M + 127) / 128) * ((N + 127) / 128) * nz;
    return tiles >= cus ? 0 : -1;
}

static void verbose(const char *what, const char *detail) {
    if (getenv("HART_CL_VERBOSE")) fprintf(stderr, "hart: wgmma GEMM: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
}

static cl_program from_binary(clb *b, const char *text, size_t len, const char *what) {
    const unsigned char *bin = (const unsigned char *)text;
    cl_int st = 0, err = 0;
    cl_program p = clCreateProgramWithBinary(b->ctx, 1, &b->dev, &len, &bin, &st, &err);
    if (!p || err || st) {
        verbose(what, hart_cl_errname(err ? err : st));
        if (p) clReleaseProgram(p);
        return NULL;
    }
    err = clBuildProgram(p, 1, &b->dev, "", NULL, NULL);
    if (err) {
        char log[2048] = "";
        clGetProgramBuildInfo(p, b->dev, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL);
        log[sizeof log - 1] = 0;
        verbose(what, log[0] ? log : hart_cl_errname(err));
        clReleaseProgram(p);
        return NULL;
    }
    for (int i = 0; i < hart_cl_wg_nvariants; i++) {
        cl_kernel k = clCreateKernel(p, hart_cl_wg_variants[i].name, &err);
        if (!k) { verbose(what, "kernel missing after build"); clReleaseProgram(p); return NULL; }
        clReleaseKernel(k);
    }
    return p;
}

static void dump(const char *text, size_t len, const char *suffix) {
    const char *d = getenv("HART_CL_WGMMA_DUMP");
    if (!d || !*d) return;
    char path[1024];
    snprintf(path, sizeof path, "%s%s", d, suffix);
    FILE *f = fopen(path, "wb");
    if (f) { fwrite(text, 1, len, f); fclose(f); }
}

/* the placeholder program's binary (PTX text), malloc'd; NULL on failure */
static char *placeholder_binary(clb *b, size_t *len) {
    size_t cap = 8192 * (size_t)hart_cl_wg_nvariants, used = 0;
    char *src = malloc(cap);
    if (!src) return NULL;
    for (int i = 0; i < hart_cl_wg_nvariants; i++) {
        int w = hart_cl_wg_placeholder(&hart_cl_wg_variants[i], src + used, cap - used);
        if (w < 0) { free(src); return NULL; }
        used += (size_t)w;
    }
    cl_int err;
    const char *s = src;
    cl_program p = clCreateProgramWithSource(b->ctx, 1, &s, NULL, &err);
    free(src);
    if (!p) return NULL;
    char *bin = NULL;
    if (clBuildProgram(p, 1, &b->dev, "-cl-std=CL1.2", NULL, NULL) == CL_SUCCESS &&
        clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof *len, len, NULL) == CL_SUCCESS && *len) {
        unsigned char *ub = malloc(*len + 1);
        if (ub && clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof ub, &ub, NULL) == CL_SUCCESS) {
            ub[*len] = 0;
            bin = (char *)ub;
        } else free(ub);
    } else verbose("placeholder build failed", NULL);
    clReleaseProgram(p);
    return bin;
}

void hart_cl_wg_build(clb *b, char *info, size_t info_n) {
    b->prog_wg = NULL;
    if (info_n) info[0] = 0;
    if (!hart_cl_wg_device_ok(b->nvidia, b->cc_major, b->cc_minor)) return;
    size_t blen = 0, slen = 0;
    char *bin = placeholder_binary(b, &blen), why[256] = "no placeholder binary";
    char ver[16] = "8.0";
    if (bin) {
        dump(bin, blen, ".driver.ptx");
        const char *v = strstr(bin, ".version ");
        if (v && sscanf(v + 9, "%15[0-9.]", ver) != 1) snprintf(ver, sizeof ver, "8.0");
        char *sp = hart_cl_wg_splice(bin, blen, &slen, why, sizeof why);
        if (sp) {
            dump(sp, slen, ".spliced.ptx");
            size_t L = slen && !sp[slen - 1] ? slen : slen + 1; /* with one terminating NUL */
            b->prog_wg = from_binary(b, sp, L, "spliced driver binary");
            free(sp);
            if (b->prog_wg) snprintf(info, info_n, "; wgmma GEMM (sm_90a, spliced into the driver's PTX)");
        } else verbose("splice", why);
        free(bin);
    }
    if (!b->prog_wg) {
        char *m = hart_cl_wg_module(ver, 1);
        if (m) {
            dump(m, strlen(m), ".module.ptx");
            b->prog_wg = from_binary(b, m, strlen(m) + 1, "standalone PTX module");
            free(m);
            if (b->prog_wg) snprintf(info, info_n, "; wgmma GEMM (sm_90a, standalone PTX .version %s)", ver);
        }
    }
    if (!b->prog_wg) snprintf(info, info_n, "; wgmma GEMM unavailable (mma.sync kernels used)");
}

/* Each variant once on a small GEMM with integer operands (exact in f16 and
 * f32), edges in M, N and K, against the host's sum: a kernel that builds
 * but computes wrong (a driver that reads our PTX differently) is never used. */
static int self_check(clb *b, char *why, size_t why_n) {
    enum { M = 259, N = 263, K = 72 };
    uint16_t *a = malloc(M * K * 2), *bm = malloc(N * K * 2);
    float *c = malloc(M * N * 4);
    int ok = a && bm && c;
    static const uint16_t f16i[5] = {0xC000, 0xBC00, 0x0000, 0x3C00, 0x4000}; /* -2 -1 0 1 2 */
    for (int i = 0; ok && i < M * K; i++) a[i] = f16i[(i * 7 + i / K) % 5];
    for (int i = 0; ok && i < N * K; i++) bm[i] = f16i[(i * 3 + 1 + i / K) % 5];
    cl_int err = 0;
    cl_mem da = ok ? clCreateBuffer(b->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, M * K * 2, a, &err) : NULL;
    cl_mem db = ok ? clCreateBuffer(b->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, N * K * 2, bm, &err) : NULL;
    cl_mem dc = ok ? clCreateBuffer(b->ctx, CL_MEM_READ_WRITE, M * N * 4, NULL, &err) : NULL;
    ok = ok && da && db && dc;
    if (!ok) snprintf(why, why_n, "self-check: no memory");
    for (int v = 0; ok && v < hart_cl_wg_nvariants; v++) {
        clb_gemm_args g;
        memset(&g, 0, sizeof g);
        g.M = M; g.N = N; g.K = K; g.nz0 = g.nz1 = 1; g.alpha = 1.0f;
        g.c = dc; g.c_sm = N;
        if (hart_cl_wg_launch(b, v, &g, da, 0, K, 0, 0, db, 0, K, 0, 0) ||
            clEnqueueReadBuffer(b->q, dc, CL_TRUE, 0, M * N * 4, c, 0, NULL, NULL)) {
            snprintf(why, why_n, "self-check: %s failed to run: %.150s", hart_cl_wg_variants[v].name, hart_errmsg());
            hart_clear_error();
            ok = 0;
            break;
        }
        for (int m = 0; ok && m < M; m++)
            for (int n = 0; ok && n < N; n++) {
                int want = 0;
                for (int k = 0; k < K; k++)
                    want += (((m * K + k) * 7 + m) % 5 - 2) * (((n * K + k) * 3 + 1 + n) % 5 - 2);
                if (c[m * N + n] != (float)want) {
                    snprintf(why, why_n, "self-check: %s gives C[%d][%d] = %g, want %d", hart_cl_wg_variants[v].name, m,
                             n, (double)c[m * N + n], want);
                    ok = 0;
                }
            }
    }
    if (da) clReleaseMemObject(da);
    if (db) clReleaseMemObject(db);
    if (dc) clReleaseMemObject(dc);
    free(a); free(bm); free(c);
    return ok;
}

int hart_cl_wg_ready(clb *b) {
    if (!b->wg_state) {
        char info[160], why[300] = "";
        hart_cl_wg_build(b, info, sizeof info);
        b->wg_state = b->prog_wg ? 1 : -1;
        if (b->prog_wg && !self_check(b, why, sizeof why)) {
            b->wg_state = -1; /* the kernels stay built but unused */
            verbose(why, NULL);
        }
        if (info[0]) verbose(info + 2, b->wg_state > 0 ? "self-check passed" : "not used");
    }
    return b->wg_state > 0;
}

hart_status hart_cl_wg_launch(clb *b, int v, const clb_gemm_args *g, cl_mem a, int a_off, int lda, int a_s0, int a_s1,
                              cl_mem bm, int b_off, int ldb, int b_s0, int b_s1) {
    const clb_wg_variant *w = &hart_cl_wg_variants[v];
    int nt = 128 * w->wgm, tm = 64 * w->wgm;
    size_t gws[3] = {(size_t)(g->N + w->bn - 1) / w->bn * (size_t)nt, (size_t)(g->M + tm - 1) / tm,
                     (size_t)g->nz0 * (size_t)g->nz1};
    size_t lws[3] = {(size_t)nt, 1, 1};
    cl_mem bias = g->bias ? g->bias : g->c;
    return CLRUN(b, w->name, 3, gws, lws, AI(g->M), AI(g->N), AI(g->K), AI(g->nz1),
                 AM(a), AI(a_off), AI(lda), AI(a_s0), AI(a_s1),
                 AM(bm), AI(b_off), AI(ldb), AI(b_s0), AI(b_s1),
                 AM(g->c), AI(g->c_off), AI(g->c_sm), AI(g->c_s0), AI(g->c_s1),
                 AM(bias), AI(g->bias_off), AI(g->bias_dt), AI(g->bias ? g->bias_mode : 0), AI(g->bias_s1),
                 AF(g->alpha), AI(g->round_out));
}
