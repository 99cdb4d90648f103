/* `hart reconstruct IMAGE -m vq_ds16_c2i.pt -o out.png`: the LlamaGen VQ
 * round trip (encoder, nearest l2-normalised codeword, decoder), as LPD's
 * tokenizer sees an image: input (x/255 − 0.5)/0.5, output (y + 1)/2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/lpd_cli.h"
#include "io/image.h"
#include "io/metrics.h"
#include "ops/ops.h"

int cli_is_file(const char *path) {
    struct stat sb;
    return path && stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

int reconstruct_vq(const char *image, const char *model, const char *device, const char *precision, const char *out) {
    hart_backend *be = NULL;
    hart_vq *vq = NULL;
    hart_image im = {0}, rec = {0};
    hart_tensor x = {0}, lat = {0}, idx = {0}, y = {0};
    char why[768];
    hart_precision prec;
    hart_status s = hart_precision_parse(precision, &prec);
    if (!s) s = hart_backend_open_prec(device, prec, &be, why, sizeof why);
    if (!s) s = hart_vq_load(be, model, NULL, &vq);
    if (!s) s = hart_image_read(image, &im);
    int ds = vq ? hart_vq_get_info(vq)->downsample : 1;
    if (!s && (im.width % ds || im.height % ds))
        s = hart_fail(HART_EINVAL, "%s: %dx%d is not a multiple of the VQ's downsampling factor %d (crop or pad first)", image,
                      im.width, im.height, ds);
    int64_t H = im.height, W = im.width, h = H / ds, w = W / ds;
    if (!s) s = hart_tensor_new4(NULL, HART_F32, &x, 4, 1, 3, H, W);
    if (!s) {
        float *px = x.data;
        for (int c = 0; c < 3; c++)
            for (int64_t i = 0; i < H * W; i++) px[c * H * W + i] = ((float)im.rgb[i * 3 + c] / 255.0f - 0.5f) / 0.5f;
    }
    if (!s) s = hart_tensor_new4(NULL, HART_F32, &lat, 4, 1, hart_vq_get_info(vq)->embed_dim, h, w);
    if (!s) s = hart_tensor_new4(NULL, HART_I64, &idx, 2, 1, h * w, 0, 0);
    if (!s) s = hart_tensor_new4(be, HART_F32, &y, 4, 1, 3, H, W);
    if (!s) s = hart_vq_encode(vq, &x, &lat);
    if (!s) s = hart_vq_quantize(vq, &lat, &idx);
    if (!s) s = hart_vq_decode_codes(vq, &idx, (int)h, (int)w, &y);
    if (!s) s = hart_op_scale(&y, &y, 0.5f, 0.5f);
    if (!s) s = hart_image_from_tensor(&y, 0, &rec);
    if (!s) s = hart_image_write(out, &rec, NULL, 0, 0);
    int rc = s ? 1 : 0;
    if (s) fprintf(stderr, "hart reconstruct: %s\n", hart_errmsg());
    else
        printf("wrote %s (%lldx%lld, LlamaGen VQ, %lld tokens)\nPSNR %.2f dB  SSIM %.4f\n", out, (long long)W, (long long)H,
               (long long)(h * w), hart_psnr_u8(im.rgb, rec.rgb, (size_t)(W * H * 3)), hart_ssim_rgb8(im.rgb, rec.rgb, (int)W, (int)H));
    hart_tensor_free(&x); hart_tensor_free(&lat); hart_tensor_free(&idx); hart_tensor_free(&y);
    hart_image_free(&im);
    hart_image_free(&rec);
    hart_vq_free(vq);
    if (be) hart_backend_close(be);
    return rc;
}
