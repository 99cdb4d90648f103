/* Attention on the NVIDIA tensor cores (kernels/flash_nv.cl), dense and
 * block-sparse: K and V reach the kernel as f16 (converted once per call
 * into pooled scratch with nv_to_f16 unless already f16 and aligned), so
 * the kernel streams them with 16-byte cp.async copies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/opencl/cl_internal.h"

/* flash_nv.cl's FA_MAXT: key tiles a block-sparse call may list */
#define FA_MAXT 4096

/* t (contiguous [.., L, D]) as f16 with 16-byte rows: in place, or a copy in *tmp */
static hart_status kv_half(hart_backend *be, clb *b, const hart_tensor *t, cl_mem *tmp, cl_mem *m, int *off) {
    int64_t D = t->shape[3], R = hart_tensor_numel(t) / D;
    if (T_DT(t) == 1 && T_OFF(t) % 8 == 0) {
        *m = T_MEM(t);
        *off = T_OFF(t);
        return HART_OK;
    }
    HART_TRY(hart_cl_scratch(be, (size_t)(R * D) * 2, tmp));
    size_t gws[3] = {(size_t)(D + 31) / 32 * 32, (size_t)(R + 31) / 32 * 8, 1}, lws[3] = {32, 8, 1};
    hart_status s = CLRUN(b, "nv_to_f16", 3, gws, lws, AI(R), AI(D), AI(D), AI(1), AM(T_MEM(t)), AI(T_OFF(t)),
                          AI(T_DT(t)), AI(D), AI(1), AI(0), AI(0), AM(*tmp));
    if (s) {
        hart_cl_scratch_free(be, *tmp);
        *tmp = NULL;
        return s;
    }
    *m = *tmp;
    *off = 0;
    return HART_OK;
}

int hart_cl_flash_takes(clb *b, const hart_tensor *q, const hart_tensor *k, int block_k, int sparse) {
    int64_t D = q->shape[3], Lk = k->shape[2], bk = D == 64 ? 64 : 32;
    if (!b->tc || (D != 64 && D != 128) || T_DT(q) != 0) return 0;
    if (hart_tensor_numel(k) > INT32_MAX || hart_tensor_numel(q) > INT32_MAX) return 0;
    return !sparse || ((Lk + bk - 1) / bk <= FA_MAXT && block_k > 0);
}

/* rows per work-group: $HART_CL_FLASH_ROWS (64 or 128), else 128 dense
 * (K/V tiles shared by 8 warps), 64 block-sparse with query blocks under
 * 128 rows (a work-group then spans one query block's kept tiles) */
static int flash_rows(int sparse, int block_q) {
    const char *e = getenv("HART_CL_FLASH_ROWS");
    if (e && (atoi(e) == 64 || atoi(e) == 128)) return atoi(e);
    return sparse && block_q < 128 ? 64 : 128;
}

hart_status hart_cl_flash(hart_backend *be, hart_tensor *out, const hart_tensor *q, const hart_tensor *k,
                          const hart_tensor *v, const hart_tensor *mask, int mb, int mh, const hart_tensor *blocks,
                          int bb, int bh, int nkb, int block_q, int block_k, float scale) {
    clb *b = clb_of(be);
    int64_t B = q->shape[0], H = q->shape[1], Lq = q->shape[2], D = q->shape[3], Hkv = k->shape[1], Lk = k->shape[2];
    int sparse = blocks != NULL, rows = flash_rows(sparse, block_q);
    if (!sparse) block_q = block_k = 1 << 30;
    char name[32];
    snprintf(name, sizeof name, "nv_flash_d%d_r%d", (int)D, rows);
    cl_mem tk = NULL, tv = NULL, km, vm;
    int koff, voff;
    hart_status s = kv_half(be, b, k, &tk, &km, &koff);
    if (!s) s = kv_half(be, b, v, &tv, &vm, &voff);
    if (!s) {
        size_t gws[2] = {(size_t)(Lq + rows - 1) / rows * (size_t)(rows * 2), (size_t)(B * H)}, lws[2] = {(size_t)rows * 2, 1};
        s = CLRUN(b, name, 2, gws, lws, AM(T_MEM(q)), AI(T_OFF(q)), AM(km), AI(koff), AM(vm), AI(voff),
                  AM(mask ? T_MEM(mask) : T_MEM(q)), AI(mask ? T_OFF(mask) : 0), AI(mask != NULL), AI(mb), AI(mh),
                  AM(T_MEM(out)), AI(T_OFF(out)), AI(H), AI(Hkv), AI(Lq), AI(Lk), AF(scale), AI(sparse),
                  AM(sparse ? T_MEM(blocks) : b->ones), AI(sparse ? T_OFF(blocks) : 0), AI(bb), AI(bh), AI(nkb),
                  AI(block_q), AI(block_k));
    }
    /* in-order queue: a later user of the pooled buffers runs after the kernel */
    if (tk) hart_cl_scratch_free(be, tk);
    if (tv) hart_cl_scratch_free(be, tv);
    return s;
}
