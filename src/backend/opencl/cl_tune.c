/* GEMM autotuner. For every shape class (kind, and M, N, K, batch rounded up
 * to powers of two) the first GEMM of that class runs each kernel variant on
 * its own operands, keeps the fastest, and records the choice in memory and
 * in a cache file next to the program cache:
 *   $HART_CACHE_DIR/tune-<hash>.txt, hash = FNV-1a of the device name, driver
 *   version, device version and both program hashes (kernel sources + options).
 * File: "HARTTUNE1\n", then "<key hex> <choice>\n" lines, then
 * "sum <hex>\n" = FNV-1a of everything before that line. A file that fails
 * any check is ignored entirely (its classes are tuned again and the file is
 * rewritten); it is never trusted in part.
 * $HART_CL_TUNE: 0 never tune (built-in heuristics), 1 always; unset = tune
 * on GPU devices only (on CPU OpenCL devices the heuristics are kept, so the
 * test suite does not pay for tuning). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/opencl/cl_internal.h"
#include "backend/opencl/cl_wgmma.h"
#include "backend/opencl/opencl.h"
#include "core/fileio.h"

#define TUNE_MAGIC "HARTTUNE1\n"
#define SEED 1469598103934665603ull

static int lb(int64_t x) { /* ceil(log2(x)), 0 for x <= 1, at most 127 */
    int l = 0;
    while (l < 127 && ((int64_t)1 << l) < x) l++;
    return l;
}

uint32_t hart_cl_tune_key(int kind, const clb_gemm_args *g) {
    return (uint32_t)kind << 28 | (uint32_t)lb(g->M) << 21 | (uint32_t)lb(g->N) << 14 | (uint32_t)lb(g->K) << 7 |
           (uint32_t)lb((int64_t)g->nz0 * g->nz1);
}

/* tensor-core classes: the mma.sync variants, then the Hopper wgmma ones (cl_wgmma.c);
 * implicit-GEMM convolution classes: the conv_nv variants */
static int nchoices(uint32_t key) {
    return (key >> 28) == 1 ? hart_cl_hgemm_nvariants + hart_cl_wg_nvariants
         : (key >> 28) == 2 ? hart_cl_conv_nvariants : 2;
}

static void dev_str(clb *b, cl_device_info what, char *buf, size_t n) {
    buf[0] = 0;
    clGetDeviceInfo(b->dev, what, n, buf, NULL);
    buf[n - 1] = 0;
}

void hart_cl_tune_init(clb *b) {
    clb_tune *t = &b->tune;
    memset(t, 0, sizeof *t);
    const char *m = getenv("HART_CL_TUNE");
    t->mode = m && *m ? atoi(m) != 0 : b->is_gpu;
    char dir[900], name[256], drv[128], ver[128];
    if (getenv("HART_NO_KERNEL_CACHE") || hart_cl_cache_dir(dir, sizeof dir) != HART_OK) { hart_clear_error(); return; }
    dev_str(b, CL_DEVICE_NAME, name, sizeof name);
    dev_str(b, CL_DRIVER_VERSION, drv, sizeof drv);
    dev_str(b, CL_DEVICE_VERSION, ver, sizeof ver);
    uint64_t h = hart_cl_fnv(SEED, TUNE_MAGIC, strlen(TUNE_MAGIC));
    h = hart_cl_fnv(h, name, strlen(name));
    h = hart_cl_fnv(h, drv, strlen(drv));
    h = hart_cl_fnv(h, ver, strlen(ver));
    h = hart_cl_fnv(h, b->prog_hash, sizeof b->prog_hash);
    if (hart_cl_wg_device_ok(b->nvidia, b->cc_major, b->cc_minor)) /* choices made before wgmma existed are stale */
        for (int i = 0; i < hart_cl_wg_nvariants; i++)
            h = hart_cl_fnv(h, hart_cl_wg_variants[i].name, strlen(hart_cl_wg_variants[i].name));
    snprintf(t->path, sizeof t->path, "%s/tune-%016llx.txt", dir, (unsigned long long)h);
}

/* Parse the cache file; all or nothing. */
static void tune_load(clb_tune *t) {
    t->loaded = 1;
    if (!t->path[0]) return;
    char *data = NULL;
    size_t size = 0;
    if (hart_file_read_all(t->path, &data, &size) != HART_OK) { hart_clear_error(); return; }
    clb_tune_entry e[CLB_TUNE_MAX];
    int n = 0, ok = size > strlen(TUNE_MAGIC) && !memcmp(data, TUNE_MAGIC, strlen(TUNE_MAGIC));
    size_t pos = ok ? strlen(TUNE_MAGIC) : size;
    while (ok && pos < size) {
        char *nl = memchr(data + pos, '\n', size - pos);
        if (!nl) { ok = 0; break; }
        char line[96];
        size_t len = (size_t)(nl - (data + pos));
        if (len >= sizeof line) { ok = 0; break; }
        memcpy(line, data + pos, len);
        line[len] = 0;
        unsigned long long v;
        unsigned key;
        int choice;
        char tail;
        if (sscanf(line, "sum %llx%c", &v, &tail) == 1) {
            ok = nl + 1 == data + size && v == hart_cl_fnv(SEED, data, pos);
            pos = size;
            break;
        }
        if (sscanf(line, "%x %d%c", &key, &choice, &tail) != 2 || n >= CLB_TUNE_MAX || choice < 0 ||
            choice >= nchoices(key)) { ok = 0; break; }
        e[n].key = key;
        e[n++].choice = choice;
        pos += len + 1;
        if (pos >= size) ok = 0; /* no checksum line */
    }
    free(data);
    if (!ok) { t->n_rejected++; return; }
    memcpy(t->e, e, (size_t)n * sizeof e[0]);
    t->n = t->n_cached = n;
}

static void tune_save(clb_tune *t) {
    if (!t->path[0]) return;
    size_t cap = strlen(TUNE_MAGIC) + (size_t)t->n * 24 + 64, len = 0;
    char *buf = malloc(cap);
    if (!buf) return;
    len += (size_t)snprintf(buf + len, cap - len, "%s", TUNE_MAGIC);
    for (int i = 0; i < t->n; i++) len += (size_t)snprintf(buf + len, cap - len, "%08x %d\n", t->e[i].key, t->e[i].choice);
    len += (size_t)snprintf(buf + len, cap - len, "sum %016llx\n", (unsigned long long)hart_cl_fnv(SEED, buf, len));
    hart_file_writer w;
    if (hart_file_begin(&w, t->path) == HART_OK) {
        if (hart_file_put(&w, buf, len) || hart_file_commit(&w)) hart_file_abort(&w);
    }
    hart_clear_error();
    free(buf);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

hart_status hart_cl_tune_pick(clb *b, uint32_t key, int nvar, clb_tune_launch fn, const void *ctx, int def,
                          const clb_gemm_args *g, int *choice) {
    clb_tune *t = &b->tune;
    if (!t->loaded) tune_load(t);
    for (int i = 0; i < t->n; i++)
        if (t->e[i].key == key) {
            if (t->e[i].choice < nvar) {
                *choice = t->e[i].choice;
                return HART_OK;
            }
            break;
        }
    *choice = def;
    /* no tuning when off, when full, or when the output overlaps an input
     * (the candidates would read what the previous one wrote) */
    if (!t->mode || t->n >= CLB_TUNE_MAX || g->c == g->a || g->c == g->b || (g->bias && g->c == g->bias)) return HART_OK;
    cl_int e = clFinish(b->q);
    if (e) return hart_fail(HART_EDEVICE, "OpenCL finish before GEMM tuning: %s", hart_cl_errname(e));
    /* warm-up: a GPU idles at low clocks and ramps up within tens of ms */
    double w0 = now();
    for (int r = 0; r < 200 && now() - w0 < 0.03; r++) {
        HART_TRY(fn(b, ctx, def));
        e = clFinish(b->q);
        if (e) return hart_fail(HART_EDEVICE, "OpenCL GEMM warm-up before tuning: %s", hart_cl_errname(e));
    }
    double best = 1e30;
    for (int v = 0; v < nvar; v++) {
        double tv = 1e30;
        for (int r = 0; r < 4; r++) { /* run 0 warms up; the rest are timed, fewer when slow */
            double t0 = now();
            if (fn(b, ctx, v) != HART_OK) { /* e.g. a variant the device cannot launch: skip it */
                hart_clear_error();
                tv = 1e30;
                break;
            }
            e = clFinish(b->q);
            if (e) return hart_fail(HART_EDEVICE, "OpenCL GEMM variant %d while tuning: %s", v, hart_cl_errname(e));
            double dt = now() - t0;
            if (r > 0 && dt < tv) tv = dt;
            if (r > 0 && dt > 0.05) break;
        }
        if (tv < best) { best = tv; *choice = v; }
    }
    int i = 0;
    while (i < t->n && t->e[i].key != key) i++;
    t->e[i].key = key;
    t->e[i].choice = *choice;
    if (i == t->n) t->n++;
    t->n_tuned++;
    tune_save(t);
    return HART_OK;
}

void hart_opencl_tune_stats(hart_backend *be, int *tuned, int *cached, int *rejected) {
    int a = 0, c = 0, r = 0;
    if (be && be->kind == HART_BACKEND_OPENCL) {
        clb_tune *t = &clb_of(be)->tune;
        if (!t->loaded) tune_load(t);
        a = t->n_tuned;
        c = t->n_cached;
        r = t->n_rejected;
    }
    if (tuned) *tuned = a;
    if (cached) *cached = c;
    if (rejected) *rejected = r;
}

const char *hart_opencl_tune_path(hart_backend *be) {
    if (!be || be->kind != HART_BACKEND_OPENCL) return "";
    return clb_of(be)->tune.path;
}
