/* `hart info`: version, CPU backend settings (OpenMP threads, OpenBLAS build)
 * and every OpenCL platform/device found through the ICD loader, plus which
 * backend a --device spec selects. Queries OpenCL directly so it works even
 * when no OpenCL backend is compiled in. */
#include <CL/cl.h>
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "backend/cpu/cpu_quant.h"
#include "quant/qreport.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/version.h"

static void dev_str(cl_device_id d, cl_device_info what, char *buf, size_t n) {
    buf[0] = 0;
    if (clGetDeviceInfo(d, what, n, buf, NULL) != CL_SUCCESS) snprintf(buf, n, "?");
    buf[n - 1] = 0;
}

static const char *type_name(cl_device_type t) {
    if (t & CL_DEVICE_TYPE_GPU) return "GPU";
    if (t & CL_DEVICE_TYPE_CPU) return "CPU";
    if (t & CL_DEVICE_TYPE_ACCELERATOR) return "accelerator";
    return "other";
}

static void list_opencl(void) {
    cl_uint np = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &np);
    printf("OpenCL:\n");
    if (err != CL_SUCCESS || np == 0) {
        printf("  no OpenCL platforms found (clGetPlatformIDs: %d)%s\n", (int)err,
               err == -1001 ? " - no ICD installed (e.g. apt-get install pocl-opencl-icd or a GPU driver)" : "");
        return;
    }
    cl_platform_id *ps = calloc(np, sizeof *ps);
    if (!ps || clGetPlatformIDs(np, ps, NULL) != CL_SUCCESS) {
        printf("  could not list OpenCL platforms\n");
        free(ps);
        return;
    }
    for (cl_uint p = 0; p < np; p++) {
        char name[256] = "?", ver[256] = "?";
        clGetPlatformInfo(ps[p], CL_PLATFORM_NAME, sizeof name, name, NULL);
        clGetPlatformInfo(ps[p], CL_PLATFORM_VERSION, sizeof ver, ver, NULL);
        name[255] = ver[255] = 0;
        printf("  platform %u: %s (%s)\n", p, name, ver);
        cl_uint nd = 0;
        if (clGetDeviceIDs(ps[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || nd == 0) {
            printf("    no devices\n");
            continue;
        }
        cl_device_id *ds = calloc(nd, sizeof *ds);
        if (!ds || clGetDeviceIDs(ps[p], CL_DEVICE_TYPE_ALL, nd, ds, NULL) != CL_SUCCESS) {
            printf("    could not list devices\n");
            free(ds);
            continue;
        }
        for (cl_uint d = 0; d < nd; d++) {
            char dname[256], dver[256], drv[256], ext[8192];
            cl_device_type t = 0;
            cl_uint cu = 0;
            cl_ulong gmem = 0, maxalloc = 0, lmem = 0;
            size_t wg = 0;
            dev_str(ds[d], CL_DEVICE_NAME, dname, sizeof dname);
            dev_str(ds[d], CL_DEVICE_VERSION, dver, sizeof dver);
            dev_str(ds[d], CL_DRIVER_VERSION, drv, sizeof drv);
            dev_str(ds[d], CL_DEVICE_EXTENSIONS, ext, sizeof ext);
            clGetDeviceInfo(ds[d], CL_DEVICE_TYPE, sizeof t, &t, NULL);
            clGetDeviceInfo(ds[d], CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
            clGetDeviceInfo(ds[d], CL_DEVICE_GLOBAL_MEM_SIZE, sizeof gmem, &gmem, NULL);
            clGetDeviceInfo(ds[d], CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof maxalloc, &maxalloc, NULL);
            clGetDeviceInfo(ds[d], CL_DEVICE_LOCAL_MEM_SIZE, sizeof lmem, &lmem, NULL);
            clGetDeviceInfo(ds[d], CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
            printf("    device opencl:%u:%u: %s [%s]\n", p, d, dname, type_name(t));
            printf("      %s, driver %s\n", dver, drv);
            printf("      compute units %u, global memory %.1f GiB (max alloc %.1f GiB), local %llu KiB, "
                   "max work-group %zu\n",
                   cu, gmem / 1073741824.0, maxalloc / 1073741824.0, (unsigned long long)(lmem / 1024), wg);
            printf("      fp16: %s, fp64: %s\n", strstr(ext, "cl_khr_fp16") ? "yes" : "no",
                   strstr(ext, "cl_khr_fp64") ? "yes" : "no");
        }
        free(ds);
    }
    free(ps);
}

int cmd_info(int argc, char **argv) {
    const char *device = NULL, *model = NULL;
    const hart_opt opts[] = {HART_OPT_DEVICE(&device),
                             {"model", 'm', HART_ARG_STR, &model, "DIR",
                              "instead: list the model's weights, per layer format (f32/f16/bf16/w8a8/w4a16/w4a8) and bytes",
                              NULL, 0, 0, NULL},
                             HART_OPT_END};
    const hart_cmd_spec spec = {
        "info", "[options]",
        "Print the version, the CPU backend settings (OpenMP threads, OpenBLAS build, int8 kernel),\n"
        "every OpenCL platform and device, and which backend --device selects.\n"
        "With -m MODEL: the model's weights per layer (format and bytes) instead.",
        opts, 0, 0, 0};
    hart_args a;
    int rc = hart_args_parse(&spec, argc, argv, &a);
    if (rc >= 0) return rc;
    if (hart_args_parse_only) return 0;
    if (model) {
        if (hart_quant_report(stdout, model)) {
            fprintf(stderr, "hart info: %s\n", hart_errmsg());
            return 1;
        }
        return 0;
    }

    printf("hart %s\n", HART_VERSION);
    printf("CPU backend:\n");
    printf("  logical CPUs online: %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
    printf("  OpenMP max threads: %d (OMP_NUM_THREADS=%s)\n", omp_get_max_threads(),
           getenv("OMP_NUM_THREADS") ? getenv("OMP_NUM_THREADS") : "unset");
    const char *cfg = openblas_get_config();
    const char *core = openblas_get_corename();
    printf("  BLAS: %s\n", cfg ? cfg : "?");
    printf("  BLAS core: %s, threads %d, parallel mode %d (0 none, 1 pthreads, 2 OpenMP)\n", core ? core : "?",
           openblas_get_num_threads(), openblas_get_parallel());
    if (getenv("HART_BLAS_CORE_WAS"))
        printf("  BLAS core set by hart: OpenBLAS picked %s (its generic kernels: it does not know this CPU), "
               "OPENBLAS_CORETYPE=%s\n", getenv("HART_BLAS_CORE_WAS"), getenv("OPENBLAS_CORETYPE"));
    printf("  int8 GEMM kernel (quantized layers): %s\n", hart_cpu_qisa_name(hart_cpu_qisa_current()));
    list_opencl();

    hart_backend *be = NULL;
    char why[768] = "";
    const char *shown = device ? device : (getenv("HART_DEVICE") ? getenv("HART_DEVICE") : "cpu");
    /* the why string then names the device's default precision too */
    hart_status st = hart_backend_open_prec(device, HART_PREC_AUTO, &be, why, sizeof why);
    if (st != HART_OK) {
        fprintf(stderr, "hart info: device '%s': %s\n", shown, hart_errmsg());
        return st == HART_EINVAL ? 2 : 1;
    }
    printf("selected backend for --device %s: %s\n", shown, why[0] ? why : be->name);
    hart_backend_close(be);
    return 0;
}
