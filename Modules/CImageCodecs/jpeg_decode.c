// JPEG → RGB8 through libjpeg(-turbo), with error_exit longjmping back into this file only.
#include "image_codecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

struct ipr_jpeg_error {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    int status;
    char message[JMSG_LENGTH_MAX];
};

static void ipr_jpeg_error_exit(j_common_ptr cinfo) {
    struct ipr_jpeg_error *err = (struct ipr_jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    switch (cinfo->err->msg_code) {
    case JERR_BAD_PRECISION: case JERR_NOT_COMPILED: case JERR_NOTIMPL: case JERR_CONVERSION_NOTIMPL:
        err->status = IPR_CODEC_UNSUPPORTED; break;
    case JERR_OUT_OF_MEMORY:
        err->status = IPR_CODEC_NO_MEMORY; break;
    default:
        err->status = IPR_CODEC_CORRUPT;
    }
    longjmp(err->jump, 1);
}

// libjpeg only warns about truncated or damaged entropy data and then fills the rest with gray.
// Pillow refuses truncated files by default; a silently gray image would be a wrong sample, so
// those warnings are fatal here. Harmless ones (extraneous bytes between markers) stay warnings.
static void ipr_jpeg_emit_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return;
    cinfo->err->num_warnings++;
    switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF: case JWRN_HIT_MARKER: case JWRN_MUST_RESYNC: case JWRN_HUFF_BAD_CODE: {
        struct ipr_jpeg_error *err = (struct ipr_jpeg_error *)cinfo->err;
        (*cinfo->err->format_message)(cinfo, err->message);
        err->status = IPR_CODEC_CORRUPT;
        longjmp(err->jump, 1);
    }
    default:
        break;
    }
}

static void ipr_copy_message(char *dst, size_t n, const char *src) {
    strncpy(dst, src, n - 1);
    dst[n - 1] = 0;
}

// Pillow reads every CMYK JPEG as inverted ("CMYK;I", Adobe's convention) and converts with
// r = (255 - k) - (255 - k) * c / 255 in integer arithmetic (Convert.c, cmyk2rgb).
static void ipr_cmyk_row_to_rgb(unsigned char *out, const unsigned char *in, unsigned width) {
    for (unsigned x = 0; x < width; x++, in += 4, out += 3) {
        int nk = in[3];                  // 255 - k with k = 255 - stored
        for (int c = 0; c < 3; c++) {
            int cc = 255 - in[c];
            int tmp = cc * nk + 128;
            int v = nk - (((tmp >> 8) + tmp) >> 8);
            out[c] = (unsigned char)(v < 0 ? 0 : (v > 255 ? 255 : v));
        }
    }
}

int ipr_decode_jpeg(const unsigned char *data, size_t size, ipr_decoded_image *out) {
    return ipr_decode_jpeg_scaled(data, size, 0, out);
}

// The largest of libjpeg's DCT scalings 1/8, 1/4, 1/2 whose output keeps the shorter side at least
// min_side (libjpeg rounds the scaled sides up); 1 when none does or min_side is 0.
static unsigned ipr_jpeg_scale_denominator(unsigned width, unsigned height, int min_side) {
    if (min_side <= 0) return 1;
    unsigned shorter = width < height ? width : height;
    for (unsigned d = 8; d > 1; d /= 2)
        if ((shorter + d - 1) / d >= (unsigned)min_side) return d;
    return 1;
}

int ipr_decode_jpeg_scaled(const unsigned char *data, size_t size, int min_side, ipr_decoded_image *out) {
    struct jpeg_decompress_struct cinfo;
    struct ipr_jpeg_error jerr;
    unsigned char *volatile pixels = NULL;
    unsigned char *volatile cmyk_row = NULL;

    memset(out, 0, sizeof *out);
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = ipr_jpeg_error_exit;
    jerr.pub.emit_message = ipr_jpeg_emit_message;
    jerr.status = IPR_CODEC_OK;
    jerr.message[0] = 0;

    if (setjmp(jerr.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(cmyk_row);
        out->pixels = NULL;
        out->status = jerr.status == IPR_CODEC_OK ? IPR_CODEC_CORRUPT : jerr.status;
        ipr_copy_message(out->message, sizeof out->message, jerr.message);
        return out->status;
    }

    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);

    int cmyk = 0;
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
        snprintf(out->kind, sizeof out->kind, "JPEG gray");
        cinfo.out_color_space = JCS_RGB;
        break;
    case JCS_YCbCr:
        snprintf(out->kind, sizeof out->kind, "JPEG YCbCr");
        cinfo.out_color_space = JCS_RGB;
        break;
    case JCS_RGB:
        snprintf(out->kind, sizeof out->kind, "JPEG RGB");
        cinfo.out_color_space = JCS_RGB;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        snprintf(out->kind, sizeof out->kind, cinfo.jpeg_color_space == JCS_CMYK ? "JPEG CMYK" : "JPEG YCCK");
        cinfo.out_color_space = JCS_CMYK;
        cmyk = 1;
        break;
    default:
        snprintf(out->kind, sizeof out->kind, "JPEG color space %d", (int)cinfo.jpeg_color_space);
        snprintf(out->message, sizeof out->message,
                 "unsupported JPEG color space %d with %d components (expected gray, YCbCr, RGB, CMYK or YCCK)",
                 (int)cinfo.jpeg_color_space, cinfo.num_components);
        jpeg_destroy_decompress(&cinfo);
        out->status = IPR_CODEC_UNSUPPORTED;
        return out->status;
    }
    if ((unsigned long long)cinfo.image_width * cinfo.image_height > IPR_CODEC_MAX_PIXELS) {
        snprintf(out->message, sizeof out->message, "JPEG of %ux%u pixels is larger than the limit of %u pixels",
                 cinfo.image_width, cinfo.image_height, IPR_CODEC_MAX_PIXELS);
        jpeg_destroy_decompress(&cinfo);
        out->status = IPR_CODEC_TOO_LARGE;
        return out->status;
    }

    cinfo.scale_num = 1;
    cinfo.scale_denom = ipr_jpeg_scale_denominator(cinfo.image_width, cinfo.image_height, min_side);
    jpeg_start_decompress(&cinfo);
    unsigned width = cinfo.output_width, height = cinfo.output_height;
    pixels = malloc((size_t)width * height * 3 + 1);
    if (cmyk) cmyk_row = malloc((size_t)width * 4 + 1);
    if (!pixels || (cmyk && !cmyk_row)) {
        snprintf(jerr.message, sizeof jerr.message, "out of memory for a %ux%u JPEG", width, height);
        jerr.status = IPR_CODEC_NO_MEMORY;
        longjmp(jerr.jump, 1);
    }
    while (cinfo.output_scanline < height) {
        unsigned y = cinfo.output_scanline;
        JSAMPROW row = cmyk ? cmyk_row : pixels + (size_t)y * width * 3;
        if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) {
            snprintf(jerr.message, sizeof jerr.message, "JPEG data ended at row %u of %u", y, height);
            jerr.status = IPR_CODEC_CORRUPT;
            longjmp(jerr.jump, 1);
        }
        if (cmyk) ipr_cmyk_row_to_rgb(pixels + (size_t)y * width * 3, cmyk_row, width);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(cmyk_row);

    out->width = (int)width;
    out->height = (int)height;
    out->pixels = pixels;
    out->status = IPR_CODEC_OK;
    return IPR_CODEC_OK;
}

void ipr_codec_free(void *pixels) { free(pixels); }
