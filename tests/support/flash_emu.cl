/* Portable stand-ins for the PTX warp instructions of kernels/flash_nv.cl and
 * the kernels/nv_ptx.cl wrappers it uses, which this test's program leaves
 * out (test_flash_emu only; never built into the product): with FA_EMU defined
 * the tensor-core flash kernel's own code runs on any OpenCL device, one
 * work-item per NVIDIA lane, a warp = 32 consecutive local ids. Each
 * warp-collective instruction publishes the lanes' operands in local memory
 * between two work-group barriers (the kernel reaches every one of them in
 * uniform control flow) and computes what PTX defines for each lane:
 *   ldmatrix.m8n8.x4 (.trans): lane l holds row l/4, halves 2(l%4), 2(l%4)+1
 *     of each of the four 8x8 matrices (of its transpose), whose row
 *     addresses lanes 8m..8m+7 give;
 *   mma.m16n8k16.row.col f16 x f16 + f32: A 16x16 (a0: row g, k 2t..2t+1;
 *     a1: row g+8; a2: k + 8; a3: both), B 16x8 (b0: k 2t..2t+1, column g;
 *     b1: k + 8), D 16x8 (d0, d1: row g, columns 2t, 2t+1; d2, d3: row g+8),
 *     g = lane/4, t = lane%4;
 *   shfl.bfly, vote.ballot; cp.async as a synchronous 16-byte copy (the
 *   kernel waits and reaches a barrier before reading a stage anyway).
 * Addresses in "shared space" are byte offsets from the kernel's kv array. */
#define FA_EMU 1
/* loops stay loops: PoCL compiles the unrolled form of ~200 barriers per tile slowly */
#define FA_UNROLL _Pragma("nounroll")
#define FA_EMU_DECL                  \
    __local uint emu_u[FA_NTH * 6];  \
    __local float emu_f[FA_NTH];

#define nv_saddr(p) ((uint)((__local const uchar *)(p) - (__local const uchar *)kv))

inline float emu_h(uint reg, int hi) {
    ushort u = (ushort)(hi ? reg >> 16 : reg & 0xffffu);
    return vload_half(0, (const half *)&u);
}

inline void emu_ldsm(uint addr, int trans, __local const uchar *base, __local uint *s, int tid, uint *r) {
    barrier(CLK_LOCAL_MEM_FENCE);
    s[tid] = addr;
    barrier(CLK_LOCAL_MEM_FENCE);
    int lane = tid & 31, w0 = tid - lane;
    for (int m = 0; m < 4; m++) {
        if (!trans) {
            r[m] = *(__local const uint *)(base + s[w0 + m * 8 + lane / 4] + (lane % 4) * 4);
        } else {
            uint lo = *(__local const ushort *)(base + s[w0 + m * 8 + (lane % 4) * 2] + (lane / 4) * 2);
            uint hi = *(__local const ushort *)(base + s[w0 + m * 8 + (lane % 4) * 2 + 1] + (lane / 4) * 2);
            r[m] = lo | (hi << 16);
        }
    }
}

#define NV_LDSM4(r, addr) emu_ldsm((addr), 0, (__local const uchar *)kv, emu_u, tid, (r))
#define NV_LDSM4_T(r, addr) emu_ldsm((addr), 1, (__local const uchar *)kv, emu_u, tid, (r))

inline void emu_mma(float *d, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1, __local uint *s, int tid) {
    barrier(CLK_LOCAL_MEM_FENCE);
    s[tid * 6 + 0] = a0;
    s[tid * 6 + 1] = a1;
    s[tid * 6 + 2] = a2;
    s[tid * 6 + 3] = a3;
    s[tid * 6 + 4] = b0;
    s[tid * 6 + 5] = b1;
    barrier(CLK_LOCAL_MEM_FENCE);
    int lane = tid & 31, w0 = tid - lane, g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; i++) {
        int row = g + (i >= 2 ? 8 : 0), col = 2 * t + (i & 1);
        float acc = d[i];
        for (int k = 0; k < 16; k++) {
            /* A(row, k): lane (row % 8) * 4 + (k % 8) / 2, register (row >= 8) + 2 (k >= 8) */
            int la = w0 + (row % 8) * 4 + (k % 8) / 2, ra = (row >= 8) + 2 * (k >= 8);
            /* B(k, col): lane col * 4 + (k % 8) / 2, register b0 / b1 by k >= 8 */
            int lb = w0 + col * 4 + (k % 8) / 2, rb = 4 + (k >= 8);
            acc += emu_h(s[la * 6 + ra], k & 1) * emu_h(s[lb * 6 + rb], k & 1);
        }
        d[i] = acc;
    }
}
#define NV_MMA_F16(d, a, b0, b1) emu_mma((d), (a)[0], (a)[1], (a)[2], (a)[3], (b0), (b1), emu_u, tid)

#define NV_CP_ASYNC(dst, src, n)                                                                 \
    (*(__local uint4 *)((__local uchar *)kv + (dst)) = (n) ? *(__global const uint4 *)(src) : (uint4)(0))
#define NV_COMMIT()
#define NV_WAIT_GROUP(n)

inline uint nv_pack_f16x2(float lo, float hi) {
    ushort h[2];
    vstore_half_rte(lo, 0, (half *)h);
    vstore_half_rte(hi, 1, (half *)h);
    return (uint)h[0] | ((uint)h[1] << 16);
}

inline float emu_shfl(float v, int m, __local float *s, int tid) {
    barrier(CLK_LOCAL_MEM_FENCE);
    s[tid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    return s[tid ^ m];
}
#define fa_shfl_xor(v, m) emu_shfl((v), (m), emu_f, tid)

inline uint emu_ballot(int p, __local uint *s, int tid) {
    barrier(CLK_LOCAL_MEM_FENCE);
    s[tid] = p != 0;
    barrier(CLK_LOCAL_MEM_FENCE);
    uint r = 0;
    int w0 = tid & ~31;
    for (int l = 0; l < 32; l++) r |= s[w0 + l] << l;
    return r;
}
#define fa_ballot(p) emu_ballot((p), emu_u, tid)
