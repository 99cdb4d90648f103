/* Test/bench helper: write a HART tokenizer folder (config.json +
 * model.safetensors) with random weights for any configuration, following
 * the reference's module layout. */
#ifndef HART_TEST_VAE_RANDOM_H
#define HART_TEST_VAE_RANDOM_H

typedef struct {
    int ch, n_mult, ch_mult[8], z, vocab, n_scales, pn[16];
    double quant_resi;
    int share, dflt_cnt, qks, nrb; /* nrb: num_res_blocks (0 = 2, not written to config) */
    int hybrid;                    /* quantizer_type var_hybrid (else var) */
    int no_prefix;                 /* keys without "vae." and model_type hart_autoencoder */
    int extra_keys;                /* add disc.* / ema_vocab_hit_SV tensors that must be ignored */
    int f16;                       /* 1: store every tensor as F16; 2: F32 holding F16-rounded values */
    unsigned seed;
} vae_random_cfg;

/* 0 on success. */
int vae_random_write(const char *dir, const vae_random_cfg *c);
/* Remove the two files and the folder. */
void vae_random_remove(const char *dir);

#endif
