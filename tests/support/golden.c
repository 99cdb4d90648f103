#include "golden.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <sys/stat.h>

/* Where golden sets are looked up, in order: $HART_GOLDEN (or ../shared/golden
 * when that exists: the team's folder, which may hold more sets), then the
 * sets copied into the repository. */
static int golden_roots(const char *roots[2]) {
    const char *env = getenv("HART_GOLDEN");
    struct stat sb;
    int n = 0;
    if (env && *env) roots[n++] = env;
    else if (stat("../shared/golden", &sb) == 0 && S_ISDIR(sb.st_mode)) roots[n++] = "../shared/golden";
    roots[n++] = "tests/data/golden";
    return n;
}

const char *golden_path(const char *rel, char *buf, size_t n) {
    const char *roots[2];
    int nr = golden_roots(roots);
    struct stat sb;
    for (int i = 0; i < nr; i++) {
        snprintf(buf, n, "%s/%s", roots[i], rel);
        if (stat(buf, &sb) == 0) return buf;
    }
    snprintf(buf, n, "tests/data/golden/%s", rel);
    return buf;
}

int golden_available(void) {
    char p[1024];
    struct stat sb;
    return stat(golden_path("README.md", p, sizeof p), &sb) == 0;
}

int golden_sets(const char *prefix, const char *marker, char dirs[][1024], int max) {
    const char *roots[2];
    int nr = golden_roots(roots), n = 0;
    for (int r = 0; r < nr; r++) {
        DIR *d = opendir(roots[r]);
        if (!d) continue;
        for (struct dirent *e; (e = readdir(d)) && n < max;) {
            if (strncmp(e->d_name, prefix, strlen(prefix))) continue;
            char p[2200];
            struct stat sb;
            snprintf(p, sizeof p, "%s/%s/%s", roots[r], e->d_name, marker);
            if (stat(p, &sb)) continue;
            int dup = 0; /* the same set in a later root */
            for (int i = 0; i < n; i++) {
                const char *base = strrchr(dirs[i], '/');
                dup |= base && !strcmp(base + 1, e->d_name);
            }
            if (!dup && snprintf(dirs[n], 1024, "%.700s/%.250s", roots[r], e->d_name) < 1024) n++;
        }
        closedir(d);
    }
    /* a stable order: sorted by path */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(dirs[j - 1], dirs[j]) > 0; j--) {
            char t[1024];
            memcpy(t, dirs[j], sizeof t);
            memcpy(dirs[j], dirs[j - 1], sizeof t);
            memcpy(dirs[j - 1], t, sizeof t);
        }
    return n;
}

double rel_err(const float *a, const float *b, int64_t n) {
    double md = 0, mb = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(a[i]) || !isfinite(b[i])) return INFINITY; /* anywhere, not just last */
        double d = fabs((double)a[i] - b[i]);
        if (d > md) md = d;
        if (fabs(b[i]) > mb) mb = fabs(b[i]);
    }
    return mb > 0 ? md / mb : md;
}

double golden_compare(const hart_safetensors *st, const char *name, const hart_tensor *got) {
    hart_tensor ref;
    if (hart_st_tensor(st, name, &ref) != HART_OK || ref.dtype != HART_F32) {
        printf("  %s: missing from golden file\n", name);
        return 1e30;
    }
    if (!hart_tensor_same_shape(&ref, got)) {
        char a[96], b[96];
        printf("  %s: shape %s vs golden %s\n", name, hart_shape_str(got, a, sizeof a), hart_shape_str(&ref, b, sizeof b));
        return 1e30;
    }
    int64_t n = hart_tensor_numel(got);
    float *buf = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!buf || hart_tensor_read_f32(got, buf) != HART_OK) { free(buf); return 1e30; }
    double e = rel_err(buf, ref.data, n);
    printf("  %-28s rel err %.3g\n", name, e);
    free(buf);
    return e;
}

int64_t golden_compare_idx(const hart_safetensors *st, const char *name, const hart_tensor *got) {
    hart_tensor ref;
    if (hart_st_tensor(st, name, &ref) != HART_OK || ref.dtype != HART_I64 || got->dtype != HART_I64 ||
        !hart_tensor_same_shape(&ref, got)) {
        printf("  %s: missing or shape/dtype mismatch\n", name);
        return -1;
    }
    int64_t n = hart_tensor_numel(got), bad = 0;
    int64_t *buf = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!buf || hart_tensor_read(got, buf, (size_t)n * 8) != HART_OK) { free(buf); return -1; }
    for (int64_t i = 0; i < n; i++) bad += buf[i] != ((const int64_t *)ref.data)[i];
    printf("  %-28s %lld of %lld indices differ\n", name, (long long)bad, (long long)n);
    free(buf);
    return bad;
}

void fill_random(float *x, int64_t n, unsigned seed, float lo, float hi) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int64_t i = 0; i < n; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        x[i] = lo + (hi - lo) * (float)((s >> 40) * (1.0 / 16777216.0));
    }
}

void fill_nan(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = NAN;
}

int golden_hart_sets(char dirs[][1024], int max) { return golden_sets("hart-", "llm/config.json", dirs, max); }

void golden_write_rounded_copy(const char *rel, const char *dir, int ndim, hart_dtype dt, int upcast,
                               int all_f32) {
    char src[1024], path[1200];
    golden_path(rel, src, sizeof src);
    hart_checkpoint ck;
    assert_int_equal(hart_ckpt_open(src, "config.json", NULL, &ck), HART_OK);
    hart_st_writer *w = hart_st_writer_new();
    const hart_safetensors *st = &ck.files[0];
    for (int i = 0; i < st->n_entries; i++) {
        hart_tensor t;
        assert_int_equal(hart_st_tensor(st, st->entries[i].name, &t), HART_OK);
        if (all_f32) assert_int_equal(t.dtype, HART_F32);
        if (t.ndim != ndim || t.dtype != HART_F32) {
            assert_int_equal(hart_st_writer_add(w, st->entries[i].name, &t), HART_OK);
            continue;
        }
        int64_t n = hart_tensor_numel(&t);
        const float *x = t.data;
        float *f = malloc((size_t)n * sizeof *f);
        uint16_t *h = malloc((size_t)n * sizeof *h);
        assert_true(f && h);
        for (int64_t j = 0; j < n; j++) {
            h[j] = dt == HART_BF16 ? hart_f32_to_bf16(x[j]) : hart_f32_to_f16(x[j]);
            f[j] = dt == HART_BF16 ? hart_bf16_to_f32(h[j]) : hart_f16_to_f32(h[j]);
        }
        assert_int_equal(hart_st_writer_add_raw(w, st->entries[i].name, upcast ? HART_F32 : dt, ndim, t.shape,
                                                upcast ? (const void *)f : (const void *)h), HART_OK);
        free(f);
        free(h);
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    assert_int_equal(hart_st_writer_save(w, path), HART_OK);
    hart_st_writer_free(w);
    snprintf(path, sizeof path, "%s/config.json", dir);
    golden_write_json(path, ck.config);
    hart_ckpt_close(&ck);
}

void golden_write_json(const char *path, const cJSON *c) {
    char *text = cJSON_Print(c);
    assert_non_null(text);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    free(text);
}
