/* `hart reconstruct IMAGE -m MODEL -o out.png`: encode + decode with the
 * HART tokenizer or a DC-AE, print PSNR / SSIM against the input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ae_model.h"
#include "cli/lpd_cli.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "io/metrics.h"
#include "models/dcae/dcae_run.h"

static void print_metrics(const char *out, const unsigned char *ra, const unsigned char *rb, int W, int H,
                          const char *what) {
    double psnr = hart_psnr_u8(ra, rb, (size_t)W * H * 3), ssim = hart_ssim_rgb8(ra, rb, W, H);
    printf("wrote %s (%dx%d, %s)\nPSNR %.2f dB  SSIM %.4f\n", out, W, H, what, psnr, ssim);
}

static int reconstruct_dcae(const char *image, const char *model, const char *device, const char *precision, int tile, int overlap,
                            const char *out) {
    cli_ae ae;
    if (cli_ae_open("reconstruct", model, device, precision, &ae)) return 1;
    const hart_dcae_info *in = hart_dcae_get_info(ae.dcae);
    hart_tensor x = {0}, y = {0};
    unsigned char *ra = NULL, *rb = NULL;
    int rc = 1;
    if (cli_ae_read_image01("reconstruct", &ae, image, &x)) goto done;
    if (hart_dcae_reconstruct(ae.dcae, &x, tile, overlap, &y)) {
        fprintf(stderr, "hart reconstruct: %s\n", hart_errmsg());
        goto done;
    }
    if (cli_ae_write_image01("reconstruct", out, &y, 0)) goto done;
    ra = cli_ae_to_rgb8_01(&x, 0);
    rb = cli_ae_to_rgb8_01(&y, 0);
    if (!ra || !rb) {
        fprintf(stderr, "hart reconstruct: out of memory\n");
        goto done;
    }
    int W = (int)x.shape[3], H = (int)x.shape[2], lh = H / in->ratio, lw = W / in->ratio;
    int t = tile >= 0 ? tile : hart_dcae_default_tile(ae.dcae, lh, lw);
    char what[256];
    if (t > 0 && (t < lh || t < lw))
        snprintf(what, sizeof what, "DC-AE %s, tiled decode: %dx%d latent tiles, overlap %d", in->name, t, t,
                 overlap >= 0 ? overlap : t / 4);
    else
        snprintf(what, sizeof what, "DC-AE %s", in->name);
    print_metrics(out, ra, rb, W, H, what);
    rc = 0;
done:
    free(ra);
    free(rb);
    hart_tensor_free(&x);
    hart_tensor_free(&y);
    cli_ae_close(&ae);
    return rc;
}

int cmd_reconstruct(int argc, char **argv) {
    const char *out = "out.png", *model = NULL, *device = NULL, *mode = "hybrid", *precision = NULL;
    int tile = -1, overlap = -1;
    const hart_opt opts[] = {HART_OPT_OUTPUT(&out, "out.png"), HART_OPT_MODEL(&model), HART_OPT_DEVICE(&device),
                             HART_OPT_PRECISION(&precision),
                             {"mode", 0, HART_ARG_CHOICE, &mode, "MODE",
                              "HART tokenizer only: hybrid: decode the encoder's latent (discrete tokens + continuous "
                              "residual); discrete: decode the tokens only (needs the native image size)",
                              "hybrid", 0, 0, "hybrid|discrete"},
                             AE_TILE_OPTIONS(&tile, &overlap),
                             HART_OPT_END};
    const hart_cmd_spec spec = {
        "reconstruct", "[options] IMAGE",
        "Encode IMAGE with the HART tokenizer, a DC-AE (folders) or a LlamaGen VQ (a .pt/.pth file) and decode it again; writes the "
        "reconstruction and prints PSNR (dB) and SSIM against the input (8-bit RGB). HART hybrid mode takes any size "
        "that is a multiple of the downsampling factor; a DC-AE any size that is a multiple of its compression ratio "
        "(32, 64 or 128; other sizes are an error: crop or pad first).",
        opts, 1, 1, 0};
    hart_args a;
    int rc = hart_args_parse(&spec, argc, argv, &a);
    if (rc >= 0) return rc;
    if (!model) return hart_args_usage_error(&spec, "--model is required");
    if (tile > 0 && overlap >= tile)
        return hart_args_usage_error(&spec, "--tile-overlap %d must be smaller than --tile %d", overlap, tile);
    if (cli_is_file(model)) { /* a LlamaGen VQ checkpoint (.pt/.pth/.safetensors) */
        if (hart_args_given(&spec, &a, "mode") || tile >= 0 || overlap >= 0)
            return hart_args_usage_error(&spec, "--mode/--tile apply to the HART tokenizer / DC-AE folders, not a VQ file");
        if (hart_args_parse_only) return 0;
        return reconstruct_vq(a.pos[0], model, device, precision, out);
    }
    if (hart_args_parse_only) return 0;
    if (cli_ae_is_dcae(model)) {
        if (hart_args_given(&spec, &a, "mode"))
            return hart_args_usage_error(&spec, "--mode applies to the HART tokenizer only (%s is a DC-AE)", model);
        return reconstruct_dcae(a.pos[0], model, device, precision, tile, overlap, out);
    }
    if (tile >= 0 || overlap >= 0)
        return hart_args_usage_error(&spec, "--tile/--tile-overlap apply to DC-AE models only (%s is not one)", model);
    int discrete = !strcmp(mode, "discrete");

    cli_ae ae;
    if (cli_ae_open("reconstruct", model, device, precision, &ae)) return 1;
    const hart_vae_info *I = hart_vae_get_info(ae.hart);
    hart_tensor x = {0}, f = {0}, fh = {0}, y = {0}, idx[HART_MAX_SCALES];
    memset(idx, 0, sizeof idx);
    unsigned char *ra = NULL, *rb = NULL;
    rc = 1;
    if (cli_ae_read_image("reconstruct", &ae, a.pos[0], discrete, &x)) goto done;
    int64_t ds = I->downsample, h = x.shape[2] / ds, w = x.shape[3] / ds, z = I->z_channels;
    hart_status s = hart_tensor_new4(NULL, HART_F32, &f, 4, 1, z, h, w);
    if (!s) s = hart_tensor_new4(NULL, HART_F32, &y, 4, 1, 3, x.shape[2], x.shape[3]);
    if (!s) s = hart_vae_encode(ae.hart, &x, &f);
    if (!s && discrete) {
        s = hart_tensor_new4(NULL, HART_F32, &fh, 4, 1, z, h, w);
        for (int k = 0; k < I->n_scales && !s; k++)
            s = hart_tensor_new4(NULL, HART_I64, &idx[k], 2, 1, (int64_t)I->patch_nums[k] * I->patch_nums[k], 0, 0);
        if (!s) s = hart_vae_quantize(ae.hart, &f, idx, NULL, &fh);
    }
    if (!s) s = hart_vae_decode(ae.hart, discrete ? &fh : &f, &y);
    if (s) {
        fprintf(stderr, "hart reconstruct: %s\n", hart_errmsg());
        goto done;
    }
    if (cli_ae_write_image("reconstruct", out, &y, 0)) goto done;
    ra = cli_ae_to_rgb8(&x, 0);
    rb = cli_ae_to_rgb8(&y, 0);
    if (!ra || !rb) {
        fprintf(stderr, "hart reconstruct: out of memory\n");
        goto done;
    }
    print_metrics(out, ra, rb, (int)x.shape[3], (int)x.shape[2], mode);
    rc = 0;
done:
    free(ra);
    free(rb);
    hart_tensor_free(&x); hart_tensor_free(&f); hart_tensor_free(&fh); hart_tensor_free(&y);
    for (int k = 0; k < HART_MAX_SCALES; k++) hart_tensor_free(&idx[k]);
    cli_ae_close(&ae);
    return rc;
}
