/* TEMPORARY (hartgen branch): placeholders for the HART tokenizer API until
 * the `vae` branch lands; they only report that the tokenizer is missing.
 * DELETE this file when merging vae (src/models/vae_hart.c). */
#include "models/vae_hart.h"

static hart_status missing(void) {
    return hart_fail(HART_EUNSUPPORTED, "the HART tokenizer (vae_hart.c) is not in this build yet");
}
hart_status hart_vae_load(hart_backend *be, const char *tokenizer_dir, hart_vae **out) {
    (void)be; (void)tokenizer_dir; *out = NULL;
    return missing();
}
void hart_vae_free(hart_vae *vae) { (void)vae; }
const hart_vae_info *hart_vae_get_info(const hart_vae *vae) { (void)vae; return NULL; }
hart_status hart_vae_decode(hart_vae *vae, const hart_tensor *f_hat, hart_tensor *image) {
    (void)vae; (void)f_hat; (void)image;
    return missing();
}
hart_status hart_vae_next_scale(hart_vae *vae, int si, hart_tensor *f_hat, const hart_tensor *h,
                                hart_tensor *next_input) {
    (void)vae; (void)si; (void)f_hat; (void)h; (void)next_input;
    return missing();
}
