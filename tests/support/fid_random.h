/* Test helper: the random FID Inception weights of tools/fid_golden_gen.py,
 * regenerated from the golden set's weights.txt ("name lo hi d0 d1 ..." per
 * tensor k: lo + (hi-lo)·u_i, u_i = (splitmix64((k<<32)+i) >> 40) / 2^24, in
 * double, rounded to float32) and written as a safetensors file. */
#ifndef HART_TEST_FID_RANDOM_H
#define HART_TEST_FID_RANDOM_H

/* Write the weights listed in `manifest` to `path`. 0 on success. */
int fid_random_write(const char *manifest, const char *path);

#endif
