/* The Inception-v3 variant that FID uses (pytorch-fid's FID Inception: the
 * TensorFlow 2015-12-05 graph ported to PyTorch, with its FIDInceptionA/C/E
 * blocks): images in [0,1] -> bilinear resize to 299x299 (align_corners
 * False) -> 2x-1 -> the network up to the final average pool -> 2048-d
 * features. Weights: pytorch-fid's release file pt_inception-2015-12-05-*.pth
 * (legacy or zip torch.save) or a safetensors copy, tensors named as in
 * torchvision's Inception3 ("Mixed_5b.branch1x1.conv.weight", ...). Every
 * conv's BatchNorm (eps 1e-3) is folded into the conv at load. */
#ifndef HART_MODELS_INCEPTION_H
#define HART_MODELS_INCEPTION_H

#include "backend/backend.h"
#include "io/image.h"

#define HART_INCEPTION_SIZE 299
#define HART_INCEPTION_DIM 2048
#define HART_INCEPTION_MIN_SIZE 75 /* the smallest input the stride-2 layers leave non-empty */

typedef struct hart_inception hart_inception;

/* Load the weights file `path` onto backend `be` (NULL = CPU). Errors name
 * the file and the tensor (missing, wrong shape). */
hart_status hart_inception_load(hart_backend *be, const char *path, hart_inception **out);
void hart_inception_free(hart_inception *m);
hart_backend *hart_inception_backend(const hart_inception *m);

/* The network input of n images of one size: x [n,3,H,W] F32 in [0,1] (host
 * or the model's backend) -> rows index..index+n-1 of y [N,3,299,299] on the
 * model's backend (resized bilinearly, then 2x-1). */
hart_status hart_inception_prep(hart_inception *m, const hart_tensor *x, hart_tensor *y, int64_t index);
/* Same from n 8-bit RGB images that all have one size (one upload, one
 * resize for all of them). */
hart_status hart_inception_prep_images(hart_inception *m, const hart_image *imgs, int64_t n, hart_tensor *y,
                                       int64_t index);
/* n = 1 of the above. */
hart_status hart_inception_prep_image(hart_inception *m, const hart_image *img, hart_tensor *y, int64_t index);

/* Features: x [N,3,H,W] in [-1,1] (prep's output: 299x299; the network is
 * fully convolutional, so any H, W >= 75 runs, as pytorch-fid's
 * resize_input=False) -> new tensor feat [N,2048] on the model's backend. */
hart_status hart_inception_forward(hart_inception *m, const hart_tensor *x, hart_tensor *feat);

#endif
