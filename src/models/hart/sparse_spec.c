/* Sparse-attention settings (the --sparse-attn spec) and the token layout
 * of one scale's attention (models/hart/sparse_attn.h). */
#include "models/hart/sparse_attn.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hart_sparse_default(hart_sparse_cfg *c) {
    memset(c, 0, sizeof *c);
    c->kind = HART_SPARSE_NONE;
    c->from_scale = -1;
    c->block = HART_SPARSE_DEFAULT_BLOCK;
}

static const char *const USAGE = "expected none, local:R (radius >= 0), xattn:T (0 < T <= 1) or quest:B (pages >= 1)";

/* the number after "name:" (all of it, finite) */
static int number_after(const char *s, double *v) {
    if (!*s) return 0;
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return !*end && !errno && isfinite(*v) && !strchr(s, ' ');
}

hart_status hart_sparse_parse(const char *spec, hart_sparse_cfg *c) {
    if (!spec) return hart_fail(HART_EINVAL, "sparse attention: no spec (%s)", USAGE);
    if (!strcmp(spec, "none")) {
        c->kind = HART_SPARSE_NONE;
        c->param = 0;
        return HART_OK;
    }
    static const struct { const char *name; hart_sparse_kind kind; } K[] = {
        {"local:", HART_SPARSE_LOCAL}, {"xattn:", HART_SPARSE_XATTN}, {"quest:", HART_SPARSE_QUEST}};
    for (size_t i = 0; i < sizeof K / sizeof K[0]; i++) {
        size_t n = strlen(K[i].name);
        if (strncmp(spec, K[i].name, n)) continue;
        double v;
        if (!number_after(spec + n, &v))
            return hart_fail(HART_EINVAL, "sparse attention '%s': '%s' is not a number (%s)", spec, spec + n, USAGE);
        if (K[i].kind == HART_SPARSE_LOCAL && !(v >= 0 && v <= 1e6))
            return hart_fail(HART_EINVAL, "sparse attention '%s': the radius must be in [0, 1e6]", spec);
        if (K[i].kind == HART_SPARSE_XATTN && !(v > 0 && v <= 1))
            return hart_fail(HART_EINVAL, "sparse attention '%s': the threshold must be in (0, 1]", spec);
        if (K[i].kind == HART_SPARSE_QUEST && !(v >= 1 && v <= 1e6 && v == floor(v)))
            return hart_fail(HART_EINVAL, "sparse attention '%s': the page budget must be a whole number in [1, 1e6]",
                             spec);
        c->kind = K[i].kind;
        c->param = v;
        return HART_OK;
    }
    return hart_fail(HART_EINVAL, "sparse attention '%s': unknown policy (%s)", spec, USAGE);
}

void hart_sparse_format(const hart_sparse_cfg *c, char *buf, size_t n) {
    switch (c->kind) {
    case HART_SPARSE_LOCAL: snprintf(buf, n, "local:%g", c->param); break;
    case HART_SPARSE_XATTN: snprintf(buf, n, "xattn:%g", c->param); break;
    case HART_SPARSE_QUEST: snprintf(buf, n, "quest:%g", c->param); break;
    default: snprintf(buf, n, "none");
    }
}

int hart_sparse_active(const hart_sparse_cfg *c, int si, int n_scales) {
    if (!c || c->kind == HART_SPARSE_NONE || si < 1) return 0;
    int from = c->from_scale >= 0 ? c->from_scale : n_scales - 3;
    return si >= from;
}

int64_t hart_sparse_nq(const hart_sparse_geom *g) { return (int64_t)g->patch_nums[g->si] * g->patch_nums[g->si]; }

int64_t hart_sparse_scale_start(const hart_sparse_geom *g, int s) {
    int64_t p = g->ctx_tokens;
    for (int k = 1; k < s; k++) p += (int64_t)g->patch_nums[k] * g->patch_nums[k];
    return p;
}

int64_t hart_sparse_nk(const hart_sparse_geom *g) { return hart_sparse_scale_start(g, g->si + 1); }

int64_t hart_sparse_nsink(const hart_sparse_geom *g) {
    int last = g->si < HART_SPARSE_SINK_SCALES ? g->si : HART_SPARSE_SINK_SCALES;
    return hart_sparse_scale_start(g, last);
}

int64_t hart_sparse_nqb(const hart_sparse_geom *g) { return (hart_sparse_nq(g) + g->block - 1) / g->block; }
int64_t hart_sparse_nkb(const hart_sparse_geom *g) { return (hart_sparse_nk(g) + g->block - 1) / g->block; }

double hart_sparse_density(const hart_sparse_geom *g, const uint8_t *mask, int64_t nb, int64_t nh) {
    int64_t nq = hart_sparse_nq(g), nk = hart_sparse_nk(g), nqb = hart_sparse_nqb(g), nkb = hart_sparse_nkb(g);
    int64_t bs = g->block;
    double kept = 0;
    for (int64_t m = 0; m < nb * nh; m++)
        for (int64_t a = 0; a < nqb; a++) {
            int64_t rows = nq - a * bs < bs ? nq - a * bs : bs;
            for (int64_t b = 0; b < nkb; b++)
                if (mask[(m * nqb + a) * nkb + b]) kept += (double)rows * (double)(nk - b * bs < bs ? nk - b * bs : bs);
        }
    double all = (double)nb * (double)nh * (double)nq * (double)nk;
    return all > 0 ? kept / all : 1.0;
}
