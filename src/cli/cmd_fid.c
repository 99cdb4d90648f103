/* `hart fid A B`: Fréchet Inception Distance between two inputs (image
 * folders, .npz image batches or .npz statistics); `hart fid --save-stats
 * OUT.npz A` writes A's statistics. The network is pytorch-fid's FID
 * Inception (models/inception), the math pipeline/fid.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "models/inception/inception.h"
#include "pipeline/fid.h"
#include "pipeline/t2i_timings.h"

static void on_progress(void *arg, const char *path, int64_t done, int64_t total) {
    hart_progress_note(arg, "%s: %lld/%lld images", path, (long long)done, (long long)total);
}

int cmd_fid(int argc, char **argv) {
    const char *model = NULL, *device = NULL, *save = NULL, *precision = NULL;
    int batch = 32, quiet = 0, verbose = 0;
    const hart_opt opts[] = {
        {"model", 'm', HART_ARG_STR, &model, "FILE",
         "FID Inception weights: pytorch-fid's pt_inception-2015-12-05-6726825d.pth or a safetensors copy "
         "($HART_FID_WEIGHTS)", NULL, 0, 0, NULL},
        HART_OPT_DEVICE(&device),
        HART_OPT_PRECISION(&precision),
        {"batch-size", 'b', HART_ARG_INT, &batch, "N", "images per forward pass", "32", 1, 4096, NULL},
        {"save-stats", 0, HART_ARG_STR, &save, "OUT.npz",
         "write the statistics (mu, sigma) of the one input to OUT.npz instead of computing a distance", NULL, 0, 0,
         NULL},
        HART_OPT_QUIET(&quiet),
        HART_OPT_VERBOSE(&verbose),
        HART_OPT_END};
    const hart_cmd_spec spec = {
        "fid", "[options] A B  |  --save-stats OUT.npz A",
        "Frechet Inception Distance between A and B, printed as 'FID: <value>'. Each input is a folder of PNG/JPEG "
        "images (any size; resized bilinearly to 299x299 as pytorch-fid does), an .npz with float64 mu [2048] and "
        "sigma [2048,2048] (pytorch-fid --save-stats, stored or deflated), or an .npz with arr_0 uint8 images "
        "[N,H,W,3] (ImageNet reference batches). Image inputs need the weights (--model or $HART_FID_WEIGHTS); "
        "stats-only inputs do not. Progress on stderr; -v adds the wall time of each input and its phases "
        "(read+decode, resize, network, statistics; the device is waited for after each phase, so -v runs "
        "slightly slower).",
        opts, 1, 2, 0};
    hart_args a;
    int rc = hart_args_parse(&spec, argc, argv, &a);
    if (rc >= 0) return rc;
    if (save && a.npos != 1) return hart_args_usage_error(&spec, "--save-stats takes exactly one input (got %d)", a.npos);
    if (!save && a.npos != 2) return hart_args_usage_error(&spec, "two inputs needed (A B), or --save-stats OUT.npz A");
    if (hart_args_parse_only) return 0;
    if (!model) model = getenv("HART_FID_WEIGHTS");

    int need_model = 0;
    for (int i = 0; i < a.npos; i++) {
        hart_fid_src_kind k;
        if (hart_fid_source_kind(a.pos[i], &k)) {
            fprintf(stderr, "hart fid: %s\n", hart_errmsg());
            return 1;
        }
        need_model |= k != HART_FID_SRC_STATS;
    }
    if (need_model && (!model || !*model)) {
        fprintf(stderr, "hart fid: image inputs need the FID Inception weights: --model FILE or $HART_FID_WEIGHTS "
                        "(pytorch-fid's pt_inception-2015-12-05-6726825d.pth; see docs/fid.md)\n");
        return 2;
    }
    hart_progress pr;
    hart_progress_init(&pr, "fid", quiet);
    hart_backend *be = NULL;
    hart_inception *m = NULL;
    hart_fid_stats st[2] = {{0}, {0}};
    rc = 1;
    if (need_model) {
        char why[768] = "";
        hart_precision prec;
        if (hart_precision_parse(precision, &prec) || hart_backend_open_prec(device, prec, &be, why, sizeof why)) {
            fprintf(stderr, "hart fid: %s\n", hart_errmsg());
            return 1;
        }
        if (!quiet) fprintf(stderr, "hart fid: device %s\n", why[0] ? why : be->name);
        hart_progress_note(&pr, "loading %s", model);
        if (hart_inception_load(be, model, &m)) {
            hart_progress_clear(&pr);
            fprintf(stderr, "hart fid: %s\n", hart_errmsg());
            goto done;
        }
    }
    hart_fid_timing tm;
    hart_fid_opts o = {.model = m, .batch = batch, .progress = on_progress, .progress_arg = &pr,
                       .timing = verbose ? &tm : NULL};
    for (int i = 0; i < a.npos; i++) {
        memset(&tm, 0, sizeof tm);
        double t0 = hart_clock();
        if (hart_fid_stats_of(a.pos[i], &o, &st[i])) {
            hart_progress_clear(&pr);
            fprintf(stderr, "hart fid: %s\n", hart_errmsg());
            goto done;
        }
        if (!quiet && st[i].n) {
            hart_progress_clear(&pr);
            fprintf(stderr, "hart fid: %s: %lld images\n", a.pos[i], (long long)st[i].n);
        }
        if (verbose && st[i].n) {
            double w = hart_clock() - t0;
            fprintf(stderr,
                    "hart fid: %s: %.2f s = %.1f images/s (read+decode %.2f s, resize %.2f s, network %.2f s, "
                    "statistics %.2f s)\n",
                    a.pos[i], w, (double)st[i].n / w, tm.read_s, tm.prep_s, tm.network_s, tm.stats_s);
        }
    }
    hart_progress_clear(&pr);
    if (save) {
        if (hart_fid_stats_save(save, &st[0])) {
            fprintf(stderr, "hart fid: %s\n", hart_errmsg());
            goto done;
        }
        printf("wrote %s: mu [%lld], sigma [%lld, %lld]\n", save, (long long)st[0].dim, (long long)st[0].dim,
               (long long)st[0].dim);
    } else {
        double fid = 0;
        if (hart_fid_distance(&st[0], &st[1], &fid)) {
            fprintf(stderr, "hart fid: %s and %s: %s\n", a.pos[0], a.pos[1], hart_errmsg());
            goto done;
        }
        printf("FID: %.10g\n", fid);
    }
    rc = 0;
done:
    hart_fid_stats_free(&st[0]);
    hart_fid_stats_free(&st[1]);
    hart_inception_free(m);
    if (be) hart_backend_close(be);
    return rc;
}
