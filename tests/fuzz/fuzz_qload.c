/* libFuzzer entry point: quantized linear weights in a checkpoint (quant/qload.h):
 * this port's layout (qweight/wscale/wzero/wgscale/insmooth) and AutoAWQ's
 * (qweight/qzeros/scales). The input is a safetensors file; the weight "l" is
 * loaded with the shape its qweight implies. Any input must be rejected with
 * a status or load into a weight that hart_op_linear then runs on (ASan
 * checks every read of the kernels). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/checkpoint.h"
#include "ops/ops.h"
#include "quant/qload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* heap copy ending exactly at the end of the allocation (reads past the
     * end are caught by ASan), placed as hart_st_open places a file: with the
     * data section 8-byte aligned */
    size_t pad = hart_st_align_pad(data, size);
    uint8_t *mem = malloc(size + pad ? size + pad : 1);
    if (!mem) return 0;
    uint8_t *buf = mem + pad;
    if (size) memcpy(buf, data, size);
    hart_safetensors st;
    if (hart_st_parse(buf, size, "fuzz", &st) != HART_OK) {
        free(mem);
        return 0;
    }
    hart_checkpoint ck = {.dir = "fuzz", .config = NULL, .files = &st, .n_files = 1};
    const hart_st_entry *e = hart_st_find(&st, "l.qweight");
    if (e && e->ndim == 2 && e->shape[0] > 0 && e->shape[1] > 0 && e->shape[0] <= 4096 && e->shape[1] <= 4096) {
        int64_t N = e->shape[0], K = e->shape[1];
        if (e->dtype == HART_I32) { K = e->shape[0]; N = e->shape[1] * 8; }
        else if (e->dtype == HART_U8) K = e->shape[1] * 2 - (size & 1); /* odd K too */
        hart_tensor w;
        if (N * K <= (1 << 20) && hart_ckpt_get_linear(&ck, NULL, "l.weight", N, K, 0, &w) == HART_OK) {
            if (w.quant->N != N || w.quant->K != K) abort();
            hart_tensor x, y;
            if (hart_tensor_new4(NULL, HART_F32, &x, 2, 2, K, 0, 0) == HART_OK) {
                for (int64_t i = 0; i < 2 * K; i++) ((float *)x.data)[i] = (float)(i % 7) - 3.0f;
                if (hart_tensor_new4(NULL, HART_F32, &y, 2, 2, N, 0, 0) == HART_OK) {
                    hart_op_linear(&y, &x, &w, NULL);
                    hart_tensor_free(&y);
                }
                hart_tensor_free(&x);
            }
            hart_tensor_free(&w);
        }
    }
    hart_clear_error();
    hart_st_close(&st);
    free(mem);
    return 0;
}
