/* OpenCL backend internals: state, kernel launch helpers, buffer pool. */
#ifndef HART_CL_INTERNAL_H
#define HART_CL_INTERNAL_H

#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <stdint.h>

#include "backend/backend.h"

#define CLB_POOL_SLOTS 256

typedef struct {
    cl_mem mem;
    size_t size;
} clb_slot;

/* GEMM autotuner: per shape class, the fastest kernel variant measured on
 * this device; cached on disk (cl_tune.c). */
#define CLB_TUNE_MAX 512
typedef struct {
    uint32_t key;
    int choice;
} clb_tune_entry;
typedef struct {
    int mode;              /* 0 off, 1 on */
    int loaded;            /* cache file read (or found absent/corrupt) */
    char path[1024];       /* cache file ("" = no disk cache) */
    clb_tune_entry e[CLB_TUNE_MAX];
    int n;
    int n_tuned, n_cached; /* classes tuned in this process / found in the cache file */
    int n_rejected;        /* cache files rejected as corrupt */
} clb_tune;

typedef struct {
    cl_platform_id plat;
    cl_device_id dev;
    cl_context ctx;
    cl_command_queue q;
    cl_program prog;       /* every portable kernel */
    cl_program prog_nv;    /* NVIDIA tensor-core kernels (NULL when unavailable) */
    cl_program prog_tmp;   /* program being built */
    cl_program prog_wg;    /* Hopper wgmma GEMM, PTX for sm_90a (cl_wgmma.c; NULL when unavailable) */
    int wg_state;          /* 0 not built yet (built on first use), 1 built, -1 unavailable */
    int cc_major, cc_minor; /* NVIDIA compute capability */
    int tc;                /* use tensor cores for linear/matmul (f16 operands) */
    int hg_force;          /* tensor-core GEMM variant forced (-1: tuned / default) */
    int nvidia;            /* vendor fast paths allowed */
    size_t max_wg;         /* CL_DEVICE_MAX_WORK_GROUP_SIZE */
    int cus;               /* CL_DEVICE_MAX_COMPUTE_UNITS */
    /* kernels created so far (grown on demand: the NVIDIA program has ~100 instances) */
    struct clb_kern { char name[48]; cl_kernel k; double prof_s; long prof_n; } *kern;
    int kern_cap;
    int prof;              /* $HART_CL_PROFILE=1: per-kernel device time, printed at close;
                            * 2: also the kernel time between syncs, at each sync */
    double prof_mark_s;    /* kernel time and launches counted at the last sync (prof 2) */
    long prof_mark_n;
    int nkern;
    clb_slot pool[CLB_POOL_SLOTS]; /* released buffers kept for reuse */
    int npool;
    size_t pooled_bytes;
    size_t pool_max;       /* most bytes kept in the pool (cl_backend.c sets it) */
    cl_mem flag;           /* 1 int, error flag for kernels (embedding ids) */
    cl_mem ones;           /* 16 bytes of 1: the one-tile block mask of dense attention */
    uint64_t prog_hash[2]; /* cache keys of the portable / NVIDIA programs */
    int is_gpu;            /* CL_DEVICE_TYPE_GPU */
    clb_tune tune;         /* GEMM autotuner state (cl_tune.c) */
    long n_read, n_write, n_sync; /* blocking host reads / writes and queue syncs (hart_opencl_wait_stats) */
    int wc_on;             /* f16 copies of linear weights kept ($HART_CL_TC_WEIGHT_CACHE=1) */
    struct clb_wc { cl_mem src, f16; int off, R, K, dt, s_r, s_k; } *wc;
    int nwc, cwc;
    int qv;                /* int8 GEMM variant forced + 1 (0: chosen per call), cl_ops_quant.c */
    cl_kernel zero_k;      /* zero_fill (kernels/shape.cl), made on first use by cl_buffers.c */
    size_t zero_k_min;     /* allocations of this many bytes or more are zeroed by it */
} clb;

const char *hart_cl_errname(cl_int e);
static inline clb *clb_of(hart_backend *be) { return (clb *)be->impl; }

/* Kernel arguments by value. */
typedef struct {
    size_t size;
    int local; /* __local buffer of `size` bytes */
    union { cl_mem m; cl_int i; cl_long l; cl_float f; } v;
} karg;
#define AM(x) ((karg){.size = sizeof(cl_mem), .v.m = (cl_mem)(x)})
#define AI(x) ((karg){.size = sizeof(cl_int), .v.i = (cl_int)(x)})
#define AL(x) ((karg){.size = sizeof(cl_long), .v.l = (cl_long)(x)})
#define AF(x) ((karg){.size = sizeof(cl_float), .v.f = (cl_float)(x)})
#define ALOC(n) ((karg){.size = (n), .local = 1})

/* Run kernel `name` over gws (lws may be NULL). */
hart_status hart_cl_run(clb *b, const char *name, int dims, const size_t *gws, const size_t *lws,
                    const karg *args, int nargs);
#define CLRUN(b, name, dims, gws, lws, ...)                                                    \
    hart_cl_run(b, name, dims, gws, lws, (const karg[]){__VA_ARGS__},                               \
            (int)(sizeof((const karg[]){__VA_ARGS__}) / sizeof(karg)))

/* Storage of the backend (cl_buffers.c). */
extern const hart_storage_vt hart_cl_storage;
/* HART_CL_PROFILE (cl_launch.c): print b's per-kernel device time now, and at
 * exit for a backend that is never closed. */
void hart_cl_prof_dump(clb *b);
void hart_cl_prof_watch(clb *b);

/* Attention on the tensor cores (cl_flash.c): whether it takes these
 * operands, and the launch (K/V converted to f16 once per call). */
int hart_cl_flash_takes(clb *b, const hart_tensor *q, const hart_tensor *k, int block_k, int sparse);
hart_status hart_cl_flash(hart_backend *be, hart_tensor *out, const hart_tensor *q, const hart_tensor *k,
                          const hart_tensor *v, const hart_tensor *mask, int mb, int mh, const hart_tensor *blocks,
                          int bb, int bh, int nkb, int block_q, int block_k, float scale);

/* Scratch device buffer from the pool (release with hart_cl_scratch_free). */
hart_status hart_cl_scratch(hart_backend *be, size_t n, cl_mem *out);
void hart_cl_scratch_free(hart_backend *be, cl_mem m);

/* Tensor helpers: buffer, element offset (in units of its dtype), dtype code
 * for kernels (0 f32, 1 f16, 2 bf16, else raw). */
static inline cl_mem T_MEM(const hart_tensor *t) { return (cl_mem)t->dev; }
static inline cl_int T_OFF(const hart_tensor *t) {
    size_t es = hart_dtype_size_bits(t->dtype) / 8;
    return (cl_int)(t->dev_offset / (es ? es : 1));
}
static inline cl_int T_DT(const hart_tensor *t) {
    return t->dtype == HART_F16 ? 1 : t->dtype == HART_BF16 ? 2 : 0;
}
static inline size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

/* Whether the kernels take these operands (hart_backend_vt.supports): an
 * overlapping same-buffer copy or a head dim over 128 runs on the CPU. */
int hart_cl_supports(hart_backend *be, hart_op op, const hart_tensor *y, const hart_tensor *const *in);

/* Program build with the on-disk binary cache. */
hart_status hart_cl_build_program(clb *b, int nv, cl_program *out, char *info, size_t info_n);
/* FNV-1a (start with 1469598103934665603) and the cache folder
 * ($HART_CACHE_DIR or ~/.cache/hart, created). */
uint64_t hart_cl_fnv(uint64_t h, const void *p, size_t n);
hart_status hart_cl_cache_dir(char *out, size_t n);

/* f16 tensor-core GEMM variants (kernels/hgemm_nv.cl instances). */
typedef struct {
    const char *name;
    int bm, bn, bk, st, wm, wn, nt, db;
} clb_hgemm_variant;
extern const clb_hgemm_variant hart_cl_hgemm_variants[];
extern const int hart_cl_hgemm_nvariants;
/* int8 tensor-core GEMM instances of kernels/qgemm_nv_tc.cl (cl_ops_quant.c):
 * source text of instance i's #defines (undef = 0) or #undefs (undef = 1) */
extern const int hart_cl_qgemm_tc_ninst;
const char *hart_cl_qgemm_tc_defs(int i, int undef);

/* implicit-GEMM convolution variants (kernels/conv_nv.cl instances, cl_conv_nv.c):
 * name, block tile bm x bn, warp tile wm x wn, work-items */
typedef struct {
    const char *name;
    int bm, bn, wm, wn, nt;
} clb_conv_variant;
extern const clb_conv_variant hart_cl_conv_variants[];
extern const int hart_cl_conv_nvariants;
/* 1 when conv2d takes the tensor-core implicit GEMM (f16 mode, tensor cores on, groups 1, not a plain 1x1) */
int hart_cl_conv_nv_applies(hart_backend *be, const hart_tensor *w, int stride, int pad, int groups);
hart_status hart_cl_conv2d_nv(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *w,
                              const hart_tensor *bias, int stride, int pad);

/* op implementations (one file per family) */
HART_OP_LIST(HART_BE_DECLARE, hart_cl_)
/* f16 precision mode: y = x rounded to half (backend.h, round_half) */
hart_status hart_cl_round_half(hart_backend *be, hart_tensor *y, const hart_tensor *x);

/* GEMM core shared by linear/matmul/conv2d:
 * C[z][m][n] = alpha * sum_k A(z,m,k) B(z,k,n) (+ bias), z = z0*nz1 + z1,
 * element strides given per matrix; bias_mode 0 none, 1 per n, 2 per m. */
typedef struct {
    int M, N, K, nz0, nz1;
    cl_mem a; int a_off, a_dt, a_sm, a_sk, a_s0, a_s1;
    cl_mem b; int b_off, b_dt, b_sk, b_sn, b_s0, b_s1;
    cl_mem c; int c_off, c_sm, c_s0, c_s1;
    cl_mem bias; int bias_off, bias_dt, bias_mode, bias_s1;
    float alpha;
    int b_weight; /* B is a linear layer's weight (may be cached as f16) */
    int exact;    /* f32 even when the tensor cores are on (f16 precision mode's matmul) */
    int round_out; /* tensor cores: outputs rounded to half (f16 mode's linear/conv2d), set by hart_cl_gemm */
} clb_gemm_args;
/* Tensor-core weight cache: drop entries whose source is buffer m (it was
 * written, released or used as an output); free everything. */
void hart_cl_wcache_drop(clb *b, cl_mem m);
void hart_cl_wcache_free(clb *b);
hart_status hart_cl_gemm(hart_backend *be, const clb_gemm_args *g);

/* Hopper wgmma GEMM (cl_wgmma.c): wanted on this device (NVIDIA sm_90, not
 * disabled by $HART_CL_WGMMA=0); default variant for a shape (-1: leave it
 * to mma.sync); build (sets b->prog_wg or leaves it NULL, info says which);
 * launch of variant v on f16 operands laid out as for hgemm_nv.cl. */
int hart_cl_wg_device_ok(int nvidia, int cc_major, int cc_minor);
int hart_cl_wg_default(int M, int N, int nz, int cus);
void hart_cl_wg_build(clb *b, char *info, size_t info_n);
/* whether the wgmma kernels can run (built on the first call: the driver's
 * JIT takes seconds, paid only by processes that run large GEMMs) */
int hart_cl_wg_ready(clb *b);
hart_status hart_cl_wg_launch(clb *b, int v, const clb_gemm_args *g, cl_mem a, int a_off, int lda, int a_s0, int a_s1,
                              cl_mem bm, int b_off, int ldb, int b_s0, int b_s1);

/* Autotuner (cl_tune.c). key = shape class of g for kernel family `kind`
 * (0 portable, 1 tensor cores). hart_cl_tune_pick sets *choice to the cached
 * variant for key, else (tuning on) times fn(b, ctx, v) for v < nvar and
 * records the fastest, else `def`. */
typedef hart_status (*clb_tune_launch)(clb *b, const void *ctx, int v);
void hart_cl_tune_init(clb *b);
uint32_t hart_cl_tune_key(int kind, const clb_gemm_args *g);
hart_status hart_cl_tune_pick(clb *b, uint32_t key, int nvar, clb_tune_launch fn, const void *ctx, int def,
                          const clb_gemm_args *g, int *choice);

#endif
