/* The DepthwiseConv2D forward pass: depthwise + bias + activation in one
 * pass over the input, channels_last float32. With depth multiplier 1 each
 * vector goes straight to the output through the epilogue (bias,
 * activation, streaming store). With a larger multiplier a tile of output
 * pixels is computed into a small per-thread buffer (multiplier-major, the
 * order the depthwise step writes), then reordered to Keras's channel order
 * c * multiplier + m with bias and activation. */
#include <stdlib.h>
#include <string.h>

#include "depthwise_tile.h"
#include "geometry.h"
#include "memory.h"
#include "parallel.h"
#include "vec.h"

typedef struct {
    const sc_geometry *g;
    const float *x, *kernel, *bias; /* kernel: packed (see pack_depthwise); bias: K floats */
    float *out;
    float **scratch;                /* per thread: tile rows (multiplier > 1) */
    int64_t tile, tiles_per_image;
    int stream;                     /* write the output past the caches */
} depthwise_job;

/* `count` rows of K = C * M depthwise values (order m * C + c) to the
 * output rows (order c * M + m), plus bias, through the activation. */
static void reorder_rows(const sc_geometry *g, const float *rows, int64_t count,
                         const float *bias, float *out) {
    const int64_t C = g->channels, M = g->multiplier, K = C * M;
    for (int64_t p = 0; p < count; p++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t m = 0; m < M; m++)
                out[p * K + c * M + m] =
                    sactivate(rows[p * K + m * C + c] + bias[c * M + m], (int)g->activation);
}

static void depthwise_task(void *context, int64_t task, int thread) {
    depthwise_job *job = (depthwise_job *)context;
    const sc_geometry *g = job->g;
    const sc_tile t = sc_tile_of(g, task, job->tile, job->tiles_per_image);
    const int64_t K = g->channels * g->multiplier, first = t.first, count = t.count;
    const float *image = job->x + t.n * g->height * g->width * g->channels;
    float *out = job->out + (t.n * g->out_h * g->out_w + first) * K;
    if (g->multiplier == 1) {
        sc_epilogue e = {job->bias, (int)g->activation, job->stream};
        depthwise_pixels(g, image, job->kernel, first, count, out, K, e);
    } else {
        depthwise_pixels(g, image, job->kernel, first, count, job->scratch[thread], K, NONE);
        reorder_rows(g, job->scratch[thread], count, job->bias, out);
    }
}

/* Returns 0, or -1 when out of memory (out is then unwritten). bias may be
 * NULL; g->filters is not read. */
int sc_depthwise_forward(const sc_geometry *g, const float *x, const float *kernel,
                         const float *bias, float *out) {
    const int64_t K = g->channels * g->multiplier, taps = g->kernel_h * g->kernel_w;
    const int64_t pixels = g->out_h * g->out_w;
    const int threads = g->threads > 0 ? (int)g->threads : 1;
    /* tiles of about 256 KiB of output rows (with multiplier > 1, the tile
     * buffer stays in L2 until it is reordered) */
    int64_t tile = (256 * 1024 / 4) / (K > 0 ? K : 1);
    if (tile < 1) tile = 1;
    int status = -1;
    float *packed = aligned(sizeof(float) * (size_t)(taps * K));
    float *bias_all = aligned(sizeof(float) * (size_t)(K + SC_VL));
    float **scratch = calloc((size_t)threads, sizeof(float *));
    if (!packed || !bias_all || !scratch) goto done;
    for (int t = 0; t < threads && g->multiplier > 1; t++) {
        scratch[t] = aligned(sizeof(float) * (size_t)(tile * K));
        if (!scratch[t]) goto done;
    }
    pack_depthwise(g, kernel, packed);
    for (int64_t k = 0; k < K; k++) bias_all[k] = bias ? bias[k] : 0.0f;
    if (pixels > 0 && g->batch > 0) {
        /* streaming needs every vector of every output row aligned */
        int aligned_rows = ((uintptr_t)out | (uintptr_t)(K * 4)) % (SC_VL * 4) == 0;
        depthwise_job job = {g, x, packed, bias_all, out, scratch, tile, (pixels + tile - 1) / tile,
                             aligned_rows &&
                                 g->batch * pixels * K * (int64_t)sizeof(float) > SC_STREAM_BYTES};
        if (sc_parallel_for(threads, g->batch * job.tiles_per_image, depthwise_task, &job))
            goto done;
    }
    status = 0;
done:
    if (scratch)
        for (int t = 0; t < threads; t++) free(scratch[t]);
    free(scratch);
    free(bias_all);
    free(packed);
    return status;
}
