/* Autoencoder selection for the encode / decode / reconstruct commands. */
#include "cli/ae_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/checkpoint.h"
#include "io/image.h"

static int is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int is_file(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Open the backend of `device` and load ae->dir as ae->kind; 1 on error
 * (message printed, nothing left open). */
static int open_and_load(cli_ae *ae, const char *cmd, const char *device, const char *precision) {
    char why[768] = "";
    hart_precision prec;
    if (hart_precision_parse(precision, &prec) || hart_backend_open_prec(device, prec, &ae->be, why, sizeof why)) {
        fprintf(stderr, "hart %s: %s\n", cmd, hart_errmsg());
        return 1;
    }
    hart_status s = ae->kind == CLI_AE_DCAE ? hart_dcae_load(ae->be, ae->dir, &ae->dcae)
                                            : hart_vae_load(ae->be, ae->dir, &ae->hart);
    if (s) {
        fprintf(stderr, "hart %s: %s\n", cmd, hart_errmsg());
        hart_backend_close(ae->be);
        ae->be = NULL;
        return 1;
    }
    return 0;
}

int cli_ae_open(const char *cmd, const char *model, const char *device, const char *precision, cli_ae *ae) {
    memset(ae, 0, sizeof *ae);
    if (!model || !*model) {
        fprintf(stderr, "hart %s: no model given (use -m DIR: a release folder with tokenizer/, the tokenizer folder, "
                "or a DC-AE folder)\n", cmd);
        return 1;
    }
    if (!is_dir(model)) {
        fprintf(stderr, "hart %s: model folder '%s' does not exist or is not a folder\n", cmd, model);
        return 1;
    }
    if (hart_dcae_detect(model)) {
        snprintf(ae->dir, sizeof ae->dir, "%s", model);
        ae->kind = CLI_AE_DCAE;
        return open_and_load(ae, cmd, device, precision);
    }
    /* a release folder holds tokenizer/; otherwise the folder itself */
    char sub[4096], cfgp[4200];
    snprintf(sub, sizeof sub, "%s/tokenizer", model);
    snprintf(cfgp, sizeof cfgp, "%s/config.json", sub);
    if (is_dir(sub) && is_file(cfgp)) snprintf(ae->dir, sizeof ae->dir, "%s", sub);
    else snprintf(ae->dir, sizeof ae->dir, "%s", model);
    snprintf(cfgp, sizeof cfgp, "%s/config.json", ae->dir);
    if (!is_file(cfgp)) {
        fprintf(stderr, "hart %s: %s has no config.json (expected a release folder with tokenizer/, a tokenizer folder, "
                "or a DC-AE folder)\n",
                cmd, model);
        return 1;
    }
    cJSON *cfg = NULL;
    if (hart_json_load(cfgp, &cfg)) {
        fprintf(stderr, "hart %s: %s\n", cmd, hart_errmsg());
        return 1;
    }
    const char *mt = NULL;
    hart_cfg_str_or(cfg, "model_type", "", &mt);
    int hart_kind = !strcmp(mt, "hart_autoencoder") || !strcmp(mt, "hart_autoencoder_with_disc");
    if (!hart_kind) {
        fprintf(stderr, "hart %s: %s: model_type '%s' is not an autoencoder this build can run (hart_autoencoder*, "
                "or a DC-AE: dcae_config.json, model_name dc-ae-*, _class_name AutoencoderDC)\n", cmd,
                cfgp, mt);
        cJSON_Delete(cfg);
        return 1;
    }
    cJSON_Delete(cfg);
    ae->kind = CLI_AE_HART;
    return open_and_load(ae, cmd, device, precision);
}

void cli_ae_close(cli_ae *ae) {
    if (!ae) return;
    hart_vae_free(ae->hart);
    hart_dcae_free(ae->dcae);
    if (ae->be) hart_backend_close(ae->be);
    memset(ae, 0, sizeof *ae);
}

int cli_ae_is_dcae(const char *model) { return model && is_dir(model) && hart_dcae_detect(model); }

int cli_ae_downsample(const cli_ae *ae) {
    if (ae->kind == CLI_AE_DCAE) return hart_dcae_get_info(ae->dcae)->ratio;
    return hart_vae_get_info(ae->hart)->downsample;
}

int cli_ae_native_side(const cli_ae *ae) {
    if (ae->kind == CLI_AE_DCAE) return 0;
    const hart_vae_info *I = hart_vae_get_info(ae->hart);
    return I->latent_hw * I->downsample;
}

static int read_image(const char *cmd, const cli_ae *ae, const char *path, int need_native, int pm1, hart_tensor *x) {
    hart_image img;
    memset(x, 0, sizeof *x);
    if (hart_image_read(path, &img)) {
        fprintf(stderr, "hart %s: %s\n", cmd, hart_errmsg());
        return 1;
    }
    int ds = cli_ae_downsample(ae), side = cli_ae_native_side(ae);
    if (need_native && (img.width != side || img.height != side)) {
        fprintf(stderr, "hart %s: %s is %dx%d but this model's quantizer takes exactly %dx%d images "
                "(latent %dx%d, downsampling %d)\n", cmd, path, img.width, img.height, side, side, side / ds, side / ds, ds);
        hart_image_free(&img);
        return 1;
    }
    if (img.width % ds || img.height % ds) {
        fprintf(stderr, "hart %s: %s is %dx%d; both sides must be multiples of the model's %s %d "
                "(crop or pad the image, e.g. to %dx%d)\n", cmd, path, img.width, img.height,
                ae->kind == CLI_AE_DCAE ? "compression ratio" : "downsampling factor", ds,
                img.width / ds > 0 ? img.width / ds * ds : ds, img.height / ds > 0 ? img.height / ds * ds : ds);
        hart_image_free(&img);
        return 1;
    }
    hart_status s = hart_image_to_tensor(&img, x);
    hart_image_free(&img);
    if (s) {
        fprintf(stderr, "hart %s: %s\n", cmd, hart_errmsg());
        return 1;
    }
    float *p = x->data;
    if (pm1)
        for (int64_t i = 0; i < hart_tensor_numel(x); i++) p[i] = 2.0f * p[i] - 1.0f;
    return 0;
}

int cli_ae_read_image(const char *cmd, const cli_ae *ae, const char *path, int need_native, hart_tensor *x) {
    return read_image(cmd, ae, path, need_native, 1, x);
}

int cli_ae_read_image01(const char *cmd, const cli_ae *ae, const char *path, hart_tensor *x) {
    return read_image(cmd, ae, path, 0, 0, x);
}

static hart_status to01(const hart_tensor *x, hart_tensor *y) {
    HART_TRY(hart_tensor_new(NULL, HART_F32, x->ndim, x->shape, y));
    hart_status s = hart_tensor_read_f32(x, y->data);
    if (s) { hart_tensor_free(y); return s; }
    float *p = y->data;
    for (int64_t i = 0; i < hart_tensor_numel(y); i++) p[i] = (p[i] + 1.0f) * 0.5f;
    return HART_OK;
}

unsigned char *cli_ae_to_rgb8(const hart_tensor *x, int index) {
    hart_tensor y;
    hart_image img;
    if (to01(x, &y)) return NULL;
    hart_status s = hart_image_from_tensor(&y, index, &img);
    hart_tensor_free(&y);
    if (s) return NULL;
    unsigned char *rgb = img.rgb;
    img.rgb = NULL;
    hart_image_free(&img);
    return rgb;
}

int cli_ae_write_image(const char *cmd, const char *path, const hart_tensor *x, int index) {
    hart_tensor y;
    hart_image img;
    hart_status s = to01(x, &y);
    if (!s) {
        s = hart_image_from_tensor(&y, index, &img);
        hart_tensor_free(&y);
        if (!s) {
            s = hart_image_write(path, &img, NULL, 0, 0);
            hart_image_free(&img);
        }
    }
    if (s) {
        fprintf(stderr, "hart %s: %s\n", cmd, hart_errmsg());
        return 1;
    }
    return 0;
}

unsigned char *cli_ae_to_rgb8_01(const hart_tensor *x01, int index) {
    hart_image img;
    if (hart_image_from_tensor(x01, index, &img)) return NULL;
    unsigned char *rgb = img.rgb;
    img.rgb = NULL;
    hart_image_free(&img);
    return rgb;
}

int cli_ae_write_image01(const char *cmd, const char *path, const hart_tensor *x01, int index) {
    hart_image img;
    hart_status s = hart_image_from_tensor(x01, index, &img);
    if (!s) {
        s = hart_image_write(path, &img, NULL, 0, 0);
        hart_image_free(&img);
    }
    if (s) {
        fprintf(stderr, "hart %s: %s\n", cmd, hart_errmsg());
        return 1;
    }
    return 0;
}
