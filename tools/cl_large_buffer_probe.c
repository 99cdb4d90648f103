/* Does the OpenCL driver fill, copy and read buffers of 2^31 bytes or more?
 * (NVIDIA's clEnqueueFillBuffer hangs or fails there: pyopencl issue 395;
 * HART's 1024 px decode at batch 4 never finished on an H200, see
 * src/backend/opencl/cl_buffers.c.) On the first GPU (else the first device):
 * one buffer of BYTES, 4-byte words at offsets 0, 1 GiB, 2^31 - 4, 2^31 and the
 * end set to 0xabababab, then MODE, clFinish, and the words read back:
 *   fill1      clEnqueueFillBuffer, 1-byte zero pattern, whole buffer
 *   fill4      the same with a 4-byte pattern
 *   fillchunk  1-byte fills of at most 1 GiB each (offsets past 2^31)
 *   kernel     a zero kernel, 16 bytes per work-item, 64-bit index (HART's zero_fill)
 *   copy       clEnqueueCopyBuffer from a second buffer whose words are 0x12345678
 *   read       clEnqueueReadBuffer of the whole buffer to the host
 * Prints OK/BAD and the time; run each under `timeout` (a hang is the bug).
 *   gcc -std=c11 -O2 -o cl_large_buffer_probe tools/cl_large_buffer_probe.c -lOpenCL
 *   timeout 15 ./cl_large_buffer_probe fill1 2684354560 */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
#define CK(x) do { cl_int e_ = (x); if (e_) { printf("FAIL %s: %d\n", #x, e_); return 1; } } while (0)
static const char *src = "__kernel void z4(__global uint4 *p, ulong n) { size_t i = get_global_id(0); if (i < n) p[i] = (uint4)(0); }";
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *mode = argv[1];
    size_t n = strtoull(argv[2], NULL, 10);
    cl_platform_id pl[8]; cl_uint np = 0; clGetPlatformIDs(8, pl, &np);
    cl_device_id dev = NULL;
    for (cl_uint i = 0; i < np && !dev; i++) if (clGetDeviceIDs(pl[i], CL_DEVICE_TYPE_GPU, 1, &dev, NULL)) dev = NULL;
    for (cl_uint i = 0; i < np && !dev; i++) if (clGetDeviceIDs(pl[i], CL_DEVICE_TYPE_ALL, 1, &dev, NULL)) dev = NULL;
    if (!dev) { printf("no device\n"); return 1; }
    char name[256] = "", drv[64] = ""; cl_ulong maxa = 0;
    clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof name, name, NULL);
    clGetDeviceInfo(dev, CL_DRIVER_VERSION, sizeof drv, drv, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof maxa, &maxa, NULL);
    cl_int err;
    cl_context ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    cl_command_queue q = clCreateCommandQueue(ctx, dev, 0, &err);
    cl_mem a = clCreateBuffer(ctx, CL_MEM_READ_WRITE, n, NULL, &err);
    if (!a) { printf("FAIL create %zu: %d\n", n, err); return 1; }
    cl_mem b = NULL;
    size_t offs[6] = {0, 1u << 30, ((size_t)1 << 31) - 4, (size_t)1 << 31, n / 16 * 16 - 4, n - 4};
    unsigned mark = 0xabababab, val = 0x12345678;
    for (int i = 0; i < 6; i++) if (offs[i] + 4 <= n) CK(clEnqueueWriteBuffer(q, a, CL_TRUE, offs[i], 4, &mark, 0, NULL, NULL));
    double t0 = now();
    if (!strcmp(mode, "fill1")) { unsigned char z = 0; CK(clEnqueueFillBuffer(q, a, &z, 1, 0, n, 0, NULL, NULL)); }
    else if (!strcmp(mode, "fill4")) { unsigned z = 0; CK(clEnqueueFillBuffer(q, a, &z, 4, 0, n / 4 * 4, 0, NULL, NULL)); }
    else if (!strcmp(mode, "fillchunk")) {
        unsigned char z = 0; size_t c = (size_t)1 << 30;
        for (size_t o = 0; o < n; o += c) CK(clEnqueueFillBuffer(q, a, &z, 1, o, n - o < c ? n - o : c, 0, NULL, NULL));
    } else if (!strcmp(mode, "kernel")) {
        cl_program p = clCreateProgramWithSource(ctx, 1, &src, NULL, &err);
        CK(clBuildProgram(p, 1, &dev, "", NULL, NULL));
        cl_kernel k = clCreateKernel(p, "z4", &err);
        cl_ulong n16 = n / 16; size_t g = (n16 + 255) / 256 * 256, l = 256;
        CK(clSetKernelArg(k, 0, sizeof a, &a)); CK(clSetKernelArg(k, 1, sizeof n16, &n16));
        CK(clEnqueueNDRangeKernel(q, k, 1, NULL, &g, &l, 0, NULL, NULL));
    } else if (!strcmp(mode, "copy")) {
        b = clCreateBuffer(ctx, CL_MEM_READ_WRITE, n, NULL, &err);
        if (!b) { printf("FAIL create b: %d\n", err); return 1; }
        for (int i = 0; i < 6; i++) if (offs[i] + 4 <= n) CK(clEnqueueWriteBuffer(q, b, CL_TRUE, offs[i], 4, &val, 0, NULL, NULL));
        CK(clEnqueueCopyBuffer(q, b, a, 0, 0, n, 0, NULL, NULL));
    } else if (!strcmp(mode, "read")) {
        char *h = malloc(n);
        CK(clEnqueueReadBuffer(q, a, CL_TRUE, 0, n, h, 0, NULL, NULL));
        int ok = 1;
        for (int i = 0; i < 6; i++) if (offs[i] + 4 <= n && memcmp(h + offs[i], &mark, 4)) ok = 0;
        printf("read host check %s\n", ok ? "ok" : "BAD");
        free(h);
    }
    CK(clFinish(q));
    double dt = now() - t0;
    unsigned want = !strcmp(mode, "copy") ? val : !strcmp(mode, "read") ? mark : 0;
    int bad = 0;
    for (int i = 0; i < 6; i++) {
        if (offs[i] + 4 > n) continue;
        unsigned got = 0;
        if (!strcmp(mode, "kernel") && offs[i] >= n / 16 * 16) continue; /* the kernel zeroes whole 16-byte chunks */
        CK(clEnqueueReadBuffer(q, a, CL_TRUE, offs[i], 4, &got, 0, NULL, NULL));
        if (got != want) { bad++; printf("  offset %zu: %08x (want %08x)\n", offs[i], got, want); }
    }
    printf("%s %s (%s) %s %zu bytes (max alloc %llu): %.3f s, %s\n", bad ? "BAD" : "OK", name, drv, mode, n,
           (unsigned long long)maxa, dt, bad ? "wrong contents" : "contents right");
    return bad != 0;
}
