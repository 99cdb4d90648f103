/* Status codes and error messages.
 * Every fallible function returns hart_status; on failure it has called
 * hart_fail() which stores a human-readable message (naming the file, tensor
 * or flag at fault) retrievable with hart_errmsg(). No exit() below the CLI. */
#ifndef HART_STATUS_H
#define HART_STATUS_H

typedef enum {
    HART_OK = 0,
    HART_EINVAL,       /* bad argument / user input */
    HART_EIO,          /* file could not be opened, read or written */
    HART_EFORMAT,      /* malformed file: safetensors, json, image */
    HART_ENOMEM,       /* allocation failed */
    HART_EDEVICE,      /* OpenCL / backend failure */
    HART_EUNSUPPORTED, /* valid but not implemented / unsupported config value */
    HART_EMISMATCH     /* config does not match the tensors */
} hart_status;

/* Record a formatted message (thread-local) and return code. */
hart_status hart_fail(hart_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefix the current message with more context: "ctx: old message". */
hart_status hart_fail_ctx(hart_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *hart_errmsg(void);
const char *hart_status_name(hart_status s);
void hart_clear_error(void);

#define HART_TRY(expr)                                                         \
    do {                                                                       \
        hart_status hart_try_s_ = (expr);                                      \
        if (hart_try_s_ != HART_OK) return hart_try_s_;                        \
    } while (0)

/* For functions with a cleanup label: keep expr's status in `st` and jump to
 * `done` on failure, where the cleanup runs and `st` is returned. */
#define HART_TRY_GOTO(st, expr)                                                \
    do {                                                                       \
        (st) = (expr);                                                         \
        if ((st) != HART_OK) goto done;                                        \
    } while (0)

#endif
