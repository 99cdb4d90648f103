/* libFuzzer entry point: batch manifests (hart_manifest_parse, what `hart
 * batch` reads on resume and `hart batch --merge` reads from other
 * machines), the index ranges of their header, and the header comparison.
 * Any input must parse into a consistent manifest (entries with relative or
 * absolute file names without "..", a header with a valid shard) or fail
 * with a status; writing it back and reading again gives the same entries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a ".." part would let a manifest name files outside its folder */
static int has_dotdot(const char *f) {
    for (const char *p = f; p;) {
        const char *q = strchr(p, '/');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') return 1;
        p = q ? q + 1 : NULL;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    hart_manifest m;
    if (hart_manifest_parse("fuzz.jsonl", text, size, &m) == HART_OK) {
        if (m.n < 0 || m.dropped < 0 || (m.torn != 0 && m.torn != 1)) abort();
        if (m.has_header && (m.n_shards < 1 || m.shard < 0 || m.shard >= m.n_shards || m.images < 0)) abort();
        for (int i = 0; i < m.n; i++)
            if (m.entries[i].index < 0 || !*m.entries[i].file || has_dotdot(m.entries[i].file)) abort();
        if (m.has_header) {
            int64_t *v, n;
            if (m.images <= (1 << 16) && hart_ranges_parse(m.indices, m.images, &v, &n) == HART_OK) {
                for (int64_t i = 1; i < n; i++)
                    if (v[i] <= v[i - 1]) abort();
                char *back = hart_ranges_format(v, n);
                if (n && back && strcmp(back, m.indices)) {
                    /* the same values: "1-1" style input may be written as "1"; compare by re-parsing */
                    int64_t *w, k;
                    if (hart_ranges_parse(back, m.images, &w, &k) != HART_OK || k != n || memcmp(v, w, sizeof *v * (size_t)n))
                        abort();
                    free(w);
                }
                free(back);
                free(v);
            }
            char *d = hart_manifest_header_diff(&m, &m);
            if (d) abort(); /* a header equals itself */
        }
        /* write back, read again: the same entries */
        char *h = m.has_header ? hart_manifest_header_line(&m) : NULL;
        size_t cap = (h ? strlen(h) : 0) + 1, len = 0;
        char *all = malloc(cap);
        if (all && h) { memcpy(all, h, strlen(h)); len = strlen(h); }
        for (int i = 0; all && i < m.n; i++) {
            char *l = hart_manifest_entry_line(m.entries[i].index, m.entries[i].file, m.entries[i].seed, m.entries[i].prompt);
            if (!l) break;
            char *g = realloc(all, len + strlen(l) + 1);
            if (g) { all = g; memcpy(all + len, l, strlen(l)); len += strlen(l); }
            free(l);
        }
        if (all) {
            all[len] = 0;
            hart_manifest m2;
            if (hart_manifest_parse("back.jsonl", all, len, &m2) != HART_OK) abort();
            if (m2.n != m.n || m2.dropped || m2.torn || m2.has_header != m.has_header) abort();
            for (int i = 0; i < m.n; i++)
                if (m2.entries[i].index != m.entries[i].index || m2.entries[i].seed != m.entries[i].seed ||
                    strcmp(m2.entries[i].file, m.entries[i].file) || strcmp(m2.entries[i].prompt, m.entries[i].prompt))
                    abort();
            hart_manifest_free(&m2);
        }
        free(all);
        free(h);
        hart_manifest_free(&m);
    }
    free(text);
    return 0;
}
