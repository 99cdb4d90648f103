/* PyTorch checkpoint reader (core/pth.h): the golden set's lpd.pth and vq.pt
 * load with every tensor's shape and bytes; hand-made archives check views
 * (storage offsets, strides), the 'model' entry vs a bare state dict, and
 * that malicious or broken pickles and archives are refused with a message
 * naming the problem, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/fileio.h"
#include "core/pth.h"
#include "support/golden.h"
#include "support/test_skip.h"

/* ---- building pickles and stored zip archives in memory ---- */
typedef struct { uint8_t b[8192]; size_t n; } buf;

static void put(buf *o, const void *p, size_t n) { assert_true(o->n + n <= sizeof o->b); memcpy(o->b + o->n, p, n); o->n += n; }
static void op(buf *o, uint8_t c) { put(o, &c, 1); }
static void str(buf *o, const char *s) { op(o, 0x8c); op(o, (uint8_t)strlen(s)); put(o, s, strlen(s)); }
static void glob(buf *o, const char *m, const char *n) { op(o, 'c'); put(o, m, strlen(m)); op(o, '\n'); put(o, n, strlen(n)); op(o, '\n'); }
static void i1(buf *o, int v) { op(o, 'K'); op(o, (uint8_t)v); }
static void tup(buf *o, int n, const int *v) { op(o, '('); for (int i = 0; i < n; i++) i1(o, v[i]); op(o, 't'); }

/* _rebuild_tensor_v2(storage(key, numel), offset, shape, stride, False, OrderedDict()) */
static void tensor(buf *o, const char *stype, const char *key, int numel, int offset, int nd, const int *shape,
                   const int *stride) {
    glob(o, "torch._utils", "_rebuild_tensor_v2");
    op(o, '(');
    op(o, '('); str(o, "storage"); glob(o, "torch", stype); str(o, key); str(o, "cpu"); i1(o, numel); op(o, 't');
    op(o, 'Q');
    i1(o, offset);
    tup(o, nd, shape);
    tup(o, nd, stride);
    op(o, 0x89);
    glob(o, "collections", "OrderedDict"); op(o, ')'); op(o, 'R');
    op(o, 't');
    op(o, 'R');
}

static void w16(buf *o, unsigned v) { op(o, v & 255); op(o, v >> 8); }
static void w32(buf *o, uint32_t v) { w16(o, v & 0xffff); w16(o, v >> 16); }

/* A stored zip of `n` entries, as torch.save lays it out (no alignment). */
static buf *zip(int n, const char **names, const buf **data) {
    static buf z;
    uint32_t off[16];
    z.n = 0;
    for (int i = 0; i < n; i++) {
        off[i] = (uint32_t)z.n;
        w32(&z, 0x04034b50); w16(&z, 20); w16(&z, 0); w16(&z, 0); w16(&z, 0); w16(&z, 0);
        w32(&z, 0); w32(&z, (uint32_t)data[i]->n); w32(&z, (uint32_t)data[i]->n);
        w16(&z, (unsigned)strlen(names[i])); w16(&z, 0);
        put(&z, names[i], strlen(names[i]));
        put(&z, data[i]->b, data[i]->n);
    }
    uint32_t cd = (uint32_t)z.n;
    for (int i = 0; i < n; i++) {
        w32(&z, 0x02014b50); w16(&z, 20); w16(&z, 20); w16(&z, 0); w16(&z, 0); w16(&z, 0); w16(&z, 0);
        w32(&z, 0); w32(&z, (uint32_t)data[i]->n); w32(&z, (uint32_t)data[i]->n);
        w16(&z, (unsigned)strlen(names[i])); w16(&z, 0); w16(&z, 0); w16(&z, 0); w16(&z, 0); w32(&z, 0);
        w32(&z, off[i]);
        put(&z, names[i], strlen(names[i]));
    }
    uint32_t cdlen = (uint32_t)z.n - cd;
    w32(&z, 0x06054b50); w16(&z, 0); w16(&z, 0); w16(&z, (unsigned)n); w16(&z, (unsigned)n);
    w32(&z, cdlen); w32(&z, cd); w16(&z, 0);
    return &z;
}

/* storage "0": 12 floats 0..11 */
static buf storage12(void) {
    buf s = {.n = 0};
    for (int i = 0; i < 12; i++) { float f = (float)i; put(&s, &f, 4); }
    return s;
}

static uint8_t *keep[64];
static int nkeep;

/* Parse archive {arch/data.pkl = pk, arch/data/0 = storage12}; returns status. */
static hart_status parse_with(const buf *pk, hart_safetensors *st) {
    buf s0 = storage12();
    const char *names[] = {"arch/data.pkl", "arch/data/0"};
    const buf *data[] = {pk, &s0};
    buf *z = zip(2, names, data);
    uint8_t *copy = malloc(z->n); /* exact size: overreads are caught by ASan */
    memcpy(copy, z->b, z->n);
    hart_status s = hart_pth_parse(copy, z->n, "test.pth", st);
    if (s == HART_OK) {
        /* tensors may point into the archive: keep its bytes until the end */
        assert_true(nkeep < 64);
        keep[nkeep++] = copy;
    } else {
        free(copy);
    }
    return s;
}

static void expect_fail(const buf *pk, const char *needle) {
    hart_safetensors st;
    hart_status s = parse_with(pk, &st);
    if (s == HART_OK) fail_msg("accepted a bad pickle (expected '%s')", needle);
    printf("  refused: %s\n", hart_errmsg());
    if (!strstr(hart_errmsg(), needle)) fail_msg("message '%s' lacks '%s'", hart_errmsg(), needle);
    assert_null(st.entries);
}

/* {'model': {'w': tensor, 'v': view}} or the bare state dict */
static buf state_dict(int wrapped, int offset, int nd, const int *shape, const int *stride) {
    buf p = {.n = 0};
    op(&p, 0x80); op(&p, 2);
    if (wrapped) { op(&p, '}'); str(&p, "model"); }
    glob(&p, "collections", "OrderedDict"); op(&p, ')'); op(&p, 'R');
    op(&p, '(');
    str(&p, "w");
    tensor(&p, "FloatStorage", "0", 12, 0, 2, (int[]){3, 4}, (int[]){4, 1});
    str(&p, "v");
    tensor(&p, "FloatStorage", "0", 12, offset, nd, shape, stride);
    op(&p, 'u');
    if (wrapped) { str(&p, "epoch"); i1(&p, 3); op(&p, 0x86); op(&p, '}'); op(&p, 0x94); op(&p, 'u'); }
    op(&p, '.');
    return p;
}

static void test_views(void **s) {
    for (int wrapped = 0; wrapped < 2; wrapped++) {
        hart_safetensors st;
        /* v = w[1:, ::2] : offset 4, shape [2,2], stride [4,2] (a strided view: copied) */
        buf p = state_dict(0, 4, 2, (int[]){2, 2}, (int[]){4, 2});
        if (wrapped) { /* {'model': sd} by hand: dict, key, value, SETITEM */
            buf q = {.n = 0};
            op(&q, 0x80); op(&q, 2); op(&q, '}'); str(&q, "model");
            put(&q, p.b + 2, p.n - 3); /* the bare dict without PROTO and STOP */
            op(&q, 's'); str(&q, "epoch"); i1(&q, 3); op(&q, 's'); op(&q, '.');
            p = q;
        }
        assert_int_equal(parse_with(&p, &st), HART_OK);
        assert_int_equal(st.n_entries, 2);
        hart_tensor w, v;
        assert_int_equal(hart_st_tensor(&st, "w", &w), HART_OK);
        assert_int_equal(hart_st_tensor(&st, "v", &v), HART_OK);
        assert_int_equal(w.dtype, HART_F32);
        assert_int_equal(v.ndim, 2);
        assert_int_equal(v.shape[0], 2);
        const float *wf = w.data, *vf = v.data;
        for (int i = 0; i < 12; i++) assert_true(wf[i] == (float)i);
        float want[4] = {4, 6, 8, 10};
        for (int i = 0; i < 4; i++) assert_true(vf[i] == want[i]);
        hart_st_close(&st);
    }
    /* a contiguous view with an offset stays in place */
    hart_safetensors st;
    buf p = state_dict(0, 8, 1, (int[]){4}, (int[]){1});
    assert_int_equal(parse_with(&p, &st), HART_OK);
    hart_tensor v;
    assert_int_equal(hart_st_tensor(&st, "v", &v), HART_OK);
    assert_true(((float *)v.data)[0] == 8.0f && ((float *)v.data)[3] == 11.0f);
    hart_st_close(&st);
}

static void test_malicious(void **s) {
    buf p = {.n = 0};
    op(&p, 0x80); op(&p, 2); glob(&p, "os", "system"); str(&p, "touch /tmp/pwned"); op(&p, 0x85); op(&p, 'R'); op(&p, '.');
    expect_fail(&p, "os.system");
    p.n = 0; /* the same through STACK_GLOBAL */
    op(&p, 0x80); op(&p, 4); str(&p, "builtins"); str(&p, "eval"); op(&p, 0x93); str(&p, "1"); op(&p, 0x85); op(&p, 'R'); op(&p, '.');
    expect_fail(&p, "builtins.eval");
    p.n = 0; /* INST and OBJ would call a class: not allowed opcodes */
    op(&p, 0x80); op(&p, 2); op(&p, '('); put(&p, "ios\nsystem\n", 11); op(&p, '.');
    expect_fail(&p, "opcode 0x69");
    p.n = 0;
    op(&p, 0x80); op(&p, 2); op(&p, 0xff); op(&p, '.');
    expect_fail(&p, "opcode 0xff");
    p.n = 0; /* calling a storage type */
    op(&p, 0x80); op(&p, 2); glob(&p, "torch", "FloatStorage"); op(&p, ')'); op(&p, 'R'); op(&p, '.');
    expect_fail(&p, "not callable");
    /* truncated at every length */
    buf good = state_dict(0, 0, 1, (int[]){12}, (int[]){1});
    for (size_t n = 0; n + 1 < good.n; n++) {
        buf t = good;
        t.n = n;
        hart_safetensors st;
        assert_int_not_equal(parse_with(&t, &st), HART_OK);
    }
    good.n--; /* no STOP */
    expect_fail(&good, "truncated");
    /* views outside their storage */
    p = state_dict(0, 9, 1, (int[]){4}, (int[]){1});
    expect_fail(&p, "reaches element");
    p = state_dict(0, 0, 2, (int[]){3, 5}, (int[]){5, 1});
    expect_fail(&p, "reaches element");
    p = state_dict(0, 200, 1, (int[]){1}, (int[]){1});
    expect_fail(&p, "reaches element");
    /* a storage claiming more elements than its entry holds */
    p.n = 0;
    op(&p, 0x80); op(&p, 2); op(&p, '}'); str(&p, "w");
    tensor(&p, "FloatStorage", "0", 100, 0, 1, (int[]){100}, (int[]){1});
    op(&p, 's'); op(&p, '.');
    expect_fail(&p, "only 48 bytes");
    /* a storage key with no entry */
    p.n = 0;
    op(&p, 0x80); op(&p, 2); op(&p, '}'); str(&p, "w");
    tensor(&p, "FloatStorage", "7", 1, 0, 1, (int[]){1}, (int[]){1});
    op(&p, 's'); op(&p, '.');
    expect_fail(&p, "missing from the archive");
    /* memo reference never stored, non-tensor value, non-dict root */
    p.n = 0;
    op(&p, 0x80); op(&p, 2); op(&p, 'h'); op(&p, 5); op(&p, '.');
    expect_fail(&p, "memo");
    p.n = 0;
    op(&p, 0x80); op(&p, 2); op(&p, '}'); str(&p, "w"); i1(&p, 1); op(&p, 's'); op(&p, '.');
    expect_fail(&p, "not a tensor");
    p.n = 0;
    op(&p, 0x80); op(&p, 2); op(&p, ']'); op(&p, '.');
    expect_fail(&p, "not a dict");
}

static void test_bad_archives(void **s) {
    hart_safetensors st;
    assert_int_not_equal(hart_pth_parse("\x80\x02}q\x00.", 6, "legacy.pth", &st), HART_OK);
    assert_non_null(strstr(hart_errmsg(), "legacy"));
    buf p = state_dict(0, 0, 1, (int[]){12}, (int[]){1}), s0 = storage12();
    const char *names[] = {"arch/data.pkl", "arch/data/0"};
    const buf *data[] = {&p, &s0};
    buf z = *zip(2, names, data);
    /* every truncation of the archive is refused */
    for (size_t n = 0; n < z.n; n++) {
        uint8_t *c = malloc(n ? n : 1);
        memcpy(c, z.b, n);
        hart_status r = hart_pth_parse(c, n, "cut.pth", &st);
        if (r == HART_OK) hart_st_close(&st);
        assert_int_not_equal(r, HART_OK);
        free(c);
    }
    /* a compressed entry */
    buf y = z;
    y.b[8] = 8; /* local header method */
    size_t cd = y.n - 22 - 2 * 46 - strlen(names[0]) - strlen(names[1]);
    y.b[cd + 10] = 8;
    assert_int_not_equal(hart_pth_parse(y.b, y.n, "deflate.pth", &st), HART_OK);
    printf("  refused: %s\n", hart_errmsg());
    assert_non_null(strstr(hart_errmsg(), "compressed"));
}

/* The golden set's checkpoints: every tensor the README lists, with sizes
 * from config.json. */
static void test_golden_files(void **s) {
    char p[1100], dirs[4][1024];
    int n = golden_sets("lpd-", "lpd.pth", dirs, 4);
    if (!n) test_skip("no lpd-* golden set with lpd.pth found");
    for (int k = 0; k < n; k++) {
        snprintf(p, sizeof p, "%s/config.json", dirs[k]);
        cJSON *cfg;
        assert_int_equal(hart_json_load(p, &cfg), HART_OK);
        const cJSON *l = cJSON_GetObjectItem(cfg, "lpd"), *v = cJSON_GetObjectItem(cfg, "vq");
        int64_t D = cJSON_GetObjectItem(l, "decoder_embed_dim")->valueint, V = cJSON_GetObjectItem(l, "vqgan_vocab_size")->valueint;
        int64_t N = cJSON_GetObjectItem(l, "seq_len")->valueint, C = cJSON_GetObjectItem(l, "class_num")->valueint;
        hart_checkpoint ck;
        snprintf(p, sizeof p, "%s/lpd.pth", dirs[k]);
        assert_int_equal(hart_ckpt_open_file(p, &ck), HART_OK);
        hart_tensor t;
        assert_int_equal(hart_ckpt_get(&ck, "pos_embed", 3, (int64_t[]){1, N + 1, D}, &t), HART_OK);
        assert_int_equal(hart_ckpt_get(&ck, "head.weight", 2, (int64_t[]){V, D}, &t), HART_OK);
        assert_int_equal(hart_ckpt_get(&ck, "class_emb.weight", 2, (int64_t[]){C, D}, &t), HART_OK);
        assert_int_equal(hart_ckpt_get(&ck, "blocks.0.attn.qkv.weight", 2, (int64_t[]){3 * D, D}, &t), HART_OK);
        assert_int_equal(t.dtype, HART_F32);
        assert_true(ck.files[0].file_backed); /* aligned storages: no copy */
        printf("  %s: %d tensors\n", p, ck.files[0].n_entries);
        hart_ckpt_close(&ck);
        snprintf(p, sizeof p, "%s/vq.pt", dirs[k]);
        assert_int_equal(hart_ckpt_open_file(p, &ck), HART_OK);
        int64_t K = cJSON_GetObjectItem(v, "codebook_size")->valueint, E = cJSON_GetObjectItem(v, "codebook_embed_dim")->valueint;
        assert_int_equal(hart_ckpt_get(&ck, "quantize.embedding.weight", 2, (int64_t[]){K, E}, &t), HART_OK);
        assert_int_equal(hart_ckpt_get(&ck, "quantize.codebook_used", 1, (int64_t[]){65536}, &t), HART_OK);
        assert_int_equal(hart_ckpt_get(&ck, "encoder.conv_in.weight", 0, NULL, &t), HART_OK);
        assert_int_equal(t.ndim, 4);
        printf("  %s: %d tensors\n", p, ck.files[0].n_entries);
        hart_ckpt_close(&ck);
        cJSON_Delete(cfg);
    }
    hart_checkpoint ck;
    assert_int_not_equal(hart_ckpt_open_file("/nonexistent.pth", &ck), HART_OK);
    assert_non_null(strstr(hart_errmsg(), "/nonexistent.pth"));
}

/* The fuzzer's seed archive (written by Python's zipfile, so unaligned
 * storages: the copying path) parses with the values it was written with. */
static void test_seed_corpus(void **s) {
    hart_safetensors st;
    assert_int_equal(hart_pth_open("tests/fuzz/corpus/fuzz_pth/state_dict.pt", &st), HART_OK);
    assert_int_equal(st.n_entries, 3);
    hart_tensor w, v, h;
    assert_int_equal(hart_st_tensor(&st, "w", &w), HART_OK);
    assert_int_equal(hart_st_tensor(&st, "v", &v), HART_OK);
    assert_int_equal(hart_st_tensor(&st, "h", &h), HART_OK);
    assert_int_equal(h.dtype, HART_F16);
    assert_true(((float *)w.data)[11] == 11.0f && ((float *)v.data)[3] == 10.0f);
    assert_true(hart_f16_to_f32(((uint16_t *)h.data)[2]) == 1.0f);
    hart_st_close(&st);
}

/* A training checkpoint (tools/make_pth_fixture.py): the `model` entry is
 * taken; optimizer state, epoch, scaler and an argparse.Namespace are read
 * and ignored; a transposed view is gathered; a 0-dim int64 tensor. */
static void test_training_checkpoint(void **s) {
    hart_checkpoint ck;
    assert_int_equal(hart_ckpt_open_file("tests/data/pth/train_ckpt.pth", &ck), HART_OK);
    assert_int_equal(ck.files[0].n_entries, 4);
    hart_tensor w, wt, b, st;
    assert_int_equal(hart_ckpt_get(&ck, "lin.weight", 2, (int64_t[]){2, 3}, &w), HART_OK);
    assert_int_equal(hart_ckpt_get(&ck, "lin.weight_t", 2, (int64_t[]){3, 2}, &wt), HART_OK);
    assert_int_equal(hart_ckpt_get(&ck, "lin.bias", 1, (int64_t[]){2}, &b), HART_OK);
    assert_int_equal(hart_ckpt_get(&ck, "steps", 0, NULL, &st), HART_OK);
    assert_int_equal(st.ndim, 0);
    assert_int_equal(st.dtype, HART_I64);
    assert_int_equal(*(int64_t *)st.data, 7);
    const float *a = w.data, *t = wt.data;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) assert_true(a[i * 3 + j] == (float)(i * 3 + j) && t[j * 2 + i] == a[i * 3 + j]);
    assert_true(((float *)b.data)[1] == -0.5f);
    hart_ckpt_close(&ck);
}

/* The legacy torch.save stream (tools/make_pth_legacy_fixture.py, written by
 * torch itself with _use_new_zipfile_serialization=False): a strided view and
 * an offset view of one storage, f16 and a 0-dim int64 - values from the
 * script's docstring. Then every truncation of it must fail cleanly. */
static void test_legacy_stream(void **s) {
    hart_checkpoint ck;
    hart_status st0 = hart_ckpt_open_file("tests/data/pth/legacy_small.pth", &ck);
    if (st0) printf("%s\n", hart_errmsg());
    assert_int_equal(st0, HART_OK);
    assert_int_equal(ck.files[0].n_entries, 6);
    hart_tensor w, wt, tail, rv, steps, half;
    assert_int_equal(hart_ckpt_get(&ck, "w", 2, (int64_t[]){2, 3}, &w), HART_OK);
    assert_int_equal(hart_ckpt_get(&ck, "w_t", 2, (int64_t[]){3, 2}, &wt), HART_OK);
    assert_int_equal(hart_ckpt_get(&ck, "tail", 1, (int64_t[]){2}, &tail), HART_OK);
    assert_int_equal(hart_ckpt_get(&ck, "bn.running_var", 1, (int64_t[]){3}, &rv), HART_OK);
    assert_int_equal(hart_ckpt_get(&ck, "steps", 0, NULL, &steps), HART_OK);
    assert_int_equal(hart_ckpt_get(&ck, "half", 1, (int64_t[]){2}, &half), HART_OK);
    const float *a = w.data, *t = wt.data, *tl = tail.data, *r = rv.data;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) assert_true(a[i * 3 + j] == (float)(i * 3 + j) && t[j * 2 + i] == a[i * 3 + j]);
    assert_true(tl[0] == 4.0f && tl[1] == 5.0f);
    assert_true(r[0] == 0.5f && r[1] == 1.5f && r[2] == 2.5f);
    assert_int_equal(steps.dtype, HART_I64);
    assert_int_equal(*(int64_t *)steps.data, 7);
    assert_int_equal(half.dtype, HART_F16);
    assert_true(hart_f16_to_f32(((uint16_t *)half.data)[0]) == 1.5f && hart_f16_to_f32(((uint16_t *)half.data)[1]) == -2.0f);
    hart_ckpt_close(&ck);

    char *data = NULL;
    size_t size = 0;
    assert_int_equal(hart_file_read_all("tests/data/pth/legacy_small.pth", &data, &size), HART_OK);
    for (size_t n = 0; n < size; n++) {
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, data, n);
        hart_safetensors sx;
        assert_int_not_equal(hart_pth_parse(cut, n, "cut", &sx), HART_OK);
        free(cut);
    }
    free(data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_legacy_stream),
        cmocka_unit_test(test_views), cmocka_unit_test(test_malicious), cmocka_unit_test(test_bad_archives),
        cmocka_unit_test(test_golden_files), cmocka_unit_test(test_seed_corpus),
        cmocka_unit_test(test_training_checkpoint),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    for (int i = 0; i < nkeep; i++) free(keep[i]);
    return rc;
}
