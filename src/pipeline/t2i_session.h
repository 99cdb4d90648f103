/* The prompt -> image glue `hart generate` and `hart batch` share: check the
 * model folders before any work, open the device, load the HART model and
 * (for prompts) the text encoder once, render prompts in device batches
 * (the encodings of the last prompt and of the negative prompt cached), and
 * write images with their generation parameters as metadata.
 *
 *   hart_t2i_session_opts so = {.device = "auto", .model_dir = "m", .need_text = 1};
 *   hart_t2i_session *s;
 *   if (hart_t2i_session_check(&so) || hart_t2i_session_open(&so, &s)) fail(hart_errmsg());
 *   hart_t2i_session_render(s, prompts, seeds, n, &opts, &img);   // img [n,3,H,W] host
 *   hart_t2i_save_image("a.png", &img, 0, &meta);
 *   hart_t2i_session_close(s); */
#ifndef HART_PIPELINE_T2I_SESSION_H
#define HART_PIPELINE_T2I_SESSION_H

#include <stdint.h>

#include "pipeline/t2i.h"

typedef struct {
    const char *device;     /* backend spec (hart_backend_open); NULL = $HART_DEVICE or cpu */
    const char *model_dir;  /* HART model folder (llm/, tokenizer/, text_encoder/) */
    const char *text_model; /* text encoder folder; NULL = <model_dir>/text_encoder */
    int need_text;          /* load the text encoder (prompt rendering) */
    const char *precision;  /* "f32", "f16" or NULL = the device's default (hart_backend_open_prec) */
} hart_t2i_session_opts;

typedef struct hart_t2i_session hart_t2i_session;

/* Cheap checks before anything is loaded: the model folder exists (named as
 * "model folder" when not), and with need_text the text encoder folder. */
hart_status hart_t2i_session_check(const hart_t2i_session_opts *o);
hart_status hart_t2i_session_open(const hart_t2i_session_opts *o, hart_t2i_session **out);
void hart_t2i_session_close(hart_t2i_session *s);

/* The one-line reason the device was chosen (hart_backend_open's `why`). */
const char *hart_t2i_session_device_why(const hart_t2i_session *s);
hart_t2i *hart_t2i_session_pipeline(hart_t2i_session *s);

/* n images, image i from prompts[i] keyed by seeds[i] (see
 * hart_t2i_render_prompts; opts->negative_prompt honoured). */
hart_status hart_t2i_session_render(hart_t2i_session *s, const char *const *prompts, const uint64_t *seeds, int n,
                                    const hart_t2i_opts *opts, hart_tensor *image);

/* What an image file records in its "parameters" metadata. */
typedef struct {
    const char *prompt;          /* NULL = none (context file) */
    const char *negative_prompt; /* NULL or "" = not recorded */
    const char *model;
    uint64_t seed;
    int64_t index;
    const hart_t2i_opts *opts;   /* cfg, top_k, top_p, smooth, temperature */
    const char *const *extra;    /* further key, value pairs (NULL-terminated list) or NULL */
} hart_t2i_image_meta;

/* Image i of image [B,3,H,W] in [0,1] -> path (PNG/JPEG by extension),
 * written atomically. */
hart_status hart_t2i_save_image(const char *path, const hart_tensor *image, int i, const hart_t2i_image_meta *m);

#endif
