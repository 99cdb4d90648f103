/* Prompt-file parsing and resumable batch runs with a stand-in renderer that
 * writes tiny PNGs (8x8, pixels from the seed and the prompt): resume after
 * a "kill", device batches, damaged and stale images, stale temporaries,
 * the manifest header check (--force), a torn manifest line, several
 * workers (forked) against one, and the benchmark prompt sets (MJHQ
 * meta_data.json with categories, GenEval layout). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileio.h"
#include "io/image.h"
#include "pipeline/batch.h"
#include "pipeline/manifest.h"

static char g_dir[256];

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *read_text(const char *path) {
    char *t = NULL;
    assert_int_equal(hart_file_read_all(path, &t, NULL), HART_OK);
    return t;
}

static int setup(void **st) {
    snprintf(g_dir, sizeof g_dir, "/tmp/hart_test_batch_%ld", (long)getpid());
    mkdir(g_dir, 0777);
    return 0;
}

static int teardown(void **st) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *tp(const char *name) {
    static char buf[8][600];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static void test_text_file(void **st) {
    const char *p = tp("p.txt");
    write_text(p, "# comment\na cat\n\n  \r\na dog\r\n");
    hart_prompt_list l;
    assert_int_equal(hart_prompts_load(p, &l), HART_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.items[0].prompt, "a cat");
    assert_string_equal(l.items[1].prompt, "a dog");
    assert_int_equal(l.items[1].line, 5);
    assert_int_equal(l.items[1].index, 1);
    hart_prompts_free(&l);
}

static void test_jsonl_and_errors(void **st) {
    const char *p = tp("p.jsonl");
    hart_prompt_list l;
    write_text(p, "{\"prompt\":\"x\",\"seed\":5,\"name\":\"img\"}\n{\"prompt\":\"y\",\"tag\":\"counting\"}\n");
    assert_int_equal(hart_prompts_load(p, &l), HART_OK);
    assert_int_equal(l.n, 2);
    assert_true(l.items[0].has_seed);
    assert_int_equal(l.items[0].seed, 5);
    assert_string_equal(l.items[0].name, "img");
    assert_null(l.items[1].name);
    assert_string_equal(l.items[1].category, "counting"); /* GenEval's "tag" */
    assert_string_equal(l.items[1].json, "{\"prompt\":\"y\",\"tag\":\"counting\"}");
    hart_prompts_free(&l);

    /* a batch manifest is a prompt file: its header line is skipped */
    write_text(p, "{\"hart_manifest\":1,\"prompts\":\"ab\",\"images\":1,\"indices\":\"0\",\"shard\":\"0/1\",\"options\":{}}\n"
                  "{\"index\":0,\"file\":\"00000.png\",\"seed\":9,\"prompt\":\"a fox\"}\n");
    assert_int_equal(hart_prompts_load(p, &l), HART_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.items[0].prompt, "a fox");
    assert_int_equal(l.items[0].seed, 9);
    assert_int_equal(l.items[0].line, 2);
    hart_prompts_free(&l);

    write_text(p, "{\"prompt\":\"x\"}\n{\"seed\":1}\n");
    assert_int_equal(hart_prompts_load(p, &l), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), ":2:"));
    write_text(p, "{\"prompt\":\"x\",\"name\":\"../evil\"}\n");
    assert_int_equal(hart_prompts_load(p, &l), HART_EFORMAT);
    write_text(p, "{\"prompt\":\"x\",\"category\":\"a/b\"}\n");
    assert_int_equal(hart_prompts_load(p, &l), HART_EFORMAT);
    p = tp("bad.txt");
    write_text(p, "ok\n\xff\xfe bad utf8\n");
    assert_int_equal(hart_prompts_load(p, &l), HART_EFORMAT);
    write_text(p, "# only a comment\n");
    assert_int_equal(hart_prompts_load(p, &l), HART_EFORMAT);
    assert_int_equal(hart_prompts_load("/nonexistent/prompts.txt", &l), HART_EIO);
}

/* MJHQ-30K's meta_data.json: ids become names, categories filter. */
static void test_mjhq(void **st) {
    const char *p = tp("meta_data.json");
    write_text(p, "{\"a1\": {\"prompt\": \"a fox\", \"category\": \"animals\"},\n"
                  " \"b2\": {\"prompt\": \"a man\", \"category\": \"people\"},\n"
                  " \"c3\": {\"category\": \"animals\", \"prompt\": \"an owl\"}}");
    hart_prompt_list l;
    assert_int_equal(hart_prompts_load(p, &l), HART_OK);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.items[2].name, "c3");
    assert_string_equal(l.items[2].prompt, "an owl");
    assert_string_equal(l.items[1].category, "people");
    assert_int_equal(hart_prompts_filter_categories(&l, "animals"), HART_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.items[1].name, "c3");
    assert_int_equal(l.items[1].index, 2); /* the position in the file is kept: seeds do not depend on the filter */
    assert_int_equal(hart_prompts_filter_categories(&l, "animals,plants"), HART_EINVAL);
    assert_non_null(strstr(hart_errmsg(), "'plants'"));
    assert_non_null(strstr(hart_errmsg(), "animals"));
    hart_prompts_free(&l);
    write_text(p, "{\"a1\": {\"category\": \"animals\"}}");
    assert_int_equal(hart_prompts_load(p, &l), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "\"a1\""));
    write_text(p, "[1, 2]");
    assert_int_equal(hart_prompts_load(p, &l), HART_EFORMAT);
    write_text(p, "{\"../x\": {\"prompt\": \"p\"}}");
    assert_int_equal(hart_prompts_load(p, &l), HART_EFORMAT);
    write_text(p, "{\"x\": {\"prompt\": \"p\"}, \"x\": {\"prompt\": \"q\"}}");
    assert_int_equal(hart_prompts_load(p, &l), HART_EFORMAT); /* duplicate ids would share a file */
}

/* ---- a stand-in renderer ---- */

typedef struct {
    int calls, fail_at, images, max_n, opened;
    const char *device;
} fake;

static hart_status fake_open(void *ctx, const char *device, int worker, int n_workers) {
    fake *f = ctx;
    f->opened++;
    f->device = device;
    return HART_OK;
}

static hart_status failing_open(void *ctx, const char *device, int worker, int n_workers) {
    return strcmp(device, "fail") ? HART_OK : hart_fail(HART_EDEVICE, "no such device");
}

/* 8x8 PNG: pixel values from the seed and the prompt's first byte; "killed"
 * (nothing of the group written) at call fail_at */
static hart_status fake_render(void *ctx, const hart_batch_item *it, int n) {
    fake *f = ctx;
    if (n > f->max_n) f->max_n = n;
    if (f->calls++ == f->fail_at) return hart_fail(HART_EIO, "simulated crash");
    for (int i = 0; i < n; i++) {
        hart_image im;
        HART_TRY(hart_image_new(8, 8, &im));
        for (int k = 0; k < 8 * 8 * 3; k++) im.rgb[k] = (uint8_t)(it[i].seed * 7 + (unsigned)it[i].prompt[0] + k);
        hart_status s = hart_image_write(it[i].path, &im, NULL, 0, 0);
        hart_image_free(&im);
        HART_TRY(s);
        f->images++;
    }
    return HART_OK;
}

static hart_batch_renderer renderer(fake *f) {
    return (hart_batch_renderer){fake_open, fake_render, NULL, NULL, f};
}

static int count_entries(const char *path) {
    hart_manifest m;
    int exists;
    assert_int_equal(hart_manifest_read(path, &m, &exists), HART_OK);
    int n = m.n;
    for (int i = 1; i < m.n; i++) assert_true(m.entries[i].index > m.entries[i - 1].index); /* sorted, once each */
    hart_manifest_free(&m);
    return n;
}

static void same_files(const char *a, const char *b, int n) {
    for (int k = 0; k < n; k++) {
        char pa[700], pb[700];
        snprintf(pa, sizeof pa, "%s/%05d.png", a, k);
        snprintf(pb, sizeof pb, "%s/%05d.png", b, k);
        char *x, *y;
        size_t nx, ny;
        assert_int_equal(hart_file_read_all(pa, &x, &nx), HART_OK);
        assert_int_equal(hart_file_read_all(pb, &y, &ny), HART_OK);
        assert_int_equal(nx, ny);
        assert_memory_equal(x, y, nx);
        free(x);
        free(y);
    }
}

static const char *const g_opts[] = {"cfg", "4.5", "model", "m1", NULL};

static void test_resume(void **st) {
    const char *p = tp("r.txt"), *out = tp("out");
    write_text(p, "a\nb\nc\n");
    hart_prompt_list l;
    assert_int_equal(hart_prompts_load(p, &l), HART_OK);
    hart_batch_opts o = {.out_dir = out, .seed = 100, .per_prompt = 2, .options = g_opts, .quiet = 1};
    hart_batch_stats s;
    fake f = {0, 3, 0, 0, 0, NULL}; /* "killed" while rendering the 4th image */
    hart_batch_renderer r = renderer(&f);
    assert_int_equal(hart_batch_run(&l, &o, &r, &s), HART_EIO);
    assert_int_equal(s.rendered, 3);
    assert_int_equal(f.opened, 1);
    assert_int_not_equal(access(tp("out/00003.png"), F_OK), 0);
    assert_int_equal(count_entries(tp("out/manifest.jsonl")), 3);
    fake g = {0, -1, 0, 0, 0, NULL};
    r = renderer(&g);
    assert_int_equal(hart_batch_run(&l, &o, &r, &s), HART_OK);
    assert_int_equal(s.skipped, 3);
    assert_int_equal(s.rendered, 3);
    assert_int_equal(s.damaged, 0);
    assert_int_equal(g.calls, 3);
    assert_int_equal(count_entries(tp("out/manifest.jsonl")), 6);
    /* image 5 = prompt c, copy 1 -> seed 105 */
    hart_image im;
    assert_int_equal(hart_image_read(tp("out/00005.png"), &im), HART_OK);
    assert_int_equal(im.rgb[0], (uint8_t)(105 * 7 + 'c'));
    hart_image_free(&im);
    /* sharding: shard 1 of 2 renders odd indices only, into its own manifest */
    hart_batch_opts o2 = o;
    o2.shard = 1;
    o2.n_shards = 2;
    o2.force = 1; /* the images are there without this shard's manifest */
    fake h = {0, -1, 0, 0, 0, NULL};
    r = renderer(&h);
    assert_int_equal(hart_batch_run(&l, &o2, &r, &s), HART_OK);
    assert_int_equal(s.total, 3);
    assert_int_equal(s.skipped, 3);
    assert_int_equal(count_entries(tp("out/manifest.1-of-2.jsonl")), 3);
    /* nothing to render: the device is never opened */
    assert_int_equal(h.opened, 0);
    hart_prompts_free(&l);
}

/* --batch-size: missing images go to the renderer in groups of K; a group
 * killed mid-run is rendered again whole, and the files equal K = 1's. */
static void test_batch_groups(void **st) {
    const char *p = tp("g.txt"), *out = tp("gout"), *ref = tp("gref");
    write_text(p, "a\nb\nc\nd\ne\n");
    hart_prompt_list l;
    assert_int_equal(hart_prompts_load(p, &l), HART_OK);
    hart_batch_stats s;
    hart_batch_opts o1 = {.out_dir = ref, .seed = 7, .per_prompt = 2, .options = g_opts, .quiet = 1};
    fake r0 = {0, -1, 0, 0, 0, NULL};
    hart_batch_renderer r = renderer(&r0);
    assert_int_equal(hart_batch_run(&l, &o1, &r, &s), HART_OK);
    assert_int_equal(r0.calls, 10);
    assert_int_equal(r0.max_n, 1);
    hart_batch_opts o = o1;
    o.out_dir = out;
    o.batch_size = 4;
    fake f = {0, 1, 0, 0, 0, NULL}; /* the second group (images 4..7) is killed */
    r = renderer(&f);
    assert_int_equal(hart_batch_run(&l, &o, &r, &s), HART_EIO);
    assert_non_null(strstr(hart_errmsg(), "images 4..7"));
    assert_int_equal(s.rendered, 4);
    assert_int_not_equal(access(tp("gout/00004.png"), F_OK), 0);
    /* one existing image in the middle: groups are formed from the missing ones */
    fake one = {0, -1, 0, 0, 0, NULL};
    hart_batch_item it = {"d", 7 + 6, 6, tp("gout/00006.png"), 4};
    assert_int_equal(fake_render(&one, &it, 1), HART_OK);
    fake g = {0, -1, 0, 0, 0, NULL};
    r = renderer(&g);
    assert_int_equal(hart_batch_run(&l, &o, &r, &s), HART_OK);
    assert_int_equal(s.skipped, 5); /* the orphan image (no manifest entry) is verified and kept */
    assert_int_equal(s.rendered, 5);
    assert_int_equal(g.calls, 2); /* 4, 5, 7, 8 then 9 */
    assert_int_equal(g.max_n, 4);
    assert_int_equal(count_entries(tp("gout/manifest.jsonl")), 10);
    same_files(ref, out, 10);
    hart_prompts_free(&l);
}

/* Resume that can be trusted: a truncated image, a stale manifest entry, a
 * leftover temporary file and a torn manifest line. */
static void test_repairs(void **st) {
    const char *p = tp("d.txt"), *out = tp("dout");
    write_text(p, "a\nb\nc\nd\n");
    hart_prompt_list l;
    assert_int_equal(hart_prompts_load(p, &l), HART_OK);
    hart_batch_opts o = {.out_dir = out, .seed = 3, .per_prompt = 1, .options = g_opts, .quiet = 1};
    hart_batch_stats s;
    fake f = {0, -1, 0, 0, 0, NULL};
    hart_batch_renderer r = renderer(&f);
    assert_int_equal(hart_batch_run(&l, &o, &r, &s), HART_OK);
    char *good = read_text(tp("dout/00001.png"));
    free(good);
    /* truncate image 1 to half */
    struct stat sb;
    assert_int_equal(stat(tp("dout/00001.png"), &sb), 0);
    assert_int_equal(truncate(tp("dout/00001.png"), sb.st_size / 2), 0);
    /* image 2's entry names another prompt (an edited manifest) */
    char *m = read_text(tp("dout/manifest.jsonl"));
    char *q = strstr(m, "\"prompt\":\"c\"");
    assert_non_null(q);
    q[10] = 'X';
    /* and a torn last line */
    FILE *fm = fopen(tp("dout/manifest.jsonl"), "wb");
    fputs(m, fm);
    fputs("{\"index\":3,\"fi", fm);
    fclose(fm);
    free(m);
    write_text(tp("dout/00003.png.tmp.4242"), "half");
    write_text(tp("dout/notes.tmp.1"), "not ours"); /* not a file of the job: kept */
    fake g = {0, -1, 0, 0, 0, NULL};
    r = renderer(&g);
    assert_int_equal(hart_batch_run(&l, &o, &r, &s), HART_OK);
    assert_int_equal(s.damaged, 2);
    assert_int_equal(s.rendered, 2);
    assert_int_equal(s.skipped, 2);
    assert_int_equal(s.cleaned, 1);
    assert_int_not_equal(access(tp("dout/00003.png.tmp.4242"), F_OK), 0);
    assert_int_equal(access(tp("dout/notes.tmp.1"), F_OK), 0);
    assert_int_equal(count_entries(tp("dout/manifest.jsonl")), 4);
    hart_manifest mm;
    int exists;
    assert_int_equal(hart_manifest_read(tp("dout/manifest.jsonl"), &mm, &exists), HART_OK);
    assert_int_equal(mm.torn, 0);
    assert_int_equal(mm.dropped, 0);
    assert_string_equal(mm.entries[2].prompt, "c");
    hart_manifest_free(&mm);
    hart_image im;
    assert_int_equal(hart_image_read(tp("dout/00001.png"), &im), HART_OK);
    assert_int_equal(im.rgb[0], (uint8_t)(4 * 7 + 'b'));
    hart_image_free(&im);
    hart_prompts_free(&l);
}

/* Other prompts or settings are refused with the differences named;
 * --force keeps what still matches. Images without a manifest are refused. */
static void test_header_check(void **st) {
    const char *p = tp("h.txt"), *out = tp("hout");
    write_text(p, "a\nb\n");
    hart_prompt_list l;
    assert_int_equal(hart_prompts_load(p, &l), HART_OK);
    hart_batch_opts o = {.out_dir = out, .seed = 1, .per_prompt = 1, .options = g_opts, .quiet = 1};
    hart_batch_stats s;
    fake f = {0, -1, 0, 0, 0, NULL};
    hart_batch_renderer r = renderer(&f);
    assert_int_equal(hart_batch_run(&l, &o, &r, &s), HART_OK);
    static const char *const other[] = {"cfg", "3", "model", "m1", NULL};
    hart_batch_opts o2 = o;
    o2.options = other;
    assert_int_equal(hart_batch_run(&l, &o2, &r, &s), HART_EINVAL);
    assert_non_null(strstr(hart_errmsg(), "cfg: 4.5 -> 3"));
    assert_non_null(strstr(hart_errmsg(), "--force"));
    /* another prompt file */
    write_text(p, "a\nB\n");
    hart_prompt_list l2;
    assert_int_equal(hart_prompts_load(p, &l2), HART_OK);
    assert_int_equal(hart_batch_run(&l2, &o, &r, &s), HART_EINVAL);
    assert_non_null(strstr(hart_errmsg(), "prompt set"));
    /* --force: image 0 (same prompt, seed, file) kept, image 1 rendered again */
    o.force = 1;
    fake g = {0, -1, 0, 0, 0, NULL};
    r = renderer(&g);
    assert_int_equal(hart_batch_run(&l2, &o, &r, &s), HART_OK);
    assert_int_equal(s.skipped, 1);
    assert_int_equal(s.rendered, 1);
    assert_int_equal(s.damaged, 1);
    /* the header now names the new prompt set: a plain resume is accepted */
    o.force = 0;
    assert_int_equal(hart_batch_run(&l2, &o, &r, &s), HART_OK);
    assert_int_equal(s.skipped, 2);
    /* images but no manifest */
    assert_int_equal(unlink(tp("hout/manifest.jsonl")), 0);
    assert_int_equal(hart_batch_run(&l2, &o, &r, &s), HART_EINVAL);
    assert_non_null(strstr(hart_errmsg(), "no manifest"));
    hart_prompts_free(&l);
    hart_prompts_free(&l2);
}

/* Several workers (forked processes) on one folder: the same files as one
 * worker, the manifest lists each image once, sorted. */
static void test_workers(void **st) {
    const char *p = tp("w.txt"), *one = tp("w1"), *three = tp("w3");
    write_text(p, "a\nb\nc\nd\ne\nf\ng\n");
    hart_prompt_list l;
    assert_int_equal(hart_prompts_load(p, &l), HART_OK);
    hart_batch_opts o = {.out_dir = one, .seed = 11, .per_prompt = 2, .options = g_opts, .quiet = 1, .batch_size = 3};
    hart_batch_stats s;
    fake f = {0, -1, 0, 0, 0, NULL};
    hart_batch_renderer r = renderer(&f);
    assert_int_equal(hart_batch_run(&l, &o, &r, &s), HART_OK);
    static const char *const devs[] = {"d0", "d1", "d2"};
    hart_batch_opts o3 = o;
    o3.out_dir = three;
    o3.devices = devs;
    o3.n_devices = 3;
    fake g = {0, -1, 0, 0, 0, NULL};
    r = renderer(&g);
    assert_int_equal(hart_batch_run(&l, &o3, &r, &s), HART_OK);
    assert_int_equal(s.rendered, 14);
    assert_int_equal(g.opened, 0); /* opened in the workers, not here */
    same_files(one, three, 14);
    char *a = read_text(tp("w1/manifest.jsonl")), *b = read_text(tp("w3/manifest.jsonl"));
    assert_string_equal(a, b);
    free(a);
    free(b);
    /* a worker that fails to open its device: the others render everything */
    const char *two = tp("w2");
    o3.out_dir = two;
    static const char *const bad[] = {"d0", "fail"};
    o3.devices = bad;
    o3.n_devices = 2;
    hart_batch_renderer rb = {failing_open, fake_render, NULL, NULL, &g};
    assert_int_equal(hart_batch_run(&l, &o3, &rb, &s), HART_EIO);
    assert_non_null(strstr(hart_errmsg(), "worker 1 (fail, exit 1) failed"));
    assert_int_equal(s.rendered, 14);
    same_files(one, two, 14);
    assert_int_equal(count_entries(tp("w2/manifest.jsonl")), 14);
    hart_prompts_free(&l);
}

/* GenEval: <prompt>/samples/<copy>.png and <prompt>/metadata.jsonl; MJHQ:
 * <category>/<id>.png. */
static void test_layouts(void **st) {
    const char *p = tp("ge.jsonl"), *out = tp("ge");
    write_text(p, "{\"tag\": \"single_object\", \"prompt\": \"a photo of a bench\"}\n"
                  "{\"tag\": \"counting\", \"prompt\": \"a photo of two cats\"}\n");
    hart_prompt_list l;
    assert_int_equal(hart_prompts_load(p, &l), HART_OK);
    hart_batch_opts o = {.out_dir = out, .per_prompt = 2, .options = g_opts, .quiet = 1, .layout = HART_LAYOUT_GENEVAL};
    hart_batch_stats s;
    fake f = {0, -1, 0, 0, 0, NULL};
    hart_batch_renderer r = renderer(&f);
    assert_int_equal(hart_batch_run(&l, &o, &r, &s), HART_OK);
    assert_int_equal(access(tp("ge/00001/samples/0001.png"), F_OK), 0);
    char *m = read_text(tp("ge/00001/metadata.jsonl"));
    assert_string_equal(m, "{\"tag\": \"counting\", \"prompt\": \"a photo of two cats\"}\n");
    free(m);
    hart_prompts_free(&l);

    p = tp("mj.json");
    write_text(p, "{\"a1\": {\"prompt\": \"a fox\", \"category\": \"animals\"},"
                  " \"b2\": {\"prompt\": \"a man\", \"category\": \"people\"}}");
    assert_int_equal(hart_prompts_load(p, &l), HART_OK);
    assert_int_equal(hart_prompts_filter_categories(&l, "people"), HART_OK);
    o = (hart_batch_opts){.out_dir = tp("mj"), .per_prompt = 1, .seed = 5, .options = g_opts, .quiet = 1,
                          .layout = HART_LAYOUT_CATEGORY};
    assert_int_equal(hart_batch_run(&l, &o, &r, &s), HART_OK);
    assert_int_equal(s.rendered, 1);
    hart_image im;
    assert_int_equal(hart_image_read(tp("mj/people/b2.png"), &im), HART_OK);
    assert_int_equal(im.rgb[0], (uint8_t)((5 + 1) * 7 + 'a')); /* index 1 in the file: seed 5 + 1 */
    hart_image_free(&im);
    assert_int_not_equal(access(tp("mj/animals"), F_OK), 0);
    hart_prompts_free(&l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_file), cmocka_unit_test(test_jsonl_and_errors), cmocka_unit_test(test_mjhq),
        cmocka_unit_test(test_resume),    cmocka_unit_test(test_batch_groups),     cmocka_unit_test(test_repairs),
        cmocka_unit_test(test_header_check), cmocka_unit_test(test_workers),       cmocka_unit_test(test_layouts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
