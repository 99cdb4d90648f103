/* The reference backend: naive host implementations, the oracle of every test. */
#include "backend/ref/ref_util.h"

const hart_backend_vt hart_ref_vt = {HART_OP_LIST(HART_BE_ENTRY, hart_ref_)};

static hart_backend g_ref = {.vt = &hart_ref_vt, .kind = HART_BACKEND_CPU, .name = "reference (naive C)"};

hart_backend *hart_backend_ref(void) { return &g_ref; }
