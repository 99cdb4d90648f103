#include "core/fileio.h"

#include <sys/stat.h>

#include <sys/mman.h>

#include <fcntl.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

hart_status hart_file_begin(hart_file_writer *w, const char *path) {
    memset(w, 0, sizeof *w);
    size_t n = strlen(path) + 32;
    w->path = strdup(path);
    w->tmp = malloc(n);
    if (!w->path || !w->tmp) { free(w->path); free(w->tmp); return hart_fail(HART_ENOMEM, "out of memory"); }
    snprintf(w->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    w->f = fopen(w->tmp, "wb");
    if (!w->f) {
        hart_status s = hart_fail(HART_EIO, "%s: cannot write: %s", path, strerror(errno));
        free(w->path); free(w->tmp);
        memset(w, 0, sizeof *w);
        return s;
    }
    return HART_OK;
}

hart_status hart_file_put(hart_file_writer *w, const void *data, size_t n) {
    if (n && fwrite(data, 1, n, w->f) != n)
        return hart_fail(HART_EIO, "%s: write failed: %s", w->path, strerror(errno));
    return HART_OK;
}

hart_status hart_file_commit(hart_file_writer *w) {
    hart_status s = HART_OK;
    if (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0)
        s = hart_fail(HART_EIO, "%s: write failed: %s", w->path, strerror(errno));
    if (fclose(w->f) != 0 && !s) s = hart_fail(HART_EIO, "%s: close failed: %s", w->path, strerror(errno));
    w->f = NULL;
    if (!s && rename(w->tmp, w->path) != 0)
        s = hart_fail(HART_EIO, "%s: rename from temp file failed: %s", w->path, strerror(errno));
    if (s) remove(w->tmp);
    free(w->path); free(w->tmp);
    memset(w, 0, sizeof *w);
    return s;
}

void hart_file_abort(hart_file_writer *w) {
    if (w->f) fclose(w->f);
    if (w->tmp) remove(w->tmp);
    free(w->path); free(w->tmp);
    memset(w, 0, sizeof *w);
}

hart_status hart_file_read_all(const char *path, char **data, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return hart_fail(HART_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n < cap - 1) break;
        char *nb = realloc(buf, cap * 2);
        if (!nb) { free(buf); buf = NULL; break; }
        buf = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf) return hart_fail(HART_ENOMEM, "%s: out of memory", path);
    if (err) { free(buf); return hart_fail(HART_EIO, "%s: read error", path); }
    buf[n] = 0;
    *data = buf;
    if (size) *size = n;
    return HART_OK;
}

hart_status hart_file_map(const char *path, void **map, size_t *size) {
    *map = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return hart_fail(HART_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return hart_fail(HART_EIO, "%s: not a regular file", path);
    }
    size_t n = (size_t)sb.st_size;
    void *m = n ? mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd); /* the mapping stays valid */
    if (m == MAP_FAILED) return hart_fail(HART_EIO, "%s: mmap failed: %s", path, strerror(errno));
    *map = m;
    *size = n;
    return HART_OK;
}
