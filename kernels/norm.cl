/* Normalisations and softmax: one 256-wide work-group per row.
 * norm_rows covers layer_norm (groups 1, S 1), rms_norm (rms 1) and
 * group_norm (row = (n, group), length cg * S, channel = group*cg + i/S). */
__kernel __attribute__((reqd_work_group_size(256, 1, 1)))
void norm_rows(__global const float *x, int x_off, __global float *y, int y_off, int L, int groups, int cg,
               int S, __global const void *g, int g_off, int g_dt, int has_g, __global const void *bt,
               int b_off, int b_dt, int has_b, float eps, int rms) {
    __local float red[256];
    int row = get_group_id(0), lid = get_local_id(0);
    __global const float *p = x + x_off + (long)row * L;
    __global float *q = y + y_off + (long)row * L;
    float2 st = row_norm_stats(p, L, rms, eps, red);
    float mean = st.x, inv = st.y;
    int cbase = (row % groups) * cg;
    for (int i = lid; i < L; i += 256) {
        int c = cbase + i / S;
        float v = (p[i] - mean) * inv;
        if (has_g) v *= ldf(g, g_off + c, g_dt);
        if (has_b) v += ldf(bt, b_off + c, b_dt);
        q[i] = v;
    }
}

__kernel __attribute__((reqd_work_group_size(256, 1, 1)))
void softmax_rows(__global const float *x, int x_off, __global float *y, int y_off, int L) {
    __local float red[256];
    int row = get_group_id(0), lid = get_local_id(0);
    __global const float *p = x + x_off + (long)row * L;
    __global float *q = y + y_off + (long)row * L;
    float mx = -INFINITY;
    for (int i = lid; i < L; i += 256) mx = fmax(mx, p[i]);
    mx = wg_max(mx, red);
    float s = 0.0f;
    if (mx != -INFINITY)
        for (int i = lid; i < L; i += 256) s += exp(p[i] - mx);
    s = wg_sum(s, red);
    for (int i = lid; i < L; i += 256) q[i] = s > 0.0f ? exp(p[i] - mx) / s : 0.0f;
}

/* y[o, i] = reduce_l x[o, l, i]; r: 0 sum, 1 mean, 2 max */
__kernel void reduce_mid(__global const float *x, int x_off, __global float *y, int y_off, int outer, int L,
                         int inner, int r) {
    int gid = get_global_id(0);
    if (gid >= outer * inner) return;
    int o = gid / inner, i = gid % inner;
    __global const float *p = x + x_off + (long)o * L * inner + i;
    float acc = r == 2 ? -INFINITY : 0.0f;
    for (int l = 0; l < L; l++) acc = r == 2 ? fmax(acc, p[(long)l * inner]) : acc + p[(long)l * inner];
    if (r == 1) acc /= (float)L;
    y[y_off + gid] = acc;
}

/* idx[i] = argmin_v ||x[i] - cb[v]||^2, first minimum on ties */
__kernel void argmin_dist(__global const float *x, int x_off, __global const void *cb, int cb_off, int cb_dt,
                          __global long *idx, int idx_off, int N, int D, int V) {
    int i = get_global_id(0);
    if (i >= N) return;
    __global const float *xi = x + x_off + (long)i * D;
    float best = INFINITY;
    long bi = 0;
    for (int v = 0; v < V; v++) {
        float d = 0.0f;
        for (int k = 0; k < D; k++) {
            float t = xi[k] - ldf(cb, cb_off + v * D + k, cb_dt);
            d = mad(t, t, d);
        }
        if (d < best) { best = d; bi = v; }
    }
    idx[idx_off + i] = bi;
}

/* Split reduction for long rows (group norm over large images: a row per
 * (n, group) gives too few work-groups). norm_partial: work-group (c, row)
 * takes elements [c*chunk, (c+1)*chunk) of its row and writes that chunk's
 * mean and sum of squared deviations (two passes over the chunk). */
__kernel __attribute__((reqd_work_group_size(256, 1, 1)))
void norm_partial(__global const float *x, int x_off, int L, int chunk, __global float *part) {
    __local float red[256];
    int c = get_group_id(0), row = get_group_id(1), lid = get_local_id(0), P = get_num_groups(0);
    int lo = c * chunk, hi = min(L, lo + chunk);
    __global const float *p = x + x_off + (long)row * L;
    float s = 0.0f;
    for (int i = lo + lid; i < hi; i += 256) s += p[i];
    float mean = wg_sum(s, red) / (float)(hi - lo);
    float sq = 0.0f;
    for (int i = lo + lid; i < hi; i += 256) {
        float d = p[i] - mean;
        sq = mad(d, d, sq);
    }
    sq = wg_sum(sq, red);
    if (lid == 0) {
        part[((long)row * P + c) * 2] = mean;
        part[((long)row * P + c) * 2 + 1] = sq;
    }
}

/* norm_apply: combines the row's P chunk statistics (Chan et al.'s pairwise
 * update of count, mean and squared deviations) and normalises chunk c. */
__kernel __attribute__((reqd_work_group_size(256, 1, 1)))
void norm_apply(__global const float *x, int x_off, __global float *y, int y_off, int L, int chunk, int P,
                __global const float *part, int groups, int cg, int S, __global const void *g, int g_off,
                int g_dt, int has_g, __global const void *bt, int b_off, int b_dt, int has_b, float eps) {
    int c = get_group_id(0), row = get_group_id(1), lid = get_local_id(0);
    __global const float *pp = part + (long)row * P * 2;
    float n = 0.0f, mean = 0.0f, m2 = 0.0f;
    for (int j = 0; j < P; j++) {
        float nb = (float)(min(L, (j + 1) * chunk) - j * chunk), mb = pp[2 * j], delta = mb - mean;
        float nn = n + nb;
        mean += delta * (nb / nn);
        m2 += pp[2 * j + 1] + delta * delta * (n * nb / nn);
        n = nn;
    }
    float inv = rsqrt(m2 / (float)L + eps);
    int lo = c * chunk, hi = min(L, lo + chunk), cbase = (row % groups) * cg;
    __global const float *p = x + x_off + (long)row * L;
    __global float *q = y + y_off + (long)row * L;
    for (int i = lo + lid; i < hi; i += 256) {
        int ch = cbase + i / S;
        float v = (p[i] - mean) * inv;
        if (has_g) v *= ldf(g, g_off + ch, g_dt);
        if (has_b) v += ldf(bt, b_off + ch, b_dt);
        q[i] = v;
    }
}
