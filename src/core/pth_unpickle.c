/* A restricted unpickler: builds plain values from the opcodes a torch state
 * dict uses (protocols 2-5) and refuses every other opcode and every global
 * that is not on a short list. Callables on the list are never called: the
 * reader recognises them and builds the value the call would describe. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pth_internal.h"

struct pv_pool {
    pv **v;
    size_t n, cap;
};

typedef struct {
    const uint8_t *b;
    size_t size, pos;
    const char *label;
    pv_pool *pool;
    pv **stack;
    size_t sp, scap;
    pv **memo;
    size_t nmemo, memo_len; /* allocated; 1 + highest index stored */
    pv mark;
} up;

void hart_pv_pool_free(pv_pool *pool) {
    if (!pool) return;
    for (size_t i = 0; i < pool->n; i++) {
        free(pool->v[i]->s);
        free(pool->v[i]->items);
        free(pool->v[i]);
    }
    free(pool->v);
    free(pool);
}

pv *hart_pv_dict_get(const pv *d, const char *key) {
    if (!d || d->kind != PV_DICT) return NULL;
    for (size_t i = 0; i + 1 < d->n; i += 2)
        if (d->items[i]->kind == PV_STR && !strcmp(d->items[i]->s, key)) return d->items[i + 1];
    return NULL;
}

static hart_status bad(up *u, const char *what) {
    return hart_fail(HART_EFORMAT, "%s: pickle byte %zu: %s", u->label, u->pos, what);
}

static pv *newv(up *u, pv_kind k) {
    pv_pool *p = u->pool;
    if (p->n == p->cap) {
        size_t c = p->cap ? p->cap * 2 : 256;
        pv **nv = realloc(p->v, c * sizeof *nv);
        if (!nv) return NULL;
        p->v = nv;
        p->cap = c;
    }
    pv *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->kind = k;
    p->v[p->n++] = v;
    return v;
}

static hart_status push(up *u, pv *v) {
    if (!v) return hart_fail(HART_ENOMEM, "out of memory");
    if (u->sp == u->scap) {
        size_t c = u->scap ? u->scap * 2 : 64;
        pv **ns = realloc(u->stack, c * sizeof *ns);
        if (!ns) return hart_fail(HART_ENOMEM, "out of memory");
        u->stack = ns;
        u->scap = c;
    }
    u->stack[u->sp++] = v;
    return HART_OK;
}

static hart_status pop(up *u, pv **v) {
    if (!u->sp || u->stack[u->sp - 1] == &u->mark) return bad(u, "stack underflow");
    *v = u->stack[--u->sp];
    return HART_OK;
}

static hart_status append_item(pv *c, pv *x) {
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 8;
        pv **ni = realloc(c->items, nc * sizeof *ni);
        if (!ni) return hart_fail(HART_ENOMEM, "out of memory");
        c->items = ni;
        c->cap = nc;
    }
    c->items[c->n++] = x;
    return HART_OK;
}

/* Index of the topmost mark on the stack. */
static hart_status find_mark(up *u, size_t *at) {
    *at = 0;
    for (size_t i = u->sp; i-- > 0;)
        if (u->stack[i] == &u->mark) { *at = i; return HART_OK; }
    return bad(u, "no MARK on the stack");
}

/* Remove the topmost mark; *at = where the items above it now start. */
static hart_status drop_mark(up *u, size_t *at) {
    HART_TRY(find_mark(u, at));
    memmove(u->stack + *at, u->stack + *at + 1, (u->sp - *at - 1) * sizeof *u->stack);
    u->sp--;
    return HART_OK;
}

static hart_status need(up *u, size_t n) {
    if (u->size - u->pos < n) return bad(u, "truncated pickle");
    return HART_OK;
}

static uint64_t le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n; i-- > 0;) v = v << 8 | p[i];
    return v;
}

static hart_status push_str(up *u, size_t n) {
    HART_TRY(need(u, n));
    pv *v = newv(u, PV_STR);
    if (!v || !(v->s = malloc(n + 1))) return hart_fail(HART_ENOMEM, "out of memory");
    memcpy(v->s, u->b + u->pos, n);
    v->s[n] = 0;
    v->len = n;
    u->pos += n;
    return push(u, v);
}

static hart_status push_int(up *u, int64_t i) {
    pv *v = newv(u, PV_INT);
    if (v) v->i = i;
    return push(u, v);
}

/* Build a tuple/list of the items above the topmost mark (mark removed). */
static hart_status collect(up *u, pv_kind k) {
    size_t m = 0;
    HART_TRY(find_mark(u, &m));
    pv *t = newv(u, k);
    if (!t) return hart_fail(HART_ENOMEM, "out of memory");
    for (size_t i = m + 1; i < u->sp; i++) HART_TRY(append_item(t, u->stack[i]));
    u->sp = m;
    return push(u, t);
}

static hart_status tuple_n(up *u, size_t n) {
    if (u->sp < n) return bad(u, "stack underflow");
    pv *t = newv(u, PV_TUPLE);
    if (!t) return hart_fail(HART_ENOMEM, "out of memory");
    for (size_t i = u->sp - n; i < u->sp; i++) {
        if (u->stack[i] == &u->mark) return bad(u, "MARK inside a tuple");
        HART_TRY(append_item(t, u->stack[i]));
    }
    u->sp -= n;
    return push(u, t);
}

static hart_status memo_put(up *u, size_t idx) {
    if (!u->sp || u->stack[u->sp - 1] == &u->mark) return bad(u, "memo store of an empty stack");
    if (idx >= u->size) return bad(u, "memo index out of range");
    if (idx >= u->nmemo) {
        size_t n = idx + 1 > u->nmemo * 2 ? idx + 1 : u->nmemo * 2;
        if (n > u->size) n = u->size;
        pv **nm = realloc(u->memo, n * sizeof *nm);
        if (!nm) return hart_fail(HART_ENOMEM, "out of memory");
        memset(nm + u->nmemo, 0, (n - u->nmemo) * sizeof *nm);
        u->memo = nm;
        u->nmemo = n;
    }
    u->memo[idx] = u->stack[u->sp - 1];
    if (idx >= u->memo_len) u->memo_len = idx + 1;
    return HART_OK;
}

static hart_status memo_get(up *u, size_t idx) {
    if (idx >= u->nmemo || !u->memo[idx]) return bad(u, "memo index not stored");
    return push(u, u->memo[idx]);
}

static hart_status global(up *u, const char *mod, const char *name) {
    static const struct { const char *n; hart_dtype dt; } storages[] = {
        {"FloatStorage", HART_F32}, {"HalfStorage", HART_F16}, {"BFloat16Storage", HART_BF16},
        {"LongStorage", HART_I64},  {"IntStorage", HART_I32},  {"CharStorage", HART_I8},
        {"ByteStorage", HART_U8},   {"BoolStorage", HART_U8},
    };
    pv *g = newv(u, PV_GLOBAL);
    if (!g) return hart_fail(HART_ENOMEM, "out of memory");
    if (!strcmp(mod, "collections") && !strcmp(name, "OrderedDict")) g->g = PG_ORDERED_DICT;
    else if (!strcmp(mod, "torch._utils") && !strcmp(name, "_rebuild_tensor_v2")) g->g = PG_REBUILD_TENSOR_V2;
    else if (!strcmp(mod, "torch._utils") && !strcmp(name, "_rebuild_parameter")) g->g = PG_REBUILD_PARAMETER;
    else if (!strcmp(mod, "argparse") && !strcmp(name, "Namespace")) g->g = PG_NAMESPACE;
    else {
        int found = 0;
        for (size_t i = 0; i < sizeof storages / sizeof storages[0] && !strcmp(mod, "torch"); i++)
            if (!strcmp(name, storages[i].n)) { g->g = PG_STORAGE_TYPE; g->dtype = storages[i].dt; found = 1; }
        if (!found)
            return hart_fail(HART_EFORMAT,
                             "%s: pickle refers to '%.64s.%.64s', which is not part of a state dict (refused: the "
                             "reader imports and executes nothing)", u->label, mod, name);
    }
    return push(u, g);
}

static int is_int(const pv *v) { return v->kind == PV_INT || v->kind == PV_BOOL; }

/* ('storage', <storage type>, key, location, numel) */
static hart_status persid(up *u) {
    pv *t = NULL;
    HART_TRY(pop(u, &t));
    /* torch.save's zip format: 5 entries; the legacy format adds view metadata (None) */
    if (t->kind != PV_TUPLE || (t->n != 5 && !(t->n == 6 && t->items[5]->kind == PV_NONE)) ||
        t->items[0]->kind != PV_STR || strcmp(t->items[0]->s, "storage") ||
        t->items[1]->kind != PV_GLOBAL || t->items[1]->g != PG_STORAGE_TYPE || t->items[2]->kind != PV_STR ||
        !is_int(t->items[4]) || t->items[4]->i < 0)
        return bad(u, "persistent id is not a tensor storage ('storage', type, key, location, numel)");
    pv *s = newv(u, PV_STORAGE);
    if (!s || !(s->s = strdup(t->items[2]->s))) return hart_fail(HART_ENOMEM, "out of memory");
    s->dtype = t->items[1]->dtype;
    s->i = t->items[4]->i;
    return push(u, s);
}

static hart_status int_tuple(up *u, const pv *t, int64_t *out, int *n) {
    if (t->kind != PV_TUPLE) return bad(u, "tensor size/stride is not a tuple");
    if (t->n > HART_MAX_DIMS) return hart_fail(HART_EUNSUPPORTED, "%s: tensor of rank %zu (at most %d supported)", u->label, t->n, HART_MAX_DIMS);
    for (size_t i = 0; i < t->n; i++) {
        if (!is_int(t->items[i]) || t->items[i]->i < 0 || t->items[i]->i > ((int64_t)1 << 40))
            return bad(u, "bad tensor size or stride");
        out[i] = t->items[i]->i;
    }
    *n = (int)t->n;
    return HART_OK;
}

/* callable(args): only the listed callables, evaluated without running anything */
static hart_status reduce(up *u) {
    pv *args = NULL, *f = NULL;
    HART_TRY(pop(u, &args));
    HART_TRY(pop(u, &f));
    if (f->kind != PV_GLOBAL || args->kind != PV_TUPLE) return bad(u, "REDUCE of something that is not an allowed global");
    pv *r = NULL;
    switch (f->g) {
    case PG_ORDERED_DICT:
        if (args->n != 0) return bad(u, "OrderedDict with arguments");
        r = newv(u, PV_DICT);
        break;
    case PG_REBUILD_TENSOR_V2: {
        if (args->n < 6 || args->n > 7 || args->items[0]->kind != PV_STORAGE || !is_int(args->items[1]) || args->items[1]->i < 0)
            return bad(u, "bad arguments to _rebuild_tensor_v2");
        r = newv(u, PV_TENSOR);
        if (!r) break;
        int nd2;
        r->storage = args->items[0];
        r->offset = args->items[1]->i;
        HART_TRY(int_tuple(u, args->items[2], r->shape, &r->ndim));
        HART_TRY(int_tuple(u, args->items[3], r->stride, &nd2));
        if (nd2 != r->ndim) return bad(u, "tensor size and stride of different ranks");
        break;
    }
    case PG_REBUILD_PARAMETER:
        if (args->n < 1 || args->items[0]->kind != PV_TENSOR) return bad(u, "bad arguments to _rebuild_parameter");
        r = args->items[0];
        break;
    case PG_NAMESPACE: r = newv(u, PV_OBJECT); break;
    default: return bad(u, "a storage type is not callable");
    }
    return push(u, r);
}

static hart_status setitems(up *u, size_t from) {
    if (from == 0 || (u->sp - from) % 2) return bad(u, "SETITEM(S) with an odd number of values");
    pv *d = u->stack[from - 1];
    if (d->kind != PV_DICT) return bad(u, "SETITEM(S) on something that is not a dict");
    for (size_t i = from; i < u->sp; i++) {
        if (u->stack[i] == &u->mark) return bad(u, "MARK inside SETITEMS");
        HART_TRY(append_item(d, u->stack[i]));
    }
    u->sp = from;
    return HART_OK;
}

static hart_status appends(up *u, size_t from) {
    if (from == 0) return bad(u, "APPEND(S) without a list");
    pv *l = u->stack[from - 1];
    if (l->kind != PV_LIST) return bad(u, "APPEND(S) on something that is not a list");
    for (size_t i = from; i < u->sp; i++) HART_TRY(append_item(l, u->stack[i]));
    u->sp = from;
    return HART_OK;
}

static hart_status step(up *u, int *done) {
    HART_TRY(need(u, 1));
    uint8_t op = u->b[u->pos++];
    char m[128], n[128];
    switch (op) {
    case 0x80: HART_TRY(need(u, 1)); if (u->b[u->pos] < 2 || u->b[u->pos] > 5) return bad(u, "unsupported pickle protocol"); u->pos++; return HART_OK;
    case 0x95: HART_TRY(need(u, 8)); u->pos += 8; return HART_OK; /* FRAME: a hint only */
    case '.': *done = 1; return HART_OK;
    case '(': return push(u, &u->mark);
    case '}': return push(u, newv(u, PV_DICT));
    case ']': return push(u, newv(u, PV_LIST));
    case ')': return push(u, newv(u, PV_TUPLE));
    case 'N': return push(u, newv(u, PV_NONE));
    case 0x88: case 0x89: { pv *v = newv(u, PV_BOOL); if (v) v->i = op == 0x88; return push(u, v); }
    case 'K': HART_TRY(need(u, 1)); u->pos += 1; return push_int(u, u->b[u->pos - 1]);
    case 'M': HART_TRY(need(u, 2)); u->pos += 2; return push_int(u, (int64_t)le(u->b + u->pos - 2, 2));
    case 'J': HART_TRY(need(u, 4)); u->pos += 4; return push_int(u, (int32_t)(uint32_t)le(u->b + u->pos - 4, 4));
    case 0x8a: { /* LONG1 */
        HART_TRY(need(u, 1));
        int k = u->b[u->pos++];
        if (k > 8) return bad(u, "integer wider than 64 bits");
        HART_TRY(need(u, (size_t)k));
        uint64_t v = le(u->b + u->pos, k);
        if (k && k < 8 && (u->b[u->pos + k - 1] & 0x80)) v |= ~(uint64_t)0 << (8 * k);
        u->pos += (size_t)k;
        return push_int(u, (int64_t)v);
    }
    case 'G': {
        HART_TRY(need(u, 8));
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++) bits = bits << 8 | u->b[u->pos + i];
        u->pos += 8;
        pv *v = newv(u, PV_FLOAT);
        if (v) memcpy(&v->f, &bits, 8);
        return push(u, v);
    }
    case 0x8c: case 'U': case 'C': HART_TRY(need(u, 1)); u->pos++; return push_str(u, u->b[u->pos - 1]);
    case 'X': case 'T': case 'B': HART_TRY(need(u, 4)); u->pos += 4; return push_str(u, (size_t)le(u->b + u->pos - 4, 4));
    case 0x8d: case 0x8e: {
        HART_TRY(need(u, 8));
        uint64_t k = le(u->b + u->pos, 8);
        u->pos += 8;
        if (k > u->size) return bad(u, "truncated pickle");
        return push_str(u, (size_t)k);
    }
    case 'q': HART_TRY(need(u, 1)); u->pos++; return memo_put(u, u->b[u->pos - 1]);
    case 'r': HART_TRY(need(u, 4)); u->pos += 4; return memo_put(u, (size_t)le(u->b + u->pos - 4, 4));
    case 0x94: return memo_put(u, u->memo_len);
    case 'h': HART_TRY(need(u, 1)); u->pos++; return memo_get(u, u->b[u->pos - 1]);
    case 'j': HART_TRY(need(u, 4)); u->pos += 4; return memo_get(u, (size_t)le(u->b + u->pos - 4, 4));
    case 'c': { /* GLOBAL "module\nname\n" */
        const uint8_t *p = u->b + u->pos, *e = u->b + u->size;
        const uint8_t *nl1 = memchr(p, '\n', (size_t)(e - p));
        const uint8_t *nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(e - nl1 - 1)) : NULL;
        if (!nl2) return bad(u, "truncated GLOBAL");
        snprintf(m, sizeof m, "%.*s", (int)(nl1 - p > 100 ? 100 : nl1 - p), (const char *)p);
        snprintf(n, sizeof n, "%.*s", (int)(nl2 - nl1 - 1 > 100 ? 100 : nl2 - nl1 - 1), (const char *)nl1 + 1);
        u->pos = (size_t)(nl2 + 1 - u->b);
        return global(u, m, n);
    }
    case 0x93: { /* STACK_GLOBAL */
        pv *nm = NULL, *md = NULL;
        HART_TRY(pop(u, &nm));
        HART_TRY(pop(u, &md));
        if (nm->kind != PV_STR || md->kind != PV_STR) return bad(u, "STACK_GLOBAL of non-strings");
        return global(u, md->s, nm->s);
    }
    case 't': return collect(u, PV_TUPLE);
    case 'l': return collect(u, PV_LIST);
    case 0x85: return tuple_n(u, 1);
    case 0x86: return tuple_n(u, 2);
    case 0x87: return tuple_n(u, 3);
    case 'Q': return persid(u);
    case 'R': return reduce(u);
    case 0x81: { /* NEWOBJ: cls.__new__(cls, *args), allowed for Namespace only */
        pv *args = NULL, *cls = NULL;
        HART_TRY(pop(u, &args));
        HART_TRY(pop(u, &cls));
        if (cls->kind != PV_GLOBAL || cls->g != PG_NAMESPACE) return bad(u, "NEWOBJ of a class other than argparse.Namespace");
        return push(u, newv(u, PV_OBJECT));
    }
    case 'b': { /* BUILD: state of an OrderedDict (_metadata) or a Namespace, ignored */
        pv *state = NULL;
        HART_TRY(pop(u, &state));
        if (!u->sp || (u->stack[u->sp - 1]->kind != PV_DICT && u->stack[u->sp - 1]->kind != PV_OBJECT))
            return bad(u, "BUILD on something that is not a dict or an inert object");
        return HART_OK;
    }
    case 's': if (u->sp < 3) return bad(u, "stack underflow"); return setitems(u, u->sp - 2);
    case 'u': { size_t k = 0; HART_TRY(drop_mark(u, &k)); return setitems(u, k); }
    case 'a': if (u->sp < 2) return bad(u, "stack underflow"); return appends(u, u->sp - 1);
    case 'e': { size_t k = 0; HART_TRY(drop_mark(u, &k)); return appends(u, k); }
    case '0': { pv *x = NULL; return pop(u, &x); }
    default: {
        char w[64];
        snprintf(w, sizeof w, "opcode 0x%02x is not allowed in a state dict", op);
        u->pos--;
        return bad(u, w);
    }
    }
}

hart_status hart_pth_unpickle(const uint8_t *buf, size_t size, const char *label, pv_pool **pool, pv **root) {
    size_t used;
    return hart_pth_unpickle_prefix(buf, size, label, pool, root, &used);
}

hart_status hart_pth_unpickle_prefix(const uint8_t *buf, size_t size, const char *label, pv_pool **pool, pv **root,
                                     size_t *used) {
    up u;
    memset(&u, 0, sizeof u);
    u.b = buf;
    u.size = size;
    u.label = label;
    u.mark.kind = PV_MARK;
    u.pool = calloc(1, sizeof *u.pool);
    if (!u.pool) return hart_fail(HART_ENOMEM, "out of memory");
    int done = 0;
    hart_status s = HART_OK;
    while (!done && !s) s = step(&u, &done);
    if (!s && (u.sp != 1 || u.stack[0] == &u.mark)) s = bad(&u, "pickle does not end with exactly one value");
    if (!s) {
        *root = u.stack[0];
        *pool = u.pool;
        *used = u.pos;
    } else {
        hart_pv_pool_free(u.pool);
    }
    free(u.stack);
    free(u.memo);
    return s;
}

const pv *hart_pv_pool_find_storage(const pv_pool *p, const char *key) {
    for (size_t i = 0; p && i < p->n; i++)
        if (p->v[i]->kind == PV_STORAGE && !strcmp(p->v[i]->s, key)) return p->v[i];
    return NULL;
}
