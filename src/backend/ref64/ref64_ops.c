/* The double instantiation of the reference ops (functions hart_ref64_*) and the
 * ref64 vtable. */
#define REF_F64 1
#include "backend/ref/ref_real.h"
#include "backend/ref64/ref64_internal.h"

#include "backend/ref/ref_attention.inc"
#include "backend/ref/ref_elementwise.inc"
#include "backend/ref/ref_linalg.inc"
#include "backend/ref/ref_norm.inc"
#include "backend/ref/ref_resample.inc"
#include "backend/ref/ref_rotary.inc"
#include "backend/ref/ref_sample.inc"
#include "backend/ref/ref_shape.inc"
#include "backend/ref/ref_fused.inc"

/* No quantized ops in double: the front-ends run them on the CPU. */
#define hart_ref64_qlinear NULL
#define hart_ref64_quant_rows NULL
#define hart_ref64_qgemm NULL
/* block_mask is integer arithmetic (block_mask_fix.h): the float reference is the only one */
#define hart_ref64_block_mask NULL

const hart_backend_vt hart_ref64_vt = {.sync = hart_ref64_sync, HART_OP_LIST(HART_BE_ENTRY, hart_ref64_)};
