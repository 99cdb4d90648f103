/* Encoding and decoding with the byte-level BPE tokenizer: added-token
 * split, NFC (utf8proc, reference's Unicode version: tokenizer/nfc_opaque.h),
 * regex pre-tokenization (PCRE2), BPE merges. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tokenizer/bpe_internal.h"
#include "tokenizer/nfc_opaque.h"

typedef struct {
    int64_t *ids;
    size_t n, cap;
    /* BPE scratch, reused across pieces */
    int32_t *sym, *prev, *next;
    struct heap_item { int32_t rank, pos, new_id; } *heap;
    size_t scap, hcap, hn;
    pcre2_match_data *md;
} work;

static hart_status push_id(work *w, int64_t id) {
    if (w->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 256;
        int64_t *ni = realloc(w->ids, nc * sizeof *ni);
        if (!ni) return hart_fail(HART_ENOMEM, "tokenizer: out of memory");
        w->ids = ni;
        w->cap = nc;
    }
    w->ids[w->n++] = id;
    return HART_OK;
}

static int heap_less(const struct heap_item *a, const struct heap_item *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static int heap_push(work *w, int32_t rank, int32_t pos, int32_t new_id) {
    if (w->hn == w->hcap) {
        size_t nc = w->hcap ? w->hcap * 2 : 256;
        struct heap_item *nh = realloc(w->heap, nc * sizeof *nh);
        if (!nh) return -1;
        w->heap = nh;
        w->hcap = nc;
    }
    size_t i = w->hn++;
    w->heap[i] = (struct heap_item){rank, pos, new_id};
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(&w->heap[i], &w->heap[p])) break;
        struct heap_item t = w->heap[i]; w->heap[i] = w->heap[p]; w->heap[p] = t;
        i = p;
    }
    return 0;
}

static struct heap_item heap_pop(work *w) {
    struct heap_item top = w->heap[0];
    w->heap[0] = w->heap[--w->hn];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < w->hn && heap_less(&w->heap[l], &w->heap[m])) m = l;
        if (r < w->hn && heap_less(&w->heap[r], &w->heap[m])) m = r;
        if (m == i) break;
        struct heap_item t = w->heap[i]; w->heap[i] = w->heap[m]; w->heap[m] = t;
        i = m;
    }
    return top;
}

static int try_pair(const hart_bpe *t, work *w, int32_t pos) {
    int32_t nx = w->next[pos], rank, mid;
    if (nx < 0) return 0;
    uint64_t key = ((uint64_t)(uint32_t)w->sym[pos] << 32) | (uint32_t)w->sym[nx];
    if (!hart_pairmap_get(&t->merges, key, &rank, &mid)) return 0;
    return heap_push(w, rank, pos, mid);
}

/* BPE over one pre-token's raw bytes: start from single bytes and apply
 * merges lowest rank first (leftmost first among equal ranks). */
static hart_status bpe_piece(const hart_bpe *t, work *w, const unsigned char *s, size_t n) {
    if (!n) return HART_OK;
    if (n > w->scap) {
        size_t nc = n + 64;
        int32_t *a = realloc(w->sym, nc * sizeof *a);
        if (a) w->sym = a;
        int32_t *b = a ? realloc(w->prev, nc * sizeof *b) : NULL;
        if (b) w->prev = b;
        int32_t *c = b ? realloc(w->next, nc * sizeof *c) : NULL;
        if (!c) return hart_fail(HART_ENOMEM, "tokenizer: out of memory");
        w->next = c;
        w->scap = nc;
    }
    for (size_t i = 0; i < n; i++) {
        w->sym[i] = t->byte_id[s[i]];
        w->prev[i] = (int32_t)i - 1;
        w->next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    w->hn = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (try_pair(t, w, (int32_t)i)) return hart_fail(HART_ENOMEM, "tokenizer: out of memory");
    while (w->hn) {
        struct heap_item it = heap_pop(w);
        int32_t p = it.pos;
        if (w->sym[p] < 0) continue; /* merged away */
        int32_t nx = w->next[p], rank, mid;
        if (nx < 0) continue;
        uint64_t key = ((uint64_t)(uint32_t)w->sym[p] << 32) | (uint32_t)w->sym[nx];
        if (!hart_pairmap_get(&t->merges, key, &rank, &mid) || mid != it.new_id || rank != it.rank) continue;
        w->sym[p] = mid;
        w->sym[nx] = -1;
        w->next[p] = w->next[nx];
        if (w->next[nx] >= 0) w->prev[w->next[nx]] = p;
        if ((w->prev[p] >= 0 && try_pair(t, w, w->prev[p])) || try_pair(t, w, p))
            return hart_fail(HART_ENOMEM, "tokenizer: out of memory");
    }
    for (int32_t i = 0; i >= 0; i = w->next[i]) HART_TRY(push_id(w, w->sym[i]));
    return HART_OK;
}

/* Regex split (Isolated: matches and the gaps between them are pieces). */
static hart_status split_and_bpe(const hart_bpe *t, work *w, const unsigned char *s, size_t n) {
    if (!t->re) return bpe_piece(t, w, s, n);
    size_t pos = 0, last = 0;
    while (pos < n) {
        int rc = pcre2_match(t->re, s, n, pos, PCRE2_NO_UTF_CHECK, w->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return hart_fail(HART_EINVAL, "tokenizer: regex match failed at byte %zu: %s", pos, (char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(w->md);
        size_t ms = ov[0], me = ov[1];
        if (ms > last) HART_TRY(bpe_piece(t, w, s + last, ms - last));
        if (me > ms) {
            HART_TRY(bpe_piece(t, w, s + ms, me - ms));
            last = pos = me;
        } else { /* empty match: step over one code point */
            pos = ms + 1;
            while (pos < n && (s[pos] & 0xc0) == 0x80) pos++;
            last = ms;
        }
    }
    if (last < n) HART_TRY(bpe_piece(t, w, s + last, n - last));
    return HART_OK;
}

static hart_status nfc(const unsigned char *s, size_t n, utf8proc_uint8_t **out, size_t *len) {
    utf8proc_ssize_t r = utf8proc_map(s, (utf8proc_ssize_t)n, out, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (r < 0) return hart_fail(HART_EINVAL, "tokenizer: NFC normalisation failed: %s", utf8proc_errmsg(r));
    *len = (size_t)r;
    return HART_OK;
}

/* NFC as the reference does it when s contains code points of
 * tokenizer/nfc_opaque.h (first one at offset `at`): the runs between them
 * are normalised separately and they are copied unchanged (they are
 * starters that never compose, so nothing crosses them). */
static hart_status nfc_with_opaque(const unsigned char *s, size_t n, size_t at, size_t cplen,
                                   unsigned char **out, size_t *len) {
    size_t cap = n + 64, o = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) return hart_fail(HART_ENOMEM, "tokenizer: out of memory");
    size_t i = 0;
    for (;;) {
        utf8proc_uint8_t *part = NULL;
        size_t plen = 0;
        if (at > i) {
            hart_status st = nfc(s + i, at - i, &part, &plen);
            if (st) { free(buf); return st; }
        }
        size_t need = o + plen + cplen;
        if (need > cap) {
            cap = need + cap / 2;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) { free(part); free(buf); return hart_fail(HART_ENOMEM, "tokenizer: out of memory"); }
            buf = nb;
        }
        if (plen) memcpy(buf + o, part, plen);
        free(part);
        o += plen;
        if (at == n) break;
        memcpy(buf + o, s + at, cplen); /* the opaque code point itself */
        o += cplen;
        i = at + cplen;
        at = i + hart_nfc_find_opaque(s + i, n - i, &cplen);
    }
    *out = buf;
    *len = o;
    return HART_OK;
}

static hart_status encode_segment(const hart_bpe *t, work *w, const char *s, size_t n) {
    if (!n) return HART_OK;
    const unsigned char *u = (const unsigned char *)s;
    if (!t->nfc) return split_and_bpe(t, w, u, n);
    unsigned char *norm = NULL;
    size_t len = 0, cplen = 0, at = hart_nfc_find_opaque(u, n, &cplen);
    HART_TRY(at == n ? nfc(u, n, &norm, &len) : nfc_with_opaque(u, n, at, cplen, &norm, &len));
    hart_status st = split_and_bpe(t, w, norm, len);
    free(norm);
    return st;
}

static hart_status validate_utf8(const char *text, size_t len) {
    size_t i = 0;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t l = utf8proc_iterate((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)(len - i), &cp);
        if (l <= 0 || cp < 0)
            return hart_fail(HART_EINVAL, "tokenizer: input is not valid UTF-8 (bad byte 0x%02x at offset %zu)",
                             (unsigned char)text[i], i);
        i += (size_t)l;
    }
    return HART_OK;
}

/* Leftmost-longest added token starting at i, or NULL. */
static const hart_bpe_added *added_at(const hart_bpe *t, const char *s, size_t n, size_t i) {
    const hart_bpe_added *best = NULL;
    for (int k = 0; k < t->n_added; k++) {
        const hart_bpe_added *a = &t->added[k];
        if (a->len <= n - i && (!best || a->len > best->len) && s[i] == a->text[0] && !memcmp(s + i, a->text, a->len))
            best = a;
    }
    return best;
}

hart_status hart_bpe_encode(const hart_bpe *t, const char *text, size_t len, int64_t **ids, size_t *n) {
    *ids = NULL;
    *n = 0;
    if (len && !text) return hart_fail(HART_EINVAL, "tokenizer: NULL text");
    HART_TRY(validate_utf8(text, len));
    work w;
    memset(&w, 0, sizeof w);
    hart_status s = HART_OK;
    if (t->re) {
        w.md = pcre2_match_data_create_from_pattern(t->re, NULL);
        if (!w.md) s = hart_fail(HART_ENOMEM, "tokenizer: out of memory");
    }
    unsigned char first[256] = {0};
    for (int k = 0; k < t->n_added; k++) first[(unsigned char)t->added[k].text[0]] = 1;
    size_t seg = 0;
    for (size_t i = 0; !s && i < len; i++) {
        if (!first[(unsigned char)text[i]]) continue;
        const hart_bpe_added *a = added_at(t, text, len, i);
        if (!a) continue;
        s = encode_segment(t, &w, text + seg, i - seg);
        if (!s) s = push_id(&w, a->id);
        seg = i + a->len;
        i = seg - 1;
    }
    if (!s) s = encode_segment(t, &w, text + seg, len - seg);
    free(w.sym); free(w.prev); free(w.next); free(w.heap);
    if (w.md) pcre2_match_data_free(w.md);
    if (s) { free(w.ids); return s; }
    if (!w.ids) w.ids = malloc(sizeof *w.ids); /* never return NULL on success */
    if (!w.ids) return hart_fail(HART_ENOMEM, "tokenizer: out of memory");
    *ids = w.ids;
    *n = w.n;
    return HART_OK;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid; *bad
 * receives the length of the maximal invalid prefix to replace (>= 1). */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad) {
    unsigned c = s[0];
    size_t need;
    unsigned lo = 0x80, hi = 0xbf;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) { need = 2; if (c == 0xe0) lo = 0xa0; if (c == 0xed) hi = 0x9f; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; if (c == 0xf0) lo = 0x90; if (c == 0xf4) hi = 0x8f; }
    else { *bad = 1; return 0; }
    size_t i = 1;
    for (; i <= need; i++) {
        if (i >= n) { *bad = i; return 0; }
        unsigned b = s[i];
        unsigned l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xbf;
        if (b < l || b > h) { *bad = i; return 0; }
    }
    return need + 1;
}

hart_status hart_bpe_decode(const hart_bpe *t, const int64_t *ids, size_t n, int skip_special, char **text, size_t *len) {
    *text = NULL;
    if (len) *len = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_ids || !t->tok_bytes[ids[i]])
            return hart_fail(HART_EINVAL, "tokenizer: id %lld at position %zu is not in the vocabulary", (long long)ids[i], i);
        if (!(skip_special && t->is_special[ids[i]])) total += t->tok_len[ids[i]];
    }
    unsigned char *raw = malloc(total + 1), *p = raw;
    /* each invalid byte may become U+FFFD (3 bytes) */
    char *out = malloc(3 * total + 1);
    if (!raw || !out) { free(raw); free(out); return hart_fail(HART_ENOMEM, "tokenizer: out of memory"); }
    for (size_t i = 0; i < n; i++) {
        if (skip_special && t->is_special[ids[i]]) continue;
        memcpy(p, t->tok_bytes[ids[i]], t->tok_len[ids[i]]);
        p += t->tok_len[ids[i]];
    }
    /* invalid UTF-8 (e.g. half of a character) becomes U+FFFD, one per
     * maximal invalid subsequence, as the reference's lossy conversion */
    size_t o = 0;
    for (size_t i = 0; i < total;) {
        size_t bad = 0, l = utf8_seq(raw + i, total - i, &bad);
        if (l) { memcpy(out + o, raw + i, l); o += l; i += l; }
        else { memcpy(out + o, "\xef\xbf\xbd", 3); o += 3; i += bad; }
    }
    out[o] = 0;
    free(raw);
    *text = out;
    if (len) *len = o;
    return HART_OK;
}
