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

#endif
