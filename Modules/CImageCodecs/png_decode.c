// PNG → RGB8 through libpng's progressive-free read API, with png_error longjmping back into this
// file only. The simplified png_image API is not used for decoding because it gamma-corrects
// (16-bit files are taken as linear, gAMA chunks are applied), which Pillow, and so torchvision,
// does not do.
#include "image_codecs.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ipr_png_context {
    jmp_buf jump;
    const unsigned char *data;
    size_t size;
    size_t position;
    char message[200];
};

static void ipr_png_error(png_structp png, png_const_charp message) {
    struct ipr_png_context *ctx = (struct ipr_png_context *)png_get_error_ptr(png);
    if (ctx->message[0] == 0) {
        strncpy(ctx->message, message, sizeof ctx->message - 1);
        ctx->message[sizeof ctx->message - 1] = 0;
    }
    longjmp(ctx->jump, 1);
}

static void ipr_png_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;  // ancillary-chunk problems: libpng skips the chunk, as Pillow does
}

static void ipr_png_read(png_structp png, png_bytep out, size_t count) {
    struct ipr_png_context *ctx = (struct ipr_png_context *)png_get_io_ptr(png);
    if (count > ctx->size - ctx->position) {
        snprintf(ctx->message, sizeof ctx->message,
                 "PNG data ends at byte %zu, but %zu more bytes were needed at byte %zu (truncated file)",
                 ctx->size, count, ctx->position);
        png_error(png, ctx->message);
    }
    memcpy(out, ctx->data + ctx->position, count);
    ctx->position += count;
}

static const char *ipr_png_color_name(int color_type) {
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: return "gray";
    case PNG_COLOR_TYPE_GRAY_ALPHA: return "gray+alpha";
    case PNG_COLOR_TYPE_PALETTE: return "palette";
    case PNG_COLOR_TYPE_RGB: return "RGB";
    case PNG_COLOR_TYPE_RGB_ALPHA: return "RGBA";
    default: return "unknown";
    }
}

int ipr_decode_png(const unsigned char *data, size_t size, ipr_decoded_image *out) {
    struct ipr_png_context ctx;
    png_structp png = NULL;
    png_infop info = NULL;
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;

    memset(out, 0, sizeof *out);
    memset(&ctx, 0, sizeof ctx);
    ctx.data = data;
    ctx.size = size;

    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, ipr_png_error, ipr_png_warning);
    if (png) info = png_create_info_struct(png);
    if (!png || !info) {
        png_destroy_read_struct(&png, NULL, NULL);
        snprintf(out->message, sizeof out->message, "out of memory creating a PNG reader");
        out->status = IPR_CODEC_NO_MEMORY;
        return out->status;
    }
    if (setjmp(ctx.jump)) {
        png_destroy_read_struct(&png, &info, NULL);
        free(pixels);
        free(rows);
        out->pixels = NULL;
        if (out->status == IPR_CODEC_OK) out->status = IPR_CODEC_CORRUPT;
        memcpy(out->message, ctx.message, sizeof out->message);
        out->message[sizeof out->message - 1] = 0;
        return out->status;
    }
    png_set_read_fn(png, &ctx, ipr_png_read);
    png_read_info(png, info);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    snprintf(out->kind, sizeof out->kind, "PNG %s %d-bit%s", ipr_png_color_name(color_type), bit_depth,
             interlace == PNG_INTERLACE_ADAM7 ? " interlaced" : "");
    if ((unsigned long long)width * height > IPR_CODEC_MAX_PIXELS) {
        snprintf(ctx.message, sizeof ctx.message, "PNG of %ux%u pixels is larger than the limit of %u pixels",
                 (unsigned)width, (unsigned)height, IPR_CODEC_MAX_PIXELS);
        out->status = IPR_CODEC_TOO_LARGE;
        longjmp(ctx.jump, 1);
    }

    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (bit_depth == 16) png_set_strip_16(png);                       // high byte, as Pillow
    // Alpha (including a palette's or gray's tRNS that expansion turns into alpha) is dropped, not
    // composited; stripping is a no-op for rows without alpha.
    png_set_strip_alpha(png);
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    size_t rowbytes = png_get_rowbytes(png, info);
    if (rowbytes != (size_t)width * 3) {
        snprintf(ctx.message, sizeof ctx.message, "PNG %s %d-bit: expected %zu bytes per RGB row after conversion, got %zu",
                 ipr_png_color_name(color_type), bit_depth, (size_t)width * 3, rowbytes);
        out->status = IPR_CODEC_UNSUPPORTED;
        longjmp(ctx.jump, 1);
    }
    pixels = malloc(rowbytes * height + 1);
    rows = malloc(sizeof(png_bytep) * (height + 1));
    if (!pixels || !rows) {
        snprintf(ctx.message, sizeof ctx.message, "out of memory for a %ux%u PNG", (unsigned)width, (unsigned)height);
        out->status = IPR_CODEC_NO_MEMORY;
        longjmp(ctx.jump, 1);
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + (size_t)y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);  // checks the chunks after the image data: a file cut there is truncated too
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);

    out->width = (int)width;
    out->height = (int)height;
    out->pixels = pixels;
    out->status = IPR_CODEC_OK;
    return IPR_CODEC_OK;
}
