/* A checkpoint folder: config.json + one safetensors file or shards listed in
 * model.safetensors.index.json (or diffusion_pytorch_model.safetensors).
 * Tensor lookup by name across shards; shape/dtype checks with messages that
 * name the file and the tensor. */
#ifndef HART_CHECKPOINT_H
#define HART_CHECKPOINT_H

#include <cjson/cJSON.h>

#include "core/safetensors.h"

typedef struct hart_checkpoint {
    char *dir;
    cJSON *config;            /* parsed config.json (NULL if the folder has none) */
    hart_safetensors *files;
    int n_files;
} hart_checkpoint;

/* Open `dir`. `config_name` is usually "config.json" (NULL = none required).
 * Weights: model.safetensors.index.json shards, else the single *.safetensors
 * named `weights_name` (NULL = "model.safetensors", then
 * "diffusion_pytorch_model.safetensors"). */
hart_status hart_ckpt_open(const char *dir, const char *config_name,
                           const char *weights_name, hart_checkpoint *ck);
void hart_ckpt_close(hart_checkpoint *ck);

int hart_ckpt_has(const hart_checkpoint *ck, const char *name);
/* Host view of tensor `name`; if ndim > 0, its shape must equal `shape`
 * (error names tensor, expected and actual shape). Any float dtype accepted. */
hart_status hart_ckpt_get(const hart_checkpoint *ck, const char *name, int ndim,
                          const int64_t *shape, hart_tensor *out);
/* Done with a view from hart_ckpt_get (its data was copied): drop the
 * mapping's resident pages under it (see hart_st_release). */
void hart_ckpt_release(const hart_checkpoint *ck, const hart_tensor *view);
/* printf-style name; shape given as ndim then dims. Convenience for models:
 *   hart_ckpt_getf(ck, &t, 2, (int64_t[]){N, K}, "blocks.%d.attn.w", i) */
hart_status hart_ckpt_getf(const hart_checkpoint *ck, hart_tensor *out, int ndim,
                           const int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* config helpers (error names the key and the file) */
hart_status hart_cfg_int(const cJSON *cfg, const char *key, int64_t *out);
hart_status hart_cfg_int_or(const cJSON *cfg, const char *key, int64_t dflt, int64_t *out);
hart_status hart_cfg_num(const cJSON *cfg, const char *key, double *out);
hart_status hart_cfg_num_or(const cJSON *cfg, const char *key, double dflt, double *out);
hart_status hart_cfg_bool_or(const cJSON *cfg, const char *key, int dflt, int *out);
/* string: pointer into cfg (valid while cfg lives); NULL if absent/null and dflt NULL */
hart_status hart_cfg_str_or(const cJSON *cfg, const char *key, const char *dflt, const char **out);
/* int array: up to max entries, count in *n */
hart_status hart_cfg_int_array(const cJSON *cfg, const char *key, int64_t *out, int max, int *n);
/* Read + parse a JSON file. */
hart_status hart_json_load(const char *path, cJSON **out);

#endif
