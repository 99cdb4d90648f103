/* The float instantiation of the reference ops (functions hart_ref_*). */
#include "backend/ref/ref_util.h"

#include "backend/ref/ref_attention.inc"
#include "backend/ref/ref_elementwise.inc"
#include "backend/ref/ref_linalg.inc"
#include "backend/ref/ref_norm.inc"
#include "backend/ref/ref_resample.inc"
#include "backend/ref/ref_rotary.inc"
#include "backend/ref/ref_sample.inc"
#include "backend/ref/ref_shape.inc"
#include "backend/ref/ref_fused.inc"
