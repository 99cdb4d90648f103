/* Output paths of the CLI commands, checked before any model is loaded so a
 * typo costs nothing; numbered names for several images. */
#ifndef HART_CLI_OUTPATH_H
#define HART_CLI_OUTPATH_H

#include <stddef.h>

/* `path` will receive a file: its folder must exist and be writable and the
 * path must not be a folder. 0 if so, else 1 after printing one line
 * "hart CMD: FLAG PATH: <reason>". */
int hart_cli_check_out_file(const char *cmd, const char *flag, const char *path);
/* `dir` will be an output folder (created if missing, one level): it is a
 * writable folder, or its parent is. 0 if so, else 1 after one line. */
int hart_cli_check_out_dir(const char *cmd, const char *flag, const char *dir);
/* FILE.png -> FILE_i.png when n > 1 (else FILE.png unchanged). */
void hart_cli_numbered(const char *base, int i, int n, char *buf, size_t sz);

#endif
