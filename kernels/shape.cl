/* Data movement: generic 4-D strided copy of 1/2/4/8-byte elements (transpose,
 * slice, slice_assign, concat), embedding, pixel (un)shuffle. Offsets and
 * strides are in elements. */
__kernel void copy_strided(__global void *dst, int d_off, __global const void *src, int s_off, int es, int n1,
                           int n2, int n3, int n, int ss0, int ss1, int ss2, int ss3, int ds0, int ds1, int ds2,
                           int ds3) {
    int i = get_global_id(0);
    if (i >= n) return;
    int i3 = i % n3, r = i / n3, i2 = r % n2;
    r /= n2;
    int i1 = r % n1, i0 = r / n1;
    long so = s_off + (long)i0 * ss0 + (long)i1 * ss1 + (long)i2 * ss2 + (long)i3 * ss3;
    long dd = d_off + (long)i0 * ds0 + (long)i1 * ds1 + (long)i2 * ds2 + (long)i3 * ds3;
    switch (es) {
    case 1: ((__global uchar *)dst)[dd] = ((__global const uchar *)src)[so]; break;
    case 2: ((__global ushort *)dst)[dd] = ((__global const ushort *)src)[so]; break;
    case 8: ((__global ulong *)dst)[dd] = ((__global const ulong *)src)[so]; break;
    default: ((__global uint *)dst)[dd] = ((__global const uint *)src)[so]; break;
    }
}

/* y[i, d] = table[ids[i], d]; a bad id sets *flag = 1 and writes zeros */
__kernel void embedding(__global const void *table, int t_off, int t_dt, __global const void *ids, int ids_off,
                        int ids64, __global float *y, int y_off, int n, int D, int V, __global int *flag) {
    int d = get_global_id(0), i = get_global_id(1);
    if (d >= D || i >= n) return;
    long id = ids64 ? ((__global const long *)ids)[ids_off + i] : (long)((__global const int *)ids)[ids_off + i];
    if (id < 0 || id >= V) {
        if (d == 0) flag[0] = 1;
        y[y_off + (long)i * D + d] = 0.0f;
        return;
    }
    y[y_off + (long)i * D + d] = ldf(table, t_off + (int)id * D + d, t_dt);
}

/* big [N, C, H*r, W*r] <-> small [N, C*r*r, H, W]; gid over the big tensor */
__kernel void pixel_shuffle(__global const float *x, int x_off, __global float *y, int y_off, int C, int H,
                            int W, int r, int n, int to_big) {
    int bi = get_global_id(0);
    if (bi >= n) return;
    int Wr = W * r, Hr = H * r;
    int bx = bi % Wr, t = bi / Wr, by = t % Hr;
    t /= Hr;
    int c = t % C, nn = t / C;
    int h = by / r, i = by % r, w = bx / r, j = bx % r;
    int si = (((nn * C + c) * r * r + i * r + j) * H + h) * W + w;
    if (to_big) y[y_off + bi] = x[x_off + si];
    else y[y_off + si] = x[x_off + bi];
}

/* p[0 .. n16) = 0 in 16-byte chunks, 64-bit index: the zeroing of a new
 * tensor of 1 GiB or more (NVIDIA's clEnqueueFillBuffer hangs or fails from
 * 2^31 bytes, see cl_buffers.c) */
__kernel void zero_fill(__global uint4 *p, ulong n16) {
    size_t i = get_global_id(0);
    if (i < n16) p[i] = (uint4)(0);
}
