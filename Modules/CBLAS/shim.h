#ifndef CBLAS_SHIM_H
#define CBLAS_SHIM_H
// Found through pkg-config `openblas` (Debian: /usr/include/<triple>/openblas-pthread). Naming the
// package explicitly keeps the openblas_* extensions available; plain <cblas.h> follows whatever
// BLAS the alternatives system points at.
#include <cblas.h>
#endif
