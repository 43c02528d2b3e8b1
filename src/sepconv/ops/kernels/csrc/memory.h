/* Buffers of the kernels: aligned to a cache line (and to any vector). */
#ifndef SEPCONV_MEMORY_H
#define SEPCONV_MEMORY_H

#include <stdlib.h>

#include "vec.h"

/* NULL when out of memory; free() releases it. */
static inline void *aligned(size_t bytes) {
    void *memory = NULL;
    if (posix_memalign(&memory, SC_ALIGN, bytes ? bytes : SC_ALIGN)) return NULL;
    return memory;
}

/* Outputs larger than this are written with non-temporal stores: they
 * would not stay in a last-level cache anyway, and streaming them saves the
 * read of every output line before it is written. */
#define SC_STREAM_BYTES ((int64_t)16 << 20)

#endif
