#ifndef CPNG_SHIM_H
#define CPNG_SHIM_H
#include <png.h>

// Swift does not import function-like macros or composite macro constants: re-export them.
static inline size_t cpng_image_size(const png_image *img) { return PNG_IMAGE_SIZE(*img); }
static inline size_t cpng_image_row_stride(const png_image *img) { return PNG_IMAGE_ROW_STRIDE(*img); }
static const png_uint_32 CPNG_IMAGE_VERSION = PNG_IMAGE_VERSION;
static const png_uint_32 CPNG_FORMAT_GRAY = PNG_FORMAT_GRAY;
static const png_uint_32 CPNG_FORMAT_RGB = PNG_FORMAT_RGB;
static const png_uint_32 CPNG_FORMAT_RGBA = PNG_FORMAT_RGBA;
#endif
