/* Rotary embedding with a table entry per element (HART's 2-D rotary over
 * the scales gives the two halves of a pair different angles, which the
 * `rope` op's half-length tables cannot express). x, y [B,H,L,D], tables
 * [B,L,D]: y[j] = x[j]·cos[j] + r[j]·sin[j], r = (−x[j+D/2] | x[j−D/2]). */
__kernel void rope_rows(__global const float *x, int x_off, __global float *y, int y_off, __global const float *c,
                        int c_off, __global const float *s, int s_off, int H, int L, int D, int n) {
    int g = get_global_id(0); /* one work-item per pair (j, j + D/2) */
    if (g >= n) return;
    int h2 = D / 2, j = g % h2, row = g / h2, t = row % L, b = row / (L * H);
    long xi = (long)row * D + j, ti = ((long)b * L + t) * D + j;
    float a = x[x_off + xi], bb = x[x_off + xi + h2];
    y[y_off + xi] = a * c[c_off + ti] + (-bb) * s[s_off + ti];
    y[y_off + xi + h2] = bb * c[c_off + ti + h2] + a * s[s_off + ti + h2];
}
