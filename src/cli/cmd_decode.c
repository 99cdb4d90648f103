/* `hart decode latent.safetensors -m MODEL -o out.png`: latent -> image,
 * with the HART tokenizer or a DC-AE (optionally tiled). */
#include <stdio.h>
#include <string.h>

#include "cli/ae_model.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "core/safetensors.h"
#include "models/dcae/dcae_run.h"

/* Tried in this order when --tensor is not given. */
static const char *const default_names[] = {"gen.final_f_hat", "vae.enc.f", "vae.enc.f_hat_discrete"};

/* out.png -> out_<i>.png for batch entries */
static void indexed_path(const char *out, int i, char *buf, size_t n) {
    const char *slash = strrchr(out, '/'), *dot = strrchr(out, '.');
    if (!dot || (slash && dot < slash)) dot = out + strlen(out);
    snprintf(buf, n, "%.*s_%d%s", (int)(dot - out), out, i, dot);
}

/* DC-AE: latent file (hart encode's format) -> image(s) */
static int decode_dcae(const char *latent, const char *model, const char *device, const char *precision, const char *tname, int tile,
                       int overlap, const char *out) {
    cli_ae ae;
    if (cli_ae_open("decode", model, device, precision, &ae)) return 1;
    const hart_dcae_info *in = hart_dcae_get_info(ae.dcae);
    hart_tensor img = {0};
    int rc = 1;
    if (hart_dcae_decode_file(ae.dcae, latent, tname, tile, overlap, &img)) {
        fprintf(stderr, "hart decode: %s\n", hart_errmsg());
        goto done;
    }
    int lh = (int)img.shape[2] / in->ratio, lw = (int)img.shape[3] / in->ratio;
    int t = tile >= 0 ? tile : hart_dcae_default_tile(ae.dcae, lh, lw);
    char how[96];
    if (t > 0 && (t < lh || t < lw))
        snprintf(how, sizeof how, "tiled: %dx%d latent tiles, overlap %d", t, t, overlap >= 0 ? overlap : t / 4);
    else
        snprintf(how, sizeof how, "not tiled");
    for (int b = 0; b < (int)img.shape[0]; b++) {
        char path[4200];
        if (img.shape[0] == 1) snprintf(path, sizeof path, "%s", out);
        else indexed_path(out, b, path, sizeof path);
        if (cli_ae_write_image01("decode", path, &img, b)) goto done;
        printf("wrote %s (DC-AE %s, %s, %lldx%lld, %s)\n", path, in->name, tname ? tname : "latent",
               (long long)img.shape[3], (long long)img.shape[2], how);
    }
    rc = 0;
done:
    hart_tensor_free(&img);
    cli_ae_close(&ae);
    return rc;
}

int cmd_decode(int argc, char **argv) {
    const char *out = "out.png", *model = NULL, *device = NULL, *tname = NULL, *precision = NULL;
    int tile = -1, overlap = -1;
    const hart_opt opts[] = {HART_OPT_OUTPUT(&out, "out.png"), HART_OPT_MODEL(&model), HART_OPT_DEVICE(&device),
                             HART_OPT_PRECISION(&precision),
                             {"tensor", 0, HART_ARG_STR, &tname, "NAME",
                              "latent tensor to decode (HART default: gen.final_f_hat, else vae.enc.f, else "
                              "vae.enc.f_hat_discrete; DC-AE default: latent)",
                              NULL, 0, 0, NULL},
                             AE_TILE_OPTIONS(&tile, &overlap),
                             HART_OPT_END};
    const hart_cmd_spec spec = {
        "decode", "[options] LATENT.safetensors",
        "Decode a latent to PNG/JPEG with the HART tokenizer or a DC-AE (chosen by MODEL).\n"
        "HART tokenizer: decodes a latent [B,z,h,w] (post_quant_conv + decoder, clamped). "
        "By default the first present of gen.final_f_hat (a generation's final latent), vae.enc.f (an encoded image: "
        "discrete tokens + continuous residual, i.e. the hybrid reconstruction) and vae.enc.f_hat_discrete (tokens only) "
        "is decoded.\n"
        "DC-AE: decodes latent [B,C,h,w] as written by hart encode (divided by latent_scale when present) to "
        "[h*r, w*r] pixels; large latents are decoded in overlapping tiles (--tile) so that memory stays bounded "
        "(tiles see less of the image, so the result differs slightly from an untiled decode).\n"
        "A batch of B > 1 writes OUT_0.png ... OUT_{B-1}.png.",
        opts, 1, 1, 0};
    hart_args a;
    int rc = hart_args_parse(&spec, argc, argv, &a);
    if (rc >= 0) return rc;
    if (!model) return hart_args_usage_error(&spec, "--model is required");
    if (tile > 0 && overlap >= tile)
        return hart_args_usage_error(&spec, "--tile-overlap %d must be smaller than --tile %d", overlap, tile);
    if (hart_args_parse_only) return 0;
    if (cli_ae_is_dcae(model)) return decode_dcae(a.pos[0], model, device, precision, tname, tile, overlap, out);
    if (tile >= 0 || overlap >= 0)
        return hart_args_usage_error(&spec, "--tile/--tile-overlap apply to DC-AE models only (%s is not one)", model);

    hart_safetensors st;
    if (hart_st_open(a.pos[0], &st)) {
        fprintf(stderr, "hart decode: %s\n", hart_errmsg());
        return 1;
    }
    hart_tensor lat = {0}, f = {0}, img = {0};
    const char *used = NULL;
    rc = 1;
    if (tname) {
        if (hart_st_tensor(&st, tname, &lat) == HART_OK) used = tname;
    } else {
        for (size_t i = 0; i < sizeof default_names / sizeof default_names[0] && !used; i++)
            if (hart_st_find(&st, default_names[i]) && hart_st_tensor(&st, default_names[i], &lat) == HART_OK)
                used = default_names[i];
    }
    if (!used) {
        fprintf(stderr, "hart decode: %s has no tensor %s%s\n", a.pos[0], tname ? tname : "gen.final_f_hat, vae.enc.f or vae.enc.f_hat_discrete",
                tname ? "" : " (name one with --tensor)");
        hart_st_close(&st);
        return 1;
    }
    cli_ae ae;
    if (cli_ae_open("decode", model, device, precision, &ae)) { hart_st_close(&st); return 1; }
    const hart_vae_info *I = hart_vae_get_info(ae.hart);
    char shp[96];
    if (lat.ndim != 4 || lat.shape[1] != I->z_channels || lat.shape[0] < 1 ||
        (lat.dtype != HART_F32 && lat.dtype != HART_F16 && lat.dtype != HART_BF16)) {
        fprintf(stderr, "hart decode: %s: tensor %s is %s %s; expected a float latent [B,%d,h,w]\n", a.pos[0], used,
                hart_dtype_name(lat.dtype), hart_shape_str(&lat, shp, sizeof shp), I->z_channels);
        goto done;
    }
    int64_t ds = I->downsample;
    hart_status s = hart_tensor_new(NULL, HART_F32, 4, lat.shape, &f);
    if (!s) s = hart_tensor_read_f32(&lat, f.data);
    if (!s) s = hart_tensor_new4(NULL, HART_F32, &img, 4, lat.shape[0], 3, lat.shape[2] * ds, lat.shape[3] * ds);
    if (!s) s = hart_vae_decode(ae.hart, &f, &img);
    if (s) {
        fprintf(stderr, "hart decode: %s\n", hart_errmsg());
        goto done;
    }
    for (int b = 0; b < (int)lat.shape[0]; b++) {
        char path[4200];
        if (lat.shape[0] == 1) snprintf(path, sizeof path, "%s", out);
        else indexed_path(out, b, path, sizeof path);
        if (cli_ae_write_image("decode", path, &img, b)) goto done;
        printf("wrote %s (%s, %lldx%lld)\n", path, used, (long long)img.shape[3], (long long)img.shape[2]);
    }
    rc = 0;
done:
    hart_tensor_free(&f);
    hart_tensor_free(&img);
    cli_ae_close(&ae);
    hart_st_close(&st);
    return rc;
}
