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

/* Lengths are counted in units of 1/(2·ps) of a current-grid cell, where
 * every coordinate is an integer: a query centre on row r is at (2r+1)·ps,
 * key row kr of scale s spans [2·kr·pn, 2·(kr+1)·pn), and R becomes 2·R·ps;
 * so the test is exact, with no rounding at the boundary. */
static int64_t gap(int64_t x, int64_t lo, int64_t hi) {
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
            int64_t ps = g->patch_nums[s], start = hart_sparse_scale_start(g, s);
            double lim = 2.0 * R * (double)ps;
            for (int64_t t = 0; t < ps * ps; t++) {
                int64_t key = start + t;
                if (key < nsink || row[key / bs]) continue;
                int64_t kr = t / ps, kc = t % ps;
                int64_t rlo = 2 * kr * pn, rhi = rlo + 2 * pn, clo = 2 * kc * pn, chi = clo + 2 * pn;
                for (int64_t r = r_first; r <= r_last; r++) {
                    if ((double)gap((2 * r + 1) * ps, rlo, rhi) > lim) continue;
                    /* the block's queries on row r: columns [c0, c1] */
                    int64_t c0 = r == r_first ? i0 % pn : 0, c1 = r == r_last ? (i1 - 1) % pn : pn - 1;
                    int64_t x0 = (2 * c0 + 1) * ps, x1 = (2 * c1 + 1) * ps;
                    int64_t dc = clo > x1 ? clo - x1 : (x0 > chi ? x0 - chi : 0);
                    if ((double)dc <= lim) {
                        row[key / bs] = 1;
                        break;
                    }
                }
            }
        }
    }
}
