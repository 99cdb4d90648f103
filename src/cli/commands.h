/* Subcommands of the `hart` CLI. Each returns the process exit code:
 * 0 success, 1 runtime failure (message printed), 2 usage error. */
#ifndef HART_CLI_COMMANDS_H
#define HART_CLI_COMMANDS_H

int cmd_info(int argc, char **argv);
int cmd_generate(int argc, char **argv);
/* hart generate for LPD models (argv has --vq), cmd_generate_lpd.c */
int cmd_generate_lpd(int argc, char **argv);
int cmd_batch(int argc, char **argv);
/* hart batch for LPD models (argv has --vq), cmd_batch_lpd.c */
int cmd_batch_lpd(int argc, char **argv);
/* hart batch --merge DIR... (argv has --merge), cmd_batch_merge.c */
int cmd_batch_merge(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_decode(int argc, char **argv);
int cmd_reconstruct(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_fid(int argc, char **argv);
int cmd_quantize(int argc, char **argv);

#endif
