#ifndef CJPEG_SHIM_H
#define CJPEG_SHIM_H
// jpeglib.h needs size_t and FILE declared before it is included.
#include <stddef.h>
#include <stdio.h>
#include <jpeglib.h>
// libjpeg reports errors by calling error_exit, which longjmps by default: never call the decoder
// from Swift directly. CImageCodecs wraps it so that the longjmp stays inside C.
#endif
