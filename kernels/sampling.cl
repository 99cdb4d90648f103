/* The generation loop's sampling on the device: guidance mix, top-k/top-p
 * filter, keyed multinomial draw, Gumbel-softmax, keyed normal noise and the
 * iDDPM step. The filter and the draw use the integer weights of
 * sample_math.cl and make the same decisions as the host (core/sample_fixed.c)
 * by other routes: bitwise threshold searches over sort keys instead of
 * selection and sorting, prefix sums instead of a sequential walk. Integer
 * sums are exact in any order, so nothing depends on the reduction order. */
#define SW 256 /* work-group size of the row kernels */

/* ---- Philox-4x32-10 (core/rng.c), stream = image << 32 | site << 16 | step ---- */
inline uint4 philox10(uint4 c, uint2 k) {
    for (int r = 0; r < 10; r++) {
        if (r > 0) {
            k.x += 0x9E3779B9u;
            k.y += 0xBB67AE85u;
        }
        uint hi0 = mul_hi(0xD2511F53u, c.x), lo0 = 0xD2511F53u * c.x;
        uint hi1 = mul_hi(0xCD9E8D57u, c.z), lo1 = 0xCD9E8D57u * c.z;
        c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    }
    return c;
}

inline uint4 philox_block(__global const long *keys, int b, int site, int step, ulong block) {
    ulong seed = (ulong)keys[2 * b];
    uint image = (uint)keys[2 * b + 1];
    uint stream_lo = ((uint)(site & 0xffff) << 16) | (uint)(step & 0xffff);
    return philox10((uint4)((uint)block, (uint)(block >> 32), stream_lo, image), (uint2)((uint)seed, (uint)(seed >> 32)));
}

inline uint philox_word(__global const long *keys, int b, int site, int step, ulong index) {
    uint4 o = philox_block(keys, b, site, step, index >> 2);
    uint w = (uint)(index & 3);
    return w == 0 ? o.x : w == 1 ? o.y : w == 2 ? o.z : o.w;
}

/* ---- work-group reductions over SW lanes ---- */
inline ulong wg_sum_ul(ulong v, __local ulong *red) {
    int lid = get_local_id(0);
    red[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = SW / 2; s > 0; s >>= 1) {
        if (lid < s) red[lid] += red[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    ulong r = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

inline uint wg_max_u(uint v, __local ulong *red) {
    int lid = get_local_id(0);
    red[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = SW / 2; s > 0; s >>= 1) {
        if (lid < s) red[lid] = max(red[lid], red[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    uint r = (uint)red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

/* NaN never enters a decision: the host rejects it, a kernel cannot */
inline float ld_logit(__global const float *p, int i) {
    float v = p[i];
    return isnan(v) ? -INFINITY : v;
}

/* the float whose sort key is k (inverse of sm_key) */
inline float key_float(uint k) { return as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k); }

/* row maximum (NaN as -inf) */
inline float row_max(__global const float *p, int V, __local ulong *red) {
    uint mk = 0;
    for (int i = get_local_id(0); i < V; i += SW) mk = max(mk, sm_key(ld_logit(p, i)));
    return key_float(wg_max_u(mk, red));
}

/* y = (1+t)·x[b] − t·x[B+b]: both products rounded to float before the
 * difference, as on the host (volatile keeps a compiler from fusing them
 * into one mad, which -cl-mad-enable would allow) */
#pragma OPENCL FP_CONTRACT OFF
__kernel void cfg_mix(__global const float *x, int x_off, __global float *y, int y_off, int n, float a, float b) {
    int i = get_global_id(0);
    if (i >= n) return;
    volatile float p = a * x[x_off + i];
    volatile float q = b * x[x_off + n + i];
    y[y_off + i] = p - q;
}
#pragma OPENCL FP_CONTRACT ON

/* One work-group per row of V. top-k (0 < k < V): T = the largest sort key
 * with at least k entries >= T (the k-th largest value), found bit by bit;
 * entries below it go. top-p (has_p): LIM from the weights' sum and the
 * 32-bit fraction q = floor((1-p)·2^32); K = the smallest (key, index) pair
 * whose ascending cumulative weight exceeds LIM, found bit by bit; entries
 * ordered below K go. */
__kernel __attribute__((reqd_work_group_size(SW, 1, 1)))
void topk_topp(__global const float *x, int x_off, __global float *y, int y_off, int V, int k, int has_p, long q) {
    __local ulong red[SW];
    int row = get_group_id(0), lid = get_local_id(0);
    __global const float *p = x + x_off + (long)row * V;
    __global float *o = y + y_off + (long)row * V;
    uint tk = 0; /* entries with key < tk are removed by top-k */
    if (k > 0 && k < V) {
        for (int bit = 31; bit >= 0; bit--) {
            uint cand = tk | (1u << bit);
            ulong c = 0;
            for (int i = lid; i < V; i += SW) c += sm_key(ld_logit(p, i)) >= cand;
            if (wg_sum_ul(c, red) >= (ulong)k) tk = cand;
        }
    }
    uint pk = 0, pi = 0; /* top-p: entries with (key, index) < (pk, pi) are removed */
    if (has_p) {
        uint mk = 0;
        for (int i = lid; i < V; i += SW) {
            uint kk = sm_key(ld_logit(p, i));
            if (kk >= tk) mk = max(mk, kk);
        }
        float mx = key_float(wg_max_u(mk, red));
        ulong s = 0;
        for (int i = lid; i < V; i += SW) {
            float v = ld_logit(p, i);
            if (sm_key(v) >= tk) s += sm_row_weight(v, mx);
        }
        ulong lim = sm_frac_of((ulong)q, wg_sum_ul(s, red));
        /* weight of the kept entries with (key, index) <= (ck, ci) */
        int ib = 0;
        while ((1 << ib) < V) ib++;
        for (int bit = 31 + ib; bit >= 0; bit--) {
            uint ck, ci;
            if (bit >= ib) { /* key bits; index part all ones */
                ck = pk | ((1u << (bit - ib)) - 1u);
                ci = 0xffffffffu;
            } else {
                ck = pk;
                ci = pi | ((1u << bit) - 1u);
            }
            ulong c = 0;
            for (int i = lid; i < V; i += SW) {
                float v = ld_logit(p, i);
                uint kk = sm_key(v);
                if (kk >= tk && (kk < ck || (kk == ck && (uint)i <= ci))) c += sm_row_weight(v, mx);
            }
            if (wg_sum_ul(c, red) <= lim) {
                if (bit >= ib) pk |= 1u << (bit - ib);
                else pi |= 1u << bit;
            }
        }
    }
    for (int i = lid; i < V; i += SW) {
        float v = ld_logit(p, i);
        uint kk = sm_key(v);
        int gone = kk < tk || (has_p && (kk < pk || (kk == pk && (uint)i < pi)));
        o[i] = gone ? -INFINITY : v;
    }
}

/* One work-group per row (b, j) of x [B, L, V]: the first index whose
 * cumulative weight exceeds floor(U·S / 2^32), U the keyed 24-bit uniform as
 * a 32-bit fraction. Each lane owns a contiguous chunk; an exclusive scan of
 * the chunk sums finds the lane holding the crossing, which walks its chunk. */
__kernel __attribute__((reqd_work_group_size(SW, 1, 1)))
void multinomial(__global const float *x, int x_off, __global long *idx, int idx_off, __global const long *keys,
                 int k_off, int L, int V, int site, int step) {
    __local ulong red[SW], scan[SW];
    int row = get_group_id(0), lid = get_local_id(0), b = row / L, j = row % L;
    __global const float *p = x + x_off + (long)row * V;
    float mx = row_max(p, V, red); /* all -inf: token 0 (no early return: PoCL mishandles one before barriers) */
    int chunk = (V + SW - 1) / SW, i0 = min(V, lid * chunk), i1 = min(V, i0 + chunk);
    ulong s = 0;
    for (int i = i0; i < i1; i++) s += sm_row_weight(ld_logit(p, i), mx);
    scan[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int d = 1; d < SW; d <<= 1) { /* inclusive Hillis-Steele scan */
        ulong add = lid >= d ? scan[lid - d] : 0;
        barrier(CLK_LOCAL_MEM_FENCE);
        scan[lid] += add;
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    ulong S = scan[SW - 1], before = scan[lid] - s;
    ulong U = (ulong)(philox_word(keys + k_off, b, site, step, (ulong)j) >> 8) << 8;
    ulong target = sm_frac_of(U, S);
    if (mx == -INFINITY) {
        if (lid == 0) idx[idx_off + row] = 0;
    } else if (before <= target && target < before + s) {
        ulong cum = before;
        int pick = -1;
        for (int i = i0; i < i1; i++) { /* no early exit: PoCL lost the store after a break here */
            cum += sm_row_weight(ld_logit(p, i), mx);
            if (pick < 0 && cum > target) pick = i;
        }
        idx[idx_off + row] = pick;
    }
}

/* y = softmax((x·scale + g) / tau) per row, g = −log(−log(1 − u)) (float
 * math: a continuous result, equal to the host's within rounding) */
__kernel __attribute__((reqd_work_group_size(SW, 1, 1)))
void gumbel_softmax(__global const float *x, int x_off, __global float *y, int y_off, __global const long *keys,
                    int k_off, int L, int V, float scale, float tau, int site, int step) {
    __local float redf[SW];
    int row = get_group_id(0), lid = get_local_id(0), b = row / L, j = row % L;
    __global const float *p = x + x_off + (long)row * V;
    __global float *o = y + y_off + (long)row * V;
    float mx = -INFINITY;
    for (int i = lid; i < V; i += SW) {
        float l = p[i], v = -INFINITY;
        if (l != -INFINITY) {
            uint w = philox_word(keys + k_off, b, site, step, (ulong)j * (ulong)V + (ulong)i);
            float u = (float)(w >> 8) * (1.0f / 16777216.0f);
            float e = fmax(-log(1.0f - u), 1e-30f);
            v = (l * scale - log(e)) / tau;
        }
        o[i] = v;
        mx = fmax(mx, v);
    }
    mx = wg_max(mx, redf);
    float s = 0.0f;
    for (int i = lid; i < V; i += SW) s += o[i] == -INFINITY ? 0.0f : exp(o[i] - mx);
    s = wg_sum(s, redf);
    for (int i = lid; i < V; i += SW) o[i] = o[i] == -INFINITY ? 0.0f : exp(o[i] - mx) / s;
}

#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#define BM_REAL double
#else
#define BM_REAL float
#endif

/* y [H, B, L, C]: the keyed standard normal of element (h, b, l, c), index
 * h·L·C + l·C + c (Box-Muller on word pairs, in double where the device has it) */
__kernel void randn(__global float *y, int y_off, __global const long *keys, int k_off, int B, int L, int C, int n, int site,
                    int step) {
    int g = get_global_id(0);
    if (g >= n) return;
    int c = g % C, l = (g / C) % L, b = (g / (C * L)) % B, h = g / (C * L * B);
    ulong index = (ulong)h * (ulong)L * (ulong)C + (ulong)l * (ulong)C + (ulong)c;
    uint4 o = philox_block(keys + k_off, b, site, step, index >> 2);
    uint w0 = (index & 2) ? o.z : o.x, w1 = (index & 2) ? o.w : o.y;
    BM_REAL u1 = ((BM_REAL)(w0 >> 8) + (BM_REAL)1) * ((BM_REAL)1 / (BM_REAL)16777216);
    BM_REAL u2 = (BM_REAL)(w1 >> 8) * ((BM_REAL)1 / (BM_REAL)16777216);
    BM_REAL r = sqrt((BM_REAL)-2 * log(u1));
    BM_REAL th = (BM_REAL)6.283185307179586476925 * u2;
    y[y_off + g] = (float)((index & 1) ? r * sin(th) : r * cos(th));
}

/* One iDDPM step on x [n, C] (see hart_ddpm_coef) */
__kernel void ddpm_step(__global float *x, int x_off, __global const float *mo, int mo_off,
                        __global const float *nz, int nz_off, int n, int C, int guided, float g1, float g0, float minl,
                        float maxl, float sra, float srm1, float c1, float c2, float nzm, float temperature) {
    int g = get_global_id(0);
    if (g >= n * C) return;
    int r = g / C, c = g % C, h = n / 2;
    __global const float *o = mo + mo_off;
    float e = o[r * 2 * C + c];
    if (guided) {
        int rc = r < h ? r : r - h;
        e = o[rc * 2 * C + c] * g1 - g0 * o[(rc + h) * 2 * C + c];
    }
    float v = o[r * 2 * C + C + c], xv = x[x_off + g];
    float frac = (v + 1) / 2;
    float lv = frac * maxl + (1 - frac) * minl;
    float px = clamp(sra * xv - srm1 * e, -1.0f, 1.0f);
    float mean = c1 * px + c2 * xv;
    x[x_off + g] = mean + nzm * exp(0.5f * lv) * nz[nz_off + g] * temperature;
}

/* y [N, D] = table rows idx (an id outside [0, V) gives zeros) */
__kernel void gather_rows(__global float *y, int y_off, __global const float *t, int t_off, __global const long *idx,
                          int i_off, int D, int V, int n) {
    int g = get_global_id(0);
    if (g >= n) return;
    long id = idx[i_off + g / D];
    y[y_off + g] = id >= 0 && id < V ? t[t_off + id * D + g % D] : 0.0f;
}
