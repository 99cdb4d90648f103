/* A progress line on stderr for long work (model load, scales, batches):
 * drawn in place ("\r") only when stderr is a terminal and the command is
 * not --quiet; nothing at all otherwise, so logs and pipes stay clean. */
#ifndef HART_CLI_PROGRESS_H
#define HART_CLI_PROGRESS_H

typedef struct {
    const char *cmd; /* "generate" */
    int on;          /* stderr is a terminal and not quiet */
    int shown;       /* a line is on screen */
} hart_progress;

/* on = isatty(stderr) && !quiet; HART_PROGRESS=0/1 overrides the terminal
 * test (tests). */
void hart_progress_init(hart_progress *p, const char *cmd, int quiet);
/* Replace the line with "hart CMD: <what>" (printf format). */
void hart_progress_note(hart_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Erase the line (before a regular message or at the end). */
void hart_progress_clear(hart_progress *p);
/* hart_t2i_opts.progress callback: "scale done/total" (arg: hart_progress*). */
void hart_progress_t2i(void *arg, int done, int total);

#endif
