/* A parallel loop: tasks 0..count-1 handed out one by one to `threads`
 * threads, the calling thread being one of them.
 *
 * Built with -fopenmp (when torch runs on OpenMP, see build.py) the threads
 * are an OpenMP team. The library then needs libgomp.so.1, which the
 * process has already loaded for torch, so the team is torch's own thread
 * pool: no second set of threads competing with torch's idle workers, which
 * spin for a while after each of torch's parallel regions. Otherwise the
 * threads are plain pthreads started per call. */
#ifndef SEPCONV_PARALLEL_H
#define SEPCONV_PARALLEL_H

#include <stdint.h>

typedef void (*sc_task_fn)(void *context, int64_t task, int thread);

/* Returns 0, or -1 when memory or threads ran out (nothing then ran half). */
int sc_parallel_for(int threads, int64_t count, sc_task_fn fn, void *context);

/* The same loop, but each thread claims its next task before it runs the
 * current one and is told which it is (-1: none), so that it can bring the
 * next task's data into cache while it computes. */
typedef void (*sc_task_ahead_fn)(void *context, int64_t task, int64_t next, int thread);
int sc_parallel_for_ahead(int threads, int64_t count, sc_task_ahead_fn fn, void *context);

#endif
