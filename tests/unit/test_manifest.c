/* Batch manifests (pipeline/manifest.h): header and entries read back as
 * written, repairs of damaged files (torn last line, damaged lines, a NUL),
 * refusals (damaged header, other version), exact 64-bit seeds, index
 * ranges, header differences, concurrent appends from several processes,
 * and the merge of shard manifests (pipeline/batch_merge.h). Expected
 * values are written by hand from the format in manifest.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fileio.h"
#include "pipeline/batch_merge.h"
#include "pipeline/manifest.h"

static char g_dir[256];

static int setup(void **st) {
    snprintf(g_dir, sizeof g_dir, "/tmp/hart_test_manifest_%ld", (long)getpid());
    return mkdir(g_dir, 0777);
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

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static hart_status parse(const char *text, hart_manifest *m) {
    return hart_manifest_parse("t.jsonl", text, strlen(text), m);
}

#define HEADER                                                                                                        \
    "{\"hart_manifest\":1,\"prompts\":\"00000000000000aa\",\"images\":3,\"indices\":\"0-2\",\"shard\":\"0/1\","   \
    "\"options\":{\"cfg\":\"4.5\",\"model\":\"m\"}}\n"

static void test_parse(void **st) {
    hart_manifest m;
    assert_int_equal(parse(HEADER "{\"index\":0,\"file\":\"00000.png\",\"seed\":7,\"prompt\":\"a \\\"fox\\\"\"}\n"
                                  "{\"index\":2,\"file\":\"sub/b.png\",\"seed\":18446744073709551615,\"prompt\":\"b\"}\n",
                           &m),
                     HART_OK);
    assert_true(m.has_header);
    assert_string_equal(m.prompts_hash, "00000000000000aa");
    assert_int_equal(m.images, 3);
    assert_string_equal(m.indices, "0-2");
    assert_int_equal(m.n_opts, 2);
    assert_string_equal(m.opt_keys[1], "model");
    assert_string_equal(m.opt_vals[0], "4.5");
    assert_int_equal(m.n, 2);
    assert_string_equal(m.entries[0].prompt, "a \"fox\"");
    assert_true(m.entries[1].seed == 18446744073709551615ull); /* exact, not rounded through a double */
    assert_string_equal(m.entries[1].file, "sub/b.png");
    assert_int_equal(m.torn + m.dropped, 0);
    /* written back: the same text */
    char *h = hart_manifest_header_line(&m), *e = hart_manifest_entry_line(2, "sub/b.png", 18446744073709551615ull, "b");
    assert_string_equal(h, HEADER);
    assert_string_equal(e, "{\"index\":2,\"file\":\"sub/b.png\",\"seed\":18446744073709551615,\"prompt\":\"b\"}\n");
    free(h);
    free(e);
    hart_manifest_free(&m);
    /* empty: no header, no entries */
    assert_int_equal(parse("", &m), HART_OK);
    assert_false(m.has_header);
    assert_int_equal(m.n, 0);
    hart_manifest_free(&m);
}

static void test_repairs(void **st) {
    hart_manifest m;
    /* a torn last line (a write cut short): dropped, flagged */
    assert_int_equal(parse(HEADER "{\"index\":0,\"file\":\"a.png\",\"seed\":1,\"prompt\":\"a\"}\n{\"index\":1,\"fi", &m), HART_OK);
    assert_int_equal(m.n, 1);
    assert_int_equal(m.torn, 1);
    assert_int_equal(m.dropped, 0);
    hart_manifest_free(&m);
    /* damaged lines anywhere: dropped and counted; the others kept */
    const char *bad[] = {
        "garbage\n",
        "{\"index\":-1,\"file\":\"a.png\",\"seed\":1,\"prompt\":\"a\"}\n",
        "{\"index\":1.5,\"file\":\"a.png\",\"seed\":1,\"prompt\":\"a\"}\n",
        "{\"index\":1,\"file\":\"../a.png\",\"seed\":1,\"prompt\":\"a\"}\n",
        "{\"index\":1,\"file\":\"a/./b.png\",\"seed\":1,\"prompt\":\"a\"}\n",
        "{\"index\":1,\"file\":\"\",\"seed\":1,\"prompt\":\"a\"}\n",
        "{\"index\":1,\"file\":\"a.png\",\"seed\":-3,\"prompt\":\"a\"}\n",
        "{\"index\":1,\"file\":\"a.png\",\"seed\":1e30,\"prompt\":\"a\"}\n",
        "{\"index\":1,\"file\":\"a.png\",\"seed\":\"1\",\"prompt\":\"a\"}\n",
        "{\"index\":1,\"file\":\"a.png\",\"seed\":1,\"prompt\":7}\n",
        "{\"index\":1,\"file\":\"a.png\",\"seed\":1,\"prompt\":\"a\",\"x\":{}}\n",
        "[1,2]\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[1024];
        snprintf(text, sizeof text, HEADER "%s{\"index\":2,\"file\":\"c.png\",\"seed\":3,\"prompt\":\"c\"}\n", bad[i]);
        assert_int_equal(parse(text, &m), HART_OK);
        assert_int_equal(m.n, 1);
        assert_int_equal(m.dropped, 1);
        assert_int_equal(m.entries[0].index, 2);
        hart_manifest_free(&m);
    }
    /* a NUL inside a line */
    char nul[] = HEADER "{\"index\":0,\"file\":\"a.png\",\"seed\":1,\"prompt\":\"a\"}\n";
    size_t n = sizeof nul - 1;
    nul[n - 5] = 0;
    assert_int_equal(hart_manifest_parse("t", nul, n, &m), HART_OK);
    assert_int_equal(m.n, 0);
    assert_int_equal(m.dropped, 1);
    hart_manifest_free(&m);
    /* a header-less (older) manifest: entries read, no header */
    assert_int_equal(parse("{\"index\":0,\"file\":\"a.png\",\"seed\":1,\"prompt\":\"a\"}\n", &m), HART_OK);
    assert_false(m.has_header);
    assert_int_equal(m.n, 1);
    hart_manifest_free(&m);
}

static void test_bad_header(void **st) {
    hart_manifest m;
    assert_int_equal(parse("{\"hart_manifest\":2,\"prompts\":\"x\"}\n", &m), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "version"));
    const char *bad[] = {
        "{\"hart_manifest\":1}\n",
        "{\"hart_manifest\":1,\"prompts\":\"a\",\"images\":-1,\"indices\":\"\",\"shard\":\"0/1\",\"options\":{}}\n",
        "{\"hart_manifest\":1,\"prompts\":\"a\",\"images\":1,\"indices\":\"0\",\"shard\":\"2/2\",\"options\":{}}\n",
        "{\"hart_manifest\":1,\"prompts\":\"a\",\"images\":1,\"indices\":\"0\",\"shard\":\"0/1x\",\"options\":{}}\n",
        "{\"hart_manifest\":1,\"prompts\":\"a\",\"images\":1,\"indices\":\"0\",\"shard\":\"0/1\",\"options\":{\"k\":1}}\n",
        "{\"hart_manifest\":1,\"prompts\":\"a\",\"images\":1,\"indices\":\"0\",\"shard\":\"0/1\",\"options\":[]}\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(parse(bad[i], &m), HART_EFORMAT);
        assert_non_null(strstr(hart_errmsg(), "t.jsonl"));
    }
}

static void test_ranges(void **st) {
    int64_t v[] = {0, 1, 2, 5, 7, 8, 100};
    char *s = hart_ranges_format(v, 7);
    assert_string_equal(s, "0-2,5,7-8,100");
    int64_t *w, n;
    assert_int_equal(hart_ranges_parse(s, 100, &w, &n), HART_OK);
    assert_int_equal(n, 7);
    assert_memory_equal(v, w, sizeof v);
    free(w);
    free(s);
    s = hart_ranges_format(v, 0);
    assert_string_equal(s, "");
    free(s);
    assert_int_equal(hart_ranges_parse("", 10, &w, &n), HART_OK);
    assert_int_equal(n, 0);
    free(w);
    const char *bad[] = {"3-1", "1,1", "2,1", "1,", ",1", "-1", "a", "1-", "0-9", "1 ", "99999999999999999999", "0-2,2-3"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(hart_ranges_parse(bad[i], 5, &w, &n), HART_EFORMAT);
        assert_null(w);
    }
}

static void test_diff(void **st) {
    hart_manifest a, b;
    assert_int_equal(parse(HEADER, &a), HART_OK);
    assert_int_equal(parse(HEADER, &b), HART_OK);
    assert_null(hart_manifest_header_diff(&a, &b));
    static const char *const kv[] = {"cfg", "3", "seed", "1", NULL};
    assert_int_equal(hart_manifest_set_options(&b, kv), HART_OK);
    b.shard = 1;
    b.n_shards = 2;
    char *d = hart_manifest_header_diff(&a, &b);
    assert_string_equal(d, "shard: 0/1 -> 1/2; cfg: 4.5 -> 3; seed: (unset) -> 1; model: m -> (unset)");
    free(d);
    hart_manifest_free(&a);
    hart_manifest_free(&b);
}

/* 4 processes x 300 appends to one file: every line whole, none lost. */
static void test_concurrent_append(void **st) {
    const char *path = tp("c.jsonl");
    write_text(path, HEADER);
    for (int w = 0; w < 4; w++) {
        if (fork() == 0) {
            int fd = open(path, O_WRONLY | O_APPEND);
            char prompt[600];
            memset(prompt, 'a' + w, sizeof prompt - 1); /* long lines: more chance to interleave */
            prompt[sizeof prompt - 1] = 0;
            for (int i = 0; i < 300; i++)
                if (hart_manifest_append_fd(fd, path, w * 1000 + i, "f.png", (uint64_t)i, prompt)) _exit(1);
            _exit(0);
        }
    }
    for (int w = 0; w < 4; w++) {
        int status;
        wait(&status);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    hart_manifest m;
    int exists;
    assert_int_equal(hart_manifest_read(path, &m, &exists), HART_OK);
    assert_int_equal(m.n, 1200);
    assert_int_equal(m.dropped + m.torn, 0);
    for (int i = 0; i < m.n; i++) assert_int_equal(m.entries[i].prompt[0], 'a' + m.entries[i].index / 1000);
    hart_manifest_free(&m);
}

/* shard manifests by hand: shard I of 2 of a 4-image job */
static void write_shard(const char *dir, int shard, const char *extra, int make_files) {
    char path[700];
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/manifest.%d-of-2.jsonl", dir, shard);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fprintf(f, "{\"hart_manifest\":1,\"prompts\":\"00000000000000bb\",\"images\":4,\"indices\":\"0-3\",\"shard\":\"%d/2\","
               "\"options\":{\"cfg\":\"4.5\"}}\n", shard);
    for (int i = shard; i < 4; i += 2) {
        fprintf(f, "{\"index\":%d,\"file\":\"%05d.png\",\"seed\":%d,\"prompt\":\"p%d\"}\n", i, i, i, i);
        if (make_files) {
            snprintf(path, sizeof path, "%s/%05d.png", dir, i);
            write_text(path, "x");
        }
    }
    fputs(extra, f);
    fclose(f);
}

static void test_merge(void **st) {
    hart_merge_report r;
    FILE *log = tmpfile();
    char one[600], two[600], three[600]; /* tp()'s buffers are reused */
    snprintf(one, sizeof one, "%s", tp("m1"));
    snprintf(two, sizeof two, "%s", tp("m2"));
    snprintf(three, sizeof three, "%s", tp("m3"));
    write_shard(one, 0, "", 1);
    const char *dirs[] = {one, two};
    /* shard 1 missing: images 1 and 3 */
    assert_int_equal(hart_batch_merge(dirs, 1, tp("m1/manifest.jsonl"), 0, log, &r), HART_EINVAL);
    assert_int_equal(r.missing, 2);
    assert_int_equal(r.present, 2);
    assert_non_null(strstr(hart_errmsg(), "2 missing"));
    assert_int_not_equal(access(tp("m1/manifest.jsonl"), F_OK), 0); /* nothing written */
    /* complete: the two shards in one folder */
    write_shard(one, 1, "", 1);
    assert_int_equal(hart_batch_merge(dirs, 1, tp("m1/manifest.jsonl"), 0, log, &r), HART_OK);
    assert_int_equal(r.present, 4);
    assert_int_equal(r.manifests, 2);
    char *text;
    assert_int_equal(hart_file_read_all(tp("m1/manifest.jsonl"), &text, NULL), HART_OK);
    assert_string_equal(text,
                        "{\"hart_manifest\":1,\"prompts\":\"00000000000000bb\",\"images\":4,\"indices\":\"0-3\",\"shard\":\"0/1\","
                        "\"options\":{\"cfg\":\"4.5\"}}\n"
                        "{\"index\":0,\"file\":\"00000.png\",\"seed\":0,\"prompt\":\"p0\"}\n"
                        "{\"index\":1,\"file\":\"00001.png\",\"seed\":1,\"prompt\":\"p1\"}\n"
                        "{\"index\":2,\"file\":\"00002.png\",\"seed\":2,\"prompt\":\"p2\"}\n"
                        "{\"index\":3,\"file\":\"00003.png\",\"seed\":3,\"prompt\":\"p3\"}\n");
    free(text);
    /* again: the merged manifest itself is not an input */
    assert_int_equal(hart_batch_merge(dirs, 1, tp("m1/manifest.jsonl"), 0, log, &r), HART_OK);
    /* a second copy of shard 1 in another folder: duplicates */
    write_shard(two, 1, "", 1);
    assert_int_equal(hart_batch_merge(dirs, 2, tp("m1/manifest.jsonl"), 0, log, &r), HART_EINVAL);
    assert_int_equal(r.duplicates, 2);
    /* ... that disagrees on image 3, and lists an image outside the job */
    write_shard(two, 1, "{\"index\":9,\"file\":\"x.png\",\"seed\":9,\"prompt\":\"x\"}\n", 1);
    char path[700];
    snprintf(path, sizeof path, "%s/manifest.1-of-2.jsonl", two);
    char *t;
    assert_int_equal(hart_file_read_all(path, &t, NULL), HART_OK);
    char *q = strstr(t, "\"prompt\":\"p3\"");
    q[11] = '9';
    write_text(path, t);
    free(t);
    assert_int_equal(hart_batch_merge(dirs, 2, tp("m1/manifest.jsonl"), 0, log, &r), HART_EINVAL);
    assert_int_equal(r.conflicts, 2);
    assert_int_equal(r.duplicates, 1);
    /* another job's manifest */
    write_shard(three, 0, "", 0);
    snprintf(path, sizeof path, "%s/manifest.0-of-2.jsonl", three);
    assert_int_equal(hart_file_read_all(path, &t, NULL), HART_OK);
    q = strstr(t, "4.5");
    q[0] = '3';
    write_text(path, t);
    free(t);
    const char *mixed[] = {one, three};
    assert_int_equal(hart_batch_merge(mixed, 2, tp("m1/manifest.jsonl"), 0, log, &r), HART_EINVAL);
    assert_non_null(strstr(hart_errmsg(), "not shards of one job: cfg"));
    /* an image file gone */
    assert_int_equal(unlink(tp("m1/00002.png")), 0);
    assert_int_equal(hart_batch_merge(dirs, 1, tp("m1/manifest.jsonl"), 0, log, &r), HART_EINVAL);
    assert_int_equal(r.missing, 1);
    fclose(log);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),  cmocka_unit_test(test_repairs), cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_ranges), cmocka_unit_test(test_diff),    cmocka_unit_test(test_concurrent_append),
        cmocka_unit_test(test_merge),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
