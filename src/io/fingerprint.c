#include "io/fingerprint.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


uint64_t hart_fnv1a(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

enum { EDGE = 64 * 1024, MAX_DEPTH = 8 };

static hart_status add_file(uint64_t *h, const char *path, const char *rel, off_t size) {
    FILE *f = fopen(path, "rb");
    if (!f) return hart_fail(HART_EIO, "%s: cannot open: %s", path, strerror(errno));
    char head[64];
    int n = snprintf(head, sizeof head, "%lld:", (long long)size);
    *h = hart_fnv1a(*h, rel, strlen(rel) + 1);
    *h = hart_fnv1a(*h, head, (size_t)n);
    unsigned char *buf = malloc(EDGE);
    hart_status s = buf ? HART_OK : hart_fail(HART_ENOMEM, "out of memory");
    size_t got = s ? 0 : fread(buf, 1, EDGE, f);
    if (!s) *h = hart_fnv1a(*h, buf, got);
    if (!s && size > 2 * EDGE && fseeko(f, size - EDGE, SEEK_SET) == 0) {
        got = fread(buf, 1, EDGE, f);
        *h = hart_fnv1a(*h, buf, got);
    }
    if (!s && ferror(f)) s = hart_fail(HART_EIO, "%s: read error", path);
    free(buf);
    fclose(f);
    return s;
}

static hart_status walk(uint64_t *h, const char *path, const char *rel, int depth) {
    struct stat sb;
    if (stat(path, &sb) != 0) return hart_fail(HART_EIO, "%s: %s", path, strerror(errno));
    if (S_ISREG(sb.st_mode)) return add_file(h, path, rel, sb.st_size);
    if (!S_ISDIR(sb.st_mode) || depth > MAX_DEPTH) return HART_OK;
    struct dirent **list;
    int n = scandir(path, &list, NULL, alphasort);
    if (n < 0) return hart_fail(HART_EIO, "%s: cannot list: %s", path, strerror(errno));
    hart_status s = HART_OK;
    for (int i = 0; i < n; i++) {
        const char *name = list[i]->d_name;
        if (!s && name[0] != '.') {
            size_t pl = strlen(path) + strlen(name) + 2, rl = strlen(rel) + strlen(name) + 2;
            char *p = malloc(pl), *r = malloc(rl);
            if (!p || !r) s = hart_fail(HART_ENOMEM, "out of memory");
            else {
                snprintf(p, pl, "%s/%s", path, name);
                snprintf(r, rl, "%s%s%s", rel, *rel ? "/" : "", name);
                s = walk(h, p, r, depth + 1);
            }
            free(p);
            free(r);
        }
        free(list[i]);
    }
    free(list);
    return s;
}

hart_status hart_fingerprint_path(const char *path, char hex[17]) {
    uint64_t h = HART_FNV_INIT;
    HART_TRY(walk(&h, path, "", 0));
    snprintf(hex, 17, "%016" PRIx64, h);
    return HART_OK;
}
