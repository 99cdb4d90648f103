/* Prompt-file parsing and resumable batch runs (with a stand-in renderer). */
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
#include "pipeline/batch.h"

static char g_dir[256];

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
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

static void test_text_file(void **st) {
    char p[512];
    snprintf(p, sizeof p, "%s/p.txt", g_dir);
    write_text(p, "# comment\na cat\n\n  \r\na dog\r\n");
    hart_prompt_list l;
    assert_int_equal(hart_prompts_load(p, &l), HART_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.items[0].prompt, "a cat");
    assert_string_equal(l.items[1].prompt, "a dog");
    assert_int_equal(l.items[1].line, 5);
    hart_prompts_free(&l);
}

static void test_jsonl_and_errors(void **st) {
    char p[512];
    hart_prompt_list l;
    snprintf(p, sizeof p, "%s/p.jsonl", g_dir);
    write_text(p, "{\"prompt\":\"x\",\"seed\":5,\"name\":\"img\"}\n{\"prompt\":\"y\"}\n");
    assert_int_equal(hart_prompts_load(p, &l), HART_OK);
    assert_int_equal(l.n, 2);
    assert_true(l.items[0].has_seed);
    assert_int_equal(l.items[0].seed, 5);
    assert_string_equal(l.items[0].name, "img");
    assert_null(l.items[1].name);
    hart_prompts_free(&l);

    write_text(p, "{\"prompt\":\"x\"}\n{\"seed\":1}\n");
    assert_int_equal(hart_prompts_load(p, &l), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), ":2:"));
    write_text(p, "{\"prompt\":\"x\",\"name\":\"../evil\"}\n");
    assert_int_equal(hart_prompts_load(p, &l), HART_EFORMAT);
    snprintf(p, sizeof p, "%s/bad.txt", g_dir);
    write_text(p, "ok\n\xff\xfe bad utf8\n");
    assert_int_equal(hart_prompts_load(p, &l), HART_EFORMAT);
    write_text(p, "# only a comment\n");
    assert_int_equal(hart_prompts_load(p, &l), HART_EFORMAT);
    assert_int_equal(hart_prompts_load("/nonexistent/prompts.txt", &l), HART_EIO);
}

typedef struct { int calls; int fail_at; int images; int max_n; } fake;

/* writes "prompt seed" per image; "killed" (nothing of the group written)
 * at call fail_at */
static hart_status fake_render(void *ctx, const hart_batch_item *it, int n) {
    fake *f = ctx;
    if (n > f->max_n) f->max_n = n;
    if (f->calls++ == f->fail_at) return hart_fail(HART_EIO, "simulated crash");
    for (int i = 0; i < n; i++) {
        hart_file_writer w;
        HART_TRY(hart_file_begin(&w, it[i].path));
        char line[256];
        int len = snprintf(line, sizeof line, "%s %llu\n", it[i].prompt, (unsigned long long)it[i].seed);
        HART_TRY(hart_file_put(&w, line, (size_t)len));
        HART_TRY(hart_file_commit(&w));
        f->images++;
    }
    return HART_OK;
}

static int count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

static void test_resume(void **st) {
    char p[512], out[512], img[600];
    snprintf(p, sizeof p, "%s/r.txt", g_dir);
    snprintf(out, sizeof out, "%s/out", g_dir);
    write_text(p, "a\nb\nc\n");
    hart_prompt_list l;
    assert_int_equal(hart_prompts_load(p, &l), HART_OK);
    hart_batch_opts o = {.out_dir = out, .seed = 100, .per_prompt = 2};
    hart_batch_stats s;
    fake f = {0, 3, 0, 0}; /* "killed" while rendering the 4th image */
    assert_int_equal(hart_batch_run(&l, &o, fake_render, &f, &s), HART_EIO);
    assert_int_equal(s.rendered, 3);
    snprintf(img, sizeof img, "%s/00003.png", out);
    assert_int_not_equal(access(img, F_OK), 0);
    fake g = {0, -1, 0, 0};
    assert_int_equal(hart_batch_run(&l, &o, fake_render, &g, &s), HART_OK);
    assert_int_equal(s.skipped, 3);
    assert_int_equal(s.rendered, 3);
    assert_int_equal(g.calls, 3);
    snprintf(img, sizeof img, "%s/manifest.jsonl", out);
    assert_int_equal(count_lines(img), 6);
    /* image 5 = prompt c, copy 1 -> seed 105 */
    snprintf(img, sizeof img, "%s/00005.png", out);
    char *text;
    assert_int_equal(hart_file_read_all(img, &text, NULL), HART_OK);
    assert_string_equal(text, "c 105\n");
    free(text);
    /* sharding: shard 1 of 2 renders odd indices only */
    hart_batch_opts o2 = {.out_dir = out, .seed = 100, .per_prompt = 2, .shard = 1, .n_shards = 2};
    fake h = {0, -1, 0, 0};
    assert_int_equal(hart_batch_run(&l, &o2, fake_render, &h, &s), HART_OK);
    assert_int_equal(s.total, 3);
    assert_int_equal(s.skipped, 3);
    hart_prompts_free(&l);
}

/* --batch-size: missing images go to the renderer in groups of K; a group
 * killed mid-run is rendered again whole, and the files equal K = 1's. */
static void test_batch_groups(void **st) {
    char p[512], out[512], ref[512], a[700], b[700];
    snprintf(p, sizeof p, "%s/g.txt", g_dir);
    snprintf(out, sizeof out, "%s/gout", g_dir);
    snprintf(ref, sizeof ref, "%s/gref", g_dir);
    write_text(p, "a\nb\nc\nd\ne\n");
    hart_prompt_list l;
    assert_int_equal(hart_prompts_load(p, &l), HART_OK);
    hart_batch_stats s;
    hart_batch_opts o1 = {.out_dir = ref, .seed = 7, .per_prompt = 2};
    fake r = {0, -1, 0, 0};
    assert_int_equal(hart_batch_run(&l, &o1, fake_render, &r, &s), HART_OK);
    assert_int_equal(r.calls, 10);
    assert_int_equal(r.max_n, 1);
    hart_batch_opts o = {.out_dir = out, .seed = 7, .per_prompt = 2, .batch_size = 4};
    fake f = {0, 1, 0, 0}; /* the second group (images 4..7) is killed */
    assert_int_equal(hart_batch_run(&l, &o, fake_render, &f, &s), HART_EIO);
    assert_non_null(strstr(hart_errmsg(), "images 4..7"));
    assert_int_equal(s.rendered, 4);
    snprintf(a, sizeof a, "%s/00004.png", out);
    assert_int_not_equal(access(a, F_OK), 0);
    /* one existing image in the middle: groups are formed from the missing ones */
    snprintf(a, sizeof a, "%s/00006.png", ref);
    snprintf(b, sizeof b, "%s/00006.png", out);
    char *text;
    assert_int_equal(hart_file_read_all(a, &text, NULL), HART_OK);
    write_text(b, text);
    free(text);
    fake g = {0, -1, 0, 0};
    assert_int_equal(hart_batch_run(&l, &o, fake_render, &g, &s), HART_OK);
    assert_int_equal(s.skipped, 5);
    assert_int_equal(s.rendered, 5);
    assert_int_equal(g.calls, 2); /* 4, 5, 7, 8 then 9 */
    assert_int_equal(g.max_n, 4);
    snprintf(a, sizeof a, "%s/manifest.jsonl", out);
    assert_int_equal(count_lines(a), 10);
    for (int k = 0; k < 10; k++) {
        char *x, *y;
        snprintf(a, sizeof a, "%s/%05d.png", ref, k);
        snprintf(b, sizeof b, "%s/%05d.png", out, k);
        assert_int_equal(hart_file_read_all(a, &x, NULL), HART_OK);
        assert_int_equal(hart_file_read_all(b, &y, NULL), HART_OK);
        assert_string_equal(x, y);
        free(x);
        free(y);
    }
    hart_prompts_free(&l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_file), cmocka_unit_test(test_jsonl_and_errors), cmocka_unit_test(test_resume),
        cmocka_unit_test(test_batch_groups),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
