/* PyTorch checkpoint reader (the zip format of torch.save, torch >= 1.6).
 *
 * A .pth/.pt file is a zip archive holding `<stem>/data.pkl` (a pickle) and
 * one entry `<stem>/data/<key>` per tensor storage. The pickle is read by a
 * restricted unpickler (hart_pth_unpickle.c) that knows only what a state dict is
 * made of: dicts and OrderedDicts, lists, tuples, ints, floats, strings,
 * booleans, None, tensor rebuild calls (`torch._utils._rebuild_tensor_v2`,
 * `_rebuild_parameter`) and storages given by persistent id
 * (`torch.FloatStorage`, `HalfStorage`, `BFloat16Storage`, `LongStorage`,
 * `IntStorage`, `CharStorage`, `ByteStorage`, `BoolStorage`). Any other
 * global or opcode is an error naming it; nothing is imported or executed.
 * `argparse.Namespace` (the `args` entry of training checkpoints) becomes an
 * inert value that is never looked at.
 *
 * The tensors are those of the top-level dict's `model` entry, or of the
 * top-level dict itself when it has no `model` entry (a bare state dict).
 * They are exposed as a hart_safetensors (names, dtypes, shapes, data), so
 * every checkpoint helper works on them: tensors stay in the file mapping
 * when their bytes are contiguous and aligned, otherwise all of them are
 * copied (strided views gathered into dense order). */
#ifndef HART_PTH_H
#define HART_PTH_H

#include "core/checkpoint.h"
#include "core/safetensors.h"

/* 1 if the bytes start like a zip archive (a torch.save file). */
int hart_pth_sniff(const void *buf, size_t size);
/* Open `path` (mmap) into st; close with hart_st_close. */
hart_status hart_pth_open(const char *path, hart_safetensors *st);
/* Parse from memory (`buf` must outlive st). Used by the fuzzer and tests. */
hart_status hart_pth_parse(const void *buf, size_t size, const char *label, hart_safetensors *st);

/* A checkpoint made of one weights file, no config: a PyTorch zip archive
 * (by content, or any .pth/.pt/.ckpt/.bin file) or else a safetensors file. */
hart_status hart_ckpt_open_file(const char *path, hart_checkpoint *ck);

#endif
