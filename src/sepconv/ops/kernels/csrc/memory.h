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

/* Outputs larger than this are written with non-temporal stores: saving
 * the read of every output line before it is written outweighs keeping the
 * output in cache for the next layer once it is a good part of the last-level
 * cache (an 8x112x112x32 depthwise output, 12.8 MB, is written 1.4x faster
 * streamed, even when the input was in cache). */
#define SC_STREAM_BYTES ((int64_t)4 << 20)

/* A range of memory to bring into cache ahead of its use (next == end:
 * nothing left). */
typedef struct {
    const char *next, *end;
} sc_span;

/* Its next `lines` cache lines, into L2 (for data read after the work in
 * hand, which the prefetches are spread over). */
static inline void prefetch_lines(sc_span *s, int64_t lines) {
    for (; lines > 0 && s->next < s->end; lines--, s->next += SC_ALIGN)
        __builtin_prefetch(s->next, 0, 2);
}

#endif
