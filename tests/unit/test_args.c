/* Shared CLI flag parser (src/cli/args.c is CLI-only, so it is compiled in). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli/args.c"

typedef struct {
    const char *out, *model, *device, *mode;
    hart_seed_arg seed;
    int steps, verbose;
    double cfg;
} vals;

static int parse(vals *v, hart_args *a, int argc, char **argv) {
    const hart_opt opts[] = {
        HART_OPT_OUTPUT(&v->out, "out.png"), HART_OPT_MODEL(&v->model), HART_OPT_SEED(&v->seed, "0"),
        HART_OPT_DEVICE(&v->device), HART_OPT_VERBOSE(&v->verbose),
        {"steps", 0, HART_ARG_INT, &v->steps, "N", "steps", "10", 1, 100, NULL},
        {"cfg", 0, HART_ARG_FLOAT, &v->cfg, "X", "guidance", "4.5", 0, 50, NULL},
        {"mode", 0, HART_ARG_CHOICE, &v->mode, "M", "mode", NULL, 0, 0, "fast|exact"},
        HART_OPT_END};
    const hart_cmd_spec spec = {"testcmd", "[options] PROMPT", NULL, opts, 1, 2, 0};
    int rc = hart_args_parse(&spec, argc, argv, a);
    if (rc < 0) assert_int_equal(hart_args_given(&spec, a, "seed"), a->given[2]);
    return rc;
}

#define ARGV(...) (char *[]){"testcmd", __VA_ARGS__, NULL}
static int count(char **av) {
    int n = 0;
    while (av[n]) n++;
    return n;
}

static void test_all_forms(void **s) {
    vals v = {0};
    hart_args a;
    char **av = ARGV("-o", "x.png", "--model=dir", "--seed", "0xff", "-dopencl:0:1", "-v", "--steps=7",
                     "--cfg", "2.5", "--mode", "exact", "a cat", "--", "--literal");
    assert_int_equal(parse(&v, &a, count(av), av), -1);
    assert_string_equal(v.out, "x.png");
    assert_string_equal(v.model, "dir");
    assert_true(v.seed.value == 255 && !v.seed.random);
    assert_string_equal(v.device, "opencl:0:1");
    assert_int_equal(v.verbose, 1);
    assert_int_equal(v.steps, 7);
    assert_float_equal(v.cfg, 2.5, 0);
    assert_string_equal(v.mode, "exact");
    assert_int_equal(a.npos, 2);
    assert_string_equal(a.pos[0], "a cat");
    assert_string_equal(a.pos[1], "--literal");
    assert_int_equal(a.given[2], 1);
}

static void test_errors(void **s) {
    vals v = {0};
    hart_args a;
    char **cases[] = {
        ARGV("p", "--nope"),          ARGV("p", "--seed"),        ARGV("p", "--seed", "-2"), 
        ARGV("p", "--seed", "12x"),   ARGV("p", "--steps", "0"),  ARGV("p", "--steps", "101"),
        ARGV("p", "--cfg", "nan"),    ARGV("p", "--cfg", "1e9"),  ARGV("p", "--mode", "slow"),
        ARGV("p", "--device", "gpu"), ARGV("p", "-v=1"),          ARGV("p", "-x"),
        ARGV("p", "q", "r"),          ARGV("--steps", "3"),       ARGV("p", "--seed", "1", "--seed", "2"),
        ARGV("p", "--output", ""),    ARGV("p", "--seed", "0x"),  ARGV("p", "--seed", "99999999999999999999"),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&v, 0, sizeof v);
        assert_int_equal(parse(&v, &a, count(cases[i]), cases[i]), 2);
    }
}

/* --seed -1 asks for a random seed; -s is --seed; "-s-1" too */
static void test_seed_random(void **s) {
    vals v = {0};
    hart_args a;
    char **av = ARGV("p", "--seed", "-1");
    assert_int_equal(parse(&v, &a, count(av), av), -1);
    assert_true(v.seed.random);
    memset(&v, 0, sizeof v);
    av = ARGV("p", "-s-1");
    assert_int_equal(parse(&v, &a, count(av), av), -1);
    assert_true(v.seed.random);
    memset(&v, 0, sizeof v);
    av = ARGV("p", "--seed=12");
    assert_int_equal(parse(&v, &a, count(av), av), -1);
    assert_true(v.seed.value == 12 && !v.seed.random);
}

/* stop_at_pos: options end at the first positional argument */
static void test_stop_at_pos(void **s) {
    int flag = 0;
    const hart_opt opts[] = {{"decode", 0, HART_ARG_FLAG, &flag, NULL, "d", NULL, 0, 0, NULL}, HART_OPT_END};
    const hart_cmd_spec spec = {"t", "ARGS", NULL, opts, 0, -1, 1};
    hart_args a;
    char **av = ARGV("--decode", "12", "-5", "--decode");
    assert_int_equal(hart_args_parse(&spec, count(av), av, &a), -1);
    assert_int_equal(flag, 1);
    assert_int_equal(a.npos, 3);
    assert_string_equal(a.pos[1], "-5");
}

static void test_help(void **s) {
    vals v = {0};
    hart_args a;
    assert_int_equal(parse(&v, &a, 3, ARGV("p", "--help")), 0);
    assert_int_equal(parse(&v, &a, 2, ARGV("-h")), 0);
}

static void test_device_syntax(void **s) {
    const char *good[] = {"cpu", "auto", "opencl", "opencl:0", "opencl:1:2", "opencl:10:0", "ref64"};
    const char *bad[] = {"", "gpu", "opencl:", "opencl:a", "opencl:0:", "opencl:0:1:2", "cpu0", "opencl:-1"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) assert_true(hart_args_device_ok(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) assert_false(hart_args_device_ok(bad[i]));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_forms),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_seed_random),
        cmocka_unit_test(test_stop_at_pos),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_device_syntax),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
