/* Program build: all kernels/ (*.cl) in one program, compiled once per device and
 * cached on disk ($HART_CACHE_DIR or ~/.cache/hart). Cache key = device name +
 * driver version + build options + source hash. A cache file carries a magic,
 * its length and a checksum; a corrupt or unusable entry is rebuilt. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend/opencl/cl_internal.h"
#include "backend/opencl/kernel_sources.h"
#include "core/fileio.h"

#define MAGIC "HARTCLB1"

uint64_t hart_cl_fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 1099511628211ull;
    return h;
}

static void dev_str(clb *b, cl_device_info what, char *buf, size_t n) {
    buf[0] = 0;
    clGetDeviceInfo(b->dev, what, n, buf, NULL);
    buf[n - 1] = 0;
}

hart_status hart_cl_cache_dir(char *out, size_t n) {
    const char *d = getenv("HART_CACHE_DIR");
    if (d && *d) snprintf(out, n, "%s", d);
    else {
        const char *home = getenv("HOME");
        if (!home || !*home) return HART_EIO;
        snprintf(out, n, "%s/.cache/hart", home);
        char parent[1024];
        snprintf(parent, sizeof parent, "%s/.cache", home);
        mkdir(parent, 0755);
    }
    if (mkdir(out, 0755) && errno != EEXIST) return HART_EIO;
    return HART_OK;
}

static hart_status build_log_fail(clb *b, cl_int err, const char *what) {
    size_t n = 0;
    clGetProgramBuildInfo(b->prog_tmp, b->dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &n);
    char *log = calloc(1, n + 1);
    if (log) clGetProgramBuildInfo(b->prog_tmp, b->dev, CL_PROGRAM_BUILD_LOG, n, log, NULL);
    hart_status s = hart_fail(HART_EDEVICE, "OpenCL %s of the kernels (kernels folder) failed: %s\nbuild log:\n%s", what,
                              hart_cl_errname(err), log ? log : "(none)");
    free(log);
    return s;
}

static int try_binary(clb *b, const char *path, const char *opts) {
    char *data = NULL;
    size_t size = 0;
    if (hart_file_read_all(path, &data, &size) != HART_OK) { hart_clear_error(); return 0; }
    int ok = 0;
    uint64_t len, sum;
    if (size >= 24 && !memcmp(data, MAGIC, 8)) {
        memcpy(&len, data + 8, 8);
        memcpy(&sum, data + 16, 8);
        if (len == size - 24 && sum == hart_cl_fnv(1469598103934665603ull, data + 24, len)) {
            const unsigned char *bin = (const unsigned char *)data + 24;
            size_t blen = len;
            cl_int st = 0, err = 0;
            b->prog_tmp = clCreateProgramWithBinary(b->ctx, 1, &b->dev, &blen, &bin, &st, &err);
            if (b->prog_tmp && err == CL_SUCCESS && st == CL_SUCCESS &&
                clBuildProgram(b->prog_tmp, 1, &b->dev, opts, NULL, NULL) == CL_SUCCESS)
                ok = 1;
            else if (b->prog_tmp) { clReleaseProgram(b->prog_tmp); b->prog_tmp = NULL; }
        }
    }
    free(data);
    return ok;
}

static void save_binary(clb *b, const char *path) {
    size_t blen = 0;
    if (clGetProgramInfo(b->prog_tmp, CL_PROGRAM_BINARY_SIZES, sizeof blen, &blen, NULL) || !blen) return;
    unsigned char *bin = malloc(blen);
    if (!bin) return;
    if (clGetProgramInfo(b->prog_tmp, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) == CL_SUCCESS) {
        uint64_t len = blen, sum = hart_cl_fnv(1469598103934665603ull, bin, blen);
        hart_file_writer w;
        if (hart_file_begin(&w, path) == HART_OK) {
            if (hart_file_put(&w, MAGIC, 8) || hart_file_put(&w, &len, 8) || hart_file_put(&w, &sum, 8) ||
                hart_file_put(&w, bin, blen) || hart_file_commit(&w))
                hart_file_abort(&w);
        }
    }
    hart_clear_error();
    free(bin);
}

static int is_nv(const char *name) {
    return !strcmp(name, "gemm_nv") || !strcmp(name, "hgemm_nv") || !strcmp(name, "flash_nv") ||
           !strcmp(name, "qgemm_nv") || !strcmp(name, "conv_nv") || !strcmp(name, "qgemm_nv_tc") ||
           !strcmp(name, "nv_ptx");
}

/* flash_nv.cl is instantiated per head dim and rows per work-group: name,
 * head dim, keys per tile, warps (16 query rows each) */
#define FA_UNDEF "\n#undef FA_NAME\n#undef FA_D\n#undef FA_BK\n#undef FA_WARPS\n"
static const char *const FA_DEFS[][2] = {
    {"\n#define FA_NAME nv_flash_d64_r128\n#define FA_D 64\n#define FA_BK 64\n#define FA_WARPS 8\n", FA_UNDEF},
    {"\n#define FA_NAME nv_flash_d64_r64\n#define FA_D 64\n#define FA_BK 64\n#define FA_WARPS 4\n", FA_UNDEF},
    {"\n#define FA_NAME nv_flash_d128_r128\n#define FA_D 128\n#define FA_BK 32\n#define FA_WARPS 8\n", FA_UNDEF},
    {"\n#define FA_NAME nv_flash_d128_r64\n#define FA_D 128\n#define FA_BK 32\n#define FA_WARPS 4\n", FA_UNDEF},
};
#define FA_NDEFS ((int)(sizeof FA_DEFS / sizeof FA_DEFS[0]))

static int wanted(const char *name, int nv) {
    if (!strcmp(name, "common")) return 1;
    return nv ? is_nv(name) : !is_nv(name);
}

/* hgemm_nv.cl is instantiated once per variant of hart_cl_hgemm_variants[],
 * each copy preceded by its #defines and followed by their #undefs. */
#define HG_MAX_VARIANTS 16
static char hg_defs[HG_MAX_VARIANTS][2][320];

static const char *hg_def(int v, int undef) {
    const clb_hgemm_variant *h = &hart_cl_hgemm_variants[v];
    if (undef)
        snprintf(hg_defs[v][1], sizeof hg_defs[v][1],
                 "\n#undef HG_NAME\n#undef HG_BM\n#undef HG_BN\n#undef HG_BK\n#undef HG_ST\n#undef HG_WM\n#undef HG_WN\n"
                 "#undef HG_NT\n#undef HG_WAIT\n#undef HG_DB\n");
    else
        snprintf(hg_defs[v][0], sizeof hg_defs[v][0],
                 "\n#define HG_NAME %s\n#define HG_BM %d\n#define HG_BN %d\n#define HG_BK %d\n#define HG_ST %d\n"
                 "#define HG_WM %d\n#define HG_WN %d\n#define HG_NT %d\n#define HG_WAIT %d\n#define HG_DB %d\n",
                 h->name, h->bm, h->bn, h->bk, h->st, h->wm, h->wn, h->nt, h->st - 2, h->db);
    return hg_defs[v][undef];
}

/* conv_nv.cl is instantiated once per variant of hart_cl_conv_variants[],
 * after hgemm_nv.cl (it uses that file's HG_SW) */
#define CV_MAX_VARIANTS 8
static char cv_defs[CV_MAX_VARIANTS][160];
static const char *const CV_UNDEFS = "\n#undef CV_NAME\n#undef CV_BM\n#undef CV_BN\n#undef CV_WM\n#undef CV_WN\n#undef CV_NT\n";

static const char *cv_def(int v) {
    const clb_conv_variant *c = &hart_cl_conv_variants[v];
    snprintf(cv_defs[v], sizeof cv_defs[v], "\n#define CV_NAME %s\n#define CV_BM %d\n#define CV_BN %d\n#define CV_WM %d\n"
             "#define CV_WN %d\n#define CV_NT %d\n", c->name, c->bm, c->bn, c->wm, c->wn, c->nt);
    return cv_defs[v];
}

hart_status hart_cl_build_program(clb *b, int nv, cl_program *out, char *info, size_t info_n) {
    if (hart_cl_hgemm_nvariants > HG_MAX_VARIANTS)
        return hart_fail(HART_EINVAL, "cl_program.c: %d tensor-core GEMM variants, raise HG_MAX_VARIANTS (%d)",
                         hart_cl_hgemm_nvariants, HG_MAX_VARIANTS);
    int n = 0;
    while (hart_kernel_sources[n].name) n++;
    if (hart_cl_conv_nvariants > CV_MAX_VARIANTS)
        return hart_fail(HART_EINVAL, "cl_program.c: raise CV_MAX_VARIANTS to %d", hart_cl_conv_nvariants);
    const char **srcs = calloc((size_t)n + 1 + 3 * HG_MAX_VARIANTS + 3 * FA_NDEFS + 3 * CV_MAX_VARIANTS +
                                   3 * (size_t)hart_cl_qgemm_tc_ninst, sizeof *srcs);
    if (!srcs) return hart_fail(HART_ENOMEM, "out of memory");
    char prelude[128];
    snprintf(prelude, sizeof prelude, "#define HART_NVIDIA %d\n", b->nvidia);
    srcs[0] = prelude;
    uint64_t h = hart_cl_fnv(1469598103934665603ull, prelude, strlen(prelude));
    /* the shared helpers go first: "common", then in the NVIDIA program
     * "nv_ptx" (PTX wrappers); the others in file order */
    int k = 1;
    for (int i = 0; i < n; i++)
        if (!strcmp(hart_kernel_sources[i].name, "common")) srcs[k++] = hart_kernel_sources[i].text;
    for (int i = 0; nv && i < n; i++)
        if (!strcmp(hart_kernel_sources[i].name, "nv_ptx")) srcs[k++] = hart_kernel_sources[i].text;
    for (int i = 0; i < n; i++) {
        const char *nm = hart_kernel_sources[i].name;
        if (!strcmp(nm, "common") || !strcmp(nm, "nv_ptx") || !strcmp(nm, "conv_nv") || !wanted(nm, nv)) continue;
        if (!strcmp(nm, "hgemm_nv")) {
            for (int v = 0; v < hart_cl_hgemm_nvariants; v++) {
                srcs[k++] = hg_def(v, 0);
                srcs[k++] = hart_kernel_sources[i].text;
                srcs[k++] = hg_def(v, 1);
            }
        } else if (!strcmp(nm, "qgemm_nv_tc")) {
            for (int v = 0; v < hart_cl_qgemm_tc_ninst; v++) {
                srcs[k++] = hart_cl_qgemm_tc_defs(v, 0);
                srcs[k++] = hart_kernel_sources[i].text;
                srcs[k++] = hart_cl_qgemm_tc_defs(v, 1);
            }
        } else if (!strcmp(nm, "flash_nv")) {
            for (int v = 0; v < FA_NDEFS; v++) {
                srcs[k++] = FA_DEFS[v][0];
                srcs[k++] = hart_kernel_sources[i].text;
                srcs[k++] = FA_DEFS[v][1];
            }
        } else
            srcs[k++] = hart_kernel_sources[i].text;
    }
    for (int i = 0; nv && i < n; i++)
        if (!strcmp(hart_kernel_sources[i].name, "conv_nv"))
            for (int v = 0; v < hart_cl_conv_nvariants; v++) {
                srcs[k++] = cv_def(v);
                srcs[k++] = hart_kernel_sources[i].text;
                srcs[k++] = CV_UNDEFS;
            }
    for (int i = 1; i < k; i++) h = hart_cl_fnv(h, srcs[i], strlen(srcs[i]));
    char opts[128];
    if (nv)
        snprintf(opts, sizeof opts, "-cl-std=CL1.2 -cl-mad-enable -cl-fp32-correctly-rounded-divide-sqrt -cl-nv-arch sm_%d%d", b->cc_major, b->cc_minor);
    else snprintf(opts, sizeof opts, "-cl-std=CL1.2 -cl-mad-enable -cl-fp32-correctly-rounded-divide-sqrt");
    char name[256], drv[128], ver[128];
    dev_str(b, CL_DEVICE_NAME, name, sizeof name);
    dev_str(b, CL_DRIVER_VERSION, drv, sizeof drv);
    dev_str(b, CL_DEVICE_VERSION, ver, sizeof ver);
    h = hart_cl_fnv(h, name, strlen(name));
    h = hart_cl_fnv(h, drv, strlen(drv));
    h = hart_cl_fnv(h, ver, strlen(ver));
    h = hart_cl_fnv(h, opts, strlen(opts));

    b->prog_hash[nv ? 1 : 0] = h;
    char dir[900], path[1024];
    int have_dir = hart_cl_cache_dir(dir, sizeof dir) == HART_OK && !getenv("HART_NO_KERNEL_CACHE");
    hart_clear_error();
    b->prog_tmp = NULL;
    if (have_dir) {
        snprintf(path, sizeof path, "%s/cl-%016llx.bin", dir, (unsigned long long)h);
        if (try_binary(b, path, opts)) {
            free(srcs);
            *out = b->prog_tmp;
            if (info) snprintf(info, info_n, "kernels from cache %s", path);
            return HART_OK;
        }
    }
    cl_int err;
    b->prog_tmp = clCreateProgramWithSource(b->ctx, (cl_uint)k, srcs, NULL, &err);
    free(srcs);
    if (!b->prog_tmp) return hart_fail(HART_EDEVICE, "clCreateProgramWithSource: %s", hart_cl_errname(err));
    err = clBuildProgram(b->prog_tmp, 1, &b->dev, opts, NULL, NULL);
    if (err != CL_SUCCESS) {
        hart_status s = build_log_fail(b, err, nv ? "build (tensor-core program)" : "build");
        clReleaseProgram(b->prog_tmp);
        b->prog_tmp = NULL;
        return s;
    }
    if (have_dir) save_binary(b, path);
    *out = b->prog_tmp;
    if (info) snprintf(info, info_n, "kernels compiled%s", have_dir ? " and cached" : "");
    return HART_OK;
}
