/* Stage timings of the t2i pipeline: clock, device wait, report. */
#include "pipeline/t2i_timings.h"

#include <time.h>

double hart_clock(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

hart_status hart_backend_wait(hart_backend *be) {
    if (!be || !be->vt || !be->vt->sync) return HART_OK;
    return be->vt->sync(be);
}

static double sum(const double *v, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return s;
}

double hart_t2i_timings_transformer(const hart_t2i_timings *t) { return sum(t->transformer_s, t->n_scales); }
double hart_t2i_timings_sampling(const hart_t2i_timings *t) { return sum(t->sample_s, t->n_scales); }
double hart_t2i_timings_next(const hart_t2i_timings *t) { return sum(t->next_s, t->n_scales); }

void hart_t2i_timings_print(FILE *f, const hart_t2i_timings *t) {
    fprintf(f, "timings (%d image%s, seconds, each stage waited for the device):\n", t->images,
            t->images == 1 ? "" : "s");
    fprintf(f, "  text encoding        %9.4f\n", t->text_s);
    fprintf(f, "  begin (conditioning) %9.4f\n", t->begin_s);
    fprintf(f, "  scale  size     transformer  sampling  next-scale\n");
    for (int i = 0; i < t->n_scales; i++)
        fprintf(f, "  %5d  %3dx%-3d  %11.4f  %8.4f  %10.4f\n", i, t->patch_nums[i], t->patch_nums[i],
                t->transformer_s[i], t->sample_s[i], t->next_s[i]);
    fprintf(f, "  all scales           %9.4f  (transformer %.4f, sampling %.4f, next-scale %.4f)\n",
            hart_t2i_timings_transformer(t) + hart_t2i_timings_sampling(t) + hart_t2i_timings_next(t),
            hart_t2i_timings_transformer(t), hart_t2i_timings_sampling(t), hart_t2i_timings_next(t));
    fprintf(f, "  diffusion head       %9.4f\n", t->diffusion_s);
    fprintf(f, "  decode               %9.4f\n", t->decode_s);
    fprintf(f, "  total                %9.4f  (text encoding %.4f + generation %.4f)\n", t->text_s + t->total_s,
            t->text_s, t->total_s);
}
