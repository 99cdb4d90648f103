/* op block_mask on OpenCL (kernels/block_mask.cl): the quest and xattn
 * block masks made on the device from q and k already there, so a sparse
 * layer needs no device -> host copy. The scores live in pooled scratch;
 * xattn's strided logits go through it a chunk of heads at a time (at most
 * 64 MiB). Same integers as the reference (ref_block_mask.c), same mask. */
#include <string.h>

#include "backend/block_mask_fix.h"
#include "backend/opencl/cl_internal.h"

#define XATTN_CHUNK_BYTES ((size_t)64 << 20)

hart_status hart_cl_block_mask(hart_backend *be, hart_tensor *blocks, const hart_tensor *q, const hart_tensor *k,
                               const hart_block_mask_spec *spec) {
    clb *b = clb_of(be);
    int64_t N = q->shape[0], H = q->shape[1], Hkv = k->shape[1], nq = q->shape[2], nk = k->shape[2], D = q->shape[3];
    int64_t bs = spec->block, nqb = (nq + bs - 1) / bs, nkb = (nk + bs - 1) / bs, NH = N * H;
    int64_t first = (spec->nsink + bs - 1) / bs;
    int xattn = spec->kind == HART_BLOCK_MASK_XATTN;
    if (hart_tensor_numel(q) > INT32_MAX || hart_tensor_numel(k) > INT32_MAX || NH * nqb * nkb > INT32_MAX)
        return hart_fail(HART_EUNSUPPORTED, "hart_op_block_mask: tensor exceeds the OpenCL kernels' 2^31 limit");
    if (xattn && spec->threshold >= 1) { /* the whole mass: every block (as the reference) */
        cl_uchar one = 1;
        cl_int e = clEnqueueFillBuffer(b->q, T_MEM(blocks), &one, 1, blocks->dev_offset, hart_tensor_nbytes(blocks), 0,
                                       NULL, NULL);
        return e ? hart_fail(HART_EDEVICE, "hart_op_block_mask: fill: %s", hart_cl_errname(e)) : HART_OK;
    }
    cl_mem sc = NULL, tmp = NULL, sh = NULL;
    HART_TRY(hart_cl_scratch(be, sizeof(cl_long) * (size_t)(NH * nqb * nkb), &sc));
    hart_status s = HART_OK;
    int S = bm_xattn_stride((int)bs);
    int64_t rpb = bs / S, na = (nq + S - 1) / S, nb = (nk + S - 1) / S;
    if (!xattn) {
        s = hart_cl_scratch(be, sizeof(cl_float) * (size_t)(N * Hkv * nkb * 2 * D), &tmp);
        size_t g1[3] = {(size_t)D, (size_t)nkb, (size_t)(N * Hkv)}, g2[3] = {(size_t)nkb, (size_t)nqb, (size_t)NH};
        if (!s)
            s = CLRUN(b, "bm_quest_pages", 3, g1, NULL, AM(T_MEM(k)), AI(T_OFF(k)), AM(tmp), AI(D), AI(nk), AI(nkb),
                      AI(bs));
        if (!s)
            s = CLRUN(b, "bm_quest_bounds", 3, g2, NULL, AM(T_MEM(q)), AI(T_OFF(q)), AM(tmp), AM(sc), AI(H), AI(Hkv),
                      AI(nq), AI(D), AI(nqb), AI(nkb), AI(bs));
    } else {
        int64_t chunk = (int64_t)(XATTN_CHUNK_BYTES / (sizeof(cl_long) * (size_t)(na * nb + na * nkb)));
        chunk = chunk < 1 ? 1 : chunk > NH ? NH : chunk;
        s = hart_cl_scratch(be, sizeof(cl_long) * (size_t)(chunk * na * nb), &tmp);
        if (!s) s = hart_cl_scratch(be, sizeof(cl_ulong) * (size_t)(chunk * na * nkb), &sh);
        float cf = bm_xattn_cf(spec->scale, S);
        for (int64_t h0 = 0; h0 < NH && !s; h0 += chunk) {
            int64_t nc = NH - h0 < chunk ? NH - h0 : chunk;
            size_t g1[3] = {(size_t)nb, (size_t)na, (size_t)nc}, g2[2] = {(size_t)na, (size_t)nc},
                   g3[3] = {(size_t)nkb, (size_t)nqb, (size_t)nc};
            s = CLRUN(b, "bm_xattn_logits", 3, g1, NULL, AM(T_MEM(q)), AI(T_OFF(q)), AM(T_MEM(k)), AI(T_OFF(k)),
                      AM(tmp), AI(h0), AI(H), AI(Hkv), AI(nq), AI(nk), AI(D), AI(S), AI(na), AI(nb));
            if (!s) s = CLRUN(b, "bm_xattn_rows", 2, g2, NULL, AM(tmp), AM(sh), AI(na), AI(nb), AI(nkb), AI(rpb), AF(cf));
            if (!s)
                s = CLRUN(b, "bm_xattn_blocks", 3, g3, NULL, AM(sh), AM(sc), AI(h0), AI(na), AI(nqb), AI(nkb), AI(rpb));
        }
    }
    if (!s) {
        int64_t rows_last = na - (nqb - 1) * rpb;
        size_t g[3] = {(size_t)nkb, (size_t)nqb, (size_t)NH};
        s = CLRUN(b, "bm_select", 3, g, NULL, AM(sc), AM(T_MEM(blocks)), AI(T_OFF(blocks)), AI(nq), AI(nk), AI(nqb),
                  AI(nkb), AI(bs), AI(first), AI(xattn), AI(spec->budget),
                  AL(xattn ? bm_xattn_threshold(spec->threshold, rpb) : 0),
                  AL(xattn ? bm_xattn_threshold(spec->threshold, rows_last) : 0));
    }
    if (sh) hart_cl_scratch_free(be, sh);
    if (tmp) hart_cl_scratch_free(be, tmp);
    hart_cl_scratch_free(be, sc);
    return s;
}
