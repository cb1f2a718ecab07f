#ifndef IPR_IMAGE_CODECS_H
#define IPR_IMAGE_CODECS_H
// PNG and JPEG decoding from memory to RGB8, behind a C API that never longjmps out.
//
// libpng and libjpeg report fatal errors through longjmp. A longjmp that crosses Swift frames is
// undefined behaviour, so each decoder here sets its own jump target and returns a status plus a
// message instead. The output is what Pillow's `Image.open(p).convert("RGB")` gives: alpha is
// dropped (not composited), palettes and gray are expanded, 16-bit samples keep their high byte,
// gAMA/sRGB chunks are ignored, CMYK uses Pillow's inverted-Adobe convention.

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Outcome of a decode.
typedef enum {
    IPR_CODEC_OK = 0,
    IPR_CODEC_CORRUPT = 1,      ///< malformed or truncated data
    IPR_CODEC_UNSUPPORTED = 2,  ///< a valid file of a kind this decoder does not handle
    IPR_CODEC_TOO_LARGE = 3,    ///< more pixels than IPR_CODEC_MAX_PIXELS
    IPR_CODEC_NO_MEMORY = 4
} ipr_codec_status;

/// Decodes refuse images with more pixels than this (Pillow's decompression-bomb limit is 179 M).
#define IPR_CODEC_MAX_PIXELS (179u * 1000u * 1000u)

/// A decoded image, or why there is none.
typedef struct {
    int status;               ///< an ipr_codec_status
    int width;
    int height;
    unsigned char *pixels;    ///< width*height*3 bytes, RGB, row-major; release with ipr_codec_free
    char kind[48];            ///< what the file held, e.g. "PNG palette 4-bit", "JPEG CMYK"
    char message[200];        ///< the decoder's message when status != IPR_CODEC_OK
} ipr_decoded_image;

/// Decodes a PNG held in memory. Returns out->status.
int ipr_decode_png(const unsigned char *data, size_t size, ipr_decoded_image *out);

/// Decodes a JPEG held in memory. Returns out->status.
int ipr_decode_jpeg(const unsigned char *data, size_t size, ipr_decoded_image *out);

/// Decodes a JPEG held in memory at the smallest DCT scaling (1/8, 1/4, 1/2 or none) that keeps its
/// shorter side at least min_side pixels: up to 8 times less work per side for large photos whose
/// transforms shrink them anyway. min_side 0 decodes at full size. Returns out->status.
int ipr_decode_jpeg_scaled(const unsigned char *data, size_t size, int min_side, ipr_decoded_image *out);

/// Releases pixels returned by a decoder (NULL is fine).
void ipr_codec_free(void *pixels);

#ifdef __cplusplus
}
#endif
#endif
