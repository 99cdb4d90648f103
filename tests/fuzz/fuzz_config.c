/* libFuzzer entry point: config.json handling. The input is parsed as JSON
 * (as hart_json_load does) and every config helper is called on a fixed set
 * of keys and on every key present, with both plain and array accessors.
 * Any value must give HART_OK or an error status - no crash, no UB (e.g.
 * casting 1e300 to an integer), no leak. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void probe(const cJSON *cfg, const char *key) {
    int64_t i, arr[8];
    double d;
    int b, n;
    const char *s;
    if (hart_cfg_int(cfg, key, &i) == HART_OK) (void)i;
    if (hart_cfg_int_or(cfg, key, 7, &i) == HART_OK) (void)i;
    if (hart_cfg_num(cfg, key, &d) == HART_OK) (void)d;
    if (hart_cfg_num_or(cfg, key, 0.5, &d) == HART_OK) (void)d;
    if (hart_cfg_bool_or(cfg, key, 1, &b) == HART_OK && b != 0 && b != 1) abort();
    if (hart_cfg_str_or(cfg, key, "x", &s) == HART_OK && s) (void)strlen(s);
    if (hart_cfg_int_array(cfg, key, arr, 8, &n) == HART_OK && (n < 0 || n > 8)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts((const char *)data, size, &end, 0);
    if (!j) return 0;
    static const char *keys[] = {"hidden_size", "num_hidden_layers", "patch_nums", "vocab_size", "rms_norm_eps",
                                 "use_context_norm", "model_type", "ch_mult", "", "__metadata__"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) probe(j, keys[k]);
    for (const cJSON *it = j->child; it; it = it->next)
        if (it->string) probe(j, it->string);
    /* nested objects are configs too (e.g. "text_config") */
    for (const cJSON *it = j->child; it; it = it->next)
        if (cJSON_IsObject(it))
            for (const cJSON *c = it->child; c; c = c->next)
                if (c->string) probe(it, c->string);
    cJSON_Delete(j);
    return 0;
}
