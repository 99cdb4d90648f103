/* CPU fast paths: nn.Linear and batched matmul through OpenBLAS sgemm. */
#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_internal.h"

static int ld(int64_t v) { return v > 0 ? (int)v : 1; }

/* OpenBLAS runs single-threaded (set at backend init); large products are
 * split here over OpenMP threads, by columns of C (or rows when C is tall),
 * so that only one thread pool ever spins: mixing OpenBLAS's pthreads with
 * OpenMP's on few cores costs milliseconds per switch. */
void hart_cpu_sgemm(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
               const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
    int nt = omp_in_parallel() ? 1 : hart_cpu_threads();
    double flop = 2.0 * (double)M * (double)N * (double)K;
    if (M == 0 || N == 0) return;
    if (nt <= 1 || flop < 2e6 || (M < 32 && N < 32)) {
        cblas_sgemm(CblasRowMajor, TA, TB, (int)M, (int)N, (int)K, alpha, A, ld(lda), B, ld(ldb), beta, C, ld(ldc));
        return;
    }
    int by_cols = N >= M || M < 16 * nt;
    int64_t len = by_cols ? N : M, chunk = (len + nt - 1) / nt;
    chunk = (chunk + 15) / 16 * 16;
    int64_t parts = (len + chunk - 1) / chunk;
#pragma omp parallel for num_threads(nt) schedule(static, 1)
    for (int64_t p = 0; p < parts; p++) {
        int64_t s = p * chunk, n = len - s < chunk ? len - s : chunk;
        if (by_cols) /* C[:, s:s+n] = op(A) · op(B)[:, s:s+n] */
            cblas_sgemm(CblasRowMajor, TA, TB, (int)M, (int)n, (int)K, alpha, A, ld(lda), tb ? B + s * ldb : B + s,
                        ld(ldb), beta, C + s, ld(ldc));
        else /* C[s:s+n, :] = op(A)[s:s+n, :] · op(B) */
            cblas_sgemm(CblasRowMajor, TA, TB, (int)n, (int)N, (int)K, alpha, ta ? A + s : A + s * lda, ld(lda), B,
                        ld(ldb), beta, C + s * ldc, ld(ldc));
    }
}

hart_status hart_cpu_linear(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *w,
                       const hart_tensor *b) {
    int64_t K = x->shape[x->ndim - 1], N = w->shape[0], M = ref_dims(x, 0, x->ndim - 1);
    float *out = y->data;
    if (M == 0 || N == 0) return HART_OK;
    if (K > 0) {
        const float *wf;
        float *tmp;
        HART_TRY(hart_cpu_weight_f32(w, &wf, &tmp));
        hart_cpu_sgemm(0, 1, M, N, K, 1.0f, x->data, K, wf, K, 0.0f, out, N);
        free(tmp);
    } else {
        memset(out, 0, (size_t)(M * N) * sizeof(float));
    }
    if (b) {
        float *bf = malloc((size_t)N * sizeof(float));
        if (!bf) return hart_fail(HART_ENOMEM, "hart_op_linear: out of memory");
        hart_cpu_to_f32(b, bf);
#pragma omp parallel for if (M * N > CPU_PAR_MIN) schedule(static)
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) out[m * N + n] += bf[n];
        free(bf);
    }
    return HART_OK;
}

hart_status hart_cpu_matmul(hart_backend *be, hart_tensor *c, const hart_tensor *a, const hart_tensor *b, int ta, int tb,
                       float alpha) {
    int na = a->ndim, nb = b->ndim;
    int64_t M = ta ? a->shape[na - 1] : a->shape[na - 2];
    int64_t K = ta ? a->shape[na - 2] : a->shape[na - 1];
    int64_t N = tb ? b->shape[nb - 2] : b->shape[nb - 1];
    int64_t batch = ref_dims(a, 0, na - 2), bbatch = ref_dims(b, 0, nb - 2);
    const float *A = a->data, *B = b->data;
    float *C = c->data;
    if (M == 0 || N == 0 || batch == 0) return HART_OK;
    if (K == 0) {
        memset(C, 0, (size_t)(batch * M * N) * sizeof(float));
        return HART_OK;
    }
    int64_t lda = ta ? M : K, ldb = tb ? K : N;
    /* Many small products: one serial sgemm per batch entry, spread over our threads. */
    if (batch > 1 && hart_cpu_threads() > 1 && (double)M * N * K <= 4.0 * 1024 * 1024) {
#pragma omp parallel for schedule(dynamic, 1)
        for (int64_t p = 0; p < batch; p++)
            hart_cpu_sgemm(ta, tb, M, N, K, alpha, A + p * M * K, lda, B + (bbatch == 1 ? 0 : p) * K * N, ldb, 0.0f,
                      C + p * M * N, N);
    } else {
        for (int64_t p = 0; p < batch; p++)
            hart_cpu_sgemm(ta, tb, M, N, K, alpha, A + p * M * K, lda, B + (bbatch == 1 ? 0 : p) * K * N, ldb, 0.0f,
                      C + p * M * N, N);
    }
    return HART_OK;
}
