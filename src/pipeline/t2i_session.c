/* Prompt -> image glue shared by the CLI commands (see t2i_session.h). */
#include "pipeline/t2i_session.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/image.h"
#include "pipeline/t2i_prompts.h"
#include "pipeline/text_encode.h"

struct hart_t2i_session {
    hart_backend *be;
    hart_t2i *t2i;
    hart_text_encoder te;
    int have_te;
    hart_prompt_cache cache;
    char why[768];
};

static int is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static void text_dir(const hart_t2i_session_opts *o, char *buf, size_t n) {
    if (o->text_model) snprintf(buf, n, "%s", o->text_model);
    else snprintf(buf, n, "%s/text_encoder", o->model_dir);
}

hart_status hart_t2i_session_check(const hart_t2i_session_opts *o) {
    if (!o->model_dir || !*o->model_dir) return hart_fail(HART_EINVAL, "no model folder given (-m DIR)");
    struct stat sb;
    if (stat(o->model_dir, &sb) != 0) return hart_fail(HART_EIO, "model folder '%s' not found", o->model_dir);
    if (!S_ISDIR(sb.st_mode)) return hart_fail(HART_EIO, "model folder '%s' is not a folder", o->model_dir);
    if (o->need_text) {
        char t[PATH_MAX];
        text_dir(o, t, sizeof t);
        if (!is_dir(t)) return hart_fail(HART_EIO, "text encoder folder '%s' not found (give --text-model DIR)", t);
    }
    return HART_OK;
}

hart_status hart_t2i_session_open(const hart_t2i_session_opts *o, hart_t2i_session **out) {
    *out = NULL;
    HART_TRY(hart_t2i_session_check(o));
    hart_t2i_session *s = calloc(1, sizeof *s);
    if (!s) return hart_fail(HART_ENOMEM, "session");
    hart_precision prec;
    hart_status st = hart_precision_parse(o->precision, &prec);
    if (!st) st = hart_backend_open_prec(o->device, prec, &s->be, s->why, sizeof s->why);
    if (!st) st = hart_t2i_load(s->be, o->model_dir, &s->t2i);
    if (!st && o->need_text) {
        char t[PATH_MAX];
        text_dir(o, t, sizeof t);
        st = hart_text_encoder_load(t, s->be, &s->te);
        s->have_te = !st;
        int T, D;
        hart_t2i_context_shape(s->t2i, &T, &D);
        if (!st && s->te.model.hidden != D)
            st = hart_fail(HART_EMISMATCH, "%s: text encoder width %lld does not match the transformer's context_dim %d",
                           t, (long long)s->te.model.hidden, D);
    }
    if (st) {
        hart_t2i_session_close(s);
        return st;
    }
    *out = s;
    return HART_OK;
}

void hart_t2i_session_close(hart_t2i_session *s) {
    if (!s) return;
    hart_prompt_cache_free(&s->cache);
    if (s->have_te) hart_text_encoder_free(&s->te);
    hart_t2i_free(s->t2i);
    if (s->be) hart_backend_close(s->be);
    free(s);
}

const char *hart_t2i_session_device_why(const hart_t2i_session *s) { return s->why; }

hart_t2i *hart_t2i_session_pipeline(hart_t2i_session *s) { return s->t2i; }

hart_status hart_t2i_session_render(hart_t2i_session *s, const char *const *prompts, const uint64_t *seeds, int n,
                                    const hart_t2i_opts *opts, hart_tensor *image) {
    if (!s->have_te) return hart_fail(HART_EINVAL, "session opened without a text encoder");
    return hart_t2i_render_prompts(s->t2i, &s->te, &s->cache, prompts, seeds, n, opts, image);
}

#define META_MAX 24

hart_status hart_t2i_save_image(const char *path, const hart_tensor *image, int i, const hart_t2i_image_meta *m) {
    char idx[32], sd[32], cfg[32], tk[32], tp[32], temp[32], sparse[128];
    const hart_t2i_opts *o = m->opts;
    snprintf(idx, sizeof idx, "%lld", (long long)m->index);
    snprintf(sd, sizeof sd, "%llu", (unsigned long long)m->seed);
    snprintf(cfg, sizeof cfg, "%g", o->cfg);
    if (o->top_k) snprintf(tk, sizeof tk, "%d", o->top_k);
    else snprintf(tk, sizeof tk, "600/300");
    snprintf(tp, sizeof tp, "%g", o->top_p);
    snprintf(temp, sizeof temp, "%g", o->temperature);
    hart_image_text kv[META_MAX];
    int n = 0;
#define KV(k, v) (kv[n].key = (char *)(k), kv[n].value = (char *)(v), n++)
    if (m->prompt) KV("prompt", m->prompt);
    if (m->negative_prompt && *m->negative_prompt) KV("negative_prompt", m->negative_prompt);
    KV("model", m->model ? m->model : "");
    KV("index", idx);
    KV("seed", sd);
    KV("cfg", cfg);
    KV("top_k", tk);
    KV("top_p", tp);
    KV("smooth", o->more_smooth ? "1" : "0");
    KV("temperature", temp);
    if (o->sparse && o->sparse->kind != HART_SPARSE_NONE) { /* only when used: dense images keep their metadata */
        char spec[64];
        hart_sparse_format(o->sparse, spec, sizeof spec);
        if (o->sparse->from_scale >= 0)
            snprintf(sparse, sizeof sparse, "%s from scale %d, block %d", spec, o->sparse->from_scale, o->sparse->block);
        else
            snprintf(sparse, sizeof sparse, "%s on the last three scales, block %d", spec, o->sparse->block);
        KV("sparse_attn", sparse);
    }
    for (int k = 0; m->extra && m->extra[k] && m->extra[k + 1] && n < META_MAX; k += 2) KV(m->extra[k], m->extra[k + 1]);
#undef KV
    char *params = hart_image_params_text(kv, n);
    if (!params) return hart_fail(HART_ENOMEM, "%s: metadata", path);
    hart_image im;
    hart_status st = hart_image_from_tensor(image, i, &im);
    if (!st) {
        hart_image_text t = {(char *)"parameters", params};
        st = hart_image_write(path, &im, &t, 1, 0);
        hart_image_free(&im);
    }
    free(params);
    return st;
}
