/* `hart info -m MODEL`: per-layer format and weight bytes of a model
 * folder's checkpoints (llm/, text_encoder/, or the folder itself). */
#ifndef HART_QUANT_QREPORT_H
#define HART_QUANT_QREPORT_H

#include <stdio.h>

#include "core/status.h"

hart_status hart_quant_report(FILE *f, const char *model_dir);

#endif
