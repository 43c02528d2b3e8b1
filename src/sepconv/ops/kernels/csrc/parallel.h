/* A parallel loop on plain pthreads (no OpenMP runtime of our own next to
 * torch's): tasks 0..count-1 handed out one by one to `threads` threads, the
 * calling thread being one of them. */
#ifndef SEPCONV_PARALLEL_H
#define SEPCONV_PARALLEL_H

#include <stdint.h>

typedef void (*sc_task_fn)(void *context, int64_t task, int thread);

/* Returns 0, or -1 when memory or threads ran out (nothing then ran half). */
int sc_parallel_for(int threads, int64_t count, sc_task_fn fn, void *context);

#endif
