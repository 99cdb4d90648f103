/* DC-AE public API: load (config + weights), encode, decode, tiled decode,
 * latent scaling. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "models/dcae/dcae_internal.h"
#include "ops/ops.h"

static int net_ratio(const dcae_net *n, int enc) {
    int r = 1;
    for (int i = 0; i < n->n; i++) {
        const dcae_layer *l = &n->layers[i];
        if (l->is_block) continue;
        dcae_samp_t k = l->smp.kind;
        if (enc ? (k == DS_CONV_S2 || k == DS_CONV_UNSHUF) : (k == DS_CONV_SHUF || k == DS_INTERP_CONV)) r *= 2;
    }
    return r;
}

static int enc_ratio(const hart_dcae *m) { return net_ratio(&m->enc, 1); }

static void fill_info(hart_dcae *m);

hart_status hart_dcae_load(hart_backend *be, const char *dir, hart_dcae **out) {
    *out = NULL;
    if (!be) be = hart_backend_cpu();
    hart_dcae *m = calloc(1, sizeof *m);
    if (!m) return hart_fail(HART_ENOMEM, "out of memory");
    m->be = be;
    hart_status s = hart_dcae_cfg_from_dir(dir, &m->cfg);
    hart_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    if (!s) s = hart_ckpt_open(dir, NULL, NULL, &ck);
    if (!s) {
        /* the weights decide the naming: original (project_in) or diffusers (conv_in) */
        int orig = hart_ckpt_has(&ck, "decoder.project_in.conv.weight") ||
                   hart_ckpt_has(&ck, "decoder.project_in.main.conv.weight");
        int dif = hart_ckpt_has(&ck, "decoder.conv_in.weight");
        if (orig == dif)
            s = hart_fail(HART_EMISMATCH, "%s: cannot tell the weight layout (expected decoder.project_in.* "
                          "(efficientvit) or decoder.conv_in.* (diffusers) tensors)", dir);
        else
            m->cfg.diffusers = dif;
    }
    if (!s) s = hart_dcae_build(be, &ck, &m->cfg, &m->enc, &m->dec, 0);
    hart_ckpt_close(&ck);
    if (s) {
        hart_fail_ctx(s, "loading DC-AE from %s", dir);
        free(m);
        return s;
    }
    fill_info(m);
    *out = m;
    return HART_OK;
}

hart_status hart_dcae_create_random(hart_backend *be, const char *config, uint64_t seed, hart_dcae **out) {
    *out = NULL;
    if (!be) be = hart_backend_cpu();
    char path[4200];
    struct stat sb;
    if (stat(config, &sb) == 0) snprintf(path, sizeof path, "%s", config);
    else HART_TRY(hart_dcae_find_config(config, path, sizeof path));
    cJSON *j = NULL;
    HART_TRY(hart_json_load(path, &j));
    hart_dcae *m = calloc(1, sizeof *m);
    hart_status s = m ? HART_OK : hart_fail(HART_ENOMEM, "out of memory");
    if (!s) {
        const cJSON *cls = cJSON_GetObjectItemCaseSensitive(j, "_class_name");
        s = cJSON_IsString(cls) ? hart_dcae_cfg_parse_diffusers(j, path, &m->cfg) : hart_dcae_cfg_parse_original(j, path, &m->cfg);
    }
    cJSON_Delete(j);
    if (!s) {
        m->be = be;
        m->cfg.diffusers = 0;
        s = hart_dcae_build(be, NULL, &m->cfg, &m->enc, &m->dec, seed);
    }
    if (s) { free(m); return s; }
    fill_info(m);
    *out = m;
    return HART_OK;
}

static void fill_info(hart_dcae *m) {
    hart_dcae_info *in = &m->info;
    snprintf(in->name, sizeof in->name, "%s", m->cfg.name);
    in->in_channels = m->cfg.in_channels;
    in->latent_channels = m->cfg.dec.latent_channels;
    in->enc_out_channels = m->cfg.enc.double_latent ? 2 * m->cfg.enc.latent_channels : m->cfg.enc.latent_channels;
    in->ratio = net_ratio(&m->dec, 0);
    in->has_scaling_factor = m->cfg.has_scaling_factor;
    in->scaling_factor = (float)m->cfg.scaling_factor;
    in->diffusers = m->cfg.diffusers;
}

void hart_dcae_free(hart_dcae *m) {
    if (!m) return;
    hart_dcae_net_free(&m->enc);
    hart_dcae_net_free(&m->dec);
    free(m);
}

const hart_dcae_info *hart_dcae_get_info(const hart_dcae *m) { return &m->info; }

static hart_status run_net(hart_dcae *m, const dcae_net *n, const hart_tensor *x, hart_tensor *out) {
    hart_tensor xb;
    HART_TRY(hart_tensor_to(m->be, x, &xb));
    if (xb.dtype != HART_F32) {
        hart_tensor_free(&xb);
        return hart_fail(HART_EINVAL, "DC-AE input must be F32");
    }
    hart_status s = hart_dcae_net_forward(m->be, n, &xb, out);
    hart_tensor_free(&xb);
    return s;
}

hart_status hart_dcae_encode(hart_dcae *m, const hart_tensor *image, hart_tensor *latent) {
    char sh[96];
    int r = enc_ratio(m);
    if (image->ndim != 4 || image->shape[1] != m->cfg.enc.in_channels)
        return hart_fail(HART_EINVAL, "DC-AE encode: image must be [B,%d,H,W], got %s", m->cfg.enc.in_channels,
                         hart_shape_str(image, sh, sizeof sh));
    if (image->shape[2] % r || image->shape[3] % r || image->shape[2] < r || image->shape[3] < r)
        return hart_fail(HART_EINVAL, "DC-AE encode: image size %lldx%lld is not a multiple of the compression ratio %d",
                         (long long)image->shape[3], (long long)image->shape[2], r);
    return run_net(m, &m->enc, image, latent);
}

hart_status hart_dcae_decode(hart_dcae *m, const hart_tensor *latent, hart_tensor *image) {
    char sh[96];
    if (latent->ndim != 4 || latent->shape[1] != m->cfg.dec.latent_channels || latent->shape[2] < 1 || latent->shape[3] < 1)
        return hart_fail(HART_EINVAL, "DC-AE decode: latent must be [B,%d,h,w], got %s", m->cfg.dec.latent_channels,
                         hart_shape_str(latent, sh, sizeof sh));
    return run_net(m, &m->dec, latent, image);
}

hart_status hart_dcae_scale_latent(const hart_dcae *m, hart_tensor *x, int inverse) {
    float f = (float)m->cfg.scaling_factor;
    return hart_op_scale(x, x, inverse ? 1.0f / f : f, 0.0f);
}

/* rough peak activation bytes per latent pixel of the decoder */
static double dec_bytes_per_latent_px(const hart_dcae *m) {
    const dcae_side_cfg *c = &m->cfg.dec;
    double mx = 0;
    int n = c->n_stages;
    for (int s = 0; s < n; s++) {
        if (c->depth[s] == 0) continue; /* stage skipped (e.g. stage 0 of the released models) */
        double area = pow(4.0, n - 1 - s);
        double w = c->width[s];
        for (int k = 0; k < c->depth[s]; k++)
            if (c->block[s][k] == DB_EVIT) w = fmax(w, 8.0 * c->width[s] / 3.0); /* GLU expansion, fewer live tensors */
        mx = fmax(mx, w * area);
    }
    return mx * 4.0 /* bytes */ * 6.0 /* live tensors + conv workspace */;
}

int hart_dcae_default_tile(const hart_dcae *m, int lat_h, int lat_w) {
    const double budget = 2.0e9; /* leaves room for weights and the output under 4 GB */
    double per = dec_bytes_per_latent_px(m);
    if ((double)lat_h * lat_w * per <= budget) return 0;
    int t = (int)floor(sqrt(budget / per));
    return t < 4 ? 4 : t;
}

/* 1-D blend weight of position p (0-based, in pixels) inside a tile
 * [0, len) whose neighbours overlap by `ov` pixels on the flagged sides */
static float ramp(int64_t p, int64_t len, int64_t ov, int lo_nb, int hi_nb) {
    float w = 1.0f;
    if (ov <= 0) return w;
    if (lo_nb) w = fminf(w, ((float)p + 0.5f) / (float)ov);
    if (hi_nb) w = fminf(w, ((float)(len - p) - 0.5f) / (float)ov);
    return w;
}

static int tile_starts(int64_t n, int tile, int stride, int64_t *st, int max) {
    int c = 0;
    if (n <= tile) { st[c++] = 0; return c; }
    for (int64_t p = 0;; p += stride) {
        if (p + tile >= n) { st[c++] = n - tile; break; }
        st[c++] = p;
        if (c >= max) return -1;
    }
    return c;
}

hart_status hart_dcae_decode_tiled(hart_dcae *m, const hart_tensor *latent, int tile, int overlap, hart_tensor *image) {
    char sh[96];
    if (latent->ndim != 4 || latent->shape[1] != m->cfg.dec.latent_channels)
        return hart_fail(HART_EINVAL, "DC-AE decode: latent must be [B,%d,h,w], got %s", m->cfg.dec.latent_channels,
                         hart_shape_str(latent, sh, sizeof sh));
    int64_t B = latent->shape[0], C = latent->shape[1], h = latent->shape[2], w = latent->shape[3];
    if (tile <= 0 || (h <= tile && w <= tile)) return hart_dcae_decode(m, latent, image);
    if (overlap < 0 || overlap >= tile)
        return hart_fail(HART_EINVAL, "DC-AE tiled decode: overlap %d must be in [0, tile %d)", overlap, tile);
    int r = m->info.ratio, oc = m->cfg.in_channels;
    int64_t ys[4096], xs[4096];
    int ny = tile_starts(h, tile, tile - overlap, ys, 4096), nx = tile_starts(w, tile, tile - overlap, xs, 4096);
    if (ny < 0 || nx < 0) return hart_fail(HART_EINVAL, "DC-AE tiled decode: too many tiles (tile %d)", tile);
    int64_t H = h * r, W = w * r;
    size_t npix = (size_t)(B * oc * H * W);
    float *acc = calloc(npix, sizeof(float)), *wsum = calloc((size_t)(H * W), sizeof(float));
    float *lat = malloc(sizeof(float) * (size_t)(B * C * h * w));
    hart_status s = HART_OK;
    if (!acc || !wsum || !lat) s = hart_fail(HART_ENOMEM, "out of memory for a %lldx%lld image", (long long)W, (long long)H);
    if (!s) s = hart_tensor_read_f32(latent, lat);
    for (int iy = 0; iy < ny && !s; iy++)
        for (int ix = 0; ix < nx && !s; ix++) {
            int64_t th = h < tile ? h : tile, tw = w < tile ? w : tile, y0 = ys[iy], x0 = xs[ix];
            float *tl = malloc(sizeof(float) * (size_t)(B * C * th * tw));
            if (!tl) { s = hart_fail(HART_ENOMEM, "out of memory"); break; }
            for (int64_t b = 0; b < B; b++)
                for (int64_t c = 0; c < C; c++)
                    for (int64_t y = 0; y < th; y++)
                        memcpy(tl + ((b * C + c) * th + y) * tw, lat + ((b * C + c) * h + y0 + y) * w + x0,
                               sizeof(float) * (size_t)tw);
            hart_tensor tin = hart_tensor_wrap(tl, HART_F32, 4, (int64_t[]){B, C, th, tw}), tout = {0};
            s = hart_dcae_decode(m, &tin, &tout);
            free(tl);
            if (s) break;
            int64_t TH = th * r, TW = tw * r;
            float *o = malloc(sizeof(float) * (size_t)(B * oc * TH * TW));
            if (!o) s = hart_fail(HART_ENOMEM, "out of memory");
            if (!s) s = hart_tensor_read_f32(&tout, o);
            hart_tensor_free(&tout);
            /* overlap in pixels with the actual neighbours (last tiles are shifted back) */
            int64_t ovt = iy > 0 ? (ys[iy - 1] + th - y0) * r : 0, ovb = iy + 1 < ny ? (y0 + th - ys[iy + 1]) * r : 0;
            int64_t ovl = ix > 0 ? (xs[ix - 1] + tw - x0) * r : 0, ovr = ix + 1 < nx ? (x0 + tw - xs[ix + 1]) * r : 0;
            for (int64_t y = 0; y < TH && !s; y++) {
                float wy = fminf(ovt > 0 ? ramp(y, TH, ovt, 1, 0) : 1.0f, ovb > 0 ? ramp(y, TH, ovb, 0, 1) : 1.0f);
                for (int64_t x = 0; x < TW; x++) {
                    float wx = fminf(ovl > 0 ? ramp(x, TW, ovl, 1, 0) : 1.0f, ovr > 0 ? ramp(x, TW, ovr, 0, 1) : 1.0f);
                    float wt = wy * wx;
                    int64_t gy = y0 * r + y, gx = x0 * r + x;
                    wsum[gy * W + gx] += wt;
                    for (int64_t b = 0; b < B; b++)
                        for (int c = 0; c < oc; c++)
                            acc[((b * oc + c) * H + gy) * W + gx] += wt * o[((b * oc + c) * TH + y) * TW + x];
                }
            }
            free(o);
        }
    if (!s) {
        for (int64_t b = 0; b < B; b++)
            for (int c = 0; c < oc; c++)
                for (int64_t p = 0; p < H * W; p++) acc[(b * oc + c) * H * W + p] /= wsum[p];
        hart_tensor hostimg = hart_tensor_wrap(acc, HART_F32, 4, (int64_t[]){B, oc, H, W});
        s = hart_tensor_to(m->be, &hostimg, image);
    }
    free(acc);
    free(wsum);
    free(lat);
    return s;
}
