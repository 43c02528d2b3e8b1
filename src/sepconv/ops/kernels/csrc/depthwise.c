/* The DepthwiseConv2D forward pass: depthwise + bias + activation in one
 * pass over the input, channels_last float32. With depth multiplier 1 each
 * vector goes straight to the output through the epilogue (bias,
 * activation, streaming store). With a larger multiplier a tile of output
 * pixels is computed into a small per-thread buffer (multiplier-major, the
 * order the depthwise step writes), then reordered to Keras's channel order
 * c * multiplier + m with bias and activation.
 *
 * Streaming stores write whole aligned vectors. When a pixel's C floats are
 * not a whole number of them (C = 728: 45.5 lines of 64 bytes), a group of
 * pixels is (2 for 728): runs of whole groups inside an output row are then
 * computed group by group as one wide pixel (row_3x3_groups), and only the
 * pixels around them go through the cache. */
#include <stdlib.h>
#include <string.h>

#include "depthwise_tile.h"
#include "geometry.h"
#include "memory.h"
#include "parallel.h"
#include "vec.h"

/* A group of `group` adjacent pixels seen as one pixel of width = group * C
 * floats, a whole number of vectors: the packed kernel's nine taps and the
 * bias repeated `group` times (NULL kernel: not in use). */
typedef struct {
    int64_t group, width;
    float *kernel, *bias;
} wide_pixels;

/* `groups` groups of one output row, none at its edges: group G's tap
 * (kh, kw) reads rows[kh] + G * width + (kw - 1) * C (rows[kh] at the
 * middle tap of the first group's first pixel), `group` contiguous input
 * pixels whose channels line up with the wide kernel's. Vector by vector
 * over the width, its nine kernel vectors in registers across the groups;
 * with `out` aligned every store is an aligned vector (e streams). ROWS and
 * `ahead` as for row_3x3_unit_stride. */
static inline __attribute__((always_inline)) void row_3x3_groups(
    int64_t C, const wide_pixels *wide, const float *const *rows, const float *ahead,
    int64_t groups, float *out, sc_epilogue e, const int ROWS) {
    const int64_t width = wide->width;
    for (int64_t v = 0; v < width; v += SC_VL) {
        vf w[3][3];
        load_taps_3x3(w, wide->kernel, width, v, ROWS);
        for (int64_t G = 0; G < groups; G++) {
            if (ahead) __builtin_prefetch(ahead + G * width + v, 0, 3);
            put(out + G * width, v, sum_taps_3x3(rows, G * width + v, C, w, ROWS), e);
        }
    }
}

/* Output pixels [first, first + count) of the batch (first and count whole
 * groups), multiplier 1, written with streaming stores although a pixel's C
 * floats are not whole vectors: runs of groups that lie inside one output
 * row, clear of its edge columns, go through row_3x3_groups; any other
 * group is computed into `staging` (group * C floats) and copied out whole.
 * The output is aligned, so each group starts a line. */
static void depthwise_grouped(const sc_geometry *g, const float *x, const float *kernel,
                              const wide_pixels *wide, int64_t first, int64_t count,
                              const float *bias, float *out, float *staging) {
    const int64_t C = g->channels, n = wide->group, pixels = g->out_h * g->out_w;
    const sc_epilogue cached = {bias, (int)g->activation, 0};
    const sc_epilogue streamed = {wide->bias, (int)g->activation, 1};
    for (int64_t q = first; q < first + count;) {
        const float *image = x + (q / pixels) * g->height * g->width * C;
        const int64_t oh = q % pixels / g->out_w, ow = q % pixels % g->out_w;
        /* pixels from q on in this row whose taps are all inside the image */
        int64_t room = interior_run(g, ow);
        if (room > first + count - q) room = first + count - q;
        const float *rows[3], *ahead;
        const int mask = room >= n ? row_inputs_3x3(g, image, oh, ow, rows, &ahead) : 0;
        if (mask) {
            const int64_t groups = room / n;
            if (mask == 7)
                row_3x3_groups(C, wide, rows, ahead, groups, out + q * C, streamed, 7);
            else if (mask == 6)
                row_3x3_groups(C, wide, rows, ahead, groups, out + q * C, streamed, 6);
            else
                row_3x3_groups(C, wide, rows, ahead, groups, out + q * C, streamed, 3);
            q += groups * n;
        } else { /* the batch's last group may be short: copied without streaming */
            const int64_t k = first + count - q < n ? first + count - q : n;
            depthwise_batch_pixels(g, x, kernel, q, k, staging, C, cached);
            for (int64_t f = 0; k == n && f < n * C; f += SC_VL)
                vstream(out + q * C + f, vload(staging + f));
            if (k < n) memcpy(out + q * C, staging, sizeof(float) * (size_t)(k * C));
            q += k;
        }
    }
}

typedef struct {
    const sc_geometry *g;
    const float *x, *kernel, *bias; /* kernel: packed (see pack_depthwise); bias: K floats */
    float *out;
    float **scratch;                /* per thread: tile rows (multiplier > 1) or a group */
    int64_t tile, total;            /* output pixels per tile, in the batch */
    int stream;                     /* write the output past the caches */
    wide_pixels wide;               /* streaming with misaligned pixels (kernel not NULL) */
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
    const int64_t K = g->channels * g->multiplier, first = task * job->tile;
    const int64_t count = sc_batch_tile_count(job->total, job->tile, task);
    float *out = job->out + first * K;
    if (job->wide.kernel) {
        depthwise_grouped(g, job->x, job->kernel, &job->wide, first, count, job->bias, job->out,
                          job->scratch[thread]);
    } else if (g->multiplier == 1) {
        sc_epilogue e = {job->bias, (int)g->activation, job->stream};
        depthwise_batch_pixels(g, job->x, job->kernel, first, count, out, K, e);
    } else {
        depthwise_batch_pixels(g, job->x, job->kernel, first, count, job->scratch[thread], K,
                               NONE);
        reorder_rows(g, job->scratch[thread], count, job->bias, out);
    }
}

/* Returns 0, or -1 when out of memory (out is then unwritten). bias may be
 * NULL; g->filters is not read. */
int sc_depthwise_forward(const sc_geometry *g, const float *x, const float *kernel,
                         const float *bias, float *out) {
    const int64_t K = g->channels * g->multiplier, taps = g->kernel_h * g->kernel_w;
    const int64_t total = g->batch * g->out_h * g->out_w;
    const int threads = g->threads > 0 ? (int)g->threads : 1;
    /* streaming needs every vector of every output row aligned; when the
     * rows are not, groups of pixels are (see depthwise_grouped) */
    const int stream = total * K * (int64_t)sizeof(float) > SC_STREAM_BYTES;
    const int aligned_rows = ((uintptr_t)out | (uintptr_t)(K * 4)) % (SC_VL * 4) == 0;
    const float *rows[3], *ahead;
    wide_pixels wide = {1, 0, NULL, NULL};
    while (wide.group * K % SC_VL) wide.group++;
    /* groups of more than 4 pixels (odd C) leave too few whole groups per
     * row to pay for themselves */
    const int grouped = stream && !aligned_rows && (uintptr_t)out % (SC_VL * 4) == 0 &&
                        wide.group <= 4 && g->multiplier == 1 && total > 0 &&
                        row_inputs_3x3(g, x, 0, 0, rows, &ahead);
    if (!grouped) wide.group = 1;
    wide.width = wide.group * K;
    /* Tiles of about 1 MiB of output rows: each tile starts on rows nobody
     * prefetched, so larger tiles wait less (4-14% faster from memory than
     * 256 KiB), but no fewer than 8 per thread, for balance. With
     * multiplier > 1, 256 KiB: the tile buffer stays in L2 until it is
     * reordered. Whole groups. */
    int64_t fits = ((g->multiplier > 1 ? 256 : 1024) * 1024 / 4) / (K > 0 ? K : 1);
    if (fits > total / (8 * threads)) fits = total / (8 * threads);
    const int64_t tile = round_up(fits > 1 ? fits : 1, wide.group);
    int status = -1;
    float *packed = aligned(sizeof(float) * (size_t)(taps * K));
    float *bias_all = aligned(sizeof(float) * (size_t)(K + SC_VL));
    float **scratch = calloc((size_t)threads, sizeof(float *));
    if (!packed || !bias_all || !scratch) goto done;
    if (grouped) {
        wide.kernel = aligned(sizeof(float) * (size_t)(9 * wide.width));
        wide.bias = aligned(sizeof(float) * (size_t)wide.width);
        if (!wide.kernel || !wide.bias) goto done;
    }
    for (int t = 0; t < threads && (g->multiplier > 1 || grouped); t++) {
        scratch[t] = aligned(sizeof(float) * (size_t)(grouped ? wide.width : tile * K));
        if (!scratch[t]) goto done;
    }
    pack_depthwise(g, kernel, packed);
    for (int64_t k = 0; k < K; k++) bias_all[k] = bias ? bias[k] : 0.0f;
    for (int64_t f = 0; grouped && f < wide.width; f++) {
        for (int t = 0; t < 9; t++) wide.kernel[t * wide.width + f] = packed[t * K + f % K];
        wide.bias[f] = bias_all[f % K];
    }
    if (total > 0) {
        depthwise_job job = {g, x, packed, bias_all, out, scratch, tile, total,
                             stream && aligned_rows, wide};
        if (sc_parallel_for(threads, (total + tile - 1) / tile, depthwise_task, &job)) goto done;
    }
    status = 0;
done:
    if (scratch)
        for (int t = 0; t < threads; t++) free(scratch[t]);
    free(scratch);
    free(wide.kernel);
    free(wide.bias);
    free(bias_all);
    free(packed);
    return status;
}
