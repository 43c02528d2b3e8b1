/* The depthwise step for a run of output pixels of one image, written as
 * rows of `ld` floats: row p holds, for m in 0..multiplier-1, the `channels`
 * values of multiplier m (order m * channels + c, which the packed pointwise
 * kernel follows; see pack_pointwise). */
#ifndef SEPCONV_DEPTHWISE_TILE_H
#define SEPCONV_DEPTHWISE_TILE_H

#include "geometry.h"
#include "vec.h"

/* kernel_packed: (multiplier, kh, kw, channels), from pack_depthwise. */
static void pack_depthwise(const sc_geometry *g, const float *kernel, float *packed) {
    int64_t C = g->channels, M = g->multiplier, taps = g->kernel_h * g->kernel_w;
    for (int64_t m = 0; m < M; m++)
        for (int64_t t = 0; t < taps; t++)
            for (int64_t c = 0; c < C; c++)
                packed[(m * taps + t) * C + c] = kernel[(t * C + c) * M + m];
}

static void depthwise_pixels(const sc_geometry *g, const float *image, const float *kernel_packed,
                             int64_t first, int64_t count, float *rows, int64_t ld) {
    const int64_t C = g->channels, M = g->multiplier, KH = g->kernel_h, KW = g->kernel_w;
    const int64_t taps = KH * KW, W = g->width, H = g->height;
    const int64_t vector_end = C - C % SC_VL;
    for (int64_t i = 0; i < count; i++) {
        int64_t pixel = first + i;
        int64_t oh = pixel / g->out_w, ow = pixel % g->out_w;
        int64_t top = oh * g->stride_h - g->pad_top, left = ow * g->stride_w - g->pad_left;
        /* The taps inside the image: where they read and which kernel tap
         * each is (a variable-length array: taps pointers on the stack). */
        const float *sources[taps];
        int64_t tap_index[taps], inside = 0;
        for (int64_t kh = 0; kh < KH; kh++) {
            int64_t ih = top + kh * g->dilation_h;
            if (ih < 0 || ih >= H) continue;
            for (int64_t kw = 0; kw < KW; kw++) {
                int64_t iw = left + kw * g->dilation_w;
                if (iw < 0 || iw >= W) continue;
                sources[inside] = image + (ih * W + iw) * C;
                tap_index[inside] = kh * KW + kw;
                inside++;
            }
        }
        float *row = rows + i * ld;
        for (int64_t m = 0; m < M; m++) {
            const float *k_m = kernel_packed + m * taps * C;
            float *out = row + m * C;
            int64_t c = 0;
            for (; c < vector_end; c += SC_VL) {
                vf sum = vsplat(0.0f);
                for (int64_t t = 0; t < inside; t++)
                    sum += vload(sources[t] + c) * vload(k_m + tap_index[t] * C + c);
                vstore(out + c, sum);
            }
            for (; c < C; c++) {
                float sum = 0.0f;
                for (int64_t t = 0; t < inside; t++) sum += sources[t][c] * k_m[tap_index[t] * C + c];
                out[c] = sum;
            }
        }
    }
}

#endif
