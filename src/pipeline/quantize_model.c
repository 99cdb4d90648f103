/* hart quantize (quantize_model.h). */
#include "pipeline/quantize_model.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include "core/checkpoint.h"
#include "core/fileio.h"
#include "io/prompts.h"
#include "pipeline/t2i_session.h"
#include "quant/qload.h"
#include "quant/quantize.h"
#include "quant/smooth.h"

static int exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}
static int is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static void rm_rf(const char *p) {
    DIR *d = opendir(p);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            char c[PATH_MAX + 256];
            snprintf(c, sizeof c, "%s/%s", p, de->d_name);
            rm_rf(c);
        }
        closedir(d);
        rmdir(p);
    } else
        unlink(p);
}

static hart_status copy_file(const char *src, const char *dst) {
    char *data = NULL;
    size_t n = 0;
    HART_TRY(hart_file_read_all(src, &data, &n));
    hart_file_writer w;
    hart_status s = hart_file_begin(&w, dst);
    if (!s) {
        s = hart_file_put(&w, data, n);
        if (!s) s = hart_file_commit(&w);
        else hart_file_abort(&w);
    }
    free(data);
    return s;
}

/* copy src into dst (created), skipping entries for which skip() says so */
static hart_status copy_tree(const char *src, const char *dst, int (*skip)(const char *name)) {
    if (mkdir(dst, 0755) && errno != EEXIST) return hart_fail(HART_EIO, "cannot create %s: %s", dst, strerror(errno));
    DIR *d = opendir(src);
    if (!d) return hart_fail(HART_EIO, "cannot read folder %s", src);
    hart_status s = HART_OK;
    struct dirent *de;
    while (!s && (de = readdir(d))) {
        if (de->d_name[0] == '.' || (skip && skip(de->d_name))) continue;
        char a[PATH_MAX + 256], b[PATH_MAX + 256];
        snprintf(a, sizeof a, "%s/%s", src, de->d_name);
        snprintf(b, sizeof b, "%s/%s", dst, de->d_name);
        s = is_dir(a) ? copy_tree(a, b, NULL) : copy_file(a, b);
    }
    closedir(d);
    return s;
}

static int skip_weights(const char *n) {
    size_t l = strlen(n);
    return !strcmp(n, "config.json") || (l > 12 && !strcmp(n + l - 12, ".safetensors")) ||
           !strcmp(n, "model.safetensors.index.json");
}
static int skip_top(const char *n) { return !strcmp(n, "llm") || !strcmp(n, "text_encoder"); }

static const char *method_name(hart_qformat f, int calibrated) {
    if (!calibrated) return "rtn";
    return f == HART_QF_W8A8 ? "smoothquant" : f == HART_QF_W4A16 ? "awq" : "qserve-progressive";
}

/* The group of a K-wide layer as written: the loader (quant/qload.c) knows only
 * the number of groups G = ceil(K / group) and reads groups of ceil(K / G)
 * rounded up to even, so that is the group used (the same as `group` when K is
 * a multiple of it or at most it). */
static int file_group(int64_t K, int group) {
    int64_t G = (K + group - 1) / group, g = (K + G - 1) / G;
    return (int)(g + g % 2);
}

static hart_status add_quant(hart_st_writer *wr, const char *name, const hart_qweight *q, int awq) {
    char base[400], nm[512];
    size_t l = strlen(name);
    snprintf(base, sizeof base, "%.*s", (int)(l > 7 ? l - 7 : l), name);
#define PART(suffix, t) (snprintf(nm, sizeof nm, "%s.%s", base, suffix), hart_st_writer_add(wr, nm, t))
    hart_status s = HART_OK;
    if (awq) {
        int64_t N = q->N, K = q->K, G = q->ngroups;
        int32_t *qw = malloc(sizeof(int32_t) * (size_t)(K * N / 8)), *qz = malloc(sizeof(int32_t) * (size_t)(G * N / 8));
        uint16_t *sc = malloc(sizeof(uint16_t) * (size_t)(G * N));
        if (!qw || !qz || !sc) s = hart_fail(HART_ENOMEM, "quantize: out of memory");
        if (!s) s = hart_awq_pack(q, qw, qz, sc);
        snprintf(nm, sizeof nm, "%s.qweight", base);
        if (!s) s = hart_st_writer_add_raw(wr, nm, HART_I32, 2, (int64_t[]){K, N / 8}, qw);
        snprintf(nm, sizeof nm, "%s.qzeros", base);
        if (!s) s = hart_st_writer_add_raw(wr, nm, HART_I32, 2, (int64_t[]){G, N / 8}, qz);
        snprintf(nm, sizeof nm, "%s.scales", base);
        if (!s) s = hart_st_writer_add_raw(wr, nm, HART_F16, 2, (int64_t[]){G, N}, sc);
        free(qw); free(qz); free(sc);
    } else {
        s = PART("qweight", &q->q);
        if (!s) s = PART("wscale", &q->scale);
        if (!s && q->zero.ndim) s = PART("wzero", &q->zero);
        if (!s && q->gscale.ndim) s = PART("wgscale", &q->gscale);
    }
    if (!s && q->insmooth.ndim) s = PART("insmooth", &q->insmooth);
#undef PART
    return s;
}

static hart_status write_config(const hart_checkpoint *ck, const char *dst, const hart_quantize_model_opts *o, int calibrated,
                                int awq, cJSON *layers) {
    cJSON *c = ck->config ? cJSON_Duplicate(ck->config, 1) : cJSON_CreateObject();
    cJSON *q = cJSON_CreateObject();
    if (!c || !q) { cJSON_Delete(c); cJSON_Delete(q); cJSON_Delete(layers); return hart_fail(HART_ENOMEM, "config"); }
    cJSON_DeleteItemFromObjectCaseSensitive(c, "quantization_config");
    if (awq) { /* the keys AutoAWQ writes, so that its readers take the folder too */
        cJSON_AddStringToObject(q, "quant_method", "awq");
        cJSON_AddNumberToObject(q, "bits", 4);
        cJSON_AddBoolToObject(q, "zero_point", 1);
        cJSON_AddStringToObject(q, "version", "gemm");
    } else
        cJSON_AddStringToObject(q, "quant_method", "hart");
    cJSON_AddStringToObject(q, "format", hart_qformat_name(o->fmt));
    cJSON_AddNumberToObject(q, "group_size", o->fmt == HART_QF_W8A8 ? 0 : o->group ? o->group : HART_QGROUP);
    cJSON_AddStringToObject(q, "method", method_name(o->fmt, calibrated));
    if (calibrated && o->fmt != HART_QF_W4A16 && o->alpha >= 0) cJSON_AddNumberToObject(q, "alpha", o->alpha);
    cJSON_AddItemToObject(q, "layers", layers);
    cJSON_AddItemToObject(c, "quantization_config", q);
    char *txt = cJSON_Print(c);
    cJSON_Delete(c);
    if (!txt) return hart_fail(HART_ENOMEM, "config");
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/config.json", dst);
    hart_file_writer w;
    hart_status s = hart_file_begin(&w, p);
    if (!s) {
        s = hart_file_put(&w, txt, strlen(txt));
        if (!s) s = hart_file_put(&w, "\n", 1);
        if (!s) s = hart_file_commit(&w);
        else hart_file_abort(&w);
    }
    free(txt);
    return s;
}

/* Weights that read the output of one RMSNorm (Qwen2: q/k/v after
 * input_layernorm, gate/up after post_attention_layernorm) share one
 * smoothing scale s, folded into the norm's weight (γ/s) as SmoothQuant and
 * AWQ do, so the layers carry no insmooth. */
typedef struct {
    char norm[512];
    float *norm_w;       /* folded γ/s [K] */
    int64_t K;
    int n;
    char names[3][512];
    hart_qweight q[3];
    hart_smooth_result r;
} fold_group;

static hart_status read_f32(const hart_checkpoint *ck, const char *name, int64_t n0, int64_t n1, float **out) {
    hart_tensor v;
    HART_TRY(hart_ckpt_get(ck, name, n1 ? 2 : 1, (int64_t[]){n0, n1}, &v));
    *out = malloc(sizeof(float) * (size_t)(n0 * (n1 ? n1 : 1)));
    if (!*out) return hart_fail(HART_ENOMEM, "quantize: out of memory");
    hart_status s = hart_tensor_read_f32(&v, *out);
    if (s) { free(*out); *out = NULL; }
    return s;
}

static hart_status fold_one(const hart_checkpoint *ck, const char *prefix /* < 256 */, const char *norm, const char *const *mem, int n,
                            const hart_quantize_model_opts *o, fold_group *g) {
    memset(g, 0, sizeof *g);
    snprintf(g->norm, sizeof g->norm, "%s%s", prefix, norm);
    hart_calib_entry *ce[3];
    for (int j = 0; j < n; j++) {
        snprintf(g->names[j], sizeof g->names[j], "%s%s", prefix, mem[j]);
        ce[j] = hart_calib_find(g->names[j]);
        if (!ce[j] || !ce[j]->nsample || hart_ckpt_has_quant(ck, g->names[j])) return HART_OK; /* not a group here */
    }
    if (!hart_ckpt_has(ck, g->norm)) return HART_OK;
    int64_t K = ce[0]->K, N[3];
    float *w[3] = {0};
    hart_status s = HART_OK;
    for (int j = 0; !s && j < n; j++) {
        N[j] = ce[j]->N;
        if (ce[j]->K != K) s = hart_fail(HART_EFORMAT, "%s: input widths differ", g->names[j]);
        else s = read_f32(ck, g->names[j], N[j], K, &w[j]);
    }
    float *sc = malloc(sizeof(float) * (size_t)K);
    if (!s && !sc) s = hart_fail(HART_ENOMEM, "quantize: out of memory");
    if (!s) s = hart_quantize_calibrated_group((const float *const *)w, N, n, K, o->fmt, ce[0], o->alpha,
                                               file_group(K, o->group ? o->group : HART_QGROUP), g->q, sc, &g->r);
    if (!s) s = read_f32(ck, g->norm, K, 0, &g->norm_w);
    if (!s) {
        for (int64_t k = 0; k < K; k++) g->norm_w[k] /= sc[k];
        g->K = K;
        g->n = n;
    }
    for (int j = 0; j < n; j++) free(w[j]);
    free(sc);
    return s;
}

static fold_group *find_member(fold_group *gs, int ng, const char *name, int *j) {
    for (int i = 0; i < ng; i++)
        for (*j = 0; *j < gs[i].n; (*j)++)
            if (!strcmp(gs[i].names[*j], name)) return &gs[i];
    return NULL;
}

static void free_groups(fold_group *gs, int ng) {
    for (int i = 0; i < ng; i++) {
        for (int j = 0; j < 3; j++) hart_qweight_free(&gs[i].q[j]);
        free(gs[i].norm_w);
    }
    free(gs);
}

/* One checkpoint folder: quantize the registered linear weights, copy the rest. */
static hart_status quantize_ckpt(const char *src, const char *dst, const hart_quantize_model_opts *o, int awq_ok,
                                 int calibrated, FILE *log) {
    hart_checkpoint ck;
    HART_TRY(hart_ckpt_open(src, "config.json", NULL, &ck));
    hart_status s = HART_OK;
    for (int fi = 0; !s && fi < ck.n_files; fi++)
        for (int i = 0; !s && i < ck.files[fi].n_entries; i++) {
            const char *nm = ck.files[fi].entries[i].name;
            size_t l = strlen(nm);
            if (l > 8 && !strcmp(nm + l - 8, ".qweight"))
                s = hart_fail(HART_EINVAL, "%s is already quantized (%s): quantize the float model", src, nm);
        }
    if (!s) s = copy_tree(src, dst, skip_weights);
    hart_st_writer *wr = s ? NULL : hart_st_writer_new();
    if (!s && !wr) s = hart_fail(HART_ENOMEM, "quantize: out of memory");
    cJSON *layers = cJSON_CreateObject();
    int awq_all = awq_ok && o->fmt == HART_QF_W4A16;
    int req_group = o->group ? o->group : HART_QGROUP; /* AutoAWQ layout where K is a multiple of it */
    double sum_rtn = 0, sum_err = 0;
    int nq = 0, nawq = 0, ng = 0;
    fold_group *groups = NULL;
    if (!s && calibrated) { /* Qwen2 norm-fed groups */
        static const char *const qkv[3] = {"self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight"};
        static const char *const gu[2] = {"mlp.gate_proj.weight", "mlp.up_proj.weight"};
        int cap = 0;
        for (int fi = 0; fi < ck.n_files; fi++) cap += ck.files[fi].n_entries;
        groups = calloc((size_t)cap + 1, sizeof *groups);
        if (!groups) s = hart_fail(HART_ENOMEM, "quantize: out of memory");
        for (int fi = 0; !s && fi < ck.n_files; fi++)
            for (int i = 0; !s && i < ck.files[fi].n_entries; i++) {
                const char *nm = ck.files[fi].entries[i].name;
                size_t l = strlen(nm);
                const char *suf = NULL, *norm = NULL;
                const char *const *mem = NULL;
                int n = 0;
                if (l > strlen(qkv[0]) && !strcmp(nm + l - strlen(qkv[0]), qkv[0])) { suf = qkv[0]; mem = qkv; n = 3; norm = "input_layernorm.weight"; }
                if (l > strlen(gu[0]) && !strcmp(nm + l - strlen(gu[0]), gu[0])) { suf = gu[0]; mem = gu; n = 2; norm = "post_attention_layernorm.weight"; }
                if (!suf) continue;
                char prefix[256];
                snprintf(prefix, sizeof prefix, "%.*s", (int)(l - strlen(suf)), nm);
                s = fold_one(&ck, prefix, norm, mem, n, o, &groups[ng]);
                if (!s && groups[ng].n) ng++;
            }
    }
    for (int fi = 0; !s && fi < ck.n_files; fi++)
        for (int i = 0; !s && i < ck.files[fi].n_entries; i++) {
            const hart_st_entry *e = &ck.files[fi].entries[i];
            hart_calib_entry *ce = hart_calib_find(e->name);
            hart_tensor v;
            s = hart_st_tensor(&ck.files[fi], e->name, &v);
            if (s) break;
            int gj = 0;
            fold_group *g = find_member(groups, ng, e->name, &gj);
            if (g) { /* quantized with its group's shared scale */
                int awq = awq_all && g->K % req_group == 0 && g->q[gj].N % 8 == 0;
                s = add_quant(wr, e->name, &g->q[gj], awq);
                nawq += awq;
                cJSON *lj = cJSON_CreateObject();
                cJSON_AddStringToObject(lj, "format", awq ? "w4a16-autoawq" : hart_qformat_name(o->fmt));
                cJSON_AddNumberToObject(lj, o->fmt == HART_QF_W4A16 ? "awq_ratio" : "alpha", g->r.param);
                cJSON_AddStringToObject(lj, "smoothing_folded_into", g->norm);
                cJSON_AddNumberToObject(lj, "calib_rel_err_rtn", g->r.err_rtn);
                cJSON_AddNumberToObject(lj, "calib_rel_err", g->r.err);
                cJSON_AddItemToObject(layers, e->name, lj);
                if (gj == 0) { sum_rtn += g->r.err_rtn * g->n; sum_err += g->r.err * g->n; }
                nq++;
                continue;
            }
            int is_norm = 0;
            for (int i2 = 0; i2 < ng && !is_norm; i2++)
                if (!strcmp(groups[i2].norm, e->name)) {
                    is_norm = 1;
                    s = hart_st_writer_add_raw(wr, e->name, HART_F32, 1, &groups[i2].K, groups[i2].norm_w);
                }
            if (is_norm) continue;
            if (!ce || hart_ckpt_has_quant(&ck, e->name) || e->ndim != 2) {
                s = hart_st_writer_add(wr, e->name, &v); /* not a linear layer the models quantize: as is */
                continue;
            }
            int64_t N = e->shape[0], K = e->shape[1];
            float *w = malloc(sizeof(float) * (size_t)(N * K));
            if (!w) { s = hart_fail(HART_ENOMEM, "quantize: out of memory"); break; }
            s = hart_tensor_read_f32(&v, w);
            hart_qweight q;
            hart_smooth_result r;
            if (!s)
                s = hart_quantize_calibrated(w, N, K, o->fmt, calibrated ? ce : NULL, o->alpha,
                                             file_group(K, o->group ? o->group : HART_QGROUP), &q, &r);
            free(w);
            if (s) { hart_fail_ctx(s, "quantizing %s", e->name); break; }
            int awq = awq_all && K % req_group == 0 && N % 8 == 0;
            s = add_quant(wr, e->name, &q, awq);
            nawq += awq;
            cJSON *lj = cJSON_CreateObject();
            cJSON_AddStringToObject(lj, "format", awq ? "w4a16-autoawq" : hart_qformat_name(o->fmt));
            if (r.param >= 0) {
                cJSON_AddNumberToObject(lj, o->fmt == HART_QF_W4A16 ? "awq_ratio" : "alpha", r.param);
                cJSON_AddNumberToObject(lj, "calib_rel_err_rtn", r.err_rtn);
                cJSON_AddNumberToObject(lj, "calib_rel_err", r.err);
                sum_rtn += r.err_rtn;
                sum_err += r.err;
            }
            cJSON_AddItemToObject(layers, e->name, lj);
            if (o->verbose && log)
                fprintf(log, "  %-56s %s%s  param %.2f  err %.4f (rtn %.4f)\n", e->name, hart_qformat_name(o->fmt),
                        awq ? " (AutoAWQ layout)" : "", r.param, r.err, r.err_rtn);
            hart_qweight_free(&q);
            nq++;
        }
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/model.safetensors", dst);
    if (!s) s = hart_st_writer_save(wr, p);
    if (!s) s = write_config(&ck, dst, o, calibrated, nq > 0 && nawq == nq, layers);
    else cJSON_Delete(layers);
    if (!s && log)
        fprintf(log, "%s: %d linear layers -> %s%s\n", src, nq, hart_qformat_name(o->fmt),
                calibrated && nq ? "" : " (round-to-nearest)");
    if (!s && log && calibrated && nq)
        fprintf(log, "  mean relative output error on the calibration rows: %.4f (round-to-nearest: %.4f)\n", sum_err / nq,
                sum_rtn / nq);
    if (wr) hart_st_writer_free(wr);
    free_groups(groups, ng);
    hart_ckpt_close(&ck);
    return s;
}

/* "<parent>/.<base>.partial-<pid>": where the folder is built */
static void partial_name(const char *out, long pid, char *buf, size_t n) {
    const char *sl = strrchr(out, '/');
    int plen = sl ? (int)(sl - out + 1) : 0;
    snprintf(buf, n, "%.*s.%s.partial-%ld", plen, out, sl ? sl + 1 : out, pid);
}

/* Remove folders left by killed runs for the same output (their process is gone). */
static void remove_stale(const char *out) {
    char pre[PATH_MAX], dir[PATH_MAX];
    partial_name(out, 0, pre, sizeof pre);
    pre[strlen(pre) - 1] = 0; /* strip the "0": prefix up to "partial-" */
    const char *sl = strrchr(pre, '/');
    snprintf(dir, sizeof dir, "%.*s", sl ? (int)(sl - pre) : 1, sl ? pre : ".");
    const char *base = sl ? sl + 1 : pre;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, base, strlen(base))) continue;
        long pid = atol(de->d_name + strlen(base));
        if (pid > 0 && kill((pid_t)pid, 0) && errno == ESRCH) {
            char p[PATH_MAX + 256];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            rm_rf(p);
        }
    }
    closedir(d);
}

static hart_status calibrate(const hart_quantize_model_opts *o, const char *text_dir, int *calibrated, FILE *log) {
    hart_prompt_list pl = {0};
    if (o->calib) HART_TRY(hart_prompts_load(o->calib, &pl));
    if (o->calib && pl.n == 0) return hart_fail(HART_EINVAL, "%s: no prompts", o->calib);
    /* load (registers every linear layer under its checkpoint name) and, with prompts, record */
    hart_calib_begin(o->sample_rows > 0 ? o->sample_rows : 128);
    hart_t2i_session_opts so = {o->device, o->model_dir, text_dir, text_dir != NULL, "f32"}; /* statistics in f32 */
    hart_t2i_session *ss = NULL;
    hart_status s = hart_t2i_session_open(&so, &ss);
    for (int i = 0; !s && i < pl.n; i++) {
        hart_t2i_opts to;
        hart_t2i_default_opts(&to);
        uint64_t seed = (uint64_t)i;
        hart_tensor img = {0};
        const char *pr = pl.items[i].prompt;
        s = hart_t2i_session_render(ss, &pr, &seed, 1, &to, &img);
        hart_tensor_free(&img);
        if (!s && log && o->verbose) fprintf(log, "calibration prompt %d/%d done\n", i + 1, pl.n);
    }
    hart_calib_end();
    hart_t2i_session_close(ss);
    *calibrated = !s && pl.n > 0;
    if (!s && log && pl.n) fprintf(log, "calibrated on %d prompt%s (%s)\n", pl.n, pl.n == 1 ? "" : "s", o->calib);
    hart_prompts_free(&pl);
    return s;
}

hart_status hart_quantize_model(const hart_quantize_model_opts *o, FILE *log) {
    if (o->fmt <= HART_QF_NONE || o->fmt >= HART_QF_COUNT) return hart_fail(HART_EINVAL, "quantize: no format");
    if (exists(o->out_dir))
        return hart_fail(HART_EINVAL, "output folder '%s' already exists (remove it or choose another)", o->out_dir);
    char llm[PATH_MAX], text[PATH_MAX], tmp[PATH_MAX], p[PATH_MAX + 32];
    snprintf(llm, sizeof llm, "%s/llm", o->model_dir);
    if (!is_dir(llm)) return hart_fail(HART_EIO, "model folder '%s' has no llm/ folder", o->model_dir);
    if (o->text_model) snprintf(text, sizeof text, "%s", o->text_model);
    else snprintf(text, sizeof text, "%s/text_encoder", o->model_dir);
    int have_text = is_dir(text);
    if (o->text_model && !have_text) return hart_fail(HART_EIO, "text encoder folder '%s' not found", o->text_model);
    if (o->calib && !have_text) return hart_fail(HART_EINVAL, "--calib needs a text encoder (give --text-model DIR)");
    partial_name(o->out_dir, (long)getpid(), tmp, sizeof tmp);
    remove_stale(o->out_dir);
    int calibrated = 0;
    hart_status s = calibrate(o, have_text ? text : NULL, &calibrated, log);
    if (!s && mkdir(tmp, 0755)) s = hart_fail(HART_EIO, "cannot create %s: %s", tmp, strerror(errno));
    if (!s) s = copy_tree(o->model_dir, tmp, skip_top);
    snprintf(p, sizeof p, "%s/llm", tmp);
    if (!s) s = quantize_ckpt(llm, p, o, 0, calibrated, log);
    snprintf(p, sizeof p, "%s/text_encoder", tmp);
    if (!s && have_text) s = quantize_ckpt(text, p, o, 1, calibrated, log);
    if (!s && rename(tmp, o->out_dir)) s = hart_fail(HART_EIO, "cannot rename %s to %s: %s", tmp, o->out_dir, strerror(errno));
    if (s) rm_rf(tmp);
    hart_calib_free();
    return s;
}
