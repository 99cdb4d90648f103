/* PTX instructions the NVIDIA kernels share (sm_80+): in the NVIDIA program
 * only, right after common.cl (cl_program.c), so flash_nv.cl, hgemm_nv.cl,
 * qgemm_nv.cl, qgemm_nv_tc.cl and conv_nv.cl all use these. The PoCL
 * emulation tests (tests/support/flash_emu.cl, test_conv_nv_emu.c) leave this
 * file out and define portable stand-ins for the names they need.
 * Fragment arguments are arrays of 32-bit registers, as in the PTX ISA's
 * fragment layouts. */

/* local-memory pointer -> shared-window address for PTX */
inline uint nv_saddr(__local const void *p) { return (uint)(size_t)p; }

/* 16-byte global -> local copy, zero-filled past n bytes (n = 0: all zero) */
#define NV_CP_ASYNC(dst, src, n) \
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(dst), "l"(src), "r"(n) : "memory")
#define NV_COMMIT() asm volatile("cp.async.commit_group;" ::: "memory")
#define NV_STR2(x) #x
#define NV_STR(x) NV_STR2(x)
/* wait until at most n committed groups are in flight (n: a constant) */
#define NV_WAIT_GROUP(n) asm volatile("cp.async.wait_group " NV_STR(n) ";" ::: "memory")

/* four 8x8 b16 matrices from local memory into r[0..3]; _T: transposed */
#define NV_LDSM4(r, addr)                                                                   \
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"           \
                 : "=r"((r)[0]), "=r"((r)[1]), "=r"((r)[2]), "=r"((r)[3])                   \
                 : "r"(addr)                                                                \
                 : "memory")
#define NV_LDSM4_T(r, addr)                                                                 \
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"     \
                 : "=r"((r)[0]), "=r"((r)[1]), "=r"((r)[2]), "=r"((r)[3])                   \
                 : "r"(addr)                                                                \
                 : "memory")

/* d[0..3] += A (16x16 f16, a[0..3]) * B (16x8 f16, b0 b1), f32 accumulate */
#define NV_MMA_F16(d, a, b0, b1)                                                            \
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, " \
        "{%8,%9}, {%0,%1,%2,%3};"                                                           \
        : "+f"((d)[0]), "+f"((d)[1]), "+f"((d)[2]), "+f"((d)[3])                            \
        : "r"((a)[0]), "r"((a)[1]), "r"((a)[2]), "r"((a)[3]), "r"(b0), "r"(b1))

/* d[0..3] += A (16x32 s8, a[0..3]) * B (32x8 s8, b0 b1), s32 accumulate */
#define NV_MMA_S8(d, a, b0, b1)                                                             \
    asm("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "   \
        "{%8,%9}, {%0,%1,%2,%3};"                                                           \
        : "+r"((d)[0]), "+r"((d)[1]), "+r"((d)[2]), "+r"((d)[3])                            \
        : "r"((a)[0]), "r"((a)[1]), "r"((a)[2]), "r"((a)[3]), "r"(b0), "r"(b1))

/* two floats -> f16x2 (lo in the low half), round to nearest even */
inline uint nv_pack_f16x2(float lo, float hi) {
    uint r;
    asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}
