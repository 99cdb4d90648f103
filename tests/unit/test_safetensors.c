/* safetensors reader/writer: round trip, and every kind of malformed file
 * must give HART_EFORMAT (or EIO) with a message, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/safetensors.h"

static char dir[256];

static int setup(void **s) {
    snprintf(dir, sizeof dir, "/tmp/hart_test_st_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}
static int teardown(void **s) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}
static const char *tp(const char *name) {
    static char buf[400];
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
    return buf;
}

static void write_bytes(const char *path, const void *d, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n) assert_int_equal(fwrite(d, 1, n, f), n);
    fclose(f);
}

/* A raw safetensors file: 8-byte little-endian header length, header text,
 * then `dlen` data bytes (0, 1, 2, ...). */
static void write_raw(const char *path, const char *header, size_t dlen) {
    size_t hl = strlen(header);
    unsigned char *b = malloc(8 + hl + dlen + 1);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, header, hl);
    for (size_t i = 0; i < dlen; i++) b[8 + hl + i] = (unsigned char)i;
    write_bytes(path, b, 8 + hl + dlen);
    free(b);
}

/* Expect opening a raw file to fail with `code` and a message containing `frag`. */
static void expect_bad(const char *header, size_t dlen, hart_status code, const char *frag) {
    hart_safetensors st;
    write_raw(tp("bad.safetensors"), header, dlen);
    hart_status s = hart_st_open(tp("bad.safetensors"), &st);
    if (s != code || !strstr(hart_errmsg(), frag))
        fail_msg("header %s: got status %d '%s', want %d containing '%s'", header, s, hart_errmsg(), code, frag);
    assert_null(st.entries);
    assert_int_equal(st.n_entries, 0);
}

static void test_roundtrip(void **s) {
    hart_st_writer *w = hart_st_writer_new();
    assert_non_null(w);
    uint8_t u8[3] = {1, 2, 255};
    float f32[6] = {1.5f, -2, 3, 4, 5, 6.25f};
    uint16_t f16[4] = {0x3c00, 0xc000, 0x7bff, 0};
    int64_t i64[2] = {-5, (int64_t)1 << 40};
    int32_t i32[1] = {7};
    int8_t i8[2] = {-128, 127};
    float scalar = 42;
    /* U8 first: the writer must still align the F32 data */
    assert_int_equal(hart_st_writer_add_raw(w, "u8", HART_U8, 1, (int64_t[]){3}, u8), HART_OK);
    hart_tensor tf = hart_tensor_wrap(f32, HART_F32, 2, (int64_t[]){2, 3});
    assert_int_equal(hart_st_writer_add(w, "a.weight", &tf), HART_OK);
    assert_int_equal(hart_st_writer_add_raw(w, "h", HART_F16, 2, (int64_t[]){2, 2}, f16), HART_OK);
    assert_int_equal(hart_st_writer_add_raw(w, "bf", HART_BF16, 1, (int64_t[]){4}, f16), HART_OK);
    assert_int_equal(hart_st_writer_add_raw(w, "i64", HART_I64, 1, (int64_t[]){2}, i64), HART_OK);
    assert_int_equal(hart_st_writer_add_raw(w, "i32", HART_I32, 4, (int64_t[]){1, 1, 1, 1}, i32), HART_OK);
    assert_int_equal(hart_st_writer_add_raw(w, "i8", HART_I8, 1, (int64_t[]){2}, i8), HART_OK);
    assert_int_equal(hart_st_writer_add_raw(w, "scalar", HART_F32, 0, NULL, &scalar), HART_OK);
    assert_int_equal(hart_st_writer_add_raw(w, "empty", HART_F32, 2, (int64_t[]){0, 3}, NULL), HART_OK);
    /* writer errors */
    assert_int_equal(hart_st_writer_add_raw(w, "u8", HART_U8, 1, (int64_t[]){3}, u8), HART_EINVAL);
    assert_int_equal(hart_st_writer_add_raw(w, "r5", HART_U8, 5, (int64_t[]){1, 1, 1, 1, 1}, u8), HART_EINVAL);
    assert_int_equal(hart_st_writer_add_raw(w, "neg", HART_U8, 1, (int64_t[]){-1}, u8), HART_EINVAL);
    assert_int_equal(hart_st_writer_add_raw(w, "q", HART_Q4, 1, (int64_t[]){2}, u8), HART_EUNSUPPORTED);
    assert_int_equal(hart_st_writer_add_raw(w, "__metadata__", HART_U8, 1, (int64_t[]){3}, u8), HART_EINVAL);
    assert_int_equal(hart_st_writer_save(w, tp("rt.safetensors")), HART_OK);
    hart_st_writer_free(w);

    hart_safetensors st;
    assert_int_equal(hart_st_open(tp("rt.safetensors"), &st), HART_OK);
    assert_int_equal(st.n_entries, 9);
    assert_null(st.metadata_json);
    hart_tensor t;
    assert_int_equal(hart_st_tensor(&st, "a.weight", &t), HART_OK);
    assert_int_equal(t.dtype, HART_F32);
    assert_int_equal(t.ndim, 2);
    assert_int_equal(t.shape[0], 2);
    assert_int_equal(t.shape[1], 3);
    assert_int_equal((uintptr_t)t.data % 4, 0);
    assert_memory_equal(t.data, f32, sizeof f32);
    assert_int_equal(hart_st_tensor(&st, "u8", &t), HART_OK);
    assert_memory_equal(t.data, u8, 3);
    assert_int_equal(hart_st_tensor(&st, "h", &t), HART_OK);
    assert_int_equal(t.dtype, HART_F16);
    assert_memory_equal(t.data, f16, sizeof f16);
    assert_int_equal(hart_st_tensor(&st, "bf", &t), HART_OK);
    assert_int_equal(t.dtype, HART_BF16);
    assert_int_equal(hart_st_tensor(&st, "i64", &t), HART_OK);
    assert_int_equal((uintptr_t)t.data % 8, 0);
    assert_memory_equal(t.data, i64, sizeof i64);
    assert_int_equal(hart_st_tensor(&st, "i32", &t), HART_OK);
    assert_int_equal(t.ndim, 4);
    assert_memory_equal(t.data, i32, 4);
    assert_int_equal(hart_st_tensor(&st, "i8", &t), HART_OK);
    assert_memory_equal(t.data, i8, 2);
    assert_int_equal(hart_st_tensor(&st, "scalar", &t), HART_OK);
    assert_int_equal(t.ndim, 0);
    assert_float_equal(*(float *)t.data, 42.0f, 0);
    assert_int_equal(hart_st_tensor(&st, "empty", &t), HART_OK);
    assert_int_equal(hart_tensor_numel(&t), 0);
    assert_int_equal(hart_st_tensor(&st, "nope", &t), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "'nope' not found"));
    /* every offset is a multiple of its element size and ranges are contiguous */
    size_t total = 0;
    for (int i = 0; i < st.n_entries; i++) {
        size_t es = hart_dtype_size_bits(st.entries[i].dtype) / 8;
        assert_int_equal(st.entries[i].offset % es, 0);
        total += st.entries[i].nbytes;
    }
    assert_int_equal(total, st.data_size);
    hart_st_close(&st);
    /* parse from memory gives the same */
    write_raw(tp("m.safetensors"), "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                   "\"__metadata__\":{\"format\":\"pt\"}}", 8);
    assert_int_equal(hart_st_open(tp("m.safetensors"), &st), HART_OK);
    assert_non_null(st.metadata_json);
    assert_non_null(strstr(st.metadata_json, "\"format\":\"pt\""));
    hart_st_close(&st);
}

static void test_unaligned_header_is_realigned(void **s) {
    /* header of 61 bytes: the data section starts at byte 69 of the file */
    const char *h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}  ";
    assert_int_not_equal((8 + strlen(h)) % 8, 0);
    float v[4] = {1, 2, 3, 4};
    size_t hl = strlen(h);
    unsigned char b[256];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, h, hl);
    memcpy(b + 8 + hl, v, 16);
    write_bytes(tp("ua.safetensors"), b, 8 + hl + 16);
    hart_safetensors st;
    assert_int_equal(hart_st_open(tp("ua.safetensors"), &st), HART_OK);
    hart_tensor t;
    assert_int_equal(hart_st_tensor(&st, "w", &t), HART_OK);
    assert_int_equal((uintptr_t)t.data % 8, 0);
    assert_memory_equal(t.data, v, 16);
    hart_st_close(&st);
}

static long resident_pages(void) {
    long size = 0, res = -1;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &size, &res) != 2) res = -1;
    fclose(f);
    return res;
}

/* hart_st_release drops the resident pages of a copied-out tensor (the file
 * mapping would otherwise double a loaded model's memory) and the data stays
 * readable and intact; on a file read into memory (unaligned header) it must
 * not touch the data. */
static void test_release_pages(void **s) {
    enum { N = 4 << 20 }; /* 16 MiB of floats */
    float *v = malloc(sizeof(float) * N);
    assert_non_null(v);
    for (int i = 0; i < N; i++) v[i] = (float)(i % 1000) - 0.5f * (float)(i % 7);
    hart_st_writer *w = hart_st_writer_new();
    hart_tensor tv = hart_tensor_wrap(v, HART_F32, 1, (int64_t[]){N});
    assert_int_equal(hart_st_writer_add(w, "big", &tv), HART_OK);
    assert_int_equal(hart_st_writer_save(w, tp("big.safetensors")), HART_OK);
    hart_st_writer_free(w);
    hart_safetensors st;
    assert_int_equal(hart_st_open(tp("big.safetensors"), &st), HART_OK);
    assert_true(st.file_backed);
    hart_tensor t;
    assert_int_equal(hart_st_tensor(&st, "big", &t), HART_OK);
    assert_memory_equal(t.data, v, sizeof(float) * N); /* faults every page in */
    long before = resident_pages();
    hart_st_release(&st, t.data, sizeof(float) * N);
    long after = resident_pages();
    long page = sysconf(_SC_PAGESIZE);
    if (before > 0 && after >= 0)
        assert_true(before - after >= (long)((12L << 20) / page)); /* at least 12 of the 16 MiB */
    assert_memory_equal(t.data, v, sizeof(float) * N); /* still the file's bytes */
    hart_st_release(&st, v, 16);                       /* outside the mapping: ignored */
    hart_st_close(&st);

    const char *h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}  ";
    size_t hl = strlen(h);
    unsigned char b[256];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, h, hl);
    memcpy(b + 8 + hl, v, 16);
    write_bytes(tp("ua2.safetensors"), b, 8 + hl + 16);
    assert_int_equal(hart_st_open(tp("ua2.safetensors"), &st), HART_OK);
    assert_false(st.file_backed);
    hart_st_release(&st, st.map, st.map_size);
    assert_int_equal(hart_st_tensor(&st, "w", &t), HART_OK);
    assert_memory_equal(t.data, v, 16);
    hart_st_close(&st);
    free(v);
}

static void test_truncated(void **s) {
    hart_st_writer *w = hart_st_writer_new();
    float f[64];
    for (int i = 0; i < 64; i++) f[i] = (float)i;
    assert_int_equal(hart_st_writer_add_raw(w, "a", HART_F32, 2, (int64_t[]){8, 4}, f), HART_OK);
    assert_int_equal(hart_st_writer_add_raw(w, "b", HART_F32, 1, (int64_t[]){32}, f + 32), HART_OK);
    assert_int_equal(hart_st_writer_save(w, tp("full.safetensors")), HART_OK);
    hart_st_writer_free(w);
    FILE *fp = fopen(tp("full.safetensors"), "rb");
    _Alignas(8) unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    assert_true(n > 256 + 8);
    for (size_t cut = 0; cut < n; cut++) {
        hart_safetensors st;
        write_bytes(tp("cut.safetensors"), buf, cut);
        hart_status r = hart_st_open(tp("cut.safetensors"), &st);
        assert_int_equal(r, HART_EFORMAT);
        /* and the same bytes parsed from memory */
        assert_int_equal(hart_st_parse(buf, cut, "mem", &st), HART_EFORMAT);
    }
    hart_safetensors st;
    write_bytes(tp("cut.safetensors"), buf, n - 4);
    assert_int_equal(hart_st_open(tp("cut.safetensors"), &st), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "truncated"));
    assert_non_null(strstr(hart_errmsg(), "'b'"));
    write_bytes(tp("cut.safetensors"), buf, 5);
    assert_int_equal(hart_st_open(tp("cut.safetensors"), &st), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "too short"));
}

/* In-memory parsing needs the data section 8-aligned (typed reads of the
 * tensors); a buffer that is not is refused, and hart_st_align_pad says how
 * to place it. The header here is 61 bytes, so the section starts at 69. */
static void test_parse_needs_aligned_data(void **s) {
    const char *h = "{\"w\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}    ";
    size_t hl = strlen(h), n = 8 + hl + 8;
    assert_true((8 + hl) % 8 != 0);
    _Alignas(8) unsigned char file[128] = {0}, mem[136];
    for (int i = 0; i < 8; i++) file[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(file + 8, h, hl);
    int32_t v[2] = {7, -9};
    memcpy(file + 8 + hl, v, 8);
    hart_safetensors st;
    assert_int_equal(hart_st_parse(file, n, "mem", &st), HART_EINVAL);
    assert_non_null(strstr(hart_errmsg(), "aligned"));
    assert_null(st.entries);
    size_t pad = hart_st_align_pad(file, n);
    assert_int_equal((8 + hl + pad) % 8, 0);
    memcpy(mem + pad, file, n);
    assert_int_equal(hart_st_parse(mem + pad, n, "mem", &st), HART_OK);
    hart_tensor t;
    assert_int_equal(hart_st_tensor(&st, "w", &t), HART_OK);
    assert_int_equal(((const int32_t *)t.data)[1], -9);
    hart_st_close(&st);
    (void)s;
}

static void test_header_length(void **s) {
    hart_safetensors st;
    unsigned char b[16] = {0xff, 0xff, 0, 0, 0, 0, 0, 0, '{', '}'};
    write_bytes(tp("hl.safetensors"), b, 10);
    assert_int_equal(hart_st_open(tp("hl.safetensors"), &st), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "past the end"));
    unsigned char big[10] = {0, 0, 0, 0x10, 0, 0, 0, 0, '{', '}'}; /* 256 MB */
    write_bytes(tp("hl.safetensors"), big, 10);
    assert_int_equal(hart_st_open(tp("hl.safetensors"), &st), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "100 MB"));
    unsigned char huge[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'};
    write_bytes(tp("hl.safetensors"), huge, 10);
    assert_int_equal(hart_st_open(tp("hl.safetensors"), &st), HART_EFORMAT);
    unsigned char zero[8] = {0};
    write_bytes(tp("hl.safetensors"), zero, 8);
    assert_int_equal(hart_st_open(tp("hl.safetensors"), &st), HART_EFORMAT);
    write_bytes(tp("hl.safetensors"), zero, 0);
    assert_int_equal(hart_st_open(tp("hl.safetensors"), &st), HART_EFORMAT);
    /* an empty object is a valid file with no tensors */
    write_raw(tp("hl.safetensors"), "{}", 0);
    assert_int_equal(hart_st_open(tp("hl.safetensors"), &st), HART_OK);
    assert_int_equal(st.n_entries, 0);
    hart_st_close(&st);
    /* files that do not exist / are not regular */
    assert_int_equal(hart_st_open(tp("missing.safetensors"), &st), HART_EIO);
    assert_non_null(strstr(hart_errmsg(), "missing.safetensors"));
    assert_int_equal(hart_st_open(dir, &st), HART_EIO);
}

static void test_malformed_headers(void **s) {
#define E(dt, shape, a, b) "{\"t\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":[" #a "," #b "]}}"
    expect_bad("not json", 16, HART_EFORMAT, "not a JSON object");
    expect_bad("[1,2,3]", 16, HART_EFORMAT, "not a JSON object");
    expect_bad("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} xyz", 16, HART_EFORMAT,
               "unexpected bytes after");
    /* bad dtype */
    expect_bad(E("F64", "[2]", 0, 16), 16, HART_EFORMAT, "unsupported dtype 'F64'");
    expect_bad(E("q4", "[2]", 0, 1), 16, HART_EFORMAT, "unsupported dtype");
    expect_bad("{\"t\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 16, HART_EFORMAT, "needs dtype");
    expect_bad("{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 16, HART_EFORMAT, "needs dtype");
    expect_bad("{\"t\":5}", 16, HART_EFORMAT, "'t'");
    /* shape x dtype vs range */
    expect_bad(E("F32", "[3]", 0, 8), 16, HART_EFORMAT, "is 12 bytes but its range has 8");
    expect_bad(E("F16", "[2,2]", 0, 16), 16, HART_EFORMAT, "is 8 bytes but its range has 16");
    /* bad shapes */
    expect_bad(E("F32", "[-1]", 0, 4), 16, HART_EFORMAT, "bad shape entry 0");
    expect_bad(E("F32", "[1.5]", 0, 4), 16, HART_EFORMAT, "bad shape entry");
    expect_bad(E("F32", "[\"4\"]", 0, 16), 16, HART_EFORMAT, "bad shape entry");
    expect_bad(E("U8", "[1,1,1,1,1]", 0, 1), 16, HART_EFORMAT, "rank 5");
    expect_bad(E("U8", "[4294967296,4294967296,4294967296]", 0, 1), 16, HART_EFORMAT, "shape too large");
    expect_bad(E("U8", "[0,4294967296,4294967296]", 0, 0), 16, HART_EFORMAT, "shape too large");
    /* ranges */
    expect_bad(E("U8", "[4]", 14, 18), 16, HART_EFORMAT, "outside the 16-byte data section");
    expect_bad(E("U8", "[0]", 8, 4), 16, HART_EFORMAT, "byte range [8, 4)");
    expect_bad(E("U8", "[4]", -4, 0), 16, HART_EFORMAT, "bad data_offsets");
    expect_bad(E("U8", "[1]", 1e300, 1e300), 16, HART_EFORMAT, "bad data_offsets");
    expect_bad("{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}", 16, HART_EFORMAT,
               "needs 2 entries");
    expect_bad("{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", 16, HART_EFORMAT, "needs 2 entries");
    /* misaligned F32 inside the data section */
    expect_bad(E("F32", "[1]", 2, 6), 16, HART_EFORMAT, "not a multiple of its 4-byte element size");
    /* overlap */
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
               16, HART_EFORMAT, "overlap");
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[16],\"data_offsets\":[0,16]},"
               "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[6,8]}}",
               16, HART_EFORMAT, "overlap");
    /* duplicate names */
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
               "\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}",
               16, HART_EFORMAT, "'a' listed twice");
    /* metadata */
    expect_bad("{\"__metadata__\":[1]}", 0, HART_EFORMAT, "__metadata__ is not an object");
    expect_bad("{\"__metadata__\":{},\"__metadata__\":{}}", 0, HART_EFORMAT, "__metadata__ listed twice");
#undef E
    /* zero-size tensors may share an offset with a neighbour (either order) */
    hart_safetensors st;
    write_raw(tp("z.safetensors"),
              "{\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
              "\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
              "\"c\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]}}",
              4);
    assert_int_equal(hart_st_open(tp("z.safetensors"), &st), HART_OK);
    assert_int_equal(st.n_entries, 3);
    hart_st_close(&st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),       cmocka_unit_test(test_unaligned_header_is_realigned),
        cmocka_unit_test(test_truncated),       cmocka_unit_test(test_header_length),
        cmocka_unit_test(test_parse_needs_aligned_data),
        cmocka_unit_test(test_malformed_headers), cmocka_unit_test(test_release_pages),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
