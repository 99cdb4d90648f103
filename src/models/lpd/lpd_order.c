/* LPD orders: the locality-aware algorithm, random permutations, order
 * files and step schedules. */
#include "models/lpd/lpd_order.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/checkpoint.h"
#include "core/rng.h"

typedef struct {
    uint64_t seed, stream, next;
} draws;

/* uniform integer in [0, n) */
static int draw(draws *d, int n) {
    uint32_t u = hart_rng_u32_at(d->seed, d->stream, d->next++);
    return (int)(((uint64_t)u * (uint64_t)n) >> 32);
}

void hart_lpd_order_random(int N, uint64_t seed, uint64_t stream, int64_t *order) {
    draws d = {seed, stream, 0};
    for (int i = 0; i < N; i++) order[i] = i;
    for (int i = N - 1; i > 0; i--) {
        int j = draw(&d, i + 1);
        int64_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

typedef struct {
    double score;
    int cell;
} cand;

/* stable sort by descending score (insertion sort keeps equal scores in
 * their shuffled order, as Python's sort does) */
static void sort_desc(cand *c, int n) {
    for (int i = 1; i < n; i++) {
        cand x = c[i];
        int j = i - 1;
        while (j >= 0 && c[j].score < x.score) { c[j + 1] = c[j]; j--; }
        c[j + 1] = x;
    }
}

/* Farthest point sampling of `want` cells from pool[0..np-1] given this
 * step's picks so far; appends to picks. */
static void farthest(draws *d, int grid, const int *pool, int np, int *picks, int *npicks, int want) {
    if (np <= want) {
        for (int i = 0; i < np; i++) picks[(*npicks)++] = pool[i];
        return;
    }
    char *taken = calloc((size_t)np, 1);
    for (int w = 0; w < want; w++) {
        int best = 0;
        if (*npicks == 0) {
            best = draw(d, np);
        } else {
            double bd = -1;
            for (int i = 0; i < np; i++) {
                double md = INFINITY;
                for (int s = 0; s < *npicks; s++) {
                    int dr = pool[i] / grid - picks[s] / grid, dc = pool[i] % grid - picks[s] % grid;
                    double dist = sqrt((double)(dr * dr + dc * dc));
                    if (dist < md) md = dist;
                }
                if (taken && taken[i]) md = 0;
                if (md > bd) { bd = md; best = i; }
            }
        }
        if (taken) taken[best] = 1;
        picks[(*npicks)++] = pool[best];
    }
    free(taken);
}

hart_status hart_lpd_order_lpd(const int *g, int K, int grid, double prox_thr, double rep_thr, uint64_t seed,
                               uint64_t stream, int64_t *order, int *n_prox) {
    int N = grid * grid, sum = 0;
    if (grid < 1 || K < 1) return hart_fail(HART_EINVAL, "lpd order: bad grid %d or %d steps", grid, K);
    for (int i = 0; i < K; i++) {
        if (g[i] < 1) return hart_fail(HART_EINVAL, "lpd order: group size %d at step %d", g[i], i);
        sum += g[i];
    }
    if (sum != N) return hart_fail(HART_EINVAL, "lpd order: group sizes add up to %d, the grid has %d cells", sum, N);
    if (g[0] != 1) return hart_fail(HART_EINVAL, "lpd order: the first group must have size 1 (it has %d)", g[0]);
    draws d = {seed, stream, 0};
    char *used = calloc((size_t)N, 1);
    cand *c = malloc(sizeof *c * (size_t)N);
    int *pool = malloc(sizeof(int) * (size_t)N), *picks = malloc(sizeof(int) * (size_t)N);
    if (!used || !c || !pool || !picks) {
        free(used); free(c); free(pool); free(picks);
        return hart_fail(HART_ENOMEM, "out of memory");
    }
    int done = 0;
    order[done++] = draw(&d, N);
    used[order[0]] = 1;
    if (n_prox) n_prox[0] = 0;
    for (int step = 1; step < K; step++) {
        int nc = 0;
        for (int cell = 0; cell < N; cell++) {
            if (used[cell]) continue;
            double s = 0;
            for (int k = 0; k < done; k++) { /* in selection order, as the original sums */
                int dr = abs(cell / grid - (int)order[k] / grid), dc = abs(cell % grid - (int)order[k] % grid);
                if (dr <= 1 && dc <= 1) s += 1.0 / sqrt((double)(dr * dr + dc * dc));
            }
            c[nc].score = s;
            c[nc++].cell = cell;
        }
        for (int i = nc - 1; i > 0; i--) { /* shuffle, so equal scores come in random order */
            int j = draw(&d, i + 1);
            cand t = c[i];
            c[i] = c[j];
            c[j] = t;
        }
        sort_desc(c, nc);
        /* pool: low-score candidates, then the filtered and unvisited high ones */
        int np = 0, npicks = 0, nf = 0;
        int *hi = malloc(sizeof(int) * (size_t)(nc ? nc : 1)), nhi = 0, *rest = malloc(sizeof(int) * (size_t)(nc ? nc : 1));
        if (!hi || !rest) { free(hi); free(rest); free(used); free(c); free(pool); free(picks); return hart_fail(HART_ENOMEM, "out of memory"); }
        for (int i = 0; i < nc; i++)
            if (c[i].score >= prox_thr) hi[nhi++] = c[i].cell;
            else pool[np++] = c[i].cell;
        int h = 0;
        for (; h < nhi && npicks < g[step]; h++) {
            int cell = hi[h], close = 0;
            for (int s = 0; s < npicks && !close; s++)
                close = abs(cell / grid - picks[s] / grid) <= rep_thr && abs(cell % grid - picks[s] % grid) <= rep_thr;
            if (close) rest[nf++] = cell;
            else picks[npicks++] = cell;
        }
        for (; h < nhi; h++) rest[nf++] = hi[h];
        for (int i = 0; i < nf; i++) pool[np++] = rest[i];
        if (n_prox) n_prox[step] = npicks;
        if (npicks < g[step]) farthest(&d, grid, pool, np, picks, &npicks, g[step] - npicks);
        for (int i = 0; i < npicks; i++) {
            order[done++] = picks[i];
            used[picks[i]] = 1;
        }
        free(hi);
        free(rest);
    }
    free(used); free(c); free(pool); free(picks);
    return HART_OK;
}

hart_status hart_lpd_orders_load(const char *path, int N, int64_t first, int count, int64_t *order) {
    cJSON *j;
    HART_TRY(hart_json_load(path, &j));
    hart_status s = HART_OK;
    int n = cJSON_IsArray(j) ? cJSON_GetArraySize(j) : -1;
    if (n < 0) s = hart_fail(HART_EFORMAT, "%s: an order file is a JSON list of lists", path);
    else if (first < 0 || first + count > n)
        s = hart_fail(HART_EINVAL, "%s: holds %d orders, images %lld..%lld need more", path, n, (long long)first,
                      (long long)(first + count - 1));
    char *seen = calloc((size_t)N, 1);
    if (!s && !seen) s = hart_fail(HART_ENOMEM, "out of memory");
    for (int k = 0; k < count && !s; k++) {
        const cJSON *o = cJSON_GetArrayItem(j, (int)(first + k));
        if (!cJSON_IsArray(o) || cJSON_GetArraySize(o) != N) {
            s = hart_fail(HART_EFORMAT, "%s: order %lld is not a list of %d positions", path, (long long)(first + k), N);
            break;
        }
        memset(seen, 0, (size_t)N);
        int i = 0;
        for (const cJSON *e = o->child; e; e = e->next, i++) {
            double v = cJSON_IsNumber(e) ? e->valuedouble : -1;
            if (v < 0 || v >= N || v != floor(v) || seen[(int)v]) {
                s = hart_fail(HART_EFORMAT, "%s: order %lld is not a permutation of 0..%d (entry %d)", path, (long long)(first + k), N - 1, i);
                break;
            }
            seen[(int)v] = 1;
            order[(size_t)k * N + i] = (int64_t)v;
        }
    }
    free(seen);
    cJSON_Delete(j);
    return s;
}

static hart_status find_config(const char *name, char *path, size_t n) {
    char exe[PATH_MAX] = "", cand[4][PATH_MAX + 64];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (el > 0) {
        exe[el] = 0;
        char *sl = strrchr(exe, '/');
        if (sl) *sl = 0;
    }
    int nc = 0;
    const char *env = getenv("HART_CONFIG_DIR");
    if (env && *env) snprintf(cand[nc++], sizeof cand[0], "%s/%s", env, name);
    snprintf(cand[nc++], sizeof cand[0], "configs/%s", name);
    if (el > 0) {
        snprintf(cand[nc++], sizeof cand[0], "%s/../configs/%s", exe, name);
        snprintf(cand[nc++], sizeof cand[0], "%s/../share/hart/configs/%s", exe, name);
    }
    struct stat sb;
    for (int i = 0; i < nc; i++)
        if (stat(cand[i], &sb) == 0 && S_ISREG(sb.st_mode)) {
            snprintf(path, n, "%.*s", (int)(n - 1), cand[i]);
            return HART_OK;
        }
    return hart_fail(HART_EIO, "%s not found in $HART_CONFIG_DIR, ./configs, <bin>/../configs or <bin>/../share/hart/configs", name);
}

hart_status hart_lpd_schedule(int image_size, int steps, int *g, int max, int *K) {
    char path[PATH_MAX + 64], key[32];
    HART_TRY(find_config("lpd-group-sizes.json", path, sizeof path));
    cJSON *j;
    HART_TRY(hart_json_load(path, &j));
    snprintf(key, sizeof key, "%d", image_size);
    const cJSON *tab = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "schedules"), key);
    snprintf(key, sizeof key, "%d", steps);
    hart_status s = HART_OK;
    int64_t v[4096];
    int n = 0;
    if (!tab) s = hart_fail(HART_EINVAL, "%s: no schedules for %d px images", path, image_size);
    else if (!cJSON_GetObjectItem(tab, key)) {
        char have[256] = "";
        for (const cJSON *e = tab->child; e; e = e->next)
            snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", have[0] ? ", " : "", e->string);
        s = hart_fail(HART_EINVAL, "no %d-step schedule for %d px images (the table has %s)", steps, image_size, have);
    } else {
        s = hart_cfg_int_array(tab, key, v, 4096, &n);
    }
    if (!s && n > max) s = hart_fail(HART_EINVAL, "schedule of %d steps exceeds %d", n, max);
    for (int i = 0; !s && i < n; i++) {
        if (v[i] < 1) s = hart_fail(HART_EFORMAT, "%s: group size %lld", path, (long long)v[i]);
        g[i] = (int)v[i];
    }
    if (!s) *K = n;
    cJSON_Delete(j);
    return s;
}
