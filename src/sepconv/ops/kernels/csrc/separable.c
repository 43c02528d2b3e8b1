/* The fused SeparableConv2D forward pass: depthwise + pointwise + bias +
 * activation, the depthwise result of a tile of output pixels never leaving
 * cache. channels_last float32. */
#include <stdlib.h>

#include "depthwise_tile.h"
#include "geometry.h"
#include "memory.h"
#include "parallel.h"
#include "pointwise_gemm.h"
#include "vec.h"

/* How many output pixels one tile holds: its depthwise rows take about
 * 192 KiB (in L2 next to a pointwise panel), a whole number of micro-tiles. */
static int64_t tile_pixels(const sc_geometry *g) {
    int64_t K = g->channels * g->multiplier;
    int64_t pixels = (192 * 1024 / 4) / (K > 0 ? K : 1);
    pixels = pixels / SC_MR * SC_MR;
    if (pixels < SC_MR) pixels = SC_MR;
    if (pixels > 32 * SC_MR) pixels = 32 * SC_MR;
    return pixels;
}

typedef struct {
    const sc_geometry *g;
    const float *x, *depthwise, *packed, *bias;
    float *out;
    float **scratch; /* per thread: tile rows */
    int64_t tile, total;  /* output pixels per tile, in the batch */
    int stream;      /* write the output past the caches */
} separable_job;

/* Tile `task`, the input of tile `next` (-1: none) prefetched during its
 * pointwise step (the next depthwise step would otherwise wait on memory:
 * 5-10% of the whole at 8x112x112x32 -> 64). */
static void separable_task(void *context, int64_t task, int64_t next, int thread) {
    separable_job *job = (separable_job *)context;
    const sc_geometry *g = job->g;
    const int64_t K = g->channels * g->multiplier, first = task * job->tile;
    const int64_t count = sc_batch_tile_count(job->total, job->tile, task);
    const sc_span ahead = input_rows_span(g, job->x, next * job->tile,
                                          sc_batch_tile_count(job->total, job->tile, next));
    depthwise_batch_pixels(g, job->x, job->depthwise, first, count, job->scratch[thread], K, NONE);
    pointwise_tile(g, job->scratch[thread], K, count, job->packed, job->bias, job->stream,
                   job->out + first * g->filters, ahead);
}

/* Returns 0, or -1 when out of memory (out is then unwritten). */
int sc_separable_forward(const sc_geometry *g, const float *x, const float *depthwise_kernel,
                         const float *pointwise_kernel, const float *bias, float *out) {
    const int64_t C = g->channels, M = g->multiplier, K = C * M, F = g->filters;
    const int64_t taps = g->kernel_h * g->kernel_w, panels = (F + SC_NR - 1) / SC_NR;
    const int64_t tile = tile_pixels(g), pixels = g->out_h * g->out_w;
    const int threads = g->threads > 0 ? (int)g->threads : 1;
    int status = -1;
    float *depthwise = aligned(sizeof(float) * (size_t)(taps * K));
    float *packed = aligned(sizeof(float) * (size_t)(panels * K * SC_NR));
    float *bias_padded = aligned(sizeof(float) * (size_t)(panels * SC_NR));
    float **scratch = calloc((size_t)threads, sizeof(float *));
    if (!depthwise || !packed || !bias_padded || !scratch) goto done;
    for (int t = 0; t < threads; t++) {
        /* SC_MR spare rows: the last micro-tile may read past the tile. */
        size_t floats = (size_t)((round_up(tile, SC_MR) + SC_MR) * K);
        scratch[t] = aligned(sizeof(float) * floats);
        if (!scratch[t]) goto done;
        memset(scratch[t], 0, sizeof(float) * floats);
    }
    pack_depthwise(g, depthwise_kernel, depthwise);
    if (pack_panels(g, pointwise_kernel, packed, panels, pack_pointwise_panel, threads))
        goto done;
    for (int64_t f = 0; f < panels * SC_NR; f++) bias_padded[f] = bias && f < F ? bias[f] : 0.0f;
    if (pixels > 0 && g->batch > 0) {
        separable_job job = {g, x, depthwise, packed, bias_padded, out, scratch, tile,
                             g->batch * pixels,
                             g->batch * pixels * F * (int64_t)sizeof(float) > SC_STREAM_BYTES};
        if (sc_parallel_for_ahead(threads, (job.total + tile - 1) / tile, separable_task, &job))
            goto done;
    }
    status = 0;
done:
    if (scratch)
        for (int t = 0; t < threads; t++) free(scratch[t]);
    free(scratch);
    free(bias_padded);
    free(packed);
    free(depthwise);
    return status;
}
