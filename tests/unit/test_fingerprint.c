/* Model fingerprints for batch manifests (io/fingerprint.h): FNV-1a 64
 * against the published test vectors, and the fingerprint of a folder:
 * the same for a copy elsewhere, different after a change of a file's name,
 * size, first or last bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/fingerprint.h"

static char g_dir[256];

static int setup(void **st) {
    snprintf(g_dir, sizeof g_dir, "/tmp/hart_test_fp_%ld", (long)getpid());
    return mkdir(g_dir, 0777);
}

static int teardown(void **st) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_fnv_vectors(void **st) {
    /* from the FNV reference (Fowler/Noll/Vo, test vectors of FNV-1a 64) */
    assert_true(hart_fnv1a(HART_FNV_INIT, "", 0) == 0xcbf29ce484222325ull);
    assert_true(hart_fnv1a(HART_FNV_INIT, "a", 1) == 0xaf63dc4c8601ec8cull);
    assert_true(hart_fnv1a(HART_FNV_INIT, "foobar", 6) == 0x85944171f73967e8ull);
}

static void write_file(const char *dir, const char *name, size_t n, int poke_at, int poke) {
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) fputc((int)(i * 31 % 251) ^ ((int)i == poke_at ? poke : 0), f);
    fclose(f);
}

static void make_model(const char *dir, size_t big, int poke_at) {
    char sub[600];
    mkdir(dir, 0777);
    snprintf(sub, sizeof sub, "%s/llm", dir);
    mkdir(sub, 0777);
    write_file(sub, "config.json", 100, -1, 0);
    write_file(sub, "model.safetensors", big, poke_at, 1);
}

static void fp(const char *dir, char hex[17]) { assert_int_equal(hart_fingerprint_path(dir, hex), HART_OK); }

static void test_folder(void **st) {
    char a[400], b[400], c[400], d[400], e[400], ha[17], hb[17], h[17];
    snprintf(a, sizeof a, "%s/a", g_dir);
    snprintf(b, sizeof b, "%s/elsewhere_b", g_dir);
    size_t big = 300 * 1024;
    make_model(a, big, -1);
    make_model(b, big, -1);
    fp(a, ha);
    fp(b, hb);
    assert_string_equal(ha, hb); /* a copy in another place */
    assert_int_equal(strlen(ha), 16);
    snprintf(c, sizeof c, "%s/c", g_dir);
    make_model(c, big, (int)big - 10); /* last bytes */
    fp(c, h);
    assert_string_not_equal(h, ha);
    snprintf(d, sizeof d, "%s/d", g_dir);
    make_model(d, big + 1, -1); /* size */
    fp(d, h);
    assert_string_not_equal(h, ha);
    snprintf(e, sizeof e, "%s/e", g_dir);
    make_model(e, big, 5); /* first bytes */
    fp(e, h);
    assert_string_not_equal(h, ha);
    /* a middle byte is not read (documented limit) */
    char m[400];
    snprintf(m, sizeof m, "%s/m", g_dir);
    make_model(m, big, (int)big / 2);
    fp(m, h);
    assert_string_equal(h, ha);
    /* one file */
    char file[500];
    snprintf(file, sizeof file, "%s/llm/config.json", a);
    fp(file, h);
    assert_string_not_equal(h, ha);
    assert_int_equal(hart_fingerprint_path("/nonexistent/model", h), HART_EIO);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_fnv_vectors), cmocka_unit_test(test_folder)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
