/* PNG/JPEG reading and writing, metadata, tensor conversion (see image.h). */
#include "io/image.h"

#include <stdio.h> /* before jpeglib.h, which needs FILE */

#include <jpeglib.h>
#include <jerror.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/fileio.h"

/* ---- common ---- */

hart_image_format hart_image_format_of(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base) return HART_IMG_UNKNOWN;
    if (!strcasecmp(dot, ".png")) return HART_IMG_PNG;
    if (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg")) return HART_IMG_JPEG;
    return HART_IMG_UNKNOWN;
}

hart_status hart_image_new(int width, int height, hart_image *img) {
    memset(img, 0, sizeof *img);
    if (width <= 0 || height <= 0 || width > HART_IMAGE_MAX_SIDE || height > HART_IMAGE_MAX_SIDE)
        return hart_fail(HART_EINVAL, "image size %dx%d outside 1..%d", width, height, HART_IMAGE_MAX_SIDE);
    img->rgb = calloc((size_t)width * (size_t)height, 3);
    if (!img->rgb) return hart_fail(HART_ENOMEM, "out of memory for a %dx%d image", width, height);
    img->width = width;
    img->height = height;
    return HART_OK;
}

void hart_image_free(hart_image *img) {
    if (!img) return;
    for (int i = 0; i < img->n_text; i++) {
        free(img->text[i].key);
        free(img->text[i].value);
    }
    free(img->text);
    free(img->rgb);
    memset(img, 0, sizeof *img);
}

const char *hart_image_get_text(const hart_image *img, const char *key) {
    for (int i = 0; i < img->n_text; i++)
        if (!strcmp(img->text[i].key, key)) return img->text[i].value;
    return NULL;
}

static int add_text(hart_image *img, const char *key, const char *val, size_t vlen) {
    hart_image_text *nt = realloc(img->text, sizeof *nt * (size_t)(img->n_text + 1));
    if (!nt) return -1;
    img->text = nt;
    char *k = strdup(key), *v = malloc(vlen + 1);
    if (!k || !v) { free(k); free(v); return -1; }
    memcpy(v, val, vlen);
    v[vlen] = 0;
    nt[img->n_text].key = k;
    nt[img->n_text].value = v;
    img->n_text++;
    return 0;
}

static int is_ascii(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s > 126 || ((unsigned char)*s < 32 && *s != '\n' && *s != '\t' && *s != '\r')) return 0;
    return 1;
}

static hart_status check_key(const char *path, const char *key) {
    size_t n = key ? strlen(key) : 0;
    if (n < 1 || n > 79 || key[0] == ' ' || key[n - 1] == ' ')
        return hart_fail(HART_EINVAL, "%s: metadata key '%s' must be 1..79 characters without leading/trailing space",
                         path, key ? key : "(null)");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)key[i] < 32 || (unsigned char)key[i] > 126)
            return hart_fail(HART_EINVAL, "%s: metadata key '%s' has a non-printable or non-ASCII character", path,
                             key);
    return HART_OK;
}

char *hart_image_params_text(const hart_image_text *pairs, int n) {
    size_t len = 1;
    for (int i = 0; i < n; i++) {
        len += strlen(pairs[i].key) + 3;
        for (const char *v = pairs[i].value ? pairs[i].value : ""; *v; v++) len += (*v == '\n' || *v == '\\') ? 2 : 1;
    }
    char *s = malloc(len), *p = s;
    if (!s) return NULL;
    for (int i = 0; i < n; i++) {
        size_t kl = strlen(pairs[i].key);
        memcpy(p, pairs[i].key, kl);
        p += kl;
        *p++ = ':';
        *p++ = ' ';
        for (const char *v = pairs[i].value ? pairs[i].value : ""; *v; v++) {
            if (*v == '\n') { *p++ = '\\'; *p++ = 'n'; }
            else if (*v == '\\') { *p++ = '\\'; *p++ = '\\'; }
            else *p++ = *v;
        }
        if (i + 1 < n) *p++ = '\n';
    }
    *p = 0;
    return s;
}

/* ---- PNG ---- */

typedef struct {
    jmp_buf jb;
    char msg[200];
    const unsigned char *buf;
    size_t size, pos;
} png_ctx;

/* Checked before any pixel buffer is allocated: a header of a few bytes
 * can claim gigabytes. */
static int size_ok(unsigned long w, unsigned long h) {
    return w && h && w <= HART_IMAGE_MAX_SIDE && h <= HART_IMAGE_MAX_SIDE && w * h <= HART_IMAGE_MAX_PIXELS;
}

static hart_status size_error(const char *path, unsigned long w, unsigned long h) {
    return hart_fail(HART_EFORMAT, "%s: image size %lux%lu is outside the limits (1..%d pixels per side, at most %lu pixels)",
                     path, w, h, HART_IMAGE_MAX_SIDE, (unsigned long)HART_IMAGE_MAX_PIXELS);
}

static void png_err_fn(png_structp png, png_const_charp msg) {
    png_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    longjmp(c->jb, 1);
}
static void png_warn_fn(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

static void png_mem_read(png_structp png, png_bytep out, size_t len) {
    png_ctx *c = png_get_error_ptr(png);
    if (c->size - c->pos < len) png_error(png, "unexpected end of file");
    memcpy(out, c->buf + c->pos, len);
    c->pos += len;
}

/* libpng allocates a chunk's length before reading its data: refuse any
 * chunk that claims more bytes than the file has left. */
static hart_status check_png_chunks(const char *path, const unsigned char *buf, size_t size) {
    for (size_t pos = 8; pos + 8 <= size;) {
        size_t len = (size_t)buf[pos] << 24 | (size_t)buf[pos + 1] << 16 | (size_t)buf[pos + 2] << 8 | buf[pos + 3];
        if (len > size - pos - 8)
            return hart_fail(HART_EFORMAT, "%s: truncated or corrupt PNG (chunk of %zu bytes at offset %zu runs past the end)",
                             path, len, pos);
        pos += 8 + len + 4;
    }
    return HART_OK;
}

static hart_status read_png(const char *path, const unsigned char *buf, size_t size, hart_image *img) {
    HART_TRY(check_png_chunks(path, buf, size));
    png_ctx c = {.buf = buf, .size = size};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, png_err_fn, png_warn_fn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        return hart_fail(HART_ENOMEM, "%s: out of memory", path);
    }
    png_bytep *volatile rows = NULL;
    volatile int fail_size = 0;
    volatile unsigned long fail_w = 0, fail_h = 0;
    if (setjmp(c.jb)) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        hart_image_free(img);
        if (fail_size) return size_error(path, fail_w, fail_h);
        return hart_fail(HART_EFORMAT, "%s: truncated or corrupt PNG (%s)", path, c.msg);
    }
    png_set_read_fn(png, NULL, png_mem_read);
    /* a chunk's length is read before its data: without a cap, a tiny file
     * claiming a 2 GB text chunk makes libpng allocate and clear 2 GB */
    png_set_chunk_malloc_max(png, HART_IMAGE_MAX_CHUNK);
    png_set_user_limits(png, HART_IMAGE_MAX_SIDE, HART_IMAGE_MAX_SIDE);
    png_read_info(png, info);
    png_uint_32 w, h;
    int depth, ctype, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
    if (!size_ok(w, h)) {
        fail_size = 1;
        fail_w = w;
        fail_h = h;
        png_error(png, "size");
    }
    png_set_expand(png);
    png_set_strip_16(png);
    if (ctype == PNG_COLOR_TYPE_GRAY || ctype == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 3) png_error(png, "unsupported pixel layout");
    img->rgb = malloc((size_t)w * h * 3);
    rows = malloc(sizeof(png_bytep) * h);
    if (!img->rgb || !rows) png_error(png, "out of memory");
    img->width = (int)w;
    img->height = (int)h;
    for (png_uint_32 y = 0; y < h; y++) rows[y] = img->rgb + (size_t)y * w * 3;
    png_read_image(png, rows);
    png_read_end(png, info);
    png_textp txt = NULL;
    int nt = png_get_text(png, info, &txt, NULL);
    for (int i = 0; i < nt; i++) {
        size_t len = txt[i].compression >= PNG_ITXT_COMPRESSION_NONE ? txt[i].itxt_length : txt[i].text_length;
        if (add_text(img, txt[i].key, txt[i].text ? txt[i].text : "", txt[i].text ? len : 0))
            png_error(png, "out of memory");
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    return HART_OK;
}

static void png_write_fn(png_structp png, png_bytep data, size_t len) {
    FILE *f = png_get_io_ptr(png);
    if (fwrite(data, 1, len, f) != len) png_error(png, "write failed (disk full?)");
}
static void png_flush_fn(png_structp png) { (void)png; }

static hart_status write_png(const char *path, FILE *f, const hart_image *img, const hart_image_text *text,
                             int n_text) {
    png_ctx c = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, png_err_fn, png_warn_fn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *rows = malloc(sizeof(png_bytep) * (size_t)img->height);
    png_text *pt = calloc((size_t)(n_text > 0 ? n_text : 1), sizeof(png_text));
    if (!png || !info || !rows || !pt) {
        png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
        free(rows); free(pt);
        return hart_fail(HART_ENOMEM, "%s: out of memory", path);
    }
    for (int y = 0; y < img->height; y++) rows[y] = img->rgb + (size_t)y * img->width * 3;
    for (int i = 0; i < n_text; i++) {
        const char *v = text[i].value ? text[i].value : "";
        pt[i].key = (char *)text[i].key;
        pt[i].text = (char *)v;
        if (is_ascii(v)) {
            pt[i].compression = strlen(v) > 1024 ? PNG_TEXT_COMPRESSION_zTXt : PNG_TEXT_COMPRESSION_NONE;
            pt[i].text_length = strlen(v);
        } else {
            pt[i].compression = PNG_ITXT_COMPRESSION_NONE;
            pt[i].itxt_length = strlen(v);
            pt[i].lang = (char *)"";
            pt[i].lang_key = (char *)"";
        }
    }
    if (setjmp(c.jb)) {
        png_destroy_write_struct(&png, &info);
        free(rows); free(pt);
        return hart_fail(HART_EIO, "%s: PNG write failed (%s)", path, c.msg);
    }
    png_set_write_fn(png, f, png_write_fn, png_flush_fn);
    png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (n_text > 0) png_set_text(png, info, pt, n_text);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(rows); free(pt);
    return HART_OK;
}

/* ---- JPEG ---- */

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} jpeg_err;

static void jpeg_error_exit_fn(j_common_ptr ci) {
    jpeg_err *e = (jpeg_err *)ci->err;
    (*ci->err->format_message)(ci, e->msg);
    longjmp(e->jb, 1);
}
/* Corrupt-data warnings (level -1: e.g. premature end of file) are errors
 * for us: never return a silently gray-filled image. */
static void jpeg_emit_fn(j_common_ptr ci, int level) {
    if (level < 0) jpeg_error_exit_fn(ci);
}

static hart_status read_jpeg(const char *path, const unsigned char *buf, size_t size, hart_image *img) {
    struct jpeg_decompress_struct d;
    jpeg_err e;
    d.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = jpeg_error_exit_fn;
    e.pub.emit_message = jpeg_emit_fn;
    volatile int fail_size = 0;
    volatile unsigned long fail_w = 0, fail_h = 0;
    if (setjmp(e.jb)) {
        jpeg_destroy_decompress(&d);
        hart_image_free(img);
        if (fail_size) return size_error(path, fail_w, fail_h);
        if (e.pub.msg_code == JERR_NO_BACKING_STORE)
            return hart_fail(HART_EFORMAT, "%s: JPEG needs more than %d MiB to decode (too many components)", path,
                             HART_IMAGE_JPEG_MAX_MEMORY >> 20);
        return hart_fail(HART_EFORMAT, "%s: truncated or corrupt JPEG (%s)", path, e.msg);
    }
    jpeg_create_decompress(&d);
    /* progressive files buffer every coefficient of every component (up to
     * 10): bound that instead of letting a small header claim gigabytes */
    d.mem->max_memory_to_use = HART_IMAGE_JPEG_MAX_MEMORY;
    jpeg_mem_src(&d, buf, (unsigned long)size);
    jpeg_save_markers(&d, JPEG_COM, 0xFFFF);
    jpeg_read_header(&d, TRUE);
    if (!size_ok(d.image_width, d.image_height)) {
        fail_size = 1;
        fail_w = d.image_width;
        fail_h = d.image_height;
        longjmp(e.jb, 1);
    }
    d.out_color_space = JCS_RGB;
    jpeg_start_decompress(&d);
    if (d.output_components != 3) {
        snprintf(e.msg, sizeof e.msg, "unsupported color space");
        longjmp(e.jb, 1);
    }
    img->rgb = malloc((size_t)d.output_width * d.output_height * 3);
    if (!img->rgb) {
        snprintf(e.msg, sizeof e.msg, "out of memory");
        longjmp(e.jb, 1);
    }
    img->width = (int)d.output_width;
    img->height = (int)d.output_height;
    while (d.output_scanline < d.output_height) {
        JSAMPROW row = img->rgb + (size_t)d.output_scanline * d.output_width * 3;
        jpeg_read_scanlines(&d, &row, 1);
    }
    for (jpeg_saved_marker_ptr m = d.marker_list; m; m = m->next) {
        if (m->marker != JPEG_COM) continue;
        const char *data = (const char *)m->data;
        const char *nul = memchr(data, 0, m->data_length);
        if (!nul || nul == data) continue; /* not a key\0value comment */
        if (add_text(img, data, nul + 1, m->data_length - (size_t)(nul + 1 - data))) {
            snprintf(e.msg, sizeof e.msg, "out of memory");
            longjmp(e.jb, 1);
        }
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    return HART_OK;
}

static hart_status write_jpeg(const char *path, FILE *f, const hart_image *img, const hart_image_text *text,
                              int n_text, int quality) {
    struct jpeg_compress_struct c;
    jpeg_err e;
    c.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = jpeg_error_exit_fn;
    unsigned char *volatile com = NULL;
    if (setjmp(e.jb)) {
        jpeg_destroy_compress(&c);
        free(com);
        return hart_fail(HART_EIO, "%s: JPEG write failed (%s)", path, e.msg);
    }
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)img->width;
    c.image_height = (JDIMENSION)img->height;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    for (int i = 0; i < n_text; i++) {
        const char *v = text[i].value ? text[i].value : "";
        size_t kl = strlen(text[i].key), vl = strlen(v);
        if (kl + 1 + vl > 65533) {
            snprintf(e.msg, sizeof e.msg, "metadata '%s' longer than a JPEG comment (65533 bytes)", text[i].key);
            longjmp(e.jb, 1);
        }
        com = malloc(kl + 1 + vl);
        if (!com) {
            snprintf(e.msg, sizeof e.msg, "out of memory");
            longjmp(e.jb, 1);
        }
        memcpy(com, text[i].key, kl + 1);
        memcpy(com + kl + 1, v, vl);
        jpeg_write_marker(&c, JPEG_COM, com, (unsigned)(kl + 1 + vl));
        free(com);
        com = NULL;
    }
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = img->rgb + (size_t)c.next_scanline * img->width * 3;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    if (ferror(f)) return hart_fail(HART_EIO, "%s: write failed (disk full?)", path);
    return HART_OK;
}

/* ---- public read / write ---- */

hart_status hart_image_read_mem(const void *data, size_t size, const char *label, hart_image *img) {
    memset(img, 0, sizeof *img);
    const unsigned char *b = data;
    if (size >= 8 && !png_sig_cmp(b, 0, 8)) return read_png(label, b, size, img);
    if (size >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return read_jpeg(label, b, size, img);
    if (size == 0) return hart_fail(HART_EFORMAT, "%s: empty file (expected a PNG or JPEG image)", label);
    return hart_fail(HART_EFORMAT, "%s: not a PNG or JPEG image", label);
}

hart_status hart_image_read(const char *path, hart_image *img) {
    memset(img, 0, sizeof *img);
    char *buf = NULL;
    size_t size = 0;
    HART_TRY(hart_file_read_all(path, &buf, &size));
    hart_status s = hart_image_read_mem(buf, size, path, img);
    free(buf);
    return s;
}

hart_status hart_image_write(const char *path, const hart_image *img, const hart_image_text *text, int n_text,
                             int jpeg_quality) {
    hart_image_format fmt = hart_image_format_of(path);
    if (fmt == HART_IMG_UNKNOWN)
        return hart_fail(HART_EINVAL, "%s: unknown image format (use a .png, .jpg or .jpeg file name)", path);
    if (!img || !img->rgb || img->width <= 0 || img->height <= 0 || img->width > HART_IMAGE_MAX_SIDE ||
        img->height > HART_IMAGE_MAX_SIDE)
        return hart_fail(HART_EINVAL, "%s: no image data or bad size to write", path);
    if (jpeg_quality == 0) jpeg_quality = 95;
    if (jpeg_quality < 1 || jpeg_quality > 100)
        return hart_fail(HART_EINVAL, "%s: JPEG quality %d outside 1..100", path, jpeg_quality);
    for (int i = 0; i < n_text; i++) HART_TRY(check_key(path, text[i].key));
    hart_file_writer w;
    HART_TRY(hart_file_begin(&w, path));
    hart_status s = fmt == HART_IMG_PNG ? write_png(path, w.f, img, text, n_text)
                                        : write_jpeg(path, w.f, img, text, n_text, jpeg_quality);
    if (s != HART_OK) {
        hart_file_abort(&w);
        return s;
    }
    return hart_file_commit(&w);
}

/* ---- tensors ---- */

hart_status hart_image_from_tensor(const hart_tensor *t, int index, hart_image *img) {
    memset(img, 0, sizeof *img);
    char sh[64];
    if (t->dtype != HART_F32)
        return hart_fail(HART_EINVAL, "image from tensor: dtype %s, expected F32", hart_dtype_name(t->dtype));
    int64_t B = 1, C, H, W;
    if (t->ndim == 3) {
        C = t->shape[0]; H = t->shape[1]; W = t->shape[2];
    } else if (t->ndim == 4) {
        B = t->shape[0]; C = t->shape[1]; H = t->shape[2]; W = t->shape[3];
    } else {
        return hart_fail(HART_EINVAL, "image from tensor: shape %s, expected [3,H,W] or [B,3,H,W]",
                         hart_shape_str(t, sh, sizeof sh));
    }
    if (C != 3 || H <= 0 || W <= 0 || H > HART_IMAGE_MAX_SIDE || W > HART_IMAGE_MAX_SIDE)
        return hart_fail(HART_EINVAL, "image from tensor: shape %s, expected [3,H,W] or [B,3,H,W]",
                         hart_shape_str(t, sh, sizeof sh));
    if (index < 0 || index >= B)
        return hart_fail(HART_EINVAL, "image from tensor: index %d outside batch of %lld", index, (long long)B);
    float *x = malloc(sizeof(float) * (size_t)hart_tensor_numel(t));
    if (!x) return hart_fail(HART_ENOMEM, "image from tensor: out of memory");
    hart_status s = hart_tensor_read_f32(t, x);
    if (s == HART_OK) s = hart_image_new((int)W, (int)H, img);
    if (s != HART_OK) {
        free(x);
        return s;
    }
    const float *base = x + (size_t)index * 3 * (size_t)(H * W);
    for (int64_t c = 0; c < 3; c++)
        for (int64_t i = 0; i < H * W; i++) {
            float v = rintf(base[c * H * W + i] * 255.0f); /* round half to even, like torch.round */
            img->rgb[i * 3 + c] = (uint8_t)(v >= 255.0f ? 255 : v > 0.0f ? (int)v : 0); /* NaN -> 0 */
        }
    free(x);
    return HART_OK;
}

hart_status hart_image_to_tensor(const hart_image *img, hart_tensor *out) {
    if (!img->rgb || img->width <= 0 || img->height <= 0)
        return hart_fail(HART_EINVAL, "image to tensor: empty image");
    int64_t H = img->height, W = img->width;
    HART_TRY(hart_tensor_new4(NULL, HART_F32, out, 4, 1, 3, H, W));
    float *y = out->data;
    for (int64_t c = 0; c < 3; c++)
        for (int64_t i = 0; i < H * W; i++) y[c * H * W + i] = (float)img->rgb[i * 3 + c] / 255.0f;
    return HART_OK;
}
