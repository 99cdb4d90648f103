/* tokenizer.json parsing for the byte-level BPE tokenizer. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checkpoint.h"
#include "tokenizer/bpe_internal.h"

/* GPT-2 byte-level alphabet: printable Latin-1 bytes stand for themselves,
 * the others are shifted to U+0100 onwards in byte order. */
static void byte_alphabet(int32_t cp_of_byte[256]) {
    int next = 256;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
        cp_of_byte[b] = printable ? b : next++;
    }
}

/* Decode one UTF-8 code point; returns its length or 0 if invalid. */
static int utf8_next(const unsigned char *s, size_t n, int32_t *cp) {
    if (!n) return 0;
    unsigned c = s[0];
    if (c < 0x80) { *cp = (int32_t)c; return 1; }
    int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
    if (!len || (size_t)len > n) return 0;
    int32_t v = (int32_t)(c & (0x3f >> (len - 1)));
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    *cp = v;
    return len;
}

/* Byte-level token text -> raw bytes (out has room for strlen(s)). */
static int bytelevel_to_raw(const int32_t byte_of_cp[512], const char *s, char *out, size_t *olen) {
    size_t n = strlen(s), o = 0;
    for (size_t i = 0; i < n;) {
        int32_t cp;
        int l = utf8_next((const unsigned char *)s + i, n - i, &cp);
        if (!l || cp >= 512 || byte_of_cp[cp] < 0) return -1;
        out[o++] = (char)byte_of_cp[cp];
        i += (size_t)l;
    }
    *olen = o;
    return 0;
}

static hart_status unsupported(const char *label, const char *what) {
    return hart_fail(HART_EUNSUPPORTED, "%s: unsupported tokenizer feature: %s", label, what);
}

static int str_is(const cJSON *o, const char *key, const char *val) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && !strcmp(v->valuestring, val);
}

static int truthy(const cJSON *o, const char *key) {
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static hart_status check_bytelevel(const cJSON *p, const char *label) {
    if (truthy(p, "add_prefix_space")) return unsupported(label, "ByteLevel add_prefix_space=true");
    if (truthy(p, "use_regex")) return unsupported(label, "ByteLevel use_regex=true (give the split as a Split pre-tokenizer)");
    return HART_OK;
}

static hart_status compile_regex(hart_bpe *t, const char *pat, const char *label) {
    int err;
    PCRE2_SIZE off;
    t->re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &err, &off, NULL);
    if (!t->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return hart_fail(HART_EFORMAT, "%s: split regex does not compile at offset %zu: %s", label, (size_t)off, (char *)msg);
    }
    pcre2_jit_compile(t->re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter if JIT is unavailable */
    return HART_OK;
}

static hart_status parse_pretok(hart_bpe *t, const cJSON *p, const char *label) {
    if (cJSON_IsNull(p) || !p) return unsupported(label, "pre_tokenizer null (byte-level BPE needs ByteLevel)");
    if (str_is(p, "type", "ByteLevel")) return check_bytelevel(p, label);
    if (!str_is(p, "type", "Sequence")) return unsupported(label, "pre_tokenizer type (Sequence or ByteLevel)");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(p, "pretokenizers");
    int n = cJSON_GetArraySize(list), saw_bl = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *e = cJSON_GetArrayItem(list, i);
        if (str_is(e, "type", "Split") && !saw_bl && !t->re) {
            const cJSON *pat = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "pattern"), "Regex");
            if (!cJSON_IsString(pat)) return unsupported(label, "Split pattern other than Regex");
            if (!str_is(e, "behavior", "Isolated")) return unsupported(label, "Split behavior other than Isolated");
            if (truthy(e, "invert")) return unsupported(label, "Split invert=true");
            HART_TRY(compile_regex(t, pat->valuestring, label));
        } else if (str_is(e, "type", "ByteLevel") && !saw_bl) {
            HART_TRY(check_bytelevel(e, label));
            saw_bl = 1;
        } else {
            return unsupported(label, "pre_tokenizer sequence (expected Split(Regex) then ByteLevel)");
        }
    }
    if (!saw_bl) return unsupported(label, "pre_tokenizer without ByteLevel");
    return HART_OK;
}

static hart_status parse_normalizer(hart_bpe *t, const cJSON *n, const char *label) {
    if (!n || cJSON_IsNull(n)) return HART_OK;
    if (str_is(n, "type", "NFC")) { t->nfc = 1; return HART_OK; }
    if (str_is(n, "type", "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(n, "normalizers");
        for (int i = 0; i < cJSON_GetArraySize(list); i++) HART_TRY(parse_normalizer(t, cJSON_GetArrayItem(list, i), label));
        return HART_OK;
    }
    return unsupported(label, "normalizer other than NFC");
}

static hart_status set_token(hart_bpe *t, int64_t id, const char *raw, size_t len, const char *label) {
    if (id < 0 || id >= t->n_ids) return hart_fail(HART_EFORMAT, "%s: token id %lld out of range", label, (long long)id);
    free(t->tok_bytes[id]);
    t->tok_bytes[id] = malloc(len + 1);
    if (!t->tok_bytes[id]) return hart_fail(HART_ENOMEM, "%s: out of memory", label);
    memcpy(t->tok_bytes[id], raw, len);
    t->tok_bytes[id][len] = 0;
    t->tok_len[id] = (uint32_t)len;
    return HART_OK;
}

static hart_status parse_model(hart_bpe *t, const cJSON *model, const cJSON *added, const char *label) {
    if (!str_is(model, "type", "BPE")) return unsupported(label, "model type other than BPE");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(model, "dropout");
    if (d && !cJSON_IsNull(d)) return unsupported(label, "BPE dropout");
    const char *empty_keys[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(model, empty_keys[i]);
        if (cJSON_IsString(v) && v->valuestring[0]) return unsupported(label, empty_keys[i]);
    }
    if (truthy(model, "byte_fallback")) return unsupported(label, "BPE byte_fallback");
    if (truthy(model, "ignore_merges")) return unsupported(label, "BPE ignore_merges");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    if (!cJSON_IsObject(vocab) || !cJSON_IsArray(merges)) return hart_fail(HART_EFORMAT, "%s: model needs vocab and merges", label);

    int64_t max_id = -1;
    int nv = 0;
    for (const cJSON *e = vocab->child; e; e = e->next, nv++) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble >= 16777216.0)
            return hart_fail(HART_EFORMAT, "%s: vocab entry '%s' has no valid id", label, e->string);
        if ((int64_t)e->valuedouble > max_id) max_id = (int64_t)e->valuedouble;
    }
    for (const cJSON *a = added ? added->child : NULL; a; a = a->next) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(a, "id");
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble >= 16777216.0)
            return hart_fail(HART_EFORMAT, "%s: added token without a valid id", label);
        if ((int64_t)id->valuedouble > max_id) max_id = (int64_t)id->valuedouble;
    }
    t->n_ids = max_id + 1;
    t->tok_bytes = calloc((size_t)t->n_ids + 1, sizeof *t->tok_bytes);
    t->tok_len = calloc((size_t)t->n_ids + 1, sizeof *t->tok_len);
    t->is_special = calloc((size_t)t->n_ids + 1, 1);
    if (!t->tok_bytes || !t->tok_len || !t->is_special || hart_strmap_init(&t->vocab, (size_t)nv) ||
        hart_strmap_init(&t->by_name, (size_t)nv + 64) || hart_pairmap_init(&t->merges, (size_t)cJSON_GetArraySize(merges)))
        return hart_fail(HART_ENOMEM, "%s: out of memory", label);

    int32_t cp_of_byte[256], byte_of_cp[512];
    byte_alphabet(cp_of_byte);
    for (int i = 0; i < 512; i++) byte_of_cp[i] = -1;
    for (int b = 0; b < 256; b++) byte_of_cp[cp_of_byte[b]] = b;
    for (int b = 0; b < 256; b++) t->byte_id[b] = -1;

    char *raw = NULL;
    size_t rawcap = 0;
    for (const cJSON *e = vocab->child; e; e = e->next) {
        size_t sl = strlen(e->string), rl;
        if (sl + 1 > rawcap) {
            rawcap = 2 * sl + 64;
            char *nr = realloc(raw, rawcap);
            if (!nr) { free(raw); return hart_fail(HART_ENOMEM, "%s: out of memory", label); }
            raw = nr;
        }
        if (bytelevel_to_raw(byte_of_cp, e->string, raw, &rl)) {
            free(raw);
            return hart_fail(HART_EFORMAT, "%s: vocab token '%s' is not byte-level text", label, e->string);
        }
        int32_t id = (int32_t)e->valuedouble;
        hart_status s = set_token(t, id, raw, rl, label);
        if (!s && (hart_strmap_put(&t->vocab, raw, rl, id) || hart_strmap_put(&t->by_name, e->string, sl, id)))
            s = hart_fail(HART_ENOMEM, "%s: out of memory", label);
        if (s) { free(raw); return s; }
        if (rl == 1) t->byte_id[(unsigned char)raw[0]] = id;
    }
    free(raw);
    for (int b = 0; b < 256; b++)
        if (t->byte_id[b] < 0) return hart_fail(HART_EFORMAT, "%s: vocab lacks the token for byte 0x%02x", label, b);

    int rank = 0;
    for (const cJSON *m = merges->child; m; m = m->next, rank++) {
        const char *l = NULL, *r = NULL;
        char buf[1024];
        if (cJSON_IsString(m)) {
            const char *sp = strchr(m->valuestring, ' ');
            size_t ll = sp ? (size_t)(sp - m->valuestring) : 0;
            if (!sp || ll >= sizeof buf) return hart_fail(HART_EFORMAT, "%s: merge %d '%s' is not 'a b'", label, rank, m->valuestring);
            memcpy(buf, m->valuestring, ll);
            buf[ll] = 0;
            l = buf;
            r = sp + 1;
        } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && cJSON_IsString(m->child) && cJSON_IsString(m->child->next)) {
            l = m->child->valuestring;
            r = m->child->next->valuestring;
        } else {
            return hart_fail(HART_EFORMAT, "%s: merge %d is neither 'a b' nor [a, b]", label, rank);
        }
        int32_t li = hart_strmap_get(&t->by_name, l, strlen(l)), ri = hart_strmap_get(&t->by_name, r, strlen(r));
        char cat[2048];
        int cl = snprintf(cat, sizeof cat, "%s%s", l, r);
        int32_t mi = cl > 0 && (size_t)cl < sizeof cat ? hart_strmap_get(&t->by_name, cat, (size_t)cl) : -1;
        if (li < 0 || ri < 0 || mi < 0)
            return hart_fail(HART_EFORMAT, "%s: merge %d ('%s' '%s') names a token missing from the vocab", label, rank, l, r);
        if (hart_pairmap_put(&t->merges, ((uint64_t)(uint32_t)li << 32) | (uint32_t)ri, rank, mi))
            return hart_fail(HART_ENOMEM, "%s: out of memory", label);
    }
    return HART_OK;
}

static hart_status parse_added(hart_bpe *t, const cJSON *added, const char *label) {
    int n = cJSON_GetArraySize(added);
    t->added = calloc((size_t)n + 1, sizeof *t->added);
    if (!t->added) return hart_fail(HART_ENOMEM, "%s: out of memory", label);
    for (const cJSON *a = added ? added->child : NULL; a; a = a->next) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(a, "content");
        if (!cJSON_IsString(c) || !c->valuestring[0]) return hart_fail(HART_EFORMAT, "%s: added token without content", label);
        if (truthy(a, "lstrip") || truthy(a, "rstrip") || truthy(a, "single_word"))
            return unsupported(label, "added token with lstrip/rstrip/single_word");
        int32_t id = (int32_t)cJSON_GetObjectItemCaseSensitive(a, "id")->valuedouble;
        size_t len = strlen(c->valuestring);
        hart_bpe_added *e = &t->added[t->n_added++];
        e->text = strdup(c->valuestring);
        if (!e->text) return hart_fail(HART_ENOMEM, "%s: out of memory", label);
        e->len = len;
        e->id = id;
        e->special = truthy(a, "special");
        HART_TRY(set_token(t, id, c->valuestring, len, label));
        t->is_special[id] = (unsigned char)e->special;
        if (hart_strmap_put(&t->by_name, c->valuestring, len, id)) return hart_fail(HART_ENOMEM, "%s: out of memory", label);
    }
    return HART_OK;
}

hart_status hart_bpe_load_mem(const char *json, size_t len, const char *label, hart_bpe **out) {
    *out = NULL;
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) return hart_fail(HART_EFORMAT, "%s: not valid JSON", label);
    hart_bpe *t = calloc(1, sizeof *t);
    hart_status s = t ? HART_OK : hart_fail(HART_ENOMEM, "%s: out of memory", label);
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    if (!s && added && !cJSON_IsArray(added)) s = hart_fail(HART_EFORMAT, "%s: added_tokens is not an array", label);
    if (!s) s = parse_normalizer(t, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), label);
    if (!s) s = parse_pretok(t, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), label);
    if (!s) s = parse_model(t, cJSON_GetObjectItemCaseSensitive(root, "model"), added, label);
    if (!s) s = parse_added(t, added, label);
    cJSON_Delete(root);
    if (s) { hart_bpe_free(t); return s; }
    *out = t;
    return HART_OK;
}

hart_status hart_bpe_load(const char *path, hart_bpe **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return hart_fail(HART_EIO, "%s: cannot open tokenizer file", path);
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 65536 > cap) {
            cap = cap ? cap * 2 : 1 << 20;
            char *nb = realloc(buf, cap);
            if (!nb) { free(buf); fclose(f); return hart_fail(HART_ENOMEM, "%s: out of memory", path); }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) { free(buf); return hart_fail(HART_EIO, "%s: read error", path); }
    hart_status s = hart_bpe_load_mem(buf, n, path, out);
    free(buf);
    return s;
}

void hart_bpe_free(hart_bpe *t) {
    if (!t) return;
    if (t->tok_bytes) for (int64_t i = 0; i < t->n_ids; i++) free(t->tok_bytes[i]);
    free(t->tok_bytes);
    free(t->tok_len);
    free(t->is_special);
    for (int i = 0; i < t->n_added; i++) free(t->added[i].text);
    free(t->added);
    hart_strmap_free(&t->vocab);
    hart_strmap_free(&t->by_name);
    hart_pairmap_free(&t->merges);
    if (t->re) pcre2_code_free(t->re);
    free(t);
}

int64_t hart_bpe_token_id(const hart_bpe *t, const char *token) {
    return hart_strmap_get(&t->by_name, token, strlen(token));
}

int64_t hart_bpe_vocab_size(const hart_bpe *t) { return t->n_ids; }
