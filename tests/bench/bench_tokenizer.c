/* Tokenizer throughput: encode ~100 KB of mixed text (the reference test
 * strings repeated), then 100 KB single-piece worst cases. Needs the bundled
 * Qwen2 vocabulary (tests/data/tokenizer, decompressed with xz). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokenizer/bpe.h"
#include "support/slurp.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int run(const hart_bpe *t, const char *name, const char *text, size_t len) {
    double best = 1e9;
    size_t n = 0;
    for (int rep = 0; rep < 3; rep++) {
        int64_t *ids;
        double t0 = now();
        if (hart_bpe_encode(t, text, len, &ids, &n)) { fprintf(stderr, "%s\n", hart_errmsg()); return 1; }
        double dt = now() - t0;
        if (dt < best) best = dt;
        free(ids);
    }
    printf("tokenizer encode %-22s %7zu bytes -> %6zu tokens in %7.2f ms (%.1f MB/s)\n", name, len, n, best * 1e3,
           (double)len / best / 1e6);
    return 0;
}

int main(void) {
    size_t n;
    char *json = slurp_cmd("xz -dc tests/data/tokenizer/qwen2_vl_tokenizer.json.xz", &n);
    if (!json) { fprintf(stderr, "bench_tokenizer: cannot read the bundled vocabulary\n"); return 1; }
    hart_bpe *t;
    double t0 = now();
    if (hart_bpe_load_mem(json, n, "qwen2_vl_tokenizer.json", &t)) { fprintf(stderr, "%s\n", hart_errmsg()); return 1; }
    printf("tokenizer load (151,657 ids): %.0f ms\n", (now() - t0) * 1e3);
    free(json);
    char *v = slurp_cmd("cat tests/data/tokenizer/qwen2_vectors.json", &n);
    cJSON *vec = v ? cJSON_ParseWithLength(v, n) : NULL;
    free(v);
    if (!vec) { fprintf(stderr, "bench_tokenizer: cannot read the vectors\n"); return 1; }
    const size_t target = 100 * 1024;
    char *text = malloc(target + 4096);
    size_t len = 0;
    const cJSON *cases = cJSON_GetObjectItem(vec, "cases");
    while (len < target)
        for (int i = 0; i < cJSON_GetArraySize(cases) && len < target; i++) {
            const char *s = cJSON_GetObjectItem(cJSON_GetArrayItem(cases, i), "text")->valuestring;
            size_t l = strlen(s);
            memcpy(text + len, s, l);
            len += l;
            text[len++] = ' ';
        }
    int rc = run(t, "mixed text", text, len);
    memset(text, ' ', target);
    rc |= run(t, "100 KB of spaces", text, target);
    memset(text, 'a', target);
    rc |= run(t, "100 KB of 'a'", text, target);
    for (size_t i = 0; i + 1 < target; i += 2) { text[i] = '1'; text[i + 1] = '2'; }
    rc |= run(t, "100 KB of digits", text, target);
    free(text);
    cJSON_Delete(vec);
    hart_bpe_free(t);
    return rc;
}
