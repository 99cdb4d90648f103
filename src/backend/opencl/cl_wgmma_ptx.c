/* PTX text of the Hopper wgmma f16 GEMM (see cl_wgmma.h).
 *
 * C[z] (M x N, f32) = alpha * A[z] (M x K, f16) * B[z] (N x K, f16)^T (+ bias),
 * the contract of kernels/hgemm_nv.cl (same arguments, same epilogue: bias
 * per column or per row in f32/f16/bf16, optional rounding of the output to
 * half). K and the row strides are multiples of 8 halves (host guarantee);
 * rows past M/N and k past K are zero-filled by cp.async's src-size.
 *
 * Per block: wgm warpgroups, warpgroup w owns rows 64w..64w+63 of the block
 * tile and all bn columns. Local memory holds st stages of an A tile (64*wgm
 * rows) and a B tile (bn rows), rows of 32 halves (64 bytes) whose 16-byte
 * chunks are XOR-swizzled by (row / 2) % 4: the 64-byte swizzle wgmma's
 * shared-memory descriptors describe (8-row groups 512 bytes apart). Each K
 * step: wait for the stage's cp.async group, fence the async proxy, barrier;
 * two wgmma.m64nNk16 per warpgroup (descriptor start advanced by 32 bytes
 * for the second 16-wide slice); the cp.async copies of step k + st - 1 go
 * into the stage step k - 1 used (its wgmma finished before the barrier)
 * while the tensor cores run; then wgmma.wait_group 0. 48 KiB of local memory
 * is all NVIDIA's OpenCL gives a work-group, so stages are few; two or more
 * blocks per SM hide the rest. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/opencl/cl_wgmma.h"

const clb_wg_variant hart_cl_wg_variants[] = {
    {"wg_hgemm_128x128_s3", 2, 128, 3},
    {"wg_hgemm_128x256_s2", 2, 256, 2},
    {"wg_hgemm_256x128_s2", 4, 128, 2},
    {"wg_hgemm_64x128_s4", 1, 128, 4},
    {"wg_hgemm_64x256_s2", 1, 256, 2},
};
const int hart_cl_wg_nvariants = (int)(sizeof hart_cl_wg_variants / sizeof hart_cl_wg_variants[0]);

int hart_cl_wg_smem(const clb_wg_variant *v) { return v->st * (64 * v->wgm + v->bn) * CLB_WG_BK * 2; }

uint64_t hart_cl_wg_desc_hi(void) {
    uint64_t lbo = 16 >> 4, sbo = 512 >> 4, swizzle_64b = 2;
    return (lbo << 16) | (sbo << 32) | (swizzle_64b << 62);
}

/* ---- text buffer ---- */
typedef struct {
    char *p;
    size_t n, len;
    int over;
} sbuf;

static void P(sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void P(sbuf *s, const char *fmt, ...) {
    if (s->over) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(s->p + s->len, s->n - s->len, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= s->n - s->len) { s->over = 1; return; }
    s->len += (size_t)k;
}

static const char *const ARG_C[CLB_WG_NPARAMS] = {
    "int M", "int N", "int K", "int nz1",
    "__global const ushort *A", "int a_off", "int lda", "int a_s0", "int a_s1",
    "__global const ushort *B", "int b_off", "int ldb", "int b_s0", "int b_s1",
    "__global float *C", "int c_off", "int ldc", "int c_s0", "int c_s1",
    "__global const void *bias", "int bias_off", "int bias_dt", "int bias_mode", "int bias_s1", "float alpha",
    "int round_out"};

int hart_cl_wg_placeholder(const clb_wg_variant *v, char *out, size_t n) {
    sbuf s = {out, n, 0, 0};
    int nt = 128 * v->wgm;
    P(&s, "__kernel __attribute__((reqd_work_group_size(%d, 1, 1))) void %s(", nt, v->name);
    for (int i = 0; i < CLB_WG_NPARAMS; i++) P(&s, "%s%s", ARG_C[i], i + 1 < CLB_WG_NPARAMS ? ", " : ") {\n");
    /* touches its local memory and output so that the driver keeps both */
    P(&s, "    __local uint4 smem[%d];\n", hart_cl_wg_smem(v) / 16);
    P(&s, "    int i = get_local_id(0);\n    smem[i] = (uint4)(M + i);\n    barrier(CLK_LOCAL_MEM_FENCE);\n");
    P(&s, "    if (i == 0 && round_out == 12345) C[c_off] = (float)smem[%d - 1 - i].x * alpha;\n}\n", nt);
    return s.over ? -1 : (int)s.len;
}

/* parameter declarations of the standalone module (the driver's style) */
static const char *param_decl(int i) {
    switch (i) {
    case 4: case 9: return ".param .u64 .ptr .global .align 2";
    case 14: return ".param .u64 .ptr .global .align 4";
    case 19: return ".param .u64 .ptr .global .align 1";
    case 24: return ".param .f32";
    default: return ".param .u32";
    }
}

/* bias value dst = bias[idx] (dtype per %pdt0/1/2) where predicate g holds */
static void ld_bias(sbuf *s, const char *dst, const char *idx, const char *g) {
    P(s, "\tmul.wide.s32 %%rb, %s, 4;\n\tadd.s64 %%rb, %%bias, %%rb;\n", idx);
    P(s, "\tand.pred %%pq, %s, %%pdt0;\n\t@%%pq ld.global.f32 %s, [%%rb];\n", g, dst);
    P(s, "\tmul.wide.s32 %%rb, %s, 2;\n\tadd.s64 %%rb, %%bias, %%rb;\n", idx);
    P(s, "\tand.pred %%pq, %s, %%pdt1;\n\t@%%pq ld.global.u16 %%hb, [%%rb];\n\t@%%pq cvt.f32.f16 %s, %%hb;\n", g, dst);
    P(s, "\tand.pred %%pq, %s, %%pdt2;\n\t@%%pq ld.global.u16 %%ub, [%%rb];\n"
         "\t@%%pq shl.b32 %%ub, %%ub, 16;\n\t@%%pq mov.b32 %s, %%ub;\n", g, dst);
}

/* the cp.async copies of one K step into the stage at byte offset %ls */
static void load_step(sbuf *s, int na, int nb, int rows_per_pass, int a_bytes) {
    P(s, "\tsetp.lt.s32 %%pk, %%kl, %%K;\n\tadd.s32 %%sd, %%sld, %%ls;\n");
    for (int e = 0; e < na + nb; e++) {
        int isb = e >= na, ee = isb ? e - na : e;
        int off = (isb ? a_bytes : 0) + ee * rows_per_pass * 64;
        P(s, "\tand.pred %%pl, %%pr%d, %%pk;\n\tselp.u32 %%sz, 16, 0, %%pl;\n\tselp.b64 %%src, %%g%d, %%%s, %%pl;\n",
          e, e, isb ? "Bb" : "Ab");
        P(s, "\tadd.s32 %%dst, %%sd, %d;\n\tcp.async.cg.shared.global [%%dst], [%%src], 16, %%sz;\n", off);
        P(s, "\tadd.s64 %%g%d, %%g%d, 64;\n", e, e);
    }
    P(s, "\tadd.s32 %%kl, %%kl, %d;\n\tcp.async.commit_group;\n", CLB_WG_BK);
}

static void advance_stage(sbuf *s, const char *reg, int stage_bytes, int st) {
    P(s, "\tadd.s32 %s, %s, %d;\n\tsetp.ge.s32 %%pq, %s, %d;\n\t@%%pq mov.u32 %s, 0;\n", reg, reg, stage_bytes, reg,
      stage_bytes * st, reg);
}

static void body(sbuf *s, const clb_wg_variant *v, const char *const *pn) {
    const int nt = 128 * v->wgm, bm = 64 * v->wgm, bn = v->bn, nacc = bn / 2;
    const int a_bytes = bm * CLB_WG_BK * 2, stage = a_bytes + bn * CLB_WG_BK * 2;
    const int rows_per_pass = nt / 4; /* 4 chunks of 16 bytes per row */
    const int na = bm / rows_per_pass, nb = bn / rows_per_pass;
    P(s, "{\n\t.reg .pred %%pq, %%pk, %%pl, %%pone, %%pbn, %%pbm, %%prnd, %%pdt0, %%pdt1, %%pdt2, %%pc0, %%pc1, %%pv2, "
         "%%pnv2, %%ps0, %%ps1, %%pg0, %%pg1;\n");
    P(s, "\t.reg .pred %%pr<%d>, %%prow<2>, %%peven<2>;\n", na + nb);
    P(s, "\t.reg .b32 %%M, %%N, %%K, %%nz1, %%a_off, %%lda, %%a_s0, %%a_s1, %%b_off, %%ldb, %%b_s0, %%b_s1, %%c_off, "
         "%%ldc, %%c_s0, %%c_s1, %%bias_off, %%bias_dt, %%bias_mode, %%bias_s1, %%round_out;\n");
    P(s, "\t.reg .b32 %%wtid, %%t0, %%t1, %%t2, %%t3, %%t4, %%t5, %%t6, %%m0, %%n0, %%z0, %%z1, %%co, %%sbase, %%sld, "
         "%%sd, %%dst, %%sz, %%kl, %%kt, %%KT, %%ls, %%cs, %%wg, %%ub, %%bo, %%bi, %%n, %%ci, %%m<2>;\n");
    P(s, "\t.reg .b64 %%A, %%B, %%C, %%bias, %%Ab, %%Bb, %%src, %%rb, %%r64, %%da, %%db, %%da1, %%db1, %%crow<2>, "
         "%%rdn, %%ra, %%g<%d>;\n", na + nb);
    P(s, "\t.reg .f32 %%alpha, %%bmv<2>, %%b0, %%b1, %%v0, %%v1, %%d<%d>;\n\t.reg .b16 %%hb, %%hr;\n", nacc);
    P(s, "\t.shared .align 1024 .b8 %s_smem[%d];\n", v->name, hart_cl_wg_smem(v));
    static const char *const iname[CLB_WG_NPARAMS] = {
        "M", "N", "K", "nz1", "A", "a_off", "lda", "a_s0", "a_s1", "B", "b_off", "ldb", "b_s0", "b_s1",
        "C", "c_off", "ldc", "c_s0", "c_s1", "bias", "bias_off", "bias_dt", "bias_mode", "bias_s1", "alpha",
        "round_out"};
    for (int i = 0; i < CLB_WG_NPARAMS; i++)
        P(s, "\tld.param.%s %%%s, [%s];\n", i == 4 || i == 9 || i == 14 || i == 19 ? "u64" : i == 24 ? "f32" : "u32",
          iname[i], pn[i]);
    /* grouped block order (8 block rows at a time, as hgemm_nv.cl) for L2 reuse */
    P(s, "\tmov.u32 %%wtid, %%tid.x;\n\tmov.u32 %%t0, %%ctaid.x;\n\tmov.u32 %%t1, %%ctaid.y;\n"
         "\tmov.u32 %%t2, %%nctaid.x;\n\tmov.u32 %%t3, %%nctaid.y;\n");
    P(s, "\tmad.lo.s32 %%t0, %%t1, %%t2, %%t0;\n\tshl.b32 %%t2, %%t2, 3;\n\tdiv.u32 %%t4, %%t0, %%t2;\n"
         "\tshl.b32 %%t4, %%t4, 3;\n\tsub.s32 %%t5, %%t3, %%t4;\n\tmin.s32 %%t5, %%t5, 8;\n"
         "\trem.u32 %%t6, %%t0, %%t2;\n\trem.u32 %%t1, %%t6, %%t5;\n\tadd.s32 %%t1, %%t1, %%t4;\n"
         "\tdiv.u32 %%t6, %%t6, %%t5;\n\tmul.lo.s32 %%m0, %%t1, %d;\n\tmul.lo.s32 %%n0, %%t6, %d;\n", bm, bn);
    /* batch: z = z0 * nz1 + z1 */
    P(s, "\tmov.u32 %%t0, %%ctaid.z;\n\tdiv.u32 %%z0, %%t0, %%nz1;\n\trem.u32 %%z1, %%t0, %%nz1;\n");
    const char *ops[2][4] = {{"Ab", "A", "a", ""}, {"Bb", "B", "b", ""}};
    for (int o = 0; o < 2; o++)
        P(s, "\tmul.wide.s32 %%r64, %%z0, %%%s_s0;\n\tmul.wide.s32 %%rb, %%z1, %%%s_s1;\n\tadd.s64 %%r64, %%r64, %%rb;\n"
             "\tcvt.s64.s32 %%rb, %%%s_off;\n\tadd.s64 %%r64, %%r64, %%rb;\n\tshl.b64 %%r64, %%r64, 1;\n"
             "\tadd.s64 %%%s, %%%s, %%r64;\n",
          ops[o][2], ops[o][2], ops[o][2], ops[o][0], ops[o][1]);
    P(s, "\tmad.lo.s32 %%co, %%z0, %%c_s0, %%c_off;\n\tmad.lo.s32 %%co, %%z1, %%c_s1, %%co;\n");
    /* copy assignment: chunk c = tid % 4 of rows tid / 4 + pass * nt / 4 */
    P(s, "\tand.b32 %%t0, %%wtid, 3;\n\tshr.u32 %%t1, %%wtid, 2;\n\tshr.u32 %%t2, %%t1, 1;\n\tand.b32 %%t2, %%t2, 3;\n"
         "\txor.b32 %%t2, %%t2, %%t0;\n\tshl.b32 %%t2, %%t2, 4;\n\tmov.u32 %%sbase, %s_smem;\n"
         "\tmad.lo.s32 %%sld, %%t1, 64, %%t2;\n\tadd.s32 %%sld, %%sld, %%sbase;\n\tshl.b32 %%kl, %%t0, 3;\n",
          v->name);
    for (int e = 0; e < na + nb; e++) {
        int isb = e >= na, ee = isb ? e - na : e;
        P(s, "\tadd.s32 %%t3, %%t1, %d;\n\tadd.s32 %%t3, %%t3, %%%s;\n\tsetp.lt.s32 %%pr%d, %%t3, %%%s;\n", ee * rows_per_pass,
          isb ? "n0" : "m0", e, isb ? "N" : "M");
        P(s, "\tmul.wide.s32 %%r64, %%t3, %%%s;\n\tcvt.s64.s32 %%rb, %%kl;\n\tadd.s64 %%r64, %%r64, %%rb;\n"
             "\tshl.b64 %%r64, %%r64, 1;\n\tadd.s64 %%g%d, %%%s, %%r64;\n",
          isb ? "ldb" : "lda", e, isb ? "Bb" : "Ab");
    }
    P(s, "\tadd.s32 %%KT, %%K, %d;\n\tshr.s32 %%KT, %%KT, 5;\n\tsetp.eq.u32 %%pone, %%wtid, %%wtid;\n", CLB_WG_BK - 1);
    for (int i = 0; i < nacc; i++) P(s, "\tmov.f32 %%d%d, 0f00000000;\n", i);
    /* prologue: steps 0 .. st-2 (steps past K copy nothing, zero-filled) */
    P(s, "\tmov.u32 %%ls, 0;\n");
    for (int st = 0; st < v->st - 1; st++) {
        load_step(s, na, nb, rows_per_pass, a_bytes);
        advance_stage(s, "%ls", stage, v->st);
    }
    P(s, "\tmov.u32 %%cs, 0;\n\tmov.u32 %%kt, 0;\n\tshr.u32 %%wg, %%wtid, 7;\n\tshl.b32 %%wg, %%wg, 12;\n");
    P(s, "$L_%s_loop:\n\tsetp.ge.s32 %%pq, %%kt, %%KT;\n\t@%%pq bra $L_%s_end;\n", v->name, v->name);
    P(s, "\tcp.async.wait_group %d;\n\tfence.proxy.async.shared::cta;\n\tbar.sync 0;\n", v->st - 2);
    /* descriptors: start address >> 4 in bits 0-13 */
    P(s, "\tadd.s32 %%t0, %%sbase, %%cs;\n\tadd.s32 %%t1, %%t0, %%wg;\n\tadd.s32 %%t2, %%t0, %d;\n", a_bytes);
    P(s, "\tshr.u32 %%t1, %%t1, 4;\n\tand.b32 %%t1, %%t1, 16383;\n\tcvt.u64.u32 %%da, %%t1;\n"
         "\tor.b64 %%da, %%da, %llu;\n\tadd.s64 %%da1, %%da, 2;\n", (unsigned long long)hart_cl_wg_desc_hi());
    P(s, "\tshr.u32 %%t2, %%t2, 4;\n\tand.b32 %%t2, %%t2, 16383;\n\tcvt.u64.u32 %%db, %%t2;\n"
         "\tor.b64 %%db, %%db, %llu;\n\tadd.s64 %%db1, %%db, 2;\n", (unsigned long long)hart_cl_wg_desc_hi());
    P(s, "\twgmma.fence.sync.aligned;\n");
    for (int ks = 0; ks < CLB_WG_BK / 16; ks++) {
        P(s, "\twgmma.mma_async.sync.aligned.m64n%dk16.f32.f16.f16 {", bn);
        for (int i = 0; i < nacc; i++) P(s, "%%d%d%s", i, i + 1 < nacc ? ", " : "}");
        P(s, ", %s, %s, %%pone, 1, 1, 0, 0;\n", ks ? "%da1" : "%da", ks ? "%db1" : "%db");
    }
    P(s, "\twgmma.commit_group.sync.aligned;\n");
    load_step(s, na, nb, rows_per_pass, a_bytes);
    P(s, "\twgmma.wait_group.sync.aligned 0;\n");
    advance_stage(s, "%ls", stage, v->st);
    advance_stage(s, "%cs", stage, v->st);
    P(s, "\tadd.s32 %%kt, %%kt, 1;\n\tbra.uni $L_%s_loop;\n$L_%s_end:\n\tcp.async.wait_group 0;\n", v->name, v->name);

    /* epilogue: accumulator d[4j + 2h + e] is row 16 * warp + lane / 4 + 8h,
     * column 8j + 2 (lane % 4) + e of the warpgroup's 64 x bn tile */
    P(s, "\tsetp.eq.s32 %%pbn, %%bias_mode, 1;\n\tsetp.eq.s32 %%pbm, %%bias_mode, 2;\n\tsetp.ne.s32 %%prnd, %%round_out, 0;\n"
         "\tsetp.eq.s32 %%pdt1, %%bias_dt, 1;\n\tsetp.eq.s32 %%pdt2, %%bias_dt, 2;\n\tor.pred %%pq, %%pdt1, %%pdt2;\n"
         "\tnot.pred %%pdt0, %%pq;\n");
    P(s, "\tmad.lo.s32 %%bo, %%z1, %%bias_s1, %%bias_off;\n");
    P(s, "\tshr.u32 %%t0, %%wtid, 7;\n\tshl.b32 %%t0, %%t0, 6;\n\tshr.u32 %%t1, %%wtid, 5;\n\tand.b32 %%t1, %%t1, 3;\n"
         "\tshl.b32 %%t1, %%t1, 4;\n\tadd.s32 %%t0, %%t0, %%t1;\n\tand.b32 %%t2, %%wtid, 31;\n\tshr.u32 %%t3, %%t2, 2;\n"
         "\tadd.s32 %%t0, %%t0, %%t3;\n\tadd.s32 %%m0, %%m0, %%t0;\n\tand.b32 %%t4, %%t2, 3;\n\tshl.b32 %%t4, %%t4, 1;\n"
         "\tadd.s32 %%n0, %%n0, %%t4;\n");
    for (int h = 0; h < 2; h++) {
        P(s, "\tadd.s32 %%m%d, %%m0, %d;\n\tsetp.lt.s32 %%prow%d, %%m%d, %%M;\n\tmov.f32 %%bmv%d, 0f00000000;\n", h, 8 * h,
          h, h, h);
        P(s, "\tand.pred %%pg0, %%pbm, %%prow%d;\n\tadd.s32 %%bi, %%bo, %%m%d;\n", h, h);
        char dst[16];
        snprintf(dst, sizeof dst, "%%bmv%d", h);
        ld_bias(s, dst, "%bi", "%pg0");
        P(s, "\tmad.lo.s32 %%ci, %%m%d, %%ldc, %%co;\n\tmul.wide.s32 %%r64, %%ci, 4;\n\tadd.s64 %%crow%d, %%C, %%r64;\n"
             "\tand.b32 %%t5, %%ci, 1;\n\tsetp.eq.s32 %%peven%d, %%t5, 0;\n\tand.pred %%peven%d, %%peven%d, %%prow%d;\n",
          h, h, h, h, h, h);
    }
    for (int j = 0; j < bn / 8; j++) {
        P(s, "\tadd.s32 %%n, %%n0, %d;\n\tsetp.lt.s32 %%pc0, %%n, %%N;\n\tadd.s32 %%t6, %%n, 1;\n\tsetp.lt.s32 %%pc1, %%t6, %%N;\n"
             "\tmov.f32 %%b0, 0f00000000;\n\tmov.f32 %%b1, 0f00000000;\n",
          8 * j);
        P(s, "\tand.pred %%pg0, %%pbn, %%pc0;\n\tadd.s32 %%bi, %%bo, %%n;\n");
        ld_bias(s, "%b0", "%bi", "%pg0");
        P(s, "\tand.pred %%pg1, %%pbn, %%pc1;\n\tadd.s32 %%bi, %%bi, 1;\n");
        ld_bias(s, "%b1", "%bi", "%pg1");
        P(s, "\tmul.wide.s32 %%rdn, %%n, 4;\n");
        for (int h = 0; h < 2; h++) {
            int d0 = 4 * j + 2 * h;
            P(s, "\tmul.f32 %%v0, %%alpha, %%d%d;\n\tadd.f32 %%v0, %%v0, %%bmv%d;\n\tadd.f32 %%v0, %%v0, %%b0;\n", d0, h);
            P(s, "\tmul.f32 %%v1, %%alpha, %%d%d;\n\tadd.f32 %%v1, %%v1, %%bmv%d;\n\tadd.f32 %%v1, %%v1, %%b1;\n", d0 + 1, h);
            P(s, "\t@%%prnd cvt.rn.f16.f32 %%hr, %%v0;\n\t@%%prnd cvt.f32.f16 %%v0, %%hr;\n"
                 "\t@%%prnd cvt.rn.f16.f32 %%hr, %%v1;\n\t@%%prnd cvt.f32.f16 %%v1, %%hr;\n");
            P(s, "\tadd.s64 %%ra, %%crow%d, %%rdn;\n\tand.pred %%pv2, %%peven%d, %%pc1;\n\tnot.pred %%pnv2, %%pv2;\n"
                 "\t@%%pv2 st.global.v2.f32 [%%ra], {%%v0, %%v1};\n",
              h, h);
            P(s, "\tand.pred %%ps0, %%prow%d, %%pc0;\n\tand.pred %%ps0, %%ps0, %%pnv2;\n\t@%%ps0 st.global.f32 [%%ra], %%v0;\n"
                 "\tand.pred %%ps1, %%prow%d, %%pc1;\n\tand.pred %%ps1, %%ps1, %%pnv2;\n\t@%%ps1 st.global.f32 [%%ra+4], %%v1;\n",
              h, h);
        }
    }
    P(s, "\tret;\n}\n");
}

static void default_names(const clb_wg_variant *v, char names[][96], const char **pn) {
    for (int i = 0; i < CLB_WG_NPARAMS; i++) {
        snprintf(names[i], 96, "%s_param_%d", v->name, i);
        pn[i] = names[i];
    }
}

int hart_cl_wg_entry(const clb_wg_variant *v, const char *const *pnames, char *out, size_t n) {
    sbuf s = {out, n, 0, 0};
    char names[CLB_WG_NPARAMS][96];
    const char *pn[CLB_WG_NPARAMS];
    if (!pnames) { default_names(v, names, pn); pnames = pn; }
    P(&s, "\t// .globl\t%s\n.entry %s(\n", v->name, v->name);
    for (int i = 0; i < CLB_WG_NPARAMS; i++)
        P(&s, "\t%s %s%s\n", param_decl(i), pnames[i], i + 1 < CLB_WG_NPARAMS ? "," : "");
    P(&s, ")\n.reqntid %d, 1, 1\n", 128 * v->wgm);
    body(&s, v, pnames);
    return s.over ? -1 : (int)s.len;
}

#define ENTRY_MAX (1 << 20)

char *hart_cl_wg_module(const char *ver, int texmode_independent) {
    size_t cap = (size_t)ENTRY_MAX * (size_t)hart_cl_wg_nvariants + 256;
    char *out = malloc(cap);
    if (!out) return NULL;
    int k = snprintf(out, cap, "//\n// hart.c wgmma GEMM (cl_wgmma_ptx.c)\n//\n\n.version %s\n.target sm_90a%s\n.address_size 64\n\n",
                     ver, texmode_independent ? ", texmode_independent" : "");
    size_t len = (size_t)k;
    for (int i = 0; i < hart_cl_wg_nvariants; i++) {
        int w = hart_cl_wg_entry(&hart_cl_wg_variants[i], NULL, out + len, cap - len);
        if (w < 0) { free(out); return NULL; }
        len += (size_t)w;
        out[len++] = '\n';
        out[len] = 0;
    }
    return out;
}

/* ---- splice into the driver's program binary ---- */
static const char *find(const char *p, const char *end, const char *needle) {
    size_t m = strlen(needle);
    for (; p + m <= end; p++)
        if (*p == *needle && !memcmp(p, needle, m)) return p;
    return NULL;
}

static int fail(char *why, size_t n, const char *msg, const char *name) {
    snprintf(why, n, "%s%s%s", msg, name ? " " : "", name ? name : "");
    return 0;
}

/* parameter names of the entry whose list starts after '(' at p; sets *close to the ')' */
static int param_names(const char *p, const char *end, char names[][96], const char **close) {
    int cnt = 0;
    const char *q = p;
    while (q < end && *q != ')') {
        const char *comma = q;
        while (comma < end && *comma != ',' && *comma != ')') comma++;
        if (comma >= end) return -1;
        const char *e = comma;
        while (e > q && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) e--;
        const char *b = e;
        while (b > q && b[-1] != ' ' && b[-1] != '\t' && b[-1] != '\n') b--;
        if (e == b || e - b >= 96 || cnt >= CLB_WG_NPARAMS) return -1;
        memcpy(names[cnt], b, (size_t)(e - b));
        names[cnt][e - b] = 0;
        cnt++;
        q = *comma == ',' ? comma + 1 : comma;
    }
    *close = q;
    return q < end ? cnt : -1;
}

char *hart_cl_wg_splice(const char *bin, size_t len, size_t *out_len, char *why, size_t why_n) {
    const char *end = bin + len;
    const char *tg = find(bin, end, ".target sm_");
    if (!tg) { fail(why, why_n, "no .target line in the driver's binary", NULL); return NULL; }
    size_t cap = len + (size_t)ENTRY_MAX * (size_t)hart_cl_wg_nvariants;
    char *out = malloc(cap);
    if (!out) { fail(why, why_n, "out of memory", NULL); return NULL; }
    size_t ol = 0;
    /* .target sm_XX -> sm_90a (the rest of the line, e.g. texmode_independent, stays) */
    const char *arch_end = tg + strlen(".target ");
    while (arch_end < end && *arch_end != ',' && *arch_end != '\n' && *arch_end != ' ') arch_end++;
    size_t pre = (size_t)(tg - bin);
    memcpy(out, bin, pre);
    ol = pre;
    ol += (size_t)sprintf(out + ol, ".target sm_90a");
    const char *p = arch_end;
    /* entries must appear in variant order (the placeholder source's order) */
    for (int i = 0; i < hart_cl_wg_nvariants; i++) {
        const clb_wg_variant *v = &hart_cl_wg_variants[i];
        char pat[128];
        snprintf(pat, sizeof pat, ".entry %s(", v->name);
        const char *ent = find(p, end, pat);
        if (!ent) {
            snprintf(pat, sizeof pat, ".entry %s\n(", v->name);
            ent = find(p, end, pat);
        }
        if (!ent) { fail(why, why_n, "entry not found:", v->name); free(out); return NULL; }
        char names[CLB_WG_NPARAMS][96];
        const char *close = NULL;
        int np = param_names(strchr(ent, '(') + 1, end, names, &close);
        if (np != CLB_WG_NPARAMS) { fail(why, why_n, "unexpected parameter list of", v->name); free(out); return NULL; }
        const char *lb = find(close, end, "{");
        if (!lb) { fail(why, why_n, "no body for", v->name); free(out); return NULL; }
        int depth = 0;
        const char *rb = lb;
        for (; rb < end; rb++) {
            if (*rb == '{') depth++;
            else if (*rb == '}' && --depth == 0) break;
        }
        if (rb >= end) { fail(why, why_n, "unbalanced body of", v->name); free(out); return NULL; }
        /* keep the driver's header (parameters, .reqntid ...), replace the body */
        memcpy(out + ol, p, (size_t)(lb - p));
        ol += (size_t)(lb - p);
        const char *pn[CLB_WG_NPARAMS];
        for (int k = 0; k < CLB_WG_NPARAMS; k++) pn[k] = names[k];
        sbuf s = {out + ol, cap - ol, 0, 0};
        body(&s, v, pn);
        if (s.over) { fail(why, why_n, "PTX buffer too small for", v->name); free(out); return NULL; }
        ol += s.len;
        p = rb + 1;
    }
    if ((size_t)(end - p) + 1 > cap - ol) { fail(why, why_n, "PTX buffer too small", NULL); free(out); return NULL; }
    memcpy(out + ol, p, (size_t)(end - p));
    ol += (size_t)(end - p);
    out[ol] = 0;
    *out_len = ol;
    return out;
}
