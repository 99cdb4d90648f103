/* Shared flag parsing for the hart subcommands (see args.h). */
#include "cli/args.h"

#include <limits.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int hart_args_parse_only;

static void vusage(const hart_cmd_spec *spec, const char *fmt, va_list ap) {
    fprintf(stderr, "hart %s: ", spec->cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see 'hart %s --help')\n", spec->cmd);
}

int hart_args_usage_error(const hart_cmd_spec *spec, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vusage(spec, fmt, ap);
    va_end(ap);
    return 2;
}

static int n_opts(const hart_cmd_spec *spec) {
    int n = 0;
    if (spec->opts)
        while (spec->opts[n].name) n++;
    return n;
}

static int choice_ok(const char *choices, const char *v) {
    size_t lv = strlen(v);
    const char *p = choices;
    while (p && *p) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == lv && !strncmp(p, v, l)) return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

static int digits(const char **p) {
    const char *s = *p;
    while (**p >= '0' && **p <= '9') (*p)++;
    return *p > s && *p - s < 6;
}

int hart_args_device_ok(const char *s) {
    if (!strcmp(s, "cpu") || !strcmp(s, "auto") || !strcmp(s, "opencl") || !strcmp(s, "ref64")) return 1;
    if (strncmp(s, "opencl:", 7)) return 0;
    const char *p = s + 7;
    if (!digits(&p)) return 0;
    if (!*p) return 1;
    if (*p++ != ':' || !digits(&p)) return 0;
    return *p == 0;
}

/* Store `v` into opt's destination; returns 0 or prints an error and returns 2. */
static int store(const hart_cmd_spec *spec, const hart_opt *o, const char *v) {
    char *end = NULL;
    int ranged = o->min < o->max;
    switch (o->kind) {
    case HART_ARG_FLAG:
        *(int *)o->dest = 1;
        return 0;
    case HART_ARG_STR:
        if (!*v) return hart_args_usage_error(spec, "empty value for --%s", o->name);
        *(const char **)o->dest = v;
        return 0;
    case HART_ARG_STR0:
        *(const char **)o->dest = v;
        return 0;
    case HART_ARG_SEED: {
        hart_seed_arg *sd = o->dest;
        if (!strcmp(v, "-1")) {
            sd->random = 1;
            sd->value = 0;
            return 0;
        }
        errno = 0;
        int base = (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) ? 16 : 10;
        unsigned long long x = *v && *v != '-' && *v != '+' ? strtoull(v, &end, base) : 0;
        if (!*v || *v == '-' || *v == '+' || *end || errno || (base == 16 && !v[2]))
            return hart_args_usage_error(spec, "invalid value '%s' for --%s (expected an integer in [0, 2^64-1] or -1 "
                                         "for a random seed)", v, o->name);
        sd->value = (uint64_t)x;
        sd->random = 0;
        return 0;
    }
    case HART_ARG_CHOICE:
        if (!choice_ok(o->choices, v))
            return hart_args_usage_error(spec, "invalid value '%s' for --%s (expected one of: %s)", v,
                                         o->name, o->choices);
        *(const char **)o->dest = v;
        return 0;
    case HART_ARG_DEVICE:
        if (!hart_args_device_ok(v))
            return hart_args_usage_error(spec, "invalid value '%s' for --%s (expected cpu, auto, opencl, opencl:P, "
                                         "opencl:P:D or ref64)", v, o->name);
        *(const char **)o->dest = v;
        return 0;
    case HART_ARG_INT:
    case HART_ARG_INT64: {
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (!*v || *end || errno) {
            if (ranged)
                return hart_args_usage_error(spec, "invalid value '%s' for --%s (expected an integer in [%.0f, %.0f])",
                                             v, o->name, o->min, o->max);
            return hart_args_usage_error(spec, "invalid value '%s' for --%s (expected an integer)", v, o->name);
        }
        double lo = ranged ? o->min : (o->kind == HART_ARG_INT ? -2147483648.0 : -9.2e18);
        double hi = ranged ? o->max : (o->kind == HART_ARG_INT ? 2147483647.0 : 9.2e18);
        if ((double)x < lo || (double)x > hi)
            return hart_args_usage_error(spec, "value %s for --%s is out of range [%.0f, %.0f]", v, o->name, lo, hi);
        if (o->kind == HART_ARG_INT) *(int *)o->dest = (int)x;
        else *(int64_t *)o->dest = (int64_t)x;
        return 0;
    }
    case HART_ARG_U64: {
        errno = 0;
        if (*v == '-' || *v == '+' || !*v)
            return hart_args_usage_error(spec, "invalid value '%s' for --%s (expected an integer >= 0)", v, o->name);
        int base = (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) ? 16 : 10;
        unsigned long long x = strtoull(v, &end, base);
        if (*end || errno || (base == 16 && !v[2]))
            return hart_args_usage_error(spec, "invalid value '%s' for --%s (expected an integer in [0, 2^64-1])",
                                         v, o->name);
        *(uint64_t *)o->dest = (uint64_t)x;
        return 0;
    }
    case HART_ARG_FLOAT: {
        errno = 0;
        double x = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(x))
            return hart_args_usage_error(spec, "invalid value '%s' for --%s (expected a number)", v, o->name);
        if (ranged && (x < o->min || x > o->max))
            return hart_args_usage_error(spec, "value %s for --%s is out of range [%g, %g]", v, o->name, o->min,
                                         o->max);
        *(double *)o->dest = x;
        return 0;
    }
    }
    return hart_args_usage_error(spec, "internal error: bad kind for --%s", o->name);
}

int hart_args_parse(const hart_cmd_spec *spec, int argc, char **argv, hart_args *out) {
    memset(out, 0, sizeof *out);
    out->pos = out->pos_store_;
    int no = n_opts(spec);
    if (no > HART_ARGS_MAX_OPTS) return hart_args_usage_error(spec, "internal error: too many options");
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') { /* positional (incl. "-") */
            if (spec->stop_at_pos) only_pos = 1;
            if (out->npos >= (int)(sizeof out->pos_store_ / sizeof out->pos_store_[0]))
                return hart_args_usage_error(spec, "too many arguments");
            out->pos[out->npos++] = a;
            continue;
        }
        if (!strcmp(a, "--")) { only_pos = 1; continue; }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            hart_args_help(spec, stdout);
            return 0;
        }
        const hart_opt *o = NULL;
        int idx = -1;
        const char *val = NULL; /* inline value */
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            for (int k = 0; k < no; k++)
                if (strlen(spec->opts[k].name) == len && !strncmp(spec->opts[k].name, name, len)) {
                    o = &spec->opts[k]; idx = k; break;
                }
            if (!o) return hart_args_usage_error(spec, "unknown option '%.*s'", (int)(len + 2), a);
            if (eq) {
                if (o->kind == HART_ARG_FLAG)
                    return hart_args_usage_error(spec, "option '--%s' takes no value", o->name);
                val = eq + 1;
            }
        } else {
            for (int k = 0; k < no; k++)
                if (spec->opts[k].short_name && spec->opts[k].short_name == a[1]) {
                    o = &spec->opts[k]; idx = k; break;
                }
            if (!o) return hart_args_usage_error(spec, "unknown option '-%c'", a[1]);
            if (a[2]) {
                if (o->kind == HART_ARG_FLAG)
                    return hart_args_usage_error(spec, "option '-%c' takes no value (in '%s')", a[1], a);
                val = a + 2;
            }
        }
        if (o->kind != HART_ARG_FLAG && !val) {
            if (i + 1 >= argc) return hart_args_usage_error(spec, "option '--%s' needs a value (%s)", o->name,
                                                            o->metavar ? o->metavar : "VALUE");
            val = argv[++i];
        }
        if (out->given[idx] && o->kind != HART_ARG_FLAG)
            return hart_args_usage_error(spec, "option '--%s' given more than once", o->name);
        int rc = store(spec, o, val ? val : "");
        if (rc) return rc;
        out->given[idx] = 1;
    }
    if (out->npos < spec->min_pos) {
        if (spec->min_pos == 1 && out->npos == 0)
            return hart_args_usage_error(spec, "missing argument (usage: hart %s %s)", spec->cmd,
                                         spec->usage ? spec->usage : "");
        return hart_args_usage_error(spec, "expected at least %d argument(s), got %d (usage: hart %s %s)",
                                     spec->min_pos, out->npos, spec->cmd, spec->usage ? spec->usage : "");
    }
    if (spec->max_pos >= 0 && out->npos > spec->max_pos) {
        if (spec->max_pos == 0)
            return hart_args_usage_error(spec, "unexpected argument '%s'", out->pos[0]);
        return hart_args_usage_error(spec, "too many arguments (at most %d; unexpected '%s')", spec->max_pos,
                                     out->pos[spec->max_pos]);
    }
    return -1;
}

int hart_args_given(const hart_cmd_spec *spec, const hart_args *a, const char *name) {
    int no = n_opts(spec);
    for (int k = 0; k < no && k < HART_ARGS_MAX_OPTS; k++)
        if (!strcmp(spec->opts[k].name, name)) return a->given[k];
    return 0;
}

void hart_args_help(const hart_cmd_spec *spec, FILE *f) {
    fprintf(f, "usage: hart %s %s\n", spec->cmd, spec->usage ? spec->usage : "[options]");
    if (spec->desc) fprintf(f, "\n%s\n", spec->desc);
    fprintf(f, "\noptions:\n");
    int no = n_opts(spec);
    for (int k = 0; k < no; k++) {
        const hart_opt *o = &spec->opts[k];
        char left[96];
        const char *mv = o->kind == HART_ARG_FLAG ? "" : (o->metavar ? o->metavar : "VALUE");
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name, *mv ? " " : "", mv);
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->name, *mv ? " " : "", mv);
        fprintf(f, "  %-28s %s", left, o->help ? o->help : "");
        if (o->kind == HART_ARG_CHOICE && o->choices) fprintf(f, " (%s)", o->choices);
        if (o->dflt) fprintf(f, " [default: %s]", o->dflt);
        fputc('\n', f);
    }
    fprintf(f, "  %-28s %s\n", "-h, --help", "show this help");
}

/* A decimal in [0, INT_MAX] at *s, advancing *s; -1 if none (sscanf's %d
 * would be undefined on overflow). */
static int shard_num(const char **s) {
    if (**s < '0' || **s > '9') return -1;
    long v = 0;
    for (; **s >= '0' && **s <= '9'; (*s)++)
        if ((v = v * 10 + (**s - '0')) > INT_MAX) return -1;
    return (int)v;
}

int hart_args_parse_shard(const hart_cmd_spec *spec, const char *s, int *shard, int *n) {
    const char *p = s;
    int i = shard_num(&p), k = -1;
    if (i >= 0 && *p == '/') {
        p++;
        k = shard_num(&p);
    }
    if (i < 0 || k < 1 || *p || i >= k)
        return hart_args_usage_error(spec, "invalid value '%s' for --shard (expected I/N with 0 <= I < N)", s);
    *shard = i;
    *n = k;
    return -1;
}

int hart_args_parse_sparse(const hart_cmd_spec *spec, const char *s, int from, int block, hart_sparse_cfg *cfg) {
    hart_sparse_default(cfg);
    if (s && hart_sparse_parse(s, cfg) != HART_OK)
        return hart_args_usage_error(spec, "invalid value for --sparse-attn: %s", hart_errmsg());
    if (cfg->kind == HART_SPARSE_NONE && (from >= 0 || block > 0))
        return hart_args_usage_error(spec, "--%s needs --sparse-attn local:R, xattn:T or quest:B",
                                     from >= 0 ? "sparse-from-scale" : "sparse-block");
    cfg->from_scale = from;
    if (block > 0) cfg->block = block;
    return -1;
}
