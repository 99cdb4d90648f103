/* Output path checks (see outpath.h). */
#include "cli/outpath.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int hart_cli_check_out_file(const char *cmd, const char *flag, const char *path) {
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        fprintf(stderr, "hart %s: %s %s: folder '%s' does not exist (%s)\n", cmd, flag, path, dir, strerror(errno));
        return 1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "hart %s: %s %s: '%s' is not a folder\n", cmd, flag, path, dir);
        return 1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "hart %s: %s %s: folder '%s' is not writable (%s)\n", cmd, flag, path, dir, strerror(errno));
        return 1;
    }
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "hart %s: %s %s: is a folder (give a file name, e.g. %s/out.png)\n", cmd, flag, path, path);
        return 1;
    }
    return 0;
}

int hart_cli_check_out_dir(const char *cmd, const char *flag, const char *dir) {
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "hart %s: %s %s: cannot create output folder: a file of that name exists\n", cmd, flag, dir);
            return 1;
        }
        if (access(dir, W_OK | X_OK) != 0) {
            fprintf(stderr, "hart %s: %s %s: output folder is not writable (%s)\n", cmd, flag, dir, strerror(errno));
            return 1;
        }
        return 0;
    }
    char parent[PATH_MAX];
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--; /* "out/" */
    const char *slash = NULL;
    for (size_t i = 0; i < n; i++)
        if (dir[i] == '/') slash = dir + i;
    if (!slash) snprintf(parent, sizeof parent, ".");
    else if (slash == dir) snprintf(parent, sizeof parent, "/");
    else snprintf(parent, sizeof parent, "%.*s", (int)(slash - dir), dir);
    if (stat(parent, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "hart %s: %s %s: cannot create output folder: '%s' is not a folder\n", cmd, flag, dir, parent);
        return 1;
    }
    if (access(parent, W_OK | X_OK) != 0) {
        fprintf(stderr, "hart %s: %s %s: cannot create output folder: '%s' is not writable\n", cmd, flag, dir, parent);
        return 1;
    }
    return 0;
}

void hart_cli_numbered(const char *base, int i, int n, char *buf, size_t sz) {
    if (n == 1) {
        snprintf(buf, sz, "%s", base);
        return;
    }
    const char *dot = strrchr(base, '.'), *slash = strrchr(base, '/');
    if (dot && (!slash || dot > slash)) snprintf(buf, sz, "%.*s_%d%s", (int)(dot - base), base, i, dot);
    else snprintf(buf, sz, "%s_%d", base, i);
}
