/* The pointwise step: out[rows x filters] = A[rows x K] . B[K x filters]
 * + bias, then the activation, with A the depthwise rows of a tile (in
 * cache) and B the pointwise kernel packed in panels of SC_NR filters. */
#ifndef SEPCONV_POINTWISE_GEMM_H
#define SEPCONV_POINTWISE_GEMM_H

#include "geometry.h"
#include "vec.h"

/* Panels of SC_NR filters, each K rows of SC_NR floats (zero past the last
 * filter); row k of the packed kernel is depthwise channel m * C + c, which
 * is Keras's pointwise row c * M + m. */
static void pack_pointwise(const sc_geometry *g, const float *kernel, float *packed) {
    const int64_t C = g->channels, M = g->multiplier, K = C * M, F = g->filters;
    const int64_t panels = (F + SC_NR - 1) / SC_NR;
    for (int64_t j = 0; j < panels; j++) {
        float *panel = packed + j * K * SC_NR;
        for (int64_t m = 0; m < M; m++)
            for (int64_t c = 0; c < C; c++) {
                const float *source = kernel + (c * M + m) * F + j * SC_NR;
                float *target = panel + (m * C + c) * SC_NR;
                for (int64_t f = 0; f < SC_NR; f++)
                    target[f] = j * SC_NR + f < F ? source[f] : 0.0f;
            }
    }
}

/* One SC_MR x SC_NR block of the output. A has SC_MR readable rows (rows
 * past the tile are scratch); only `rows` rows and `cols` columns are stored. */
static inline void micro_tile(int64_t K, const float *A, int64_t lda, const float *B,
                              const float *bias, int activation, float *out, int64_t ldc,
                              int64_t rows, int64_t cols) {
    vf acc[SC_MR][SC_NV];
    for (int r = 0; r < SC_MR; r++)
        for (int v = 0; v < SC_NV; v++) acc[r][v] = vsplat(0.0f);
#pragma GCC unroll 2
    for (int64_t k = 0; k < K; k++) {
        vf b[SC_NV];
        for (int v = 0; v < SC_NV; v++) b[v] = *(const vf *)(B + k * SC_NR + v * SC_VL);
        for (int r = 0; r < SC_MR; r++) {
            vf a = vsplat(A[r * lda + k]);
            for (int v = 0; v < SC_NV; v++) acc[r][v] += a * b[v];
        }
    }
    vf bias_v[SC_NV];
    for (int v = 0; v < SC_NV; v++) bias_v[v] = vload(bias + v * SC_VL);
    if (cols == SC_NR) {
        for (int64_t r = 0; r < rows; r++)
            for (int v = 0; v < SC_NV; v++)
                vstore(out + r * ldc + v * SC_VL, vactivate(acc[r][v] + bias_v[v], activation));
        return;
    }
    for (int64_t r = 0; r < rows; r++) {
        float values[SC_NR];
        for (int v = 0; v < SC_NV; v++)
            vstore(values + v * SC_VL, vactivate(acc[r][v] + bias_v[v], activation));
        memcpy(out + r * ldc, values, sizeof(float) * (size_t)cols);
    }
}

/* out (rows x F, leading dimension F) from the tile's depthwise rows A
 * (lda = K, at least round_up(rows, SC_MR) rows) and the packed kernel. */
static void pointwise_tile(const sc_geometry *g, const float *A, int64_t lda, int64_t rows,
                           const float *packed, const float *bias_padded, float *out) {
    const int64_t K = g->channels * g->multiplier, F = g->filters;
    const int64_t panels = (F + SC_NR - 1) / SC_NR;
    for (int64_t j = 0; j < panels; j++) {
        const float *panel = packed + j * K * SC_NR;
        int64_t cols = F - j * SC_NR < SC_NR ? F - j * SC_NR : SC_NR;
        for (int64_t i = 0; i < rows; i += SC_MR) {
            int64_t block = rows - i < SC_MR ? rows - i : SC_MR;
            micro_tile(K, A + i * lda, lda, panel, bias_padded + j * SC_NR, (int)g->activation,
                       out + i * F + j * SC_NR, F, block, cols);
        }
    }
}

#endif
