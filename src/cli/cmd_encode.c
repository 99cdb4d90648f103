/* `hart encode IMAGE -m MODEL -o latent.safetensors`: image -> HART
 * tokenizer latent f, per-scale token indices, continuous residual and the
 * discrete f_hat, written under the golden set's names (vae.enc.*); or, for
 * a DC-AE model, the DC-AE latent (models/dcae/dcae_run.h file format). */
#include <stdio.h>
#include <string.h>

#include "cli/ae_model.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "core/safetensors.h"
#include "models/dcae/dcae_run.h"

/* DC-AE: image -> "latent" [1,C,H/r,W/r] (+ "latent_scale") */
static int encode_dcae(const char *image, const char *model, const char *device, const char *precision, int scaled, const char *out) {
    cli_ae ae;
    if (cli_ae_open("encode", model, device, precision, &ae)) return 1;
    const hart_dcae_info *in = hart_dcae_get_info(ae.dcae);
    hart_tensor x = {0};
    int rc = 1;
    if (cli_ae_read_image01("encode", &ae, image, &x)) goto done;
    if (hart_dcae_encode_file(ae.dcae, &x, scaled, out)) {
        fprintf(stderr, "hart encode: %s\n", hart_errmsg());
        goto done;
    }
    printf("wrote %s: DC-AE %s latent %dx%dx%d (ratio %d), latent_scale %g\n", out, in->name, in->enc_out_channels,
           (int)x.shape[2] / in->ratio, (int)x.shape[3] / in->ratio, in->ratio, scaled ? in->scaling_factor : 1.0);
    rc = 0;
done:
    hart_tensor_free(&x);
    cli_ae_close(&ae);
    return rc;
}

int cmd_encode(int argc, char **argv) {
    const char *out = "latent.safetensors", *model = NULL, *device = NULL, *precision = NULL;
    int scaled = 0;
    const hart_opt opts[] = {HART_OPT_OUTPUT(&out, "latent.safetensors"), HART_OPT_MODEL(&model),
                             HART_OPT_DEVICE(&device), HART_OPT_PRECISION(&precision),
                             {"scaled", 0, HART_ARG_FLAG, &scaled, NULL,
                              "DC-AE only: multiply the latent by the model's scaling_factor (as diffusion models "
                              "consume it); stored as latent_scale, undone by hart decode",
                              NULL, 0, 0, NULL},
                             HART_OPT_END};
    const hart_cmd_spec spec = {
        "encode", "[options] IMAGE",
        "Encode a PNG/JPEG image with the HART tokenizer or a DC-AE.\n"
        "HART tokenizer: MODEL is a release folder (with tokenizer/) or the "
        "tokenizer folder. The image must have the model's native size (latent side x downsampling, e.g. 1024x1024). "
        "Writes safetensors: vae.enc.f [1,z,h,w] (encoder + quant_conv), vae.enc.idx.K [1,pn_K^2] (I64 token indices "
        "per scale), vae.enc.residual [1,h*w,z] (what the last scale's tokens + continuous residual represent) and "
        "vae.enc.f_hat_discrete [1,z,h,w] (tokens only).\n"
        "DC-AE: MODEL is a DC-AE folder (efficientvit layout: model.safetensors + dcae_config.json, or config.json "
        "naming a released dc-ae-* model; or a diffusers AutoencoderDC folder). Both image sides must be multiples "
        "of the compression ratio (32, 64 or 128); other sizes are an error (crop or pad first). Writes latent "
        "[1,C,H/r,W/r] (F32, unscaled unless --scaled) and latent_scale [1].",
        opts, 1, 1, 0};
    hart_args a;
    int rc = hart_args_parse(&spec, argc, argv, &a);
    if (rc >= 0) return rc;
    if (!model) return hart_args_usage_error(&spec, "--model is required");
    if (hart_args_parse_only) return 0;
    if (cli_ae_is_dcae(model)) return encode_dcae(a.pos[0], model, device, precision, scaled, out);
    if (scaled) return hart_args_usage_error(&spec, "--scaled applies to DC-AE models only (%s is not one)", model);

    cli_ae ae;
    if (cli_ae_open("encode", model, device, precision, &ae)) return 1;
    const hart_vae_info *I = hart_vae_get_info(ae.hart);
    hart_tensor x = {0}, f = {0}, res = {0}, fh = {0}, idx[HART_MAX_SCALES];
    memset(idx, 0, sizeof idx);
    hart_st_writer *w = NULL;
    rc = 1;
    if (cli_ae_read_image("encode", &ae, a.pos[0], 1, &x)) goto done;
    int64_t hw = I->latent_hw, z = I->z_channels;
    hart_status s = hart_tensor_new4(NULL, HART_F32, &f, 4, 1, z, hw, hw);
    if (!s) s = hart_tensor_new4(NULL, HART_F32, &res, 3, 1, hw * hw, z, 0);
    if (!s) s = hart_tensor_new4(NULL, HART_F32, &fh, 4, 1, z, hw, hw);
    for (int k = 0; k < I->n_scales && !s; k++)
        s = hart_tensor_new4(NULL, HART_I64, &idx[k], 2, 1, (int64_t)I->patch_nums[k] * I->patch_nums[k], 0, 0);
    if (!s) s = hart_vae_encode(ae.hart, &x, &f);
    if (!s) s = hart_vae_quantize(ae.hart, &f, idx, &res, &fh);
    if (!s && !(w = hart_st_writer_new())) s = hart_fail(HART_ENOMEM, "out of memory");
    if (!s) s = hart_st_writer_add(w, "vae.enc.f", &f);
    for (int k = 0; k < I->n_scales && !s; k++) {
        char nm[64];
        snprintf(nm, sizeof nm, "vae.enc.idx.%d", k);
        s = hart_st_writer_add(w, nm, &idx[k]);
    }
    if (!s) s = hart_st_writer_add(w, "vae.enc.residual", &res);
    if (!s) s = hart_st_writer_add(w, "vae.enc.f_hat_discrete", &fh);
    if (!s) s = hart_st_writer_save(w, out);
    if (s) {
        fprintf(stderr, "hart encode: %s\n", hart_errmsg());
        goto done;
    }
    printf("wrote %s: latent %dx%dx%d, %d scales of tokens (", out, I->z_channels, I->latent_hw, I->latent_hw, I->n_scales);
    for (int k = 0; k < I->n_scales; k++) printf("%s%d", k ? "," : "", I->patch_nums[k]);
    printf(")\n");
    rc = 0;
done:
    hart_st_writer_free(w);
    hart_tensor_free(&x); hart_tensor_free(&f); hart_tensor_free(&res); hart_tensor_free(&fh);
    for (int k = 0; k < HART_MAX_SCALES; k++) hart_tensor_free(&idx[k]);
    cli_ae_close(&ae);
    return rc;
}
