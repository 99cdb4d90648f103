/* Per-layer format / bytes report of model checkpoints (qreport.h). */
#include "quant/qreport.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/checkpoint.h"
#include "core/qweight.h"

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static const hart_st_entry *find(const hart_checkpoint *ck, const char *name) {
    for (int i = 0; i < ck->n_files; i++) {
        const hart_st_entry *e = hart_st_find(&ck->files[i], name);
        if (e) return e;
    }
    return NULL;
}

static void report_ckpt(FILE *f, const char *label, const hart_checkpoint *ck) {
    static const char *parts[] = {"qweight", "wscale", "wzero", "wgscale", "insmooth", "qzeros", "scales"};
    size_t tot_lin = 0, tot_all = 0;
    int n_q = 0, n_f = 0;
    fprintf(f, "%s (%s):\n  %-58s %-8s %14s\n", label, ck->dir, "layer", "format", "weight bytes");
    for (int fi = 0; fi < ck->n_files; fi++)
        for (int i = 0; i < ck->files[fi].n_entries; i++) {
            const hart_st_entry *e = &ck->files[fi].entries[i];
            tot_all += e->nbytes;
            char base[400];
            if (ends_with(e->name, ".qweight")) {
                snprintf(base, sizeof base, "%.*s", (int)(strlen(e->name) - 8), e->name);
                size_t bytes = 0;
                for (size_t p = 0; p < sizeof parts / sizeof *parts; p++) {
                    char nm[512];
                    snprintf(nm, sizeof nm, "%s.%s", base, parts[p]);
                    const hart_st_entry *pe = find(ck, nm);
                    if (pe) bytes += pe->nbytes;
                }
                char gn[512], zn[512];
                snprintf(gn, sizeof gn, "%s.wgscale", base);
                snprintf(zn, sizeof zn, "%s.qzeros", base);
                const char *fmt = e->dtype == HART_I8 ? "w8a8" : e->dtype == HART_I32 && find(ck, zn) ? "w4a16*"
                                  : find(ck, gn) ? "w4a8" : "w4a16";
                fprintf(f, "  %-58s %-8s %14zu\n", base, fmt, bytes);
                tot_lin += bytes;
                n_q++;
            } else if (ends_with(e->name, ".weight") && e->ndim == 2 &&
                       (e->dtype == HART_F32 || e->dtype == HART_F16 || e->dtype == HART_BF16)) {
                snprintf(base, sizeof base, "%.*s", (int)(strlen(e->name) - 7), e->name);
                fprintf(f, "  %-58s %-8s %14zu\n", base, hart_dtype_name(e->dtype), e->nbytes);
                tot_lin += e->nbytes;
                n_f++;
            }
        }
    fprintf(f, "  %d quantized + %d float 2-D weights: %.3f MB; all tensors %.3f MB%s\n", n_q, n_f, tot_lin / 1e6,
            tot_all / 1e6, n_q ? "  (w4a16*: AutoAWQ layout)" : "");
}

static int is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

hart_status hart_quant_report(FILE *f, const char *dir) {
    const char *subs[] = {"llm", "text_encoder"};
    int done = 0;
    for (int i = 0; i < 2; i++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, subs[i]);
        if (!is_dir(p)) continue;
        hart_checkpoint ck;
        HART_TRY(hart_ckpt_open(p, "config.json", NULL, &ck));
        const cJSON *qc = ck.config ? cJSON_GetObjectItemCaseSensitive(ck.config, "quantization_config") : NULL;
        const cJSON *qf = cJSON_GetObjectItemCaseSensitive(qc, "format"), *qm = cJSON_GetObjectItemCaseSensitive(qc, "method");
        char label[256];
        snprintf(label, sizeof label, "%s, quantization_config: %s%s%s", subs[i], cJSON_IsString(qf) ? qf->valuestring : qc ? "?" : "none",
                 cJSON_IsString(qm) ? " by " : "", cJSON_IsString(qm) ? qm->valuestring : "");
        report_ckpt(f, label, &ck);
        hart_ckpt_close(&ck);
        done++;
    }
    if (!done) {
        hart_checkpoint ck;
        HART_TRY(hart_ckpt_open(dir, NULL, NULL, &ck));
        report_ckpt(f, "checkpoint", &ck);
        hart_ckpt_close(&ck);
    }
    return HART_OK;
}
