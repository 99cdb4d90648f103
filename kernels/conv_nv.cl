/* NVIDIA tensor-core convolution as an implicit GEMM (sm_80+; built only into
 * the NVIDIA program, after hgemm_nv.cl whose HG_SW it uses; PTX from nv_ptx.cl):
 *   Y[n][co][p] = sum_{tap, ci} Wt[co][tap * Cc8 + ci] * X[n][ci][iy(p, tap)][ix(p, tap)] (+ bias[co])
 * M = Co rows, N = Ho * Wo output pixels, K = kh * kw taps x Cc8 channels
 * (Ci rounded up to 8; tap-major so that one 16-byte chunk of k is one tap
 * and 8 consecutive channels: one bounds check and address per chunk).
 * No im2col buffer: the B tile (pixels x k) is gathered from the f32 NCHW
 * activation into registers while the tensor cores work on the previous
 * stage, rounded to f16 (cvt.rn, the f16 mode's rounding) and stored into
 * local memory in the layout of hgemm_nv.cl (rows of 32 halves, XOR-swizzled
 * chunks); the weight tile comes by cp.async from the f16 copy that
 * nv_conv_wprep makes once. Two stages, K step 32.
 * Instantiated per variant (cl_program.c): CV_NAME, CV_BM x CV_BN tile,
 * CV_WM x CV_WN warp tile, CV_NT work-items (CV_NT a multiple of CV_BN). */
#ifndef CV_ONCE
#define CV_ONCE

/* f32/f16/bf16 weight [Co][Ci][kh][kw] -> f16 [Co][taps * Cc8], k = tap * Cc8 + ci,
 * zero for ci >= Ci. One work-item per output element. */
__kernel void nv_conv_wprep(int Co, int Ci, int taps, int Cc8, __global const void *w, int w_off, int dt,
                            __global half *dst) {
    int k = get_global_id(0), co = get_global_id(1), Kp = taps * Cc8;
    if (k >= Kp || co >= Co) return;
    int tap = k / Cc8, ci = k - tap * Cc8;
    float v = ci < Ci ? ldf(w, w_off + (co * Ci + ci) * taps + tap, dt) : 0.0f;
    vstore_half_rte(v, (long)co * Kp + k, dst);
}

#ifndef CV_FRAG
#define CV_FRAG uint /* an mma fragment register (the emulation test's differ) */
#endif
#endif

#define CV_BK 32
#define CV_CPR (CV_BK / 8)
#define CV_MI (CV_WM / 16)
#define CV_NI (CV_WN / 8)
#define CV_WARPS_N (CV_BN / CV_WN)
#define CV_A_BYTES (CV_BM * CV_BK * 2)
#define CV_STAGE_BYTES ((CV_BM + CV_BN) * CV_BK * 2)
#define CV_BE (CV_BN * CV_CPR / CV_NT) /* B chunks per work-item and stage */

__kernel __attribute__((reqd_work_group_size(CV_NT, 1, 1)))
void CV_NAME(int Ci, int H, int W, int Co, int Ho, int Wo, int kw, int taps, int stride, int pad, int Cc8,
             __global const float *X, int x_off, __global const ushort *Wt, __global float *Y, int y_off,
             __global const void *bias, int bias_off, int bias_dt, int has_bias, int round_out) {
    __local uint4 smem[2 * CV_STAGE_BYTES / 16];
    const int tid = get_local_id(0), lane = tid & 31, warp = tid >> 5;
    const int wm = (warp / CV_WARPS_N) * CV_WM, wn = (warp % CV_WARPS_N) * CV_WN;
    const int P = Ho * Wo, Kp = taps * Cc8, HW = H * W;
    const int n0 = get_group_id(0) * CV_BN, m0 = get_group_id(1) * CV_BM, img = get_group_id(2);
    __global const float *Xb = X + x_off + (long)img * Ci * HW;
    const uint sbase = nv_saddr(smem);

    /* this work-item's B pixel (fixed over k) and its chunks c0 + e * (CV_NT / CV_BN) */
    const int br = tid % CV_BN, c0 = tid / CV_BN, bp = n0 + br, pix_ok = bp < P;
    const int oy = pix_ok ? bp / Wo : 0, ox = pix_ok ? bp - oy * Wo : 0;
    const int iy0 = oy * stride - pad, ix0 = ox * stride - pad, Cc = Cc8 / 8;
    float bv[CV_BE][8];

    /* A tile (weights) by cp.async: chunk i = row i / 4, 16-byte chunk i % 4 */
#define CV_LOAD_A(stage, kt)                                                                     \
    do {                                                                                         \
        uint sa_ = sbase + (stage) * CV_STAGE_BYTES;                                             \
        for (int e = 0; e < CV_BM * CV_CPR / CV_NT; e++) {                                       \
            int i = tid + e * CV_NT, r = i / CV_CPR, c = i % CV_CPR, gr = m0 + r, kk = (kt) * CV_BK + c * 8; \
            int ok = gr < Co && kk < Kp;                                                         \
            __global const ushort *p = ok ? Wt + (long)gr * Kp + kk : Wt;                        \
            NV_CP_ASYNC(sa_ + HG_SW(r, c, CV_BK), p, ok ? 16 : 0);                               \
        }                                                                                        \
    } while (0)

    float acc[CV_MI][CV_NI][4];
    HG_ZERO_ACC(acc, CV_MI, CV_NI);

    const int KT = (Kp + CV_BK - 1) / CV_BK;
    /* iteration kt fetches tile kt into stage kt % 2 (weights by cp.async, the
     * input gathered into registers before and stored after the MMAs) while
     * the tensor cores work on tile kt - 1 in the other stage */
    for (int kt = 0; kt <= KT; kt++) {
        const int fetch = kt < KT, st = kt & 1;
        if (fetch) {
            CV_LOAD_A(st, kt);
            NV_COMMIT();
#pragma unroll
            for (int e = 0; e < CV_BE; e++) {
                int q = kt * CV_CPR + c0 + e * (CV_NT / CV_BN), tap = q / Cc, cb = (q - tap * Cc) * 8;
                int ky = tap / kw, iy = iy0 + ky, ix = ix0 + tap - ky * kw;
                int ok = pix_ok && tap < taps && iy >= 0 && iy < H && ix >= 0 && ix < W;
                __global const float *src = Xb + (ok ? cb * HW + iy * W + ix : 0);
#pragma unroll
                for (int j = 0; j < 8; j++) bv[e][j] = ok && cb + j < Ci ? src[j * HW] : 0.0f;
            }
        }
        if (kt > 0) {
            const uint sa = sbase + (st ^ 1) * CV_STAGE_BYTES, sb = sa + CV_A_BYTES;
#pragma unroll
            for (int ks = 0; ks < CV_BK / 16; ks++) {
                /* the row addresses are written in terms of `lane` inside the macro
                 * argument: the PoCL emulation re-evaluates them for other lanes */
                CV_FRAG af[CV_MI][4], bf[CV_NI][2];
#pragma unroll
                for (int mi = 0; mi < CV_MI; mi++)
                    NV_LDSM4(af[mi], sa + HG_SW(wm + mi * 16 + (lane & 15), ks * 2 + (lane >> 4), CV_BK));
#pragma unroll
                for (int nj = 0; nj < CV_NI / 2; nj++) {
                    CV_FRAG t4[4];
                    NV_LDSM4(t4, sb + HG_SW(wn + nj * 16 + (lane & 7) + ((lane >> 4) << 3), ks * 2 + ((lane >> 3) & 1), CV_BK));
                    bf[2 * nj][0] = t4[0];
                    bf[2 * nj][1] = t4[1];
                    bf[2 * nj + 1][0] = t4[2];
                    bf[2 * nj + 1][1] = t4[3];
                }
#pragma unroll
                for (int mi = 0; mi < CV_MI; mi++)
#pragma unroll
                    for (int ni = 0; ni < CV_NI; ni++) NV_MMA_F16(acc[mi][ni], af[mi], bf[ni][0], bf[ni][1]);
            }
        }
        if (fetch) {
#pragma unroll
            for (int e = 0; e < CV_BE; e++) {
                uint off = st * CV_STAGE_BYTES + CV_A_BYTES + HG_SW(br, c0 + e * (CV_NT / CV_BN), CV_BK);
                smem[off / 16] = (uint4)(nv_pack_f16x2(bv[e][0], bv[e][1]), nv_pack_f16x2(bv[e][2], bv[e][3]),
                                         nv_pack_f16x2(bv[e][4], bv[e][5]), nv_pack_f16x2(bv[e][6], bv[e][7]));
            }
        }
        NV_WAIT_GROUP(0);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
#undef CV_LOAD_A

    const int g = lane >> 2, t = lane & 3;
    __global float *Yb = Y + y_off + (long)img * Co * P;
#pragma unroll
    for (int mi = 0; mi < CV_MI; mi++)
#pragma unroll
        for (int h = 0; h < 2; h++) {
            int m = m0 + wm + mi * 16 + g + h * 8;
            if (m >= Co) continue;
            float bm_ = has_bias ? ldf(bias, bias_off + m, bias_dt) : 0.0f;
#pragma unroll
            for (int ni = 0; ni < CV_NI; ni++) {
                int n = n0 + wn + ni * 8 + t * 2;
                if (n >= P) continue;
                float v0 = acc[mi][ni][2 * h] + bm_, v1 = acc[mi][ni][2 * h + 1] + bm_;
                if (round_out) { v0 = hg_round_half(v0); v1 = hg_round_half(v1); }
                long idx = (long)m * P + n;
                if (n + 1 < P && !((y_off + (long)img * Co * P + idx) & 1)) *(__global float2 *)(Yb + idx) = (float2)(v0, v1);
                else {
                    Yb[idx] = v0;
                    if (n + 1 < P) Yb[idx + 1] = v1;
                }
            }
        }
}

#undef CV_BK
#undef CV_CPR
#undef CV_MI
#undef CV_NI
#undef CV_WARPS_N
#undef CV_A_BYTES
#undef CV_STAGE_BYTES
#undef CV_BE
