#include "golden_check.h"

#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* One float64 evaluation of a golden tensor, found again by the golden
 * tensor's name and content (a later test case may check the same golden
 * tensor, e.g. another layout of the same weights or a tiled decode). */
typedef struct {
    char name[96];
    uint64_t golden_hash;
    int64_t n;
    double *value;
} oracle_value;

/* One checked result awaiting golden_verify(). */
typedef struct {
    char name[96];
    char backend[136];
    uint64_t golden_hash;
    int is_oracle;
    double err;   /* rel(result, golden) */
    double stray; /* rel(result, float64 result); 0 for the oracle itself */
} check_record;

static hart_backend *g_oracle;
static hart_backend *g_run;
static oracle_value *g_values;
static int g_nvalues, g_capvalues;
static check_record *g_records;
static int g_nrecords, g_caprecords;

static void free_all(void) {
    for (int i = 0; i < g_nvalues; i++) free(g_values[i].value);
    free(g_values);
    free(g_records);
    if (g_oracle) hart_backend_close(g_oracle);
}

hart_backend *golden_oracle(void) {
    if (!g_oracle) {
        char why[256] = "";
        if (hart_backend_open("ref64", &g_oracle, why, sizeof why) != HART_OK)
            fail_msg("the float64 oracle backend does not open: %s", hart_errmsg());
        atexit(free_all);
    }
    return g_oracle;
}

void golden_run_begin(hart_backend *be) { g_run = be; }

double golden_limit(double stray) { return GOLDEN_STRAY_MULTIPLE * fmax(stray, FLT_EPSILON); }

static uint64_t hash_bytes(const void *p, size_t n) {
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* max|a-b| / max|b| in double; INFINITY when any value is NaN or Inf. */
static double rel_d(const double *a, const double *b, int64_t n) {
    double md = 0, mb = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(a[i]) || !isfinite(b[i])) return INFINITY;
        double d = fabs(a[i] - b[i]);
        if (d > md) md = d;
        if (fabs(b[i]) > mb) mb = fabs(b[i]);
    }
    return mb > 0 ? md / mb : md;
}

static const oracle_value *find_value(const char *name, uint64_t h) {
    for (int i = g_nvalues - 1; i >= 0; i--)
        if (g_values[i].golden_hash == h && !strcmp(g_values[i].name, name)) return &g_values[i];
    return NULL;
}

static void keep_value(const char *name, uint64_t h, const double *v, int64_t n) {
    oracle_value *o = (oracle_value *)find_value(name, h);
    if (!o) {
        if (g_nvalues == g_capvalues) {
            g_capvalues = g_capvalues ? 2 * g_capvalues : 64;
            g_values = realloc(g_values, sizeof *g_values * (size_t)g_capvalues);
            assert_non_null(g_values);
        }
        o = &g_values[g_nvalues++];
        snprintf(o->name, sizeof o->name, "%s", name);
        o->golden_hash = h;
        o->value = NULL;
    }
    free(o->value);
    o->value = malloc(sizeof(double) * (size_t)(n ? n : 1));
    assert_non_null(o->value);
    memcpy(o->value, v, sizeof(double) * (size_t)n);
    o->n = n;
}

static void add_record(const check_record *r) {
    if (g_nrecords == g_caprecords) {
        g_caprecords = g_caprecords ? 2 * g_caprecords : 64;
        g_records = realloc(g_records, sizeof *g_records * (size_t)g_caprecords);
        assert_non_null(g_records);
    }
    g_records[g_nrecords++] = *r;
}

double golden_check(const hart_safetensors *st, const char *name, const hart_tensor *got) {
    assert_non_null(g_run);
    hart_tensor ref;
    if (hart_st_tensor(st, name, &ref) != HART_OK || ref.dtype != HART_F32)
        fail_msg("%s: missing from the golden file (or not F32)", name);
    if (!hart_tensor_same_shape(&ref, got)) {
        char a[96], b[96];
        fail_msg("%s: shape %s, golden %s", name, hart_shape_str(got, a, sizeof a), hart_shape_str(&ref, b, sizeof b));
    }
    int64_t n = hart_tensor_numel(got);
    double *mine = malloc(sizeof(double) * (size_t)(n ? n : 1)), *gold = malloc(sizeof(double) * (size_t)(n ? n : 1));
    assert_true(mine && gold);
    assert_int_equal(hart_tensor_read_f64(got, mine), HART_OK);
    for (int64_t i = 0; i < n; i++) gold[i] = ((const float *)ref.data)[i];

    check_record r = {.golden_hash = hash_bytes(ref.data, hart_tensor_nbytes(&ref)), .is_oracle = g_run == g_oracle};
    snprintf(r.name, sizeof r.name, "%s", name);
    snprintf(r.backend, sizeof r.backend, "%s", r.is_oracle ? "float64" : g_run->name);
    r.err = rel_d(mine, gold, n);
    if (r.is_oracle) {
        keep_value(name, r.golden_hash, mine, n);
        printf("  %-28s float64 vs golden %.3g\n", name, r.err);
    } else {
        const oracle_value *o = find_value(name, r.golden_hash);
        if (!o || o->n != n) fail_msg("%s: no float64 evaluation was recorded before this check", name);
        r.stray = rel_d(mine, o->value, n);
        printf("  %-28s rel err %.3g (float32 stray %.3g)\n", name, r.err, r.stray);
    }
    add_record(&r);
    free(mine);
    free(gold);
    return r.err;
}

void golden_verify(void) {
    int bad = 0;
    for (int i = 0; i < g_nrecords; i++) {
        const check_record *r = &g_records[i];
        /* this tensor's float32 stray: the largest over the float32 runs */
        double stray = 0;
        for (int j = 0; j < g_nrecords; j++) {
            const check_record *q = &g_records[j];
            if (!q->is_oracle && q->golden_hash == r->golden_hash && !strcmp(q->name, r->name) && q->stray > stray)
                stray = q->stray;
        }
        double limit = golden_limit(stray);
        printf("  limit %-24s %-34.34s %9.3g from golden, float32 stray %9.3g, limit %9.3g\n", r->name, r->backend,
               r->err, stray, limit);
        if (!(r->err <= limit)) {
            printf("FAIL %s on %s: %.3g from golden, limit %.3g (%g x float32 stray %.3g)\n", r->name, r->backend,
                   r->err, limit, GOLDEN_STRAY_MULTIPLE, stray);
            bad++;
        }
    }
    g_nrecords = 0;
    if (bad) fail_msg("%d golden tensor check(s) outside their limit", bad);
}
