/* CPU conv2d through oneDNN (Debian's libdnnl, the library PyTorch's CPU
 * convolutions use; opened with dlopen, used where installed): a direct convolution primitive that picks its own
 * blocked layouts ("any"), with reorders from and to the NCHW tensors on
 * every call. The OIHW weights are reordered once: the blocked copy is kept
 * per weight (pointer, size and a fingerprint of sampled elements, as the
 * f16 weight cache does; under the same $HART_CPU_WCACHE_MB budget), which
 * saves a pass over the weights and a parallel region per call — on a
 * loaded 2-core machine every parallel region costs about a scheduler time
 * slice. oneDNN's primitive cache keeps the compiled kernels per shape.
 * Returns HART_OK with *done = 0 when oneDNN declines the problem (the
 * caller then runs its im2col + sgemm path). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "backend/cpu/cpu_internal.h"

/* libdnnl is opened at run time, so that a machine without it (an offline
 * GPU host) runs the same binary on the im2col path */
#define DNNL_FNS(X) X(dnnl_convolution_forward_desc_init) X(dnnl_engine_create) X(dnnl_engine_destroy) X(dnnl_memory_create) X(dnnl_memory_desc_equal) X(dnnl_memory_desc_get_size) X(dnnl_memory_desc_init_by_tag) X(dnnl_memory_destroy) X(dnnl_memory_get_memory_desc) X(dnnl_primitive_create) X(dnnl_primitive_desc_create) X(dnnl_primitive_desc_destroy) X(dnnl_primitive_desc_query_md) X(dnnl_primitive_destroy) X(dnnl_primitive_execute) X(dnnl_reorder_primitive_desc_create) X(dnnl_stream_create) X(dnnl_stream_destroy) X(dnnl_stream_wait)
#define DNNL_DECL(f) static __typeof__(&f) p_##f;
DNNL_FNS(DNNL_DECL)

static dnnl_engine_t g_eng;
static dnnl_stream_t g_strm;
static int g_ok;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* the weights' blocked copies (see the top) */
typedef struct wlayout {
    const void *wf; /* the weight's own data (f32, or the f16/bf16 the f32 copy came from) */
    int64_t numel;
    uint64_t fp;
    dnnl_memory_desc_t md;
    dnnl_memory_t mem;
    size_t nb;
    struct wlayout *next;
} wlayout;
static wlayout *g_wl;
static int g_nwl;
static pthread_mutex_t g_wl_mu = PTHREAD_MUTEX_INITIALIZER;

/* 128 sampled 32-bit words of the weight as stored (any dtype) */
static uint64_t w_fingerprint(const void *w, size_t nb) {
    const unsigned char *p = w;
    uint64_t h = 1469598103934665603ull;
    size_t nw = nb / 4;
    for (int i = 0; i < 128 && nw > 0; i++) {
        size_t j = i < 32 ? (i < (int)nw ? (size_t)i : nw - 1) : (size_t)((double)(i - 32) / 96.0 * (double)(nw - 1));
        uint32_t u;
        memcpy(&u, p + 4 * j, 4);
        h = (h ^ u) * 1099511628211ull;
    }
    return h;
}

static void wl_drop(wlayout *e) {
    p_dnnl_memory_destroy(e->mem);
    hart_cpu_wcache_refund(e->nb);
    g_nwl--;
    free(e);
}

/* the cached copy of wf in layout md, or NULL */
static dnnl_memory_t wl_get(const void *wf, int64_t n, uint64_t fp, const dnnl_memory_desc_t *md) {
    dnnl_memory_t m = NULL;
    pthread_mutex_lock(&g_wl_mu);
    for (wlayout *e = g_wl; e && !m; e = e->next)
        if (e->wf == wf && e->numel == n && e->fp == fp && p_dnnl_memory_desc_equal(&e->md, md)) m = e->mem;
    pthread_mutex_unlock(&g_wl_mu);
    return m;
}

/* keep mem (wf reordered into md); 1 when the cache took it */
static int wl_put(const void *wf, int64_t n, uint64_t fp, const dnnl_memory_desc_t *md, dnnl_memory_t mem,
                  size_t nb) {
    wlayout *e = malloc(sizeof *e);
    if (!e || !hart_cpu_wcache_charge(nb)) {
        free(e);
        return 0;
    }
    *e = (wlayout){.wf = wf, .numel = n, .fp = fp, .md = *md, .mem = mem, .nb = nb};
    pthread_mutex_lock(&g_wl_mu);
    for (wlayout **pp = &g_wl; *pp;) { /* same address, other contents: stale */
        if ((*pp)->wf == wf && (*pp)->fp != fp) {
            wlayout *d = *pp;
            *pp = d->next;
            wl_drop(d);
        } else pp = &(*pp)->next;
    }
    e->next = g_wl;
    g_wl = e;
    g_nwl++;
    pthread_mutex_unlock(&g_wl_mu);
    return 1;
}

int hart_cpu_dnnl_cached_weights(void) {
    pthread_mutex_lock(&g_wl_mu);
    int n = g_nwl;
    pthread_mutex_unlock(&g_wl_mu);
    return n;
}

static void dnnl_fini(void) {
    if (!g_ok) return;
    while (g_wl) {
        wlayout *d = g_wl;
        g_wl = d->next;
        wl_drop(d);
    }
    p_dnnl_stream_destroy(g_strm);
    p_dnnl_engine_destroy(g_eng);
    g_ok = 0;
}

static void dnnl_init(void) {
    void *h = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) return;
#define DNNL_LOAD(f) if (!(p_##f = (__typeof__(&f))dlsym(h, #f))) return;
    DNNL_FNS(DNNL_LOAD)
    if (p_dnnl_engine_create(&g_eng, dnnl_cpu, 0) != dnnl_success) return;
    if (p_dnnl_stream_create(&g_strm, g_eng, dnnl_stream_default_flags) != dnnl_success) {
        p_dnnl_engine_destroy(g_eng);
        return;
    }
    g_ok = 1;
    atexit(dnnl_fini);
}

/* memory for md: the user's buffer when its layout is md, else a library
 * buffer (*own set) that a reorder fills or drains */
typedef struct {
    dnnl_memory_t user, mem; /* mem == user when no reorder is needed */
    int own;
} conv_mem;

static void mem_free(conv_mem *m) {
    if (m->own && m->mem) p_dnnl_memory_destroy(m->mem);
    if (m->user) p_dnnl_memory_destroy(m->user);
    memset(m, 0, sizeof *m);
}

static dnnl_status_t mem_make(conv_mem *m, const dnnl_memory_desc_t *user_md, const dnnl_memory_desc_t *want,
                              void *ptr) {
    dnnl_status_t s = p_dnnl_memory_create(&m->user, user_md, g_eng, ptr);
    if (s != dnnl_success) return s;
    if (p_dnnl_memory_desc_equal(user_md, want)) {
        m->mem = m->user;
        return dnnl_success;
    }
    m->own = 1;
    return p_dnnl_memory_create(&m->mem, want, g_eng, DNNL_MEMORY_ALLOCATE);
}

static dnnl_status_t reorder(dnnl_memory_t from, dnnl_memory_t to) {
    const dnnl_memory_desc_t *fmd, *tmd;
    p_dnnl_memory_get_memory_desc(from, &fmd);
    p_dnnl_memory_get_memory_desc(to, &tmd);
    dnnl_primitive_desc_t pd;
    dnnl_status_t s = p_dnnl_reorder_primitive_desc_create(&pd, fmd, g_eng, tmd, g_eng, NULL);
    if (s != dnnl_success) return s;
    dnnl_primitive_t p;
    s = p_dnnl_primitive_create(&p, pd);
    p_dnnl_primitive_desc_destroy(pd);
    if (s != dnnl_success) return s;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    s = p_dnnl_primitive_execute(p, g_strm, 2, args);
    p_dnnl_primitive_destroy(p);
    return s;
}

hart_status hart_cpu_conv2d_dnnl(const float *in, const float *wf, const void *wkey, size_t wkey_bytes,
                                 const float *bias, float *out,
                                 int64_t N, int64_t Ci, int64_t H, int64_t W, int64_t Co, int64_t Ho, int64_t Wo,
                                 int64_t kh, int64_t kw, int stride, int pad, int groups, int *done) {
    *done = 0;
    pthread_once(&g_once, dnnl_init);
    if (!g_ok) return HART_OK;
    /* right/bottom padding that makes oneDNN's output size formula give Ho, Wo */
    int64_t pr_h = (Ho - 1) * stride + kh - H - pad, pr_w = (Wo - 1) * stride + kw - W - pad;
    if (pr_h < 0 || pr_w < 0) return HART_OK;
    dnnl_dims_t sd = {N, Ci, H, W}, dd = {N, Co, Ho, Wo}, bd = {Co};
    dnnl_dims_t wd = {Co, Ci / groups, kh, kw}, gwd = {groups, Co / groups, Ci / groups, kh, kw};
    dnnl_dims_t strides = {stride, stride}, pl = {pad, pad}, pr = {pr_h, pr_w};
    dnnl_memory_desc_t src_u, dst_u, wei_u, bias_md, src_a, dst_a, wei_a;
    int g = groups > 1;
    p_dnnl_memory_desc_init_by_tag(&src_u, 4, sd, dnnl_f32, dnnl_nchw);
    p_dnnl_memory_desc_init_by_tag(&dst_u, 4, dd, dnnl_f32, dnnl_nchw);
    p_dnnl_memory_desc_init_by_tag(&wei_u, g ? 5 : 4, g ? gwd : wd, dnnl_f32, g ? dnnl_goihw : dnnl_oihw);
    p_dnnl_memory_desc_init_by_tag(&bias_md, 1, bd, dnnl_f32, dnnl_x);
    p_dnnl_memory_desc_init_by_tag(&src_a, 4, sd, dnnl_f32, dnnl_format_tag_any);
    p_dnnl_memory_desc_init_by_tag(&dst_a, 4, dd, dnnl_f32, dnnl_format_tag_any);
    p_dnnl_memory_desc_init_by_tag(&wei_a, g ? 5 : 4, g ? gwd : wd, dnnl_f32, dnnl_format_tag_any);
    dnnl_convolution_desc_t cd;
    if (p_dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &src_a, &wei_a,
                                           bias ? &bias_md : NULL, &dst_a, strides, pl, pr) != dnnl_success)
        return HART_OK;
    dnnl_primitive_desc_t pd;
    if (p_dnnl_primitive_desc_create(&pd, &cd, NULL, g_eng, NULL) != dnnl_success) return HART_OK;
    conv_mem src = {0}, wei = {0}, dst = {0};
    dnnl_memory_t bm = NULL;
    dnnl_primitive_t conv = NULL;
    const dnnl_memory_desc_t *wei_want = p_dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    int64_t wn = Co * (Ci / groups) * kh * kw;
    uint64_t wfp = wkey ? w_fingerprint(wkey, wkey_bytes) : 0;
    dnnl_memory_t wcached = NULL;
    if (wkey && !p_dnnl_memory_desc_equal(&wei_u, wei_want)) wcached = wl_get(wkey, wn, wfp, wei_want);
    dnnl_status_t s = mem_make(&src, &src_u, p_dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), (void *)in);
    if (s == dnnl_success && wcached) wei.mem = wcached; /* not own: the cache keeps it */
    else if (s == dnnl_success) s = mem_make(&wei, &wei_u, wei_want, (void *)wf);
    if (s == dnnl_success) s = mem_make(&dst, &dst_u, p_dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), out);
    if (s == dnnl_success && bias) s = p_dnnl_memory_create(&bm, &bias_md, g_eng, (void *)bias);
    if (s == dnnl_success && src.own) s = reorder(src.user, src.mem);
    if (s == dnnl_success && wei.own) {
        s = reorder(wei.user, wei.mem);
        /* the reorder must be complete before another thread may use the copy */
        if (s == dnnl_success) s = p_dnnl_stream_wait(g_strm);
        if (s == dnnl_success && wkey && wl_put(wkey, wn, wfp, wei_want, wei.mem, p_dnnl_memory_desc_get_size(wei_want)))
            wei.own = 0;
    }
    if (s == dnnl_success) s = p_dnnl_primitive_create(&conv, pd);
    if (s == dnnl_success) {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, src.mem}, {DNNL_ARG_WEIGHTS, wei.mem}, {DNNL_ARG_DST, dst.mem},
                                   {DNNL_ARG_BIAS, bm}};
        s = p_dnnl_primitive_execute(conv, g_strm, bias ? 4 : 3, args);
    }
    if (s == dnnl_success && dst.own) s = reorder(dst.mem, dst.user);
    if (s == dnnl_success) s = p_dnnl_stream_wait(g_strm);
    if (conv) p_dnnl_primitive_destroy(conv);
    if (bm) p_dnnl_memory_destroy(bm);
    mem_free(&src);
    mem_free(&wei);
    mem_free(&dst);
    p_dnnl_primitive_desc_destroy(pd);
    /* a failure after the output may have been touched cannot fall back silently */
    if (s != dnnl_success) return hart_fail(HART_EDEVICE, "hart_op_conv2d: oneDNN failed (status %d)", (int)s);
    *done = 1;
    return HART_OK;
}
