/* OpenCL token sampling and diffusion-sampler step (kernels/sampling.cl):
 * the guidance mix, top-k/top-p, the keyed draw, Gumbel-softmax, keyed
 * normal noise, the iDDPM step. Nothing here reads back or waits: the
 * results stay on the device for the next op of the generation loop. */
#include <stdint.h>

#include "backend/opencl/cl_internal.h"
#include "core/sample_fixed.h"

static const size_t SW[1] = {256};

hart_status hart_cl_cfg_mix(hart_backend *be, hart_tensor *y, const hart_tensor *x, double t) {
    int64_t n = hart_tensor_numel(y);
    size_t gws[1] = {(size_t)n};
    return CLRUN(clb_of(be), "cfg_mix", 1, gws, NULL, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(y)), AI(T_OFF(y)), AI(n),
                 AF((float)(1.0 + t)), AF((float)t));
}

hart_status hart_cl_topk_topp(hart_backend *be, hart_tensor *y, const hart_tensor *x, int k, double p) {
    int64_t V = x->shape[x->ndim - 1], R = hart_tensor_numel(x) / V;
    int has_p = p > 0 && p < 1;
    size_t gws[1] = {(size_t)R * SW[0]};
    return CLRUN(clb_of(be), "topk_topp", 1, gws, SW, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(y)), AI(T_OFF(y)), AI(V),
                 AI(k), AI(has_p), AL(has_p ? hart_sample_topp_frac(p) : 0));
}

hart_status hart_cl_multinomial(hart_backend *be, hart_tensor *idx, const hart_tensor *x, const hart_tensor *keys,
                                int site, int step) {
    int64_t R = x->shape[0] * x->shape[1];
    size_t gws[1] = {(size_t)R * SW[0]};
    return CLRUN(clb_of(be), "multinomial", 1, gws, SW, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(idx)), AI(T_OFF(idx)),
                 AM(T_MEM(keys)), AI(T_OFF(keys)), AI(x->shape[1]), AI(x->shape[2]), AI(site), AI(step));
}

hart_status hart_cl_gumbel_softmax(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *keys,
                                   float scale, float tau, int site, int step) {
    int64_t R = x->shape[0] * x->shape[1];
    size_t gws[1] = {(size_t)R * SW[0]};
    return CLRUN(clb_of(be), "gumbel_softmax", 1, gws, SW, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(y)), AI(T_OFF(y)),
                 AM(T_MEM(keys)), AI(T_OFF(keys)), AI(x->shape[1]), AI(x->shape[2]), AF(scale), AF(tau), AI(site), AI(step));
}

hart_status hart_cl_randn(hart_backend *be, hart_tensor *y, const hart_tensor *keys, int site, int step) {
    int64_t n = hart_tensor_numel(y);
    size_t gws[1] = {(size_t)n};
    return CLRUN(clb_of(be), "randn", 1, gws, NULL, AM(T_MEM(y)), AI(T_OFF(y)), AM(T_MEM(keys)), AI(T_OFF(keys)), AI(y->shape[1]),
                 AI(y->shape[2]), AI(y->shape[3]), AI(n), AI(site), AI(step));
}

hart_status hart_cl_ddpm_step(hart_backend *be, hart_tensor *x, const hart_tensor *out, const hart_tensor *noise,
                              const hart_ddpm_coef *c) {
    int64_t n = x->shape[0], C = x->shape[1];
    size_t gws[1] = {(size_t)(n * C)};
    return CLRUN(clb_of(be), "ddpm_step", 1, gws, NULL, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(out)), AI(T_OFF(out)),
                 AM(T_MEM(noise)), AI(T_OFF(noise)), AI(n), AI(C), AI(c->guided), AF(c->g1), AF(c->g0), AF(c->minl),
                 AF(c->maxl), AF(c->sra), AF(c->srm1), AF(c->c1), AF(c->c2), AF(c->nzm), AF(c->temperature));
}

hart_status hart_cl_gather_rows(hart_backend *be, hart_tensor *y, const hart_tensor *table, const hart_tensor *idx) {
    int64_t n = hart_tensor_numel(y);
    size_t gws[1] = {(size_t)n};
    return CLRUN(clb_of(be), "gather_rows", 1, gws, NULL, AM(T_MEM(y)), AI(T_OFF(y)), AM(T_MEM(table)),
                 AI(T_OFF(table)), AM(T_MEM(idx)), AI(T_OFF(idx)), AI(y->shape[1]), AI(table->shape[0]), AI(n));
}
