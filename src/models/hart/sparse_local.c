/* local:R — the geometry-aware policy for next-scale models. Query cell
 * (r, c) of the current pn x pn grid has its centre at (r + 0.5, c + 0.5);
 * key cell (r', c') of scale s (ps x ps) covers the square
 * [r'·pn/ps, (r'+1)·pn/ps) x [c'·pn/ps, (c'+1)·pn/ps) of the current grid.
 * The key is near the query when the centre is within R of that square
 * along both axes (L-inf point-to-square distance), so R = 0 keeps the cells
 * under the query, R = 1 its 3x3 neighbourhood on the own scale, and so on.
 * A key block is kept when a sink or a near key lies in it for some query of
 * the block. */
#include "models/hart/sparse_attn.h"

#include <string.h>

/* distance from x to [lo, hi) along one axis (0 inside) */
static double gap(double x, double lo, double hi) {
    if (x < lo) return lo - x;
    if (x > hi) return x - hi;
    return 0;
}

void hart_sparse_local(const hart_sparse_geom *g, double R, uint8_t *mask) {
    int pn = g->patch_nums[g->si], bs = g->block;
    int64_t nq = hart_sparse_nq(g), nqb = hart_sparse_nqb(g), nkb = hart_sparse_nkb(g), nsink = hart_sparse_nsink(g);
    memset(mask, 0, (size_t)(nqb * nkb));
    for (int64_t a = 0; a < nqb; a++) {
        uint8_t *row = mask + a * nkb;
        int64_t i0 = a * bs, i1 = (a + 1) * bs < nq ? (a + 1) * bs : nq; /* queries [i0, i1) */
        for (int64_t j = 0; j < nsink; j += bs) row[j / bs] = 1;
        int r_first = (int)(i0 / pn), r_last = (int)((i1 - 1) / pn);
        for (int s = 1; s <= g->si; s++) {
            int ps = g->patch_nums[s];
            int64_t start = hart_sparse_scale_start(g, s);
            double f = (double)pn / ps;
            for (int64_t t = 0; t < (int64_t)ps * ps; t++) {
                int64_t key = start + t;
                if (key < nsink || row[key / bs]) continue;
                int kr = (int)(t / ps), kc = (int)(t % ps);
                double rlo = kr * f, rhi = (kr + 1) * f, clo = kc * f, chi = (kc + 1) * f;
                for (int r = r_first; r <= r_last; r++) {
                    if (gap(r + 0.5, rlo, rhi) > R) continue;
                    /* the block's queries on row r: columns [c0, c1] */
                    int c0 = r == r_first ? (int)(i0 % pn) : 0, c1 = r == r_last ? (int)((i1 - 1) % pn) : pn - 1;
                    double dc = clo > c1 + 0.5 ? clo - (c1 + 0.5) : (c0 + 0.5 > chi ? c0 + 0.5 - chi : 0);
                    if (dc <= R) {
                        row[key / bs] = 1;
                        break;
                    }
                }
            }
        }
    }
}
