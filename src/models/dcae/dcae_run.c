/* DC-AE file-level encode/decode/reconstruct (see dcae_run.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/safetensors.h"
#include "models/dcae/dcae_run.h"
#include "ops/ops.h"

/* [0,1] host/any tensor -> new host tensor 2x-1 */
static hart_status to_pm1(const hart_tensor *img, hart_tensor *out) {
    if (img->ndim != 4 || img->dtype != HART_F32) {
        char sh[96];
        return hart_fail(HART_EINVAL, "DC-AE: image must be an F32 [B,C,H,W] tensor, got %s", hart_shape_str(img, sh, sizeof sh));
    }
    HART_TRY(hart_tensor_new(NULL, HART_F32, 4, img->shape, out));
    float *d = out->data;
    hart_status s = hart_tensor_read_f32(img, d);
    if (s) { hart_tensor_free(out); return s; }
    for (int64_t i = 0; i < hart_tensor_numel(out); i++) d[i] = 2.0f * d[i] - 1.0f;
    return HART_OK;
}

/* decoder output [-1,1]-ish -> new host tensor (clamp(x,-1,1)+1)/2 */
static hart_status to_01(const hart_tensor *dec, hart_tensor *out) {
    HART_TRY(hart_tensor_new(NULL, HART_F32, 4, dec->shape, out));
    float *d = out->data;
    hart_status s = hart_tensor_read_f32(dec, d);
    if (s) { hart_tensor_free(out); return s; }
    for (int64_t i = 0; i < hart_tensor_numel(out); i++) {
        float v = d[i];
        v = isnan(v) ? 0.0f : v < -1.0f ? -1.0f : v > 1.0f ? 1.0f : v;
        d[i] = (v + 1.0f) * 0.5f;
    }
    return HART_OK;
}

hart_status hart_dcae_encode_file(hart_dcae *m, const hart_tensor *image01, int scaled, const char *out_path) {
    const hart_dcae_info *in = hart_dcae_get_info(m);
    if (scaled && !in->has_scaling_factor)
        return hart_fail(HART_EINVAL, "--scaled: DC-AE model '%s' has no scaling factor in its config", in->name);
    hart_tensor x = {0}, lat = {0}, host = {0};
    HART_TRY(to_pm1(image01, &x));
    hart_status s = hart_dcae_encode(m, &x, &lat);
    hart_tensor_free(&x);
    if (!s && scaled) s = hart_dcae_scale_latent(m, &lat, 0);
    if (!s) s = hart_tensor_to(NULL, &lat, &host);
    hart_tensor_free(&lat);
    if (s) return s;
    float scale = scaled ? in->scaling_factor : 1.0f;
    hart_st_writer *w = hart_st_writer_new();
    if (!w) s = hart_fail(HART_ENOMEM, "out of memory");
    if (!s) s = hart_st_writer_add(w, "latent", &host);
    if (!s) s = hart_st_writer_add_raw(w, "latent_scale", HART_F32, 1, (int64_t[]){1}, &scale);
    if (!s) s = hart_st_writer_save(w, out_path);
    hart_st_writer_free(w);
    hart_tensor_free(&host);
    return s;
}

hart_status hart_dcae_decode_file(hart_dcae *m, const char *latent_path, const char *name, int tile, int overlap,
                                  hart_tensor *image01) {
    const hart_dcae_info *in = hart_dcae_get_info(m);
    hart_safetensors st;
    if (!name) name = "latent";
    HART_TRY(hart_st_open(latent_path, &st));
    hart_tensor lat, copy = {0}, dec = {0};
    hart_status s = hart_st_find(&st, name) ? hart_st_tensor(&st, name, &lat) : HART_EFORMAT;
    if (s) s = hart_fail(HART_EFORMAT, "%s: no '%s' tensor%s", latent_path, name,
                         strcmp(name, "latent") ? "" : " (not a latent file written by hart encode?)");
    if (!s && lat.dtype != HART_F32 && lat.dtype != HART_F16 && lat.dtype != HART_BF16)
        s = hart_fail(HART_EFORMAT, "%s: '%s' is %s, expected a float tensor", latent_path, name, hart_dtype_name(lat.dtype));
    float scale = 1.0f;
    if (!s && hart_st_find(&st, "latent_scale")) {
        hart_tensor sc;
        s = hart_st_tensor(&st, "latent_scale", &sc);
        if (!s && (sc.dtype != HART_F32 || hart_tensor_numel(&sc) != 1))
            s = hart_fail(HART_EFORMAT, "%s: 'latent_scale' must be one F32 value", latent_path);
        if (!s) scale = *(const float *)sc.data;
        if (!s && !(scale > 0) )
            s = hart_fail(HART_EFORMAT, "%s: 'latent_scale' must be positive", latent_path);
    }
    int dbl = !s && lat.ndim == 4 && in->enc_out_channels != in->latent_channels && lat.shape[1] == in->enc_out_channels;
    if (!s && (lat.ndim != 4 || (lat.shape[1] != in->latent_channels && !dbl) || lat.shape[0] < 1 || lat.shape[2] < 1 ||
               lat.shape[3] < 1)) {
        char sh[96];
        s = hart_fail(HART_EINVAL, "%s: '%s' has shape %s but model '%s' expects [B,%d,h,w]", latent_path, name,
                      hart_shape_str(&lat, sh, sizeof sh), in->name, in->latent_channels);
    }
    if (!s) s = hart_tensor_new(NULL, HART_F32, 4, lat.shape, &copy);
    if (!s) s = hart_tensor_read_f32(&lat, copy.data);
    if (!s && dbl) { /* keep the first latent_channels channels of each batch entry */
        int64_t B = copy.shape[0], hw = copy.shape[2] * copy.shape[3], C = copy.shape[1], c = in->latent_channels;
        float *d = copy.data;
        for (int64_t b = 1; b < B; b++) memmove(d + b * c * hw, d + b * C * hw, sizeof(float) * (size_t)(c * hw));
        copy.shape[1] = c;
    }
    hart_st_close(&st);
    if (!s && scale != 1.0f) s = hart_op_scale(&copy, &copy, 1.0f / scale, 0.0f);
    if (!s) {
        if (tile < 0) tile = hart_dcae_default_tile(m, (int)copy.shape[2], (int)copy.shape[3]);
        if (overlap < 0) overlap = tile / 4;
        s = hart_dcae_decode_tiled(m, &copy, tile, overlap, &dec);
    }
    hart_tensor_free(&copy);
    if (!s) s = to_01(&dec, image01);
    hart_tensor_free(&dec);
    return s;
}

hart_status hart_dcae_reconstruct(hart_dcae *m, const hart_tensor *image01, int tile, int overlap, hart_tensor *out01) {
    const hart_dcae_info *in = hart_dcae_get_info(m);
    hart_tensor x = {0}, lat = {0}, dec = {0};
    HART_TRY(to_pm1(image01, &x));
    hart_status s = hart_dcae_encode(m, &x, &lat);
    hart_tensor_free(&x);
    if (!s && in->enc_out_channels != in->latent_channels) {
        /* double latent: decode the first half of the channels */
        hart_tensor half = {0};
        int64_t sh[4] = {lat.shape[0], in->latent_channels, lat.shape[2], lat.shape[3]};
        s = hart_tensor_new(lat.be, HART_F32, 4, sh, &half);
        if (!s) s = hart_op_slice(&half, &lat, 1, 0);
        hart_tensor_free(&lat);
        lat = half;
    }
    if (!s) {
        if (tile < 0) tile = hart_dcae_default_tile(m, (int)lat.shape[2], (int)lat.shape[3]);
        if (overlap < 0) overlap = tile / 4;
        s = hart_dcae_decode_tiled(m, &lat, tile, overlap, &dec);
    }
    hart_tensor_free(&lat);
    if (!s) s = to_01(&dec, out01);
    hart_tensor_free(&dec);
    return s;
}
