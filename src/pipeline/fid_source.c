/* Statistics of a FID input (fid.h): a folder of images, an .npz of images
 * (arr_0) run through the FID Inception in batches, or a stats .npz. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/npz.h"
#include "io/image.h"
#include "models/inception/inception.h"
#include "pipeline/fid.h"
#include "pipeline/t2i_timings.h"

static int is_image_name(const char *n) {
    const char *dot = strrchr(n, '.');
    if (!dot || n[0] == '.') return 0;
    char e[8] = {0};
    for (int i = 0; i < 7 && dot[1 + i]; i++) e[i] = (char)tolower((unsigned char)dot[1 + i]);
    return !strcmp(e, "png") || !strcmp(e, "jpg") || !strcmp(e, "jpeg");
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void free_list(char **v, int64_t n) {
    for (int64_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* The PNG/JPEG files of folder `dir`, sorted by name (as pytorch-fid sorts). */
static hart_status list_images(const char *dir, char ***out, int64_t *n_out) {
    DIR *d = opendir(dir);
    if (!d) return hart_fail(HART_EIO, "%s: cannot open the folder", dir);
    char **v = NULL;
    int64_t n = 0, cap = 0;
    struct dirent *e;
    hart_status s = HART_OK;
    while (!s && (e = readdir(d))) {
        if (!is_image_name(e->d_name)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            char **nv = realloc(v, sizeof(char *) * (size_t)cap);
            if (!nv) { s = hart_fail(HART_ENOMEM, "out of memory"); break; }
            v = nv;
        }
        size_t l = strlen(dir) + strlen(e->d_name) + 2;
        if (!(v[n] = malloc(l))) { s = hart_fail(HART_ENOMEM, "out of memory"); break; }
        snprintf(v[n++], l, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (!s && n == 0) s = hart_fail(HART_EINVAL, "%s: no PNG or JPEG images in the folder", dir);
    if (s) { free_list(v, n); return s; }
    qsort(v, (size_t)n, sizeof *v, cmp_str);
    *out = v;
    *n_out = n;
    return HART_OK;
}

hart_status hart_fid_source_kind(const char *path, hart_fid_src_kind *kind) {
    struct stat sb;
    if (stat(path, &sb)) return hart_fail(HART_EIO, "%s: no such file or folder", path);
    if (S_ISDIR(sb.st_mode)) { /* checked here, so an empty folder fails before any model loads */
        char **files = NULL;
        int64_t n = 0;
        HART_TRY(list_images(path, &files, &n));
        free_list(files, n);
        *kind = HART_FID_SRC_FOLDER;
        return HART_OK;
    }
    hart_npz_file *f;
    HART_TRY(hart_npz_open(path, &f));
    hart_status s = HART_OK;
    if (hart_npz_has(f, "mu") && hart_npz_has(f, "sigma")) *kind = HART_FID_SRC_STATS;
    else if (hart_npz_has(f, "arr_0")) *kind = HART_FID_SRC_IMAGES_NPZ;
    else s = hart_fail(HART_EFORMAT, "%s: the .npz has neither mu and sigma nor arr_0 images", path);
    hart_npz_close(f);
    return s;
}

/* Feature extraction over n images, fetched by `get` into an hart_image
 * (called from several threads at once: it must be reentrant). */
typedef hart_status (*get_image_fn)(void *ctx, int64_t i, hart_image *img, int *owned);

/* The decoded images of one batch, on the host. */
typedef struct {
    hart_image *img;
    int *owned;
    int64_t n;
} host_batch;

static void host_batch_clear(host_batch *hb) {
    for (int64_t i = 0; i < hb->n; i++)
        if (hb->owned[i]) hart_image_free(&hb->img[i]);
    hb->n = 0;
}

/* Images at..at+nb-1, decoded in parallel (PNG/JPEG decoding is most of the
 * host's work: one thread cannot keep a GPU fed). A failure is reported for
 * the lowest failing index, its message made again on this thread (error
 * messages are per thread). */
static hart_status read_batch(get_image_fn get, void *ctx, int64_t at, int64_t nb, host_batch *hb) {
    int64_t bad = nb;
    hb->n = nb;
    for (int64_t i = 0; i < nb; i++) hb->owned[i] = 0;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t i = 0; i < nb; i++) {
        if (get(ctx, at + i, &hb->img[i], &hb->owned[i])) {
#pragma omp critical(fid_read_bad)
            if (i < bad) bad = i;
        }
    }
    if (bad == nb) return HART_OK;
    host_batch_clear(hb);
    hart_image img;
    int owned = 0;
    hart_status s = get(ctx, at + bad, &img, &owned);
    if (owned) hart_image_free(&img);
    return s ? s : hart_fail(HART_EIO, "image %lld could not be read", (long long)(at + bad));
}

/* The network input of a decoded batch: runs of images of one size go to
 * the device in one upload (as bytes), bounded so that their float copy
 * there takes at most PREP_BYTES. */
#define PREP_BYTES ((int64_t)64 << 20)
static hart_status prep_batch(hart_inception *m, const host_batch *hb, hart_tensor *x) {
    hart_status s = HART_OK;
    for (int64_t i = 0; i < hb->n && !s;) {
        int64_t float_bytes = (int64_t)hb->img[i].height * hb->img[i].width * 3 * 4, r = 1;
        while (i + r < hb->n && hb->img[i + r].height == hb->img[i].height && hb->img[i + r].width == hb->img[i].width &&
               (r + 1) * float_bytes <= PREP_BYTES)
            r++;
        s = hart_inception_prep_images(m, &hb->img[i], r, x, i);
        i += r;
    }
    return s;
}

/* Batches flow through three stages so the device never waits for the host:
 * while batch k's network runs (queued on the device), batch k+1 is decoded
 * and batch k-1's features go into the statistics; then batch k's features
 * are read (the only wait). On the CPU backend the stages simply follow one
 * another. With o->timing the device is waited for after each stage. */
static hart_status run_images(const char *path, const hart_fid_opts *o, int64_t n, get_image_fn get, void *ctx,
                              hart_fid_stats *st) {
    if (!o->model) return hart_fail(HART_EINVAL, "%s: image inputs need the FID Inception weights (--model)", path);
    if (n < 2) return hart_fail(HART_EINVAL, "%s: FID statistics need at least 2 images (found %lld)", path, (long long)n);
    hart_backend *be = hart_inception_backend(o->model);
    int64_t B = o->batch > 0 ? o->batch : 1;
    if (B > n) B = n;
    hart_fid_acc acc;
    HART_TRY(hart_fid_acc_init(&acc, HART_INCEPTION_DIM));
    hart_fid_timing *tm = o->timing;
    double *f[2] = {malloc(sizeof(double) * (size_t)B * HART_INCEPTION_DIM),
                    malloc(sizeof(double) * (size_t)B * HART_INCEPTION_DIM)};
    host_batch hb = {calloc((size_t)B, sizeof(hart_image)), calloc((size_t)B, sizeof(int)), 0};
    hart_status s = f[0] && f[1] && hb.img && hb.owned ? HART_OK : hart_fail(HART_ENOMEM, "out of memory");
    int64_t pending = 0; /* rows of features in f[(k-1)&1] not yet in the statistics */
    double t = tm ? hart_clock() : 0;
    if (!s) s = read_batch(get, ctx, 0, B, &hb);
    if (tm) tm->read_s += hart_clock() - t;
    for (int64_t k = 0, at = 0; at < n && !s; k++, at += B) {
        int64_t nb = hb.n;
        hart_tensor x = {0}, feat = {0};
        t = tm ? hart_clock() : 0;
        s = hart_tensor_new4(be, HART_F32, &x, 4, nb, 3, HART_INCEPTION_SIZE, HART_INCEPTION_SIZE);
        if (!s) s = prep_batch(o->model, &hb, &x);
        if (tm && !s) s = hart_backend_wait(be);
        host_batch_clear(&hb);
        if (tm) tm->prep_s += hart_clock() - t, t = hart_clock();
        if (!s) s = hart_inception_forward(o->model, &x, &feat);
        if (tm && !s) s = hart_backend_wait(be);
        if (tm) tm->network_s += hart_clock() - t, t = hart_clock();
        if (!s && pending) s = hart_fid_acc_add(&acc, f[(k - 1) & 1], pending);
        pending = 0;
        if (tm) tm->stats_s += hart_clock() - t, t = hart_clock();
        if (!s && at + nb < n) s = read_batch(get, ctx, at + nb, n - at - nb < B ? n - at - nb : B, &hb);
        if (tm) tm->read_s += hart_clock() - t, t = hart_clock();
        if (!s) s = hart_tensor_read_f64(&feat, f[k & 1]);
        if (!s) pending = nb;
        if (tm) tm->stats_s += hart_clock() - t;
        hart_tensor_free(&x);
        hart_tensor_free(&feat);
        if (!s && o->progress) o->progress(o->progress_arg, path, at + nb, n);
        if (!s && at + nb >= n) s = hart_fid_acc_add(&acc, f[k & 1], pending);
    }
    host_batch_clear(&hb);
    free(hb.img);
    free(hb.owned);
    free(f[0]);
    free(f[1]);
    if (!s) s = hart_fid_acc_stats(&acc, st);
    hart_fid_acc_free(&acc);
    return s;
}

static hart_status get_file(void *ctx, int64_t i, hart_image *img, int *owned) {
    char **files = ctx;
    HART_TRY(hart_image_read(files[i], img));
    *owned = 1;
    return HART_OK;
}

typedef struct { const hart_npy *a; } npz_ctx;

static hart_status get_npz(void *ctx, int64_t i, hart_image *img, int *owned) {
    const hart_npy *a = ((npz_ctx *)ctx)->a;
    memset(img, 0, sizeof *img);
    img->height = (int)a->shape[1];
    img->width = (int)a->shape[2];
    img->rgb = (uint8_t *)a->data + (size_t)i * (size_t)(a->shape[1] * a->shape[2] * 3); /* not owned */
    *owned = 0;
    return HART_OK;
}

hart_status hart_fid_stats_of(const char *path, const hart_fid_opts *o, hart_fid_stats *st) {
    memset(st, 0, sizeof *st);
    hart_fid_src_kind kind;
    HART_TRY(hart_fid_source_kind(path, &kind));
    if (kind == HART_FID_SRC_STATS) return hart_fid_stats_load(path, st);
    if (kind == HART_FID_SRC_FOLDER) {
        char **files = NULL;
        int64_t n = 0;
        HART_TRY(list_images(path, &files, &n));
        hart_status s = run_images(path, o, n, get_file, files, st);
        free_list(files, n);
        return s;
    }
    hart_npz_file *f;
    HART_TRY(hart_npz_open(path, &f));
    hart_npy a;
    hart_status s = hart_npz_get(f, "arr_0", &a);
    if (!s && (a.dtype != 'B' || a.ndim != 4 || a.shape[3] != 3 || a.shape[1] < 1 || a.shape[2] < 1 ||
               a.shape[1] > HART_IMAGE_MAX_SIDE || a.shape[2] > HART_IMAGE_MAX_SIDE))
        s = hart_fail(HART_EFORMAT, "%s: arr_0 must be uint8 images [N, H, W, 3]", path);
    if (!s) {
        npz_ctx c = {&a};
        s = run_images(path, o, a.shape[0], get_npz, &c, st);
    }
    hart_npy_free(&a);
    hart_npz_close(f);
    return s;
}
