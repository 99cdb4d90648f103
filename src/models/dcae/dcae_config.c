/* DC-AE architecture descriptions: the original efficientvit config (as in
 * dcae_config.json / configs/dc-ae-*.json), the diffusers AutoencoderDC
 * config.json, and released names looked up in configs/. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "models/dcae/dcae_internal.h"

static int file_exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static const cJSON *item(const cJSON *o, const char *k) {
    const cJSON *it = o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
    return (it && !cJSON_IsNull(it)) ? it : NULL;
}

static hart_status parse_norm(const char *s, const char *label, const char *key, dcae_norm_t *out) {
    if (!s || !strcmp(s, "none")) *out = DN_NONE;
    else if (!strcmp(s, "bn2d") || !strcmp(s, "batch_norm")) *out = DN_BN2D;
    else if (!strcmp(s, "trms2d") || !strcmp(s, "rms_norm")) *out = DN_TRMS2D;
    else if (!strcmp(s, "ln2d")) *out = DN_LN2D;
    else return hart_fail(HART_EUNSUPPORTED, "%s: %s: unknown norm '%s' (known: bn2d, trms2d, ln2d, null)", label, key, s);
    return HART_OK;
}

static hart_status parse_act(const char *s, const char *label, const char *key, dcae_act_t *out) {
    if (!s || !strcmp(s, "none")) *out = DA_NONE;
    else if (!strcmp(s, "relu")) *out = DA_RELU;
    else if (!strcmp(s, "relu6")) *out = DA_RELU6;
    else if (!strcmp(s, "hswish")) *out = DA_HSWISH;
    else if (!strcmp(s, "silu") || !strcmp(s, "swish")) *out = DA_SILU;
    else if (!strcmp(s, "gelu")) *out = DA_GELU;
    else return hart_fail(HART_EUNSUPPORTED, "%s: %s: unknown activation '%s' (known: relu, relu6, hswish, silu, gelu, null)", label, key, s);
    return HART_OK;
}

static hart_status get_str(const cJSON *o, const char *k, const char *dflt, const char *label, const char **out) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!it) { *out = dflt; return HART_OK; }
    if (cJSON_IsNull(it)) { *out = NULL; return HART_OK; }
    if (!cJSON_IsString(it)) return hart_fail(HART_EFORMAT, "%s: key '%s' must be a string or null", label, k);
    *out = it->valuestring;
    return HART_OK;
}

static hart_status get_bool(const cJSON *o, const char *k, int dflt, const char *label, int *out) {
    const cJSON *it = item(o, k);
    if (!it) { *out = dflt; return HART_OK; }
    if (!cJSON_IsBool(it)) return hart_fail(HART_EFORMAT, "%s: key '%s' must be true/false", label, k);
    *out = cJSON_IsTrue(it);
    return HART_OK;
}

static hart_status get_int(const cJSON *o, const char *k, int dflt, const char *label, int *out) {
    const cJSON *it = item(o, k);
    if (!it || (cJSON_IsString(it) && it->valuestring[0] == '$')) { *out = dflt; return HART_OK; } /* "${..x}" */
    if (!cJSON_IsNumber(it) || it->valuedouble != (double)(int)it->valuedouble || it->valuedouble < 0 ||
        it->valuedouble > 1e6)
        return hart_fail(HART_EFORMAT, "%s: key '%s' must be a non-negative integer", label, k);
    *out = (int)it->valuedouble;
    return HART_OK;
}

static hart_status get_int_list(const cJSON *o, const char *k, const int *dflt, int ndflt, const char *label,
                                int *out, int *n) {
    const cJSON *it = item(o, k);
    if (!it) {
        if (!dflt) return hart_fail(HART_EFORMAT, "%s: key '%s' is missing", label, k);
        memcpy(out, dflt, sizeof(int) * (size_t)ndflt);
        *n = ndflt;
        return HART_OK;
    }
    if (!cJSON_IsArray(it)) return hart_fail(HART_EFORMAT, "%s: key '%s' must be a list of integers", label, k);
    int c = 0;
    for (const cJSON *e = it->child; e; e = e->next) {
        if (c >= DCAE_MAX_STAGES) return hart_fail(HART_EUNSUPPORTED, "%s: '%s' has more than %d entries", label, k, DCAE_MAX_STAGES);
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 1e6 || e->valuedouble != (double)(int)e->valuedouble)
            return hart_fail(HART_EFORMAT, "%s: '%s' entry %d is not a non-negative integer", label, k, c);
        out[c++] = (int)e->valuedouble;
    }
    *n = c;
    return HART_OK;
}

/* per-stage string option (str or list of n strings) */
static hart_status per_stage_str(const cJSON *o, const char *k, const char *dflt, int n, const char *label,
                                 const char **out) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
    if (it && cJSON_IsArray(it)) {
        if (cJSON_GetArraySize(it) != n)
            return hart_fail(HART_EMISMATCH, "%s: '%s' has %d entries for %d stages", label, k, cJSON_GetArraySize(it), n);
        int i = 0;
        for (const cJSON *e = it->child; e; e = e->next, i++) {
            if (cJSON_IsNull(e)) out[i] = NULL;
            else if (cJSON_IsString(e)) out[i] = e->valuestring;
            else return hart_fail(HART_EFORMAT, "%s: '%s' entry %d must be a string", label, k, i);
        }
        return HART_OK;
    }
    const char *s;
    HART_TRY(get_str(o, k, dflt, label, &s));
    for (int i = 0; i < n; i++) out[i] = s;
    return HART_OK;
}

static hart_status set_block(dcae_side_cfg *sc, int s, int d, const char *bt, const char *label) {
    sc->n_scales[s][d] = 0;
    if (!bt) return hart_fail(HART_EFORMAT, "%s: block_type of stage %d is null", label, s);
    if (!strcmp(bt, "ResBlock")) sc->block[s][d] = DB_RES;
    else if (!strcmp(bt, "EViT_GLU")) sc->block[s][d] = DB_EVIT;
    else if (!strcmp(bt, "EViTS5_GLU")) {
        sc->block[s][d] = DB_EVIT;
        sc->n_scales[s][d] = 1;
        sc->scales[s][d][0] = 5;
    } else
        return hart_fail(HART_EUNSUPPORTED, "%s: stage %d: unknown block type '%s' (known: ResBlock, EViT_GLU, EViTS5_GLU)",
                         label, s, bt);
    return HART_OK;
}

static hart_status parse_blocks(const cJSON *o, dcae_side_cfg *sc, const char *label) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, "block_type");
    int n = sc->n_stages;
    if (!it || cJSON_IsString(it)) {
        const char *bt = it ? it->valuestring : "ResBlock";
        for (int s = 0; s < n; s++)
            for (int d = 0; d < sc->depth[s]; d++) HART_TRY(set_block(sc, s, d, bt, label));
        return HART_OK;
    }
    if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != n)
        return hart_fail(HART_EFORMAT, "%s: block_type must be a string or a list of %d entries", label, n);
    int s = 0;
    for (const cJSON *e = it->child; e; e = e->next, s++) {
        if (cJSON_IsString(e)) {
            for (int d = 0; d < sc->depth[s]; d++) HART_TRY(set_block(sc, s, d, e->valuestring, label));
        } else if (cJSON_IsArray(e)) {
            if (cJSON_GetArraySize(e) != sc->depth[s])
                return hart_fail(HART_EMISMATCH, "%s: block_type of stage %d lists %d blocks for depth %d", label, s,
                                 cJSON_GetArraySize(e), sc->depth[s]);
            int d = 0;
            for (const cJSON *b = e->child; b; b = b->next, d++) {
                if (!cJSON_IsString(b)) return hart_fail(HART_EFORMAT, "%s: block_type[%d][%d] is not a string", label, s, d);
                HART_TRY(set_block(sc, s, d, b->valuestring, label));
            }
        } else
            return hart_fail(HART_EFORMAT, "%s: block_type[%d] must be a string or a list", label, s);
    }
    return HART_OK;
}

static const int k_def_width[6] = {128, 256, 512, 512, 1024, 1024};
static const int k_def_depth[6] = {2, 2, 2, 2, 2, 2};

static hart_status parse_side(const cJSON *o, int is_enc, int in_ch, int lat_ch, const char *label, dcae_side_cfg *sc) {
    memset(sc, 0, sizeof *sc);
    HART_TRY(get_int(o, "in_channels", in_ch, label, &sc->in_channels));
    HART_TRY(get_int(o, "latent_channels", lat_ch, label, &sc->latent_channels));
    int nw, nd;
    HART_TRY(get_int_list(o, "width_list", k_def_width, 6, label, sc->width, &nw));
    HART_TRY(get_int_list(o, "depth_list", k_def_depth, 6, label, sc->depth, &nd));
    if (nw != nd || nw < 1) return hart_fail(HART_EFORMAT, "%s: width_list (%d) and depth_list (%d) differ in length", label, nw, nd);
    sc->n_stages = nw;
    for (int s = 0; s < nw; s++) {
        if (sc->width[s] < 1) return hart_fail(HART_EFORMAT, "%s: width_list[%d] must be positive", label, s);
        if (sc->depth[s] > DCAE_MAX_DEPTH) return hart_fail(HART_EUNSUPPORTED, "%s: depth_list[%d] = %d exceeds %d", label, s, sc->depth[s], DCAE_MAX_DEPTH);
    }
    if (nw < 2 || (sc->depth[0] == 0 && nw < 2)) return hart_fail(HART_EFORMAT, "%s: need at least 2 stages", label);
    HART_TRY(parse_blocks(o, sc, label));
    const char *norms[DCAE_MAX_STAGES], *acts[DCAE_MAX_STAGES];
    HART_TRY(per_stage_str(o, "norm", "trms2d", nw, label, norms));
    HART_TRY(per_stage_str(o, "act", "silu", nw, label, acts));
    for (int s = 0; s < nw; s++) {
        HART_TRY(parse_norm(norms[s], label, "norm", &sc->norm[s]));
        HART_TRY(parse_act(acts[s], label, "act", &sc->act[s]));
    }
    const char *samp, *sc_s, *io_s, *on, *oa;
    if (is_enc) {
        HART_TRY(get_str(o, "downsample_block_type", "ConvPixelUnshuffle", label, &samp));
        if (samp && !strcmp(samp, "Conv")) sc->sample = DS_CONV_S2;
        else if (samp && !strcmp(samp, "ConvPixelUnshuffle")) sc->sample = DS_CONV_UNSHUF;
        else return hart_fail(HART_EUNSUPPORTED, "%s: unknown downsample_block_type '%s' (known: Conv, ConvPixelUnshuffle)", label, samp ? samp : "null");
        HART_TRY(get_bool(o, "downsample_match_channel", 1, label, &sc->match_channel));
        HART_TRY(get_str(o, "downsample_shortcut", "averaging", label, &sc_s));
        HART_TRY(get_str(o, "out_shortcut", "averaging", label, &io_s));
        HART_TRY(get_str(o, "out_norm", NULL, label, &on));
        HART_TRY(get_str(o, "out_act", NULL, label, &oa));
        HART_TRY(get_bool(o, "double_latent", 0, label, &sc->double_latent));
        const char *names[2] = {"downsample_shortcut", "out_shortcut"};
        const char *vals[2] = {sc_s, io_s};
        dcae_shortcut_t *dst[2] = {&sc->sample_shortcut, &sc->io_shortcut};
        for (int i = 0; i < 2; i++) {
            if (!vals[i]) *dst[i] = DSC_NONE;
            else if (!strcmp(vals[i], "averaging")) *dst[i] = DSC_AVG;
            else return hart_fail(HART_EUNSUPPORTED, "%s: %s '%s' is not supported (averaging or null)", label, names[i], vals[i]);
        }
    } else {
        HART_TRY(get_str(o, "upsample_block_type", "ConvPixelShuffle", label, &samp));
        if (samp && !strcmp(samp, "ConvPixelShuffle")) sc->sample = DS_CONV_SHUF;
        else if (samp && !strcmp(samp, "InterpolateConv")) sc->sample = DS_INTERP_CONV;
        else return hart_fail(HART_EUNSUPPORTED, "%s: unknown upsample_block_type '%s' (known: ConvPixelShuffle, InterpolateConv)", label, samp ? samp : "null");
        HART_TRY(get_bool(o, "upsample_match_channel", 1, label, &sc->match_channel));
        HART_TRY(get_str(o, "upsample_shortcut", "duplicating", label, &sc_s));
        HART_TRY(get_str(o, "in_shortcut", "duplicating", label, &io_s));
        HART_TRY(get_str(o, "out_norm", "trms2d", label, &on));
        HART_TRY(get_str(o, "out_act", "relu", label, &oa));
        const char *names[2] = {"upsample_shortcut", "in_shortcut"};
        const char *vals[2] = {sc_s, io_s};
        dcae_shortcut_t *dst[2] = {&sc->sample_shortcut, &sc->io_shortcut};
        for (int i = 0; i < 2; i++) {
            if (!vals[i]) *dst[i] = DSC_NONE;
            else if (!strcmp(vals[i], "duplicating")) *dst[i] = DSC_DUP;
            else return hart_fail(HART_EUNSUPPORTED, "%s: %s '%s' is not supported (duplicating or null)", label, names[i], vals[i]);
        }
    }
    HART_TRY(parse_norm(on, label, "out_norm", &sc->out_norm));
    HART_TRY(parse_act(oa, label, "out_act", &sc->out_act));
    sc->head_dim = 32;
    if (sc->in_channels < 1 || sc->latent_channels < 1)
        return hart_fail(HART_EFORMAT, "%s: in_channels and latent_channels must be positive", label);
    return HART_OK;
}

hart_status hart_dcae_cfg_parse_original(const cJSON *j, const char *label, dcae_cfg *cfg) {
    memset(cfg, 0, sizeof *cfg);
    if (!cJSON_IsObject(j)) return hart_fail(HART_EFORMAT, "%s: not a JSON object", label);
    const char *nm;
    HART_TRY(get_str(j, "name", "custom", label, &nm));
    snprintf(cfg->name, sizeof cfg->name, "%s", nm ? nm : "custom");
    HART_TRY(get_int(j, "in_channels", 3, label, &cfg->in_channels));
    HART_TRY(get_int(j, "latent_channels", 32, label, &cfg->latent_channels));
    int uq;
    HART_TRY(get_bool(j, "use_quant_conv", 0, label, &uq));
    if (uq) return hart_fail(HART_EUNSUPPORTED, "%s: use_quant_conv=true is not supported (the reference DCAE has no quant conv)", label);
    const cJSON *enc = item(j, "encoder"), *dec = item(j, "decoder");
    if ((enc && !cJSON_IsObject(enc)) || (dec && !cJSON_IsObject(dec)))
        return hart_fail(HART_EFORMAT, "%s: 'encoder'/'decoder' must be objects", label);
    char l2[600];
    snprintf(l2, sizeof l2, "%s: encoder", label);
    HART_TRY(parse_side(enc, 1, cfg->in_channels, cfg->latent_channels, l2, &cfg->enc));
    snprintf(l2, sizeof l2, "%s: decoder", label);
    HART_TRY(parse_side(dec, 0, cfg->in_channels, cfg->latent_channels, l2, &cfg->dec));
    const cJSON *sf = item(j, "scaling_factor");
    if (sf) {
        if (!cJSON_IsNumber(sf) || !(sf->valuedouble > 0))
            return hart_fail(HART_EFORMAT, "%s: scaling_factor must be a positive number or null", label);
        cfg->has_scaling_factor = 1;
        cfg->scaling_factor = sf->valuedouble;
    } else
        cfg->scaling_factor = 1.0;
    return HART_OK;
}

/* ---- diffusers AutoencoderDC config ---- */

static hart_status dif_per_stage(const cJSON *j, const char *k, const char *dflt, int n, const char *label,
                                 const char **out) {
    return per_stage_str(j, k, dflt, n, label, out);
}

static hart_status dif_scales(const cJSON *j, const char *k, int n, const char *label, dcae_side_cfg *sc) {
    const cJSON *it = item(j, k);
    for (int s = 0; s < n; s++)
        for (int d = 0; d < DCAE_MAX_DEPTH; d++) {
            int def3 = s >= 3; /* diffusers default ((),(),(),(5,),(5,),(5,)) */
            sc->n_scales[s][d] = def3;
            sc->scales[s][d][0] = 5;
        }
    if (!it) return HART_OK;
    if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != n)
        return hart_fail(HART_EFORMAT, "%s: '%s' must be a list of %d lists", label, k, n);
    int s = 0;
    for (const cJSON *e = it->child; e; e = e->next, s++) {
        if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) > DCAE_MAX_SCALES)
            return hart_fail(HART_EFORMAT, "%s: '%s'[%d] must be a list of at most %d kernel sizes", label, k, s, DCAE_MAX_SCALES);
        int c = 0, ks[DCAE_MAX_SCALES];
        for (const cJSON *v = e->child; v; v = v->next) {
            if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 31 || ((int)v->valuedouble) % 2 == 0)
                return hart_fail(HART_EFORMAT, "%s: '%s'[%d] has a bad kernel size", label, k, s);
            ks[c++] = (int)v->valuedouble;
        }
        for (int d = 0; d < DCAE_MAX_DEPTH; d++) {
            sc->n_scales[s][d] = c;
            for (int i = 0; i < c; i++) sc->scales[s][d][i] = ks[i];
        }
    }
    return HART_OK;
}

static hart_status dif_side(const cJSON *j, int is_enc, const dcae_cfg *cfg, const char *label, dcae_side_cfg *sc) {
    memset(sc, 0, sizeof *sc);
    const char *pre = is_enc ? "encoder_" : "decoder_";
    char k[96];
    sc->in_channels = cfg->in_channels;
    sc->latent_channels = cfg->latent_channels;
    static const int def_dep_enc[6] = {2, 2, 2, 3, 3, 3}, def_dep_dec[6] = {3, 3, 3, 3, 3, 3};
    int nw, nd;
    snprintf(k, sizeof k, "%sblock_out_channels", pre);
    HART_TRY(get_int_list(j, k, k_def_width, 6, label, sc->width, &nw));
    snprintf(k, sizeof k, "%slayers_per_block", pre);
    HART_TRY(get_int_list(j, k, is_enc ? def_dep_enc : def_dep_dec, 6, label, sc->depth, &nd));
    if (nw != nd || nw < 2) return hart_fail(HART_EFORMAT, "%s: %sblock_out_channels and layers_per_block differ in length", label, pre);
    sc->n_stages = nw;
    for (int s = 0; s < nw; s++)
        if (sc->width[s] < 1 || sc->depth[s] > DCAE_MAX_DEPTH)
            return hart_fail(HART_EUNSUPPORTED, "%s: stage %d width/depth out of range", label, s);
    snprintf(k, sizeof k, "%sqkv_multiscales", pre);
    HART_TRY(dif_scales(j, k, nw, label, sc));
    const char *bts[DCAE_MAX_STAGES];
    snprintf(k, sizeof k, "%sblock_types", pre);
    HART_TRY(dif_per_stage(j, k, "ResBlock", nw, label, bts));
    for (int s = 0; s < nw; s++)
        for (int d = 0; d < sc->depth[s]; d++) {
            if (bts[s] && !strcmp(bts[s], "ResBlock")) sc->block[s][d] = DB_RES;
            else if (bts[s] && !strcmp(bts[s], "EfficientViTBlock")) sc->block[s][d] = DB_EVIT;
            else return hart_fail(HART_EUNSUPPORTED, "%s: stage %d: unknown block type '%s' (known: ResBlock, EfficientViTBlock)", label, s, bts[s] ? bts[s] : "null");
        }
    int hd;
    HART_TRY(get_int(j, "attention_head_dim", 32, label, &hd));
    if (hd < 1) return hart_fail(HART_EFORMAT, "%s: attention_head_dim must be positive", label);
    sc->head_dim = hd;
    sc->match_channel = 1;
    const char *st;
    if (is_enc) {
        for (int s = 0; s < nw; s++) { sc->norm[s] = DN_TRMS2D; sc->act[s] = DA_SILU; }
        HART_TRY(get_str(j, "downsample_block_type", "pixel_unshuffle", label, &st));
        if (st && !strcmp(st, "pixel_unshuffle")) sc->sample = DS_CONV_UNSHUF;
        else if (st && !strcmp(st, "conv")) sc->sample = DS_CONV_S2;
        else return hart_fail(HART_EUNSUPPORTED, "%s: unknown downsample_block_type '%s'", label, st ? st : "null");
        sc->sample_shortcut = DSC_AVG;
        int os;
        HART_TRY(get_bool(j, "encoder_out_shortcut", 1, label, &os));
        sc->io_shortcut = os ? DSC_AVG : DSC_NONE;
        sc->out_norm = DN_NONE;
        sc->out_act = DA_NONE;
    } else {
        const char *ns[DCAE_MAX_STAGES], *as[DCAE_MAX_STAGES];
        HART_TRY(dif_per_stage(j, "decoder_norm_types", "rms_norm", nw, label, ns));
        HART_TRY(dif_per_stage(j, "decoder_act_fns", "silu", nw, label, as));
        for (int s = 0; s < nw; s++) {
            HART_TRY(parse_norm(ns[s], label, "decoder_norm_types", &sc->norm[s]));
            HART_TRY(parse_act(as[s], label, "decoder_act_fns", &sc->act[s]));
        }
        HART_TRY(get_str(j, "upsample_block_type", "pixel_shuffle", label, &st));
        if (st && !strcmp(st, "pixel_shuffle")) sc->sample = DS_CONV_SHUF;
        else if (st && !strcmp(st, "interpolate")) sc->sample = DS_INTERP_CONV;
        else return hart_fail(HART_EUNSUPPORTED, "%s: unknown upsample_block_type '%s'", label, st ? st : "null");
        sc->sample_shortcut = DSC_DUP;
        int is;
        HART_TRY(get_bool(j, "decoder_in_shortcut", 1, label, &is));
        sc->io_shortcut = is ? DSC_DUP : DSC_NONE;
        sc->out_norm = DN_TRMS2D;
        const char *ca;
        HART_TRY(get_str(j, "decoder_conv_act_fn", "relu", label, &ca));
        HART_TRY(parse_act(ca, label, "decoder_conv_act_fn", &sc->out_act));
    }
    return HART_OK;
}

hart_status hart_dcae_cfg_parse_diffusers(const cJSON *j, const char *label, dcae_cfg *cfg) {
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->name, sizeof cfg->name, "diffusers AutoencoderDC");
    HART_TRY(get_int(j, "in_channels", 3, label, &cfg->in_channels));
    HART_TRY(get_int(j, "latent_channels", 32, label, &cfg->latent_channels));
    HART_TRY(dif_side(j, 1, cfg, label, &cfg->enc));
    HART_TRY(dif_side(j, 0, cfg, label, &cfg->dec));
    const cJSON *sf = item(j, "scaling_factor");
    cfg->scaling_factor = 1.0;
    if (sf) {
        if (!cJSON_IsNumber(sf) || !(sf->valuedouble > 0))
            return hart_fail(HART_EFORMAT, "%s: scaling_factor must be a positive number", label);
        cfg->has_scaling_factor = 1;
        cfg->scaling_factor = sf->valuedouble;
    }
    cfg->diffusers = 1;
    return HART_OK;
}

static int valid_name(const char *n) {
    if (!n[0] || strlen(n) > 80) return 0;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '_' || *p == '.'))
            return 0;
    return n[0] != '.';
}

hart_status hart_dcae_find_config(const char *name, char *path, size_t n) {
    if (!valid_name(name)) return hart_fail(HART_EINVAL, "DC-AE model name '%s' is not a valid config name", name);
    char exe[PATH_MAX];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char exedir[PATH_MAX] = "";
    if (el > 0) {
        exe[el] = 0;
        char *sl = strrchr(exe, '/');
        if (sl) { *sl = 0; snprintf(exedir, sizeof exedir, "%s", exe); }
    }
    const char *env = getenv("HART_CONFIG_DIR");
    char cand[4][PATH_MAX + 64];
    int nc = 0;
    if (env && *env) snprintf(cand[nc++], sizeof cand[0], "%s/%s.json", env, name);
    snprintf(cand[nc++], sizeof cand[0], "configs/%s.json", name);
    if (exedir[0]) {
        snprintf(cand[nc++], sizeof cand[0], "%s/../configs/%s.json", exedir, name);
        snprintf(cand[nc++], sizeof cand[0], "%s/../share/hart/configs/%s.json", exedir, name);
    }
    for (int i = 0; i < nc; i++)
        if (file_exists(cand[i])) {
            snprintf(path, n, "%s", cand[i]);
            return HART_OK;
        }
    return hart_fail(HART_EIO, "no architecture description for DC-AE model '%s': looked for %s.json in $HART_CONFIG_DIR, "
                     "./configs, <bin>/../configs and <bin>/../share/hart/configs", name, name);
}

hart_status hart_dcae_cfg_from_dir(const char *dir, dcae_cfg *cfg) {
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/dcae_config.json", dir);
    cJSON *j = NULL;
    hart_status s;
    if (file_exists(p)) {
        HART_TRY(hart_json_load(p, &j));
        s = hart_dcae_cfg_parse_original(j, p, cfg);
        cJSON_Delete(j);
        return s;
    }
    snprintf(p, sizeof p, "%s/config.json", dir);
    if (!file_exists(p))
        return hart_fail(HART_EIO, "%s: not a DC-AE folder (no dcae_config.json or config.json)", dir);
    HART_TRY(hart_json_load(p, &j));
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(j, "_class_name");
    const cJSON *mn = cJSON_GetObjectItemCaseSensitive(j, "model_name");
    if (!mn) mn = cJSON_GetObjectItemCaseSensitive(j, "name");
    if (cJSON_IsString(cls) && !strcmp(cls->valuestring, "AutoencoderDC")) {
        s = hart_dcae_cfg_parse_diffusers(j, p, cfg);
    } else if (cJSON_IsString(mn)) {
        char cp[PATH_MAX + 128];
        s = hart_dcae_find_config(mn->valuestring, cp, sizeof cp);
        cJSON *c2 = NULL;
        if (!s) s = hart_json_load(cp, &c2);
        if (!s) s = hart_dcae_cfg_parse_original(c2, cp, cfg);
        if (!s) snprintf(cfg->name, sizeof cfg->name, "%s", mn->valuestring);
        cJSON_Delete(c2);
    } else if (cJSON_IsString(cls)) {
        s = hart_fail(HART_EUNSUPPORTED, "%s: _class_name '%s' is not AutoencoderDC", p, cls->valuestring);
    } else {
        s = hart_fail(HART_EFORMAT, "%s: neither a diffusers AutoencoderDC config nor a {\"model_name\": ...} config", p);
    }
    cJSON_Delete(j);
    return s;
}

int hart_dcae_detect(const char *dir) {
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/dcae_config.json", dir);
    if (file_exists(p)) return 1;
    snprintf(p, sizeof p, "%s/config.json", dir);
    if (!file_exists(p)) return 0;
    cJSON *j = NULL;
    if (hart_json_load(p, &j) != HART_OK) { hart_clear_error(); return 0; }
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(j, "_class_name");
    const cJSON *mn = cJSON_GetObjectItemCaseSensitive(j, "model_name");
    int r = (cJSON_IsString(cls) && !strcmp(cls->valuestring, "AutoencoderDC")) ||
            (cJSON_IsString(mn) && !strncmp(mn->valuestring, "dc-ae-", 6));
    cJSON_Delete(j);
    return r;
}
