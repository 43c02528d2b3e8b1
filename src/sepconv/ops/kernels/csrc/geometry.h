/* The shape of one depthwise or separable 2D convolution, channels_last,
 * as Python fills it in (kernels.geometry). 'same' padding of any kind,
 * symmetric or not, is just pad_top / pad_left: taps outside the input read
 * zeros. */
#ifndef SEPCONV_GEOMETRY_H
#define SEPCONV_GEOMETRY_H

#include <stdint.h>

typedef struct {
    int64_t batch, height, width, channels;   /* input x: (batch, height, width, channels) */
    int64_t kernel_h, kernel_w, multiplier;   /* depthwise kernel: (kh, kw, channels, multiplier) */
    int64_t filters;                          /* pointwise kernel: (channels * multiplier, filters) */
    int64_t out_h, out_w;
    int64_t stride_h, stride_w, dilation_h, dilation_w;
    int64_t pad_top, pad_left;
    int64_t activation;                       /* SC_LINEAR, SC_RELU, SC_RELU6 */
    int64_t threads;
} sc_geometry;

/* Task `task` of a loop over tiles of `tile` output pixels, image by image
 * (tiles_per_image tiles each): the image, its first output pixel in the
 * tile, and how many pixels the tile has (the last one of an image may be
 * short). */
typedef struct {
    int64_t n, first, count;
} sc_tile;

static inline sc_tile sc_tile_of(const sc_geometry *g, int64_t task, int64_t tile,
                                 int64_t tiles_per_image) {
    sc_tile t;
    int64_t pixels = g->out_h * g->out_w;
    t.n = task / tiles_per_image;
    t.first = (task % tiles_per_image) * tile;
    t.count = pixels - t.first < tile ? pixels - t.first : tile;
    return t;
}

/* How many output pixels tile `task` (-1: none) of a loop over tiles of
 * `tile` pixels of the whole batch (`total` pixels) has: the last one may
 * be short, and tile -1 has none. */
static inline int64_t sc_batch_tile_count(int64_t total, int64_t tile, int64_t task) {
    const int64_t left = total - task * tile;
    return task < 0 ? 0 : left < tile ? left : tile;
}

#endif
