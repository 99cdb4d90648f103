/* CPU fast paths: nn.Linear and batched matmul through OpenBLAS sgemm. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_internal.h"

static int ld(int64_t v) { return v > 0 ? (int)v : 1; }

hart_status cpu_linear(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *w,
                       const hart_tensor *b) {
    int64_t K = x->shape[x->ndim - 1], N = w->shape[0], M = K ? hart_tensor_numel(x) / K : hart_tensor_numel(y) / (N ? N : 1);
    float *out = y->data;
    if (M == 0 || N == 0) return HART_OK;
    if (K > 0) {
        const float *wf;
        float *tmp;
        HART_TRY(cpu_weight_f32(w, &wf, &tmp));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)N, (int)K, 1.0f, x->data, ld(K), wf, ld(K),
                    0.0f, out, ld(N));
        free(tmp);
    } else {
        memset(out, 0, (size_t)(M * N) * sizeof(float));
    }
    if (b) {
        float *bf = malloc((size_t)N * sizeof(float));
        if (!bf) return hart_fail(HART_ENOMEM, "op_linear: out of memory");
        cpu_to_f32(b, bf);
#pragma omp parallel for if (M * N > CPU_PAR_MIN) schedule(static)
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) out[m * N + n] += bf[n];
        free(bf);
    }
    return HART_OK;
}

hart_status cpu_matmul(hart_backend *be, hart_tensor *c, const hart_tensor *a, const hart_tensor *b, int ta, int tb,
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
    int lda = ld(ta ? M : K), ldb = ld(tb ? K : N);
    CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
    /* Many small products: one sgemm per batch entry, spread over our threads. */
    if (batch > 1 && cpu_threads() > 1 && (double)M * N * K <= 4.0 * 1024 * 1024) {
        int prev = cpu_blas_serial_begin();
#pragma omp parallel for schedule(dynamic, 1)
        for (int64_t p = 0; p < batch; p++)
            cblas_sgemm(CblasRowMajor, TA, TB, (int)M, (int)N, (int)K, alpha, A + p * M * K, lda,
                        B + (bbatch == 1 ? 0 : p) * K * N, ldb, 0.0f, C + p * M * N, ld(N));
        cpu_blas_serial_end(prev);
    } else {
        for (int64_t p = 0; p < batch; p++)
            cblas_sgemm(CblasRowMajor, TA, TB, (int)M, (int)N, (int)K, alpha, A + p * M * K, lda,
                        B + (bbatch == 1 ? 0 : p) * K * N, ldb, 0.0f, C + p * M * N, ld(N));
    }
    return HART_OK;
}
