#include "parallel.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct {
    sc_task_fn fn;             /* one of the two is set */
    sc_task_ahead_fn ahead_fn;
    void *context;
    int64_t count;
    int64_t next; /* the next task to hand out (atomic) */
} loop_t;

typedef struct {
    loop_t *loop;
    int thread;
} worker_t;

static int64_t claim(loop_t *loop) {
    int64_t task = __atomic_fetch_add(&loop->next, 1, __ATOMIC_RELAXED);
    return task < loop->count ? task : -1;
}

static void run_tasks(loop_t *loop, int thread) {
    if (loop->ahead_fn) {
        for (int64_t task = claim(loop), next; task >= 0; task = next) {
            next = claim(loop);
            loop->ahead_fn(loop->context, task, next, thread);
        }
        return;
    }
    for (int64_t task = claim(loop); task >= 0; task = claim(loop))
        loop->fn(loop->context, task, thread);
}

#ifdef _OPENMP
#include <omp.h>

/* `threads` (> 1) threads run the loop's tasks; 0, or -1 when out of
 * memory or threads. */
static int run_team(loop_t *loop, int threads) {
#pragma omp parallel num_threads(threads)
    run_tasks(loop, omp_get_thread_num());
    return 0;
}

#else

static void *worker_main(void *argument) {
    worker_t *worker = (worker_t *)argument;
    run_tasks(worker->loop, worker->thread);
    return NULL;
}

static int run_team(loop_t *loop, int threads) {
    pthread_t *ids = malloc(sizeof(pthread_t) * (size_t)(threads - 1));
    worker_t *workers = malloc(sizeof(worker_t) * (size_t)(threads - 1));
    if (!ids || !workers) {
        free(ids);
        free(workers);
        return -1;
    }
    int started = 0;
    for (int t = 1; t < threads; t++) {
        workers[t - 1].loop = loop;
        workers[t - 1].thread = t;
        if (pthread_create(&ids[t - 1], NULL, worker_main, &workers[t - 1]) != 0) break;
        started++;
    }
    run_tasks(loop, 0); /* whatever the workers do not take, this thread does */
    for (int t = 0; t < started; t++) pthread_join(ids[t], NULL);
    free(ids);
    free(workers);
    return 0;
}

#endif

static int run_loop(loop_t *loop, int threads) {
    if (threads > loop->count) threads = (int)loop->count;
    if (threads <= 1) {
        run_tasks(loop, 0);
        return 0;
    }
    return run_team(loop, threads);
}

int sc_parallel_for(int threads, int64_t count, sc_task_fn fn, void *context) {
    loop_t loop = {fn, NULL, context, count, 0};
    return run_loop(&loop, threads);
}

int sc_parallel_for_ahead(int threads, int64_t count, sc_task_ahead_fn fn, void *context) {
    loop_t loop = {NULL, fn, context, count, 0};
    return run_loop(&loop, threads);
}
