/* The pointwise step: out[rows x filters] = A[rows x K] . B[K x filters]
 * + bias, then the activation, with A the depthwise rows of a tile (in
 * cache) and B the pointwise kernel packed in panels of SC_NR filters. */
#ifndef SEPCONV_POINTWISE_GEMM_H
#define SEPCONV_POINTWISE_GEMM_H

#include "geometry.h"
#include "memory.h"
#include "parallel.h"
#include "vec.h"

/* Panel j of the packed pointwise kernel: K rows of SC_NR filters (zero
 * past the last filter); row k is depthwise channel m * C + c, which is
 * Keras's pointwise row c * M + m. The kernel is packed in panels of SC_NR
 * filters, panel after panel. */
static void pack_pointwise_panel(const sc_geometry *g, const float *kernel, float *packed,
                                 int64_t j) {
    const int64_t C = g->channels, M = g->multiplier, K = C * M, F = g->filters;
    float *panel = packed + j * K * SC_NR;
    for (int64_t m = 0; m < M; m++)
        for (int64_t c = 0; c < C; c++) {
            const float *source = kernel + (c * M + m) * F + j * SC_NR;
            float *target = panel + (m * C + c) * SC_NR;
            for (int64_t f = 0; f < SC_NR; f++) target[f] = j * SC_NR + f < F ? source[f] : 0.0f;
        }
}

/* Packing a kernel panel by panel on the threads (one task per panel). */
typedef void (*sc_pack_panel_fn)(const sc_geometry *g, const float *kernel, float *packed,
                                 int64_t panel);
typedef struct {
    const sc_geometry *g;
    const float *kernel;
    float *packed;
    sc_pack_panel_fn pack;
} panel_job;

static void panel_task(void *context, int64_t task, int thread) {
    const panel_job *job = (const panel_job *)context;
    (void)thread;
    job->pack(job->g, job->kernel, job->packed, task);
}

/* 0, or -1 when threads could not start (see sc_parallel_for). */
static int pack_panels(const sc_geometry *g, const float *kernel, float *packed, int64_t panels,
                       sc_pack_panel_fn pack, int threads) {
    panel_job job = {g, kernel, packed, pack};
    return sc_parallel_for(threads, panels, panel_task, &job);
}

/* Every micro-tile row r, as X(r): the accumulators are named variables
 * (c<r>0, c<r>1), not an array, so that the compiler keeps all of them in
 * registers. */
#if SC_MR == 12
#define SC_EACH_ROW(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#elif SC_MR == 6
#define SC_EACH_ROW(X) X(0) X(1) X(2) X(3) X(4) X(5)
#else
#error "SC_EACH_ROW needs a case for this SC_MR"
#endif
#if SC_NV != 2
#error "micro_tile holds two vectors per row"
#endif
#if SC_MR % 3 != 0
#error "micro_tile addresses the rows of A three by three"
#endif

#define SC_DECLARE(r) vf c##r##0 = vsplat(0.0f), c##r##1 = c##r##0;
/* Row r of A at the current k: rows three apart share a pointer, the
 * other two are 1 and 2 leading dimensions on (few registers for the row
 * addresses: with an index per row GCC spilled them, and the micro-kernel
 * alone ran 3-10% slower on one thread; inside the kernels, where the
 * caches bound it, the two are even). */
#define SC_FMA(r)                                                            \
    {                                                                        \
        vf a = vsplat(*(const float *)((const char *)by3[(r) / 3] +          \
                                       ((r) % 3) * lda_bytes));              \
        c##r##0 += a * b0;                                                   \
        c##r##1 += a * b1;                                                   \
    }
#define SC_FINISH(r)                                \
    c##r##0 = vactivate(c##r##0 + bias0, activation); \
    c##r##1 = vactivate(c##r##1 + bias1, activation);
#define SC_STORE(r)                                 \
    vstore(target + (r) * ld_target, c##r##0);      \
    vstore(target + (r) * ld_target + SC_VL, c##r##1);
#define SC_STREAM(r)                                \
    vstream(target + (r) * ld_target, c##r##0);     \
    vstream(target + (r) * ld_target + SC_VL, c##r##1);

/* One SC_MR x SC_NR block of the output. A has SC_MR readable rows (rows
 * past the tile are scratch); only `rows` rows and `cols` columns are stored,
 * past the caches when `stream` (and the block is whole and aligned). */
static inline void micro_tile(int64_t K, const float *A, int64_t lda, const float *B,
                              const float *bias, int activation, int stream, float *out,
                              int64_t ldc, int64_t rows, int64_t cols) {
    SC_EACH_ROW(SC_DECLARE)
    const float *by3[SC_MR / 3];
    for (int i = 0; i < SC_MR / 3; i++) by3[i] = A + 3 * i * lda;
    const int64_t lda_bytes = lda * (int64_t)sizeof(float);
#pragma GCC unroll 4
    for (int64_t k = 0; k < K; k++) {
        vf b0 = *(const vf *)(B + k * SC_NR), b1 = *(const vf *)(B + k * SC_NR + SC_VL);
        SC_EACH_ROW(SC_FMA)
        for (int i = 0; i < SC_MR / 3; i++) by3[i]++;
    }
    vf bias0 = vload(bias), bias1 = vload(bias + SC_VL);
    SC_EACH_ROW(SC_FINISH)
    if (rows == SC_MR && cols == SC_NR) {
        float *target = out;
        int64_t ld_target = ldc;
        if (stream && ((uintptr_t)out | (uintptr_t)(ldc * 4)) % (SC_VL * 4) == 0) {
            SC_EACH_ROW(SC_STREAM)
        } else {
            SC_EACH_ROW(SC_STORE)
        }
        return;
    }
    float values[SC_MR * SC_NR];
    float *target = values;
    int64_t ld_target = SC_NR;
    SC_EACH_ROW(SC_STORE)
    for (int64_t r = 0; r < rows; r++)
        memcpy(out + r * ldc, values + r * SC_NR, sizeof(float) * (size_t)cols);
}

#undef SC_DECLARE
#undef SC_FMA
#undef SC_FINISH
#undef SC_STORE
#undef SC_STREAM

/* out (rows x F, leading dimension F) from the tile's depthwise rows A
 * (lda = K, at least round_up(rows, SC_MR) rows) and the packed kernel;
 * `stream`: see micro_tile. `ahead` (may be empty): memory the caller reads
 * next, prefetched a few lines per micro-tile, so that the loads hide
 * behind the arithmetic. */
static void pointwise_tile(const sc_geometry *g, const float *A, int64_t lda, int64_t rows,
                           const float *packed, const float *bias_padded, int stream,
                           float *out, sc_span ahead) {
    const int64_t K = g->channels * g->multiplier, F = g->filters;
    const int64_t panels = (F + SC_NR - 1) / SC_NR;
    const int64_t lines = (ahead.end - ahead.next) / SC_ALIGN + 1;
    const int64_t per_tile = lines / (panels * ((rows + SC_MR - 1) / SC_MR)) + 1;
    for (int64_t j = 0; j < panels; j++) {
        const float *panel = packed + j * K * SC_NR;
        int64_t cols = F - j * SC_NR < SC_NR ? F - j * SC_NR : SC_NR;
        for (int64_t i = 0; i < rows; i += SC_MR) {
            int64_t block = rows - i < SC_MR ? rows - i : SC_MR;
            prefetch_lines(&ahead, per_tile);
            micro_tile(K, A + i * lda, lda, panel, bias_padded + j * SC_NR, (int)g->activation,
                       stream, out + i * F + j * SC_NR, F, block, cols);
        }
    }
}

#endif
