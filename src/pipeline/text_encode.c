/* HART prompt encoding (see text_encode.h). */
#include "pipeline/text_encode.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend/backend.h"
#include "core/checkpoint.h"
#include "ops/ops.h"

/* The system prompt HART prepends (its llm_system_prompt); kept identical
 * byte for byte, since the context depends on it. Also in
 * hart_system_prompt.txt, which the vector generator tokenizes. */
const char hart_text_system_prompt[] =
    "Given a user prompt, generate an \"Enhanced prompt\" that provides detailed visual descriptions suitable for image generation.\n"
    "\n"
    "Examples:\n"
    "- User Prompt: A cat sleeping -> A small, fluffy white cat curled up in a round shape, sleeping peacefully on a warm sunny windowsill, surrounded by pots of blooming red flowers.\n"
    "- User Prompt: A busy city street -> A bustling city street scene at dusk, featuring glowing street lamps, a diverse crowd of people in colorful clothing, and a double-decker bus passing by towering glass skyscrapers.\n"
    "\n"
    "Please generate only the enhanced description for the prompt below and DO NOT include any additional sentences. Start your response with \"Enhanced Prompt:\".\n"
    "\n"
    "User Prompt:\n";

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int side_is_left(const cJSON *cfg, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    return cJSON_IsString(v) && !strcmp(v->valuestring, "left");
}

static hart_status pad_token_of(const char *dir, const hart_bpe *tok, int64_t *pad, int *pad_left, int *trunc_left) {
    char path[4096];
    const char *name = "<|endoftext|>";
    cJSON *cfg = NULL;
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    if (file_exists(path)) {
        HART_TRY(hart_json_load(path, &cfg));
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(cfg, "pad_token");
        if (cJSON_IsObject(p)) p = cJSON_GetObjectItemCaseSensitive(p, "content");
        if (cJSON_IsString(p)) name = p->valuestring;
        *pad_left = side_is_left(cfg, "padding_side");
        *trunc_left = side_is_left(cfg, "truncation_side");
    }
    *pad = hart_bpe_token_id(tok, name);
    hart_status s = HART_OK;
    if (*pad < 0) s = hart_fail(HART_EFORMAT, "%s: pad token '%s' is not in tokenizer.json", dir, name);
    cJSON_Delete(cfg);
    return s;
}

hart_status hart_text_encoder_load(const char *dir, hart_backend *be, hart_text_encoder *te) {
    memset(te, 0, sizeof *te);
    te->use_system_prompt = 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    HART_TRY(hart_bpe_load(path, &te->tok));
    hart_status s = pad_token_of(dir, te->tok, &te->pad_id, &te->pad_left, &te->trunc_left);
    if (!s) s = hart_qwen2_load(dir, be, &te->model);
    if (!s && hart_bpe_vocab_size(te->tok) > te->model.vocab)
        s = hart_fail(HART_EMISMATCH, "%s: tokenizer has %lld ids but the model's vocabulary is %lld", dir,
                      (long long)hart_bpe_vocab_size(te->tok), (long long)te->model.vocab);
    if (s) {
        hart_bpe_free(te->tok);
        hart_qwen2_free(&te->model);
        memset(te, 0, sizeof *te);
    }
    return s;
}

void hart_text_encoder_free(hart_text_encoder *te) {
    if (!te) return;
    hart_bpe_free(te->tok);
    hart_qwen2_free(&te->model);
    memset(te, 0, sizeof *te);
}

void hart_text_position_ids(const uint8_t *mask, int B, int T, int64_t *pos) {
    for (int b = 0; b < B; b++) {
        int64_t c = 0;
        for (int t = 0; t < T; t++) {
            c += mask[(size_t)b * T + t] != 0;
            pos[(size_t)b * T + t] = c - 1;
        }
    }
}

hart_status hart_text_tokenize(const hart_bpe *tok, const char *const *prompts, int B, int max_len, int64_t pad_id,
                               int64_t *ids, uint8_t *mask, int64_t *pos) {
    return hart_text_tokenize_sides(tok, prompts, B, max_len, pad_id, 0, 0, ids, mask, pos);
}

hart_status hart_text_tokenize_sides(const hart_bpe *tok, const char *const *prompts, int B, int max_len,
                                     int64_t pad_id, int pad_left, int trunc_left, int64_t *ids, uint8_t *mask,
                                     int64_t *pos) {
    if (B <= 0 || max_len <= 0) return hart_fail(HART_EINVAL, "text encode: need at least one prompt and max length > 0");
    for (int b = 0; b < B; b++) {
        int64_t *tid;
        size_t n;
        if (!prompts[b]) return hart_fail(HART_EINVAL, "text encode: prompt %d is NULL", b);
        hart_status s = hart_bpe_encode(tok, prompts[b], strlen(prompts[b]), &tid, &n);
        if (s) return hart_fail_ctx(s, "prompt %d", b);
        int64_t *row = ids + (size_t)b * max_len;
        size_t keep = n < (size_t)max_len ? n : (size_t)max_len;
        const int64_t *src = tid + (trunc_left ? n - keep : 0);
        size_t off = pad_left ? (size_t)max_len - keep : 0;
        for (int t = 0; t < max_len; t++) row[t] = pad_id;
        for (size_t t = 0; t < keep; t++) row[off + t] = src[t];
        for (int t = 0; t < max_len; t++) mask[(size_t)b * max_len + t] = row[t] != pad_id;
        free(tid);
    }
    hart_text_position_ids(mask, B, max_len, pos);
    return HART_OK;
}

hart_status hart_text_encode_ids(const hart_qwen2 *m, const int64_t *sys_ids, size_t n_sys, const int64_t *ids,
                                 const uint8_t *mask, int B, int T, hart_tensor *context) {
    const int64_t L = (int64_t)n_sys + T, D = m->hidden;
    if (!context || context->dtype != HART_F32 || context->ndim != 3 || context->shape[0] != B ||
        context->shape[1] != T || context->shape[2] != D)
        return hart_fail(HART_EINVAL, "text encode: context must be F32 [%d,%d,%lld]", B, T, (long long)D);
    int64_t *all = malloc((size_t)B * L * sizeof *all);
    uint8_t *am = malloc((size_t)B * L);
    hart_tensor out = {0};
    hart_status s = all && am ? HART_OK : hart_fail(HART_ENOMEM, "text encode: out of memory");
    for (int b = 0; !s && b < B; b++) {
        for (size_t i = 0; i < n_sys; i++) { all[b * L + i] = sys_ids[i]; am[b * L + i] = 1; }
        for (int t = 0; t < T; t++) {
            all[b * L + (int64_t)n_sys + t] = ids[(size_t)b * T + t];
            am[b * L + (int64_t)n_sys + t] = mask[(size_t)b * T + t];
        }
    }
    if (!s) s = hart_tensor_new4(m->be, HART_F32, &out, 3, B, L, D, 0);
    if (!s) s = hart_qwen2_forward(m, all, am, B, L, &out, NULL);
    if (!s) s = hart_op_slice(context, &out, 1, (int64_t)n_sys);
    hart_tensor_free(&out);
    free(all);
    free(am);
    return s;
}

hart_status hart_text_encode(const hart_text_encoder *te, const char *const *prompts, int B, int max_len,
                             hart_tensor *context, hart_tensor *mask, hart_tensor *pos) {
    memset(context, 0, sizeof *context);
    memset(mask, 0, sizeof *mask);
    memset(pos, 0, sizeof *pos);
    int64_t *ids = malloc((size_t)B * max_len * sizeof *ids), *sys = NULL;
    size_t n_sys = 0;
    hart_status s = ids ? HART_OK : hart_fail(HART_ENOMEM, "text encode: out of memory");
    if (!s) s = hart_tensor_new4(NULL, HART_U8, mask, 2, B, max_len, 0, 0);
    if (!s) s = hart_tensor_new4(NULL, HART_I64, pos, 2, B, max_len, 0, 0);
    if (!s) s = hart_text_tokenize_sides(te->tok, prompts, B, max_len, te->pad_id, te->pad_left, te->trunc_left, ids,
                                         (uint8_t *)mask->data, (int64_t *)pos->data);
    if (!s && te->use_system_prompt) {
        s = hart_bpe_encode(te->tok, hart_text_system_prompt, strlen(hart_text_system_prompt), &sys, &n_sys);
        if ((int)n_sys > max_len) { /* truncation=True, max_length */
            if (te->trunc_left) memmove(sys, sys + (n_sys - (size_t)max_len), (size_t)max_len * sizeof *sys);
            n_sys = (size_t)max_len;
        }
    }
    if (!s) s = hart_tensor_new4(te->model.be, HART_F32, context, 3, B, max_len, te->model.hidden, 0);
    if (!s) s = hart_text_encode_ids(&te->model, sys, n_sys, ids, (const uint8_t *)mask->data, B, max_len, context);
    free(ids);
    free(sys);
    if (s) { hart_tensor_free(context); hart_tensor_free(mask); hart_tensor_free(pos); }
    return s;
}

hart_status hart_text_encode_from_dir(const char *dir, hart_backend *be, const char *const *prompts, int B,
                                      int max_len, int D, hart_tensor *context, hart_tensor *mask, hart_tensor *pos) {
    hart_text_encoder te;
    HART_TRY(hart_text_encoder_load(dir, be, &te));
    hart_status s = HART_OK;
    if (D > 0 && te.model.hidden != D)
        s = hart_fail(HART_EMISMATCH, "%s: text model width %lld does not match the transformer's context width %d", dir,
                      (long long)te.model.hidden, D);
    if (!s) s = hart_text_encode(&te, prompts, B, max_len, context, mask, pos);
    hart_text_encoder_free(&te);
    return s;
}

hart_status hart_text_null_context(hart_backend *be, int B, int T, int D, hart_tensor *context, hart_tensor *mask,
                                   hart_tensor *pos) {
    HART_TRY(hart_tensor_new4(be, HART_F32, context, 3, B, T, D, 0));
    hart_status s = hart_tensor_new4(NULL, HART_U8, mask, 2, B, T, 0, 0);
    if (!s) s = hart_tensor_new4(NULL, HART_I64, pos, 2, B, T, 0, 0);
    if (s) { hart_tensor_free(context); hart_tensor_free(mask); hart_tensor_free(pos); return s; }
    for (int b = 0; b < B; b++) ((uint8_t *)mask->data)[(size_t)b * T] = 1;
    return HART_OK;
}
