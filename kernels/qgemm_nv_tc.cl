/* NVIDIA int8 tensor-core GEMM for the quantized linear, built the way
 * hgemm_nv.cl builds the f16 one (sm_80+; only in the NVIDIA program).
 * Same contract and arguments as qgemm_i8 / nv_qgemm_mma (qgemm.cl,
 * qgemm_nv.cl): fmt 1 W8A8 (int8 weight rows [N][K]), 3 W4A8 (packed 4-bit
 * rows [N][K/2], u8 group scale and zero [N][ng]); mode 0 int32 sums, mode 1
 * y = acc·sx[m]·sw[n] + bias[n]. Host guarantees (cl_ops_quant.c, else it
 * uses nv_qgemm_mma): K % 16 == 0 (W4A8: K % 32 == 0, group % 64 == 0),
 * A, weight offsets multiples of 16 bytes, so every 16-byte chunk of a row
 * is either wholly inside K or wholly outside (zero-filled by cp.async).
 *
 * Instantiated per variant (cl_program.c puts #defines before each copy):
 * QG_NAME, QG_BM x QG_BN block tile, QG_ST pipeline stages, QG_WM x QG_WN
 * warp tile, QG_NT work-items, QG_W4 (1: the W4A8 main loop), QG_P (1:
 * fragment loads software-pipelined across stages, as hgemm's HG_DB 2). K step 64.
 *
 * In bytes, mma m16n8k32 on s8 has exactly the fragment geometry of
 * m16n8k16 on f16, so the f16 kernel's machinery applies unchanged:
 * cp.async 16-byte copies into an QG_ST-stage ring, rows of 64 bytes with
 * XOR-swizzled chunks (HG_SW, bank-conflict free), ldmatrix.x4 fragment
 * loads, fragments of the next k32 slice loaded while the current one
 * multiplies. HG_SW and hg_grouped_block come from hgemm_nv.cl (same
 * program, earlier), the PTX
 * wrappers from nv_ptx.cl.
 *
 * W4A8: the packed weight tile (rows of 32 bytes) is copied as is; each
 * thread reads the two 16-bit words that hold its B fragment (k 4t..4t+3 and
 * 16+4t..16+4t+3 of column g: mma's layout, PTX ISA) and turns its 8 nibbles
 * into int8 in registers with integer ops only: q·s for 4 bytes at once (one
 * 32-bit multiply; q·s <= 240 per byte, no carry), minus z·s per byte
 * without borrow between bytes (QServe's subtraction after multiplication),
 * then two byte permutes put k back in order. */
#ifndef HG_ONCE
#error "qgemm_nv_tc.cl needs hgemm_nv.cl's HG_SW and hg_grouped_block (built after it in the NVIDIA program)"
#endif
#ifndef QG_ONCE
#define QG_ONCE
inline uint qg_prmt(uint a, uint b, uint sel) {
    uint d;
    asm("prmt.b32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(sel));
    return d;
}

/* per byte: x - y mod 256 (x, y < 256 per byte), no borrow between bytes;
 * yl = y & 0x7f7f7f7f, yn = ~y & 0x80808080 (per group, precomputed) */
inline uint qg_bytesub(uint x, uint yl, uint yn) {
    return ((x | 0x80808080u) - yl) ^ ((x & 0x80808080u) ^ yn);
}

/* p: bytes 0-1 = packed k 4t..4t+3, bytes 2-3 = packed k 16+4t..16+4t+3
 * (k even in the low nibble) -> int8 fragment words b0, b1 */
inline void qg_w4_frag(uint p, uint s, uint yl, uint yn, uint *b0, uint *b1) {
    uint lo = (p & 0x0f0f0f0fu) * s, hi = ((p >> 4) & 0x0f0f0f0fu) * s; /* k 0,2 | 1,3 of each half */
    lo = qg_bytesub(lo, yl, yn);
    hi = qg_bytesub(hi, yl, yn);
    *b0 = qg_prmt(lo, hi, 0x5140u);
    *b1 = qg_prmt(lo, hi, 0x7362u);
}
#endif

#define QG_MI (QG_WM / 16)
#define QG_NI (QG_WN / 8)
#define QG_WARPS_N (QG_BN / QG_WN)
#define QG_A_BYTES (QG_BM * 64)
#define QG_B_ROW (QG_W4 ? 32 : 64)
#define QG_B_SW (QG_W4 ? 16 : 32) /* HG_SW's row width in halves */
#define QG_STAGE (QG_A_BYTES + QG_BN * QG_B_ROW)

__kernel __attribute__((reqd_work_group_size(QG_NT, 1, 1)))
void QG_NAME(int M, int N, int K, __global const char *A, int a_off,
             __global const uchar *wq, int wq_off, int fmt, __global const uchar *gs, int gs_off,
             __global const uchar *zr, int z_off, int ng, int group, int mode, __global int *acc_out, int acc_off,
             __global float *y, int y_off, __global const float *sx, int sx_off, __global const float *sw,
             int sw_off, __global const void *bias, int bias_off, int bias_dt, int has_bias) {
    __local uint4 smem[QG_ST * QG_STAGE / 16];
    const int tid = get_local_id(0), lane = tid & 31, warp = tid >> 5, g = lane >> 2, t = lane & 3;
    const int wm = (warp / QG_WARPS_N) * QG_WM, wn = (warp % QG_WARPS_N) * QG_WN;
    const int2 blk = hg_grouped_block();
    const int m0 = blk.x * QG_BM, n0 = blk.y * QG_BN;
    __global const char *Ab = A + a_off;
    __global const uchar *Wb = wq + wq_off;
    const int wrow = QG_W4 ? K / 2 : K; /* weight row bytes */
    const uint sbase = nv_saddr(smem);
    __local const uchar *sbytes = (__local const uchar *)smem;

    int acc[QG_MI][QG_NI][4];
    HG_ZERO_ACC(acc, QG_MI, QG_NI);

    const int KT = (K + 63) / 64;
#define QG_LOAD(stage, kt)                                                                          \
    do {                                                                                            \
        uint sa_ = sbase + (stage) * QG_STAGE, sb_ = sa_ + QG_A_BYTES;                              \
        int k_ = (kt) * 64;                                                                         \
        _Pragma("unroll") for (int e = 0; e < QG_BM * 4 / QG_NT; e++) {                                               \
            int i = tid + e * QG_NT, r = i >> 2, c = i & 3, gr = m0 + r, kk = k_ + c * 16;          \
            int ok = gr < M && kk < K;                                                              \
            __global const char *p = ok ? Ab + (long)gr * K + kk : Ab;                              \
            NV_CP_ASYNC(sa_ + HG_SW(r, c, 32), p, ok ? 16 : 0);                                     \
        }                                                                                           \
        _Pragma("unroll") for (int e = 0; e < QG_BN * (QG_B_ROW / 16) / QG_NT; e++) {                                 \
            int i = tid + e * QG_NT, r = i / (QG_B_ROW / 16), c = i % (QG_B_ROW / 16), gr = n0 + r; \
            int kb = (QG_W4 ? k_ / 2 : k_) + c * 16, ok = gr < N && kb < wrow;                      \
            __global const uchar *p = ok ? Wb + (long)gr * wrow + kb : Wb;                          \
            NV_CP_ASYNC(sb_ + HG_SW(r, c, QG_B_SW), p, ok ? 16 : 0);                                \
        }                                                                                           \
    } while (0)

    /* fragments of k32 slice ks (0, 1) of the stage at sa/sb into buffer buf */
#if QG_W4
    uint sc[QG_NI], yl[QG_NI], yn[QG_NI];
#define QG_FRAGS_B(buf, sb, ks)                                                                     \
    do {                                                                                            \
        _Pragma("unroll") for (int nj = 0; nj < QG_NI; nj++) {                                                        \
            int r = wn + nj * 8 + g;                                                                \
            uint o = (sb) - sbase + HG_SW(r, ks, QG_B_SW) + 2 * t;                                  \
            uint p = (uint)*(__local const ushort *)(sbytes + o) |                                  \
                     (uint)*(__local const ushort *)(sbytes + o + 8) << 16;                         \
            qg_w4_frag(p, sc[nj], yl[nj], yn[nj], &bf[buf][nj][0], &bf[buf][nj][1]);                \
        }                                                                                           \
    } while (0)
#else
#define QG_FRAGS_B(buf, sb, ks)                                                                     \
    do {                                                                                            \
        _Pragma("unroll") for (int nj = 0; nj < QG_NI / 2; nj++) HG_LDSM_B_PAIR(buf, nj, sb, ks, 32); \
    } while (0)
#endif
#define QG_FRAGS(buf, sa, sb, ks)                                                                   \
    do {                                                                                            \
        _Pragma("unroll") for (int mi = 0; mi < QG_MI; mi++) {\
            int r = wm + mi * 16 + (lane & 15), c = (ks) * 2 + (lane >> 4);                         \
            NV_LDSM4(af[buf][mi], (sa) + HG_SW(r, c, 32));                                          \
        }                                                                                           \
        QG_FRAGS_B(buf, sb, ks);                                                                    \
    } while (0)

    /* group scale s and z·s (as 4 bytes) of k tile kt, per column (W4A8) */
#if QG_W4
#define QG_SCALES(kt)                                                                               \
    do {                                                                                            \
        if ((kt) * 64 % group == 0) {                                                               \
            int gi = (kt) * 64 / group;                                                             \
            _Pragma("unroll") for (int nj = 0; nj < QG_NI; nj++) {                                  \
                int n = n0 + wn + nj * 8 + g;                                                       \
                uint s_ = 0, zs = 0;                                                                \
                if (n < N) {                                                                        \
                    s_ = gs[gs_off + n * ng + gi];                                                  \
                    zs = (uint)zr[z_off + n * ng + gi] * s_ * 0x01010101u;                          \
                }                                                                                   \
                sc[nj] = s_;                                                                        \
                yl[nj] = zs & 0x7f7f7f7fu;                                                          \
                yn[nj] = ~zs & 0x80808080u;                                                         \
            }                                                                                       \
        }                                                                                           \
    } while (0)
#else
#define QG_SCALES(kt) do { } while (0)
#endif

#pragma unroll
    for (int s = 0; s < QG_ST - 1; s++) {
        if (s < KT) QG_LOAD(s, s);
        NV_COMMIT();
    }
#if QG_P
    /* software-pipelined (hgemm_nv.cl's HG_DB 2): the fragments of the next
     * k32 slice -- across the stage boundary too -- are loaded while the
     * current one multiplies; the copies for tile kt + ST - 1 go out after
     * the first slice's MMAs (into the stage of tile kt - 1, whose reads all
     * happened before the last barrier); wait + barrier behind the last. */
    uint af[2][QG_MI][4], bf[2][QG_NI][2];
    NV_WAIT_GROUP(QG_ST - 2);
    barrier(CLK_LOCAL_MEM_FENCE);
    if (KT > 0) {
        QG_SCALES(0);
        QG_FRAGS(0, sbase, sbase + QG_A_BYTES, 0);
    }
    for (int kt = 0; kt < KT; kt++) {
        const uint sa = sbase + (kt % QG_ST) * QG_STAGE, sb = sa + QG_A_BYTES;
        QG_FRAGS(1, sa, sb, 1);
#pragma unroll
        for (int mi = 0; mi < QG_MI; mi++)
#pragma unroll
            for (int ni = 0; ni < QG_NI; ni++) NV_MMA_S8(acc[mi][ni], af[0][mi], bf[0][ni][0], bf[0][ni][1]);
        {
            int nt = kt + QG_ST - 1;
            if (nt < KT) QG_LOAD(nt % QG_ST, nt);
            NV_COMMIT();
        }
#pragma unroll
        for (int mi = 0; mi < QG_MI; mi++)
#pragma unroll
            for (int ni = 0; ni < QG_NI; ni++) NV_MMA_S8(acc[mi][ni], af[1][mi], bf[1][ni][0], bf[1][ni][1]);
        NV_WAIT_GROUP(QG_ST - 2);
        barrier(CLK_LOCAL_MEM_FENCE);
        if (kt + 1 < KT) {
            const uint na = sbase + ((kt + 1) % QG_ST) * QG_STAGE;
            QG_SCALES(kt + 1);
            QG_FRAGS(0, na, na + QG_A_BYTES, 0);
        }
    }
#else
    for (int kt = 0; kt < KT; kt++) {
        QG_SCALES(kt);
        NV_WAIT_GROUP(QG_ST - 2);
        barrier(CLK_LOCAL_MEM_FENCE);
        {
            int nt = kt + QG_ST - 1; /* into the stage of tile kt - 1, free since the barrier */
            if (nt < KT) QG_LOAD(nt % QG_ST, nt);
            NV_COMMIT();
        }
        const uint sa = sbase + (kt % QG_ST) * QG_STAGE, sb = sa + QG_A_BYTES;
        uint af[2][QG_MI][4], bf[2][QG_NI][2];
        QG_FRAGS(0, sa, sb, 0);
        QG_FRAGS(1, sa, sb, 1);
#pragma unroll
        for (int ks = 0; ks < 2; ks++)
#pragma unroll
            for (int mi = 0; mi < QG_MI; mi++)
#pragma unroll
                for (int ni = 0; ni < QG_NI; ni++) NV_MMA_S8(acc[mi][ni], af[ks][mi], bf[ks][ni][0], bf[ks][ni][1]);
    }
#endif
    NV_WAIT_GROUP(0);
#undef QG_LOAD
#undef QG_FRAGS
#undef QG_FRAGS_B
#undef QG_SCALES

#pragma unroll
    for (int mi = 0; mi < QG_MI; mi++)
#pragma unroll
        for (int ni = 0; ni < QG_NI; ni++) {
            int r = m0 + wm + mi * 16 + g, c = n0 + wn + ni * 8 + 2 * t;
#pragma unroll
            for (int h = 0; h < 4; h++)
                nv_q_store(mode, M, N, r + (h >> 1) * 8, c + (h & 1), acc[mi][ni][h], acc_out, acc_off, y, y_off, sx,
                           sx_off, sw, sw_off, bias, bias_off, bias_dt, has_bias);
        }
}

#undef QG_MI
#undef QG_NI
#undef QG_WARPS_N
#undef QG_A_BYTES
#undef QG_B_ROW
#undef QG_B_SW
#undef QG_STAGE
