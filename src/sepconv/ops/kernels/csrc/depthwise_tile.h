/* The depthwise step for a run of output pixels of one image, written as
 * rows of `ld` floats through an epilogue (see sc_epilogue): row p holds,
 * for m in 0..multiplier-1, the `channels` values of multiplier m (order
 * m * channels + c, which the packed pointwise kernel follows; see
 * pack_pointwise). */
#ifndef SEPCONV_DEPTHWISE_TILE_H
#define SEPCONV_DEPTHWISE_TILE_H

#include "geometry.h"
#include "memory.h"
#include "vec.h"

/* kernel_packed: (multiplier, kh, kw, channels), from pack_depthwise. */
static void pack_depthwise(const sc_geometry *g, const float *kernel, float *packed) {
    int64_t C = g->channels, M = g->multiplier, taps = g->kernel_h * g->kernel_w;
    for (int64_t m = 0; m < M; m++)
        for (int64_t t = 0; t < taps; t++)
            for (int64_t c = 0; c < C; c++)
                packed[(m * taps + t) * C + c] = kernel[(t * C + c) * M + m];
}

/* What happens to each vector of depthwise values on its way to memory:
 * + bias (NULL: none; indexed by channel, so for multiplier 1 only), the
 * activation, and a non-temporal store when `stream` (every vector address
 * is then aligned). The separable kernel's rows feed its GEMM: NONE. */
typedef struct {
    const float *bias;
    int activation;
    int stream;
} sc_epilogue;

static const sc_epilogue NONE = {NULL, SC_LINEAR, 0};

static inline void put(float *out, int64_t c, vf v, sc_epilogue e) {
    if (e.bias) v += vload(e.bias + c);
    v = vactivate(v, e.activation);
    if (e.stream)
        vstream(out + c, v);
    else
        vstore(out + c, v);
}

static inline void put_scalar(float *out, int64_t c, float v, sc_epilogue e) {
    out[c] = sactivate(e.bias ? v + e.bias[c] : v, e.activation);
}

/* One output pixel's `C` depthwise values of one multiplier from its
 * `inside` taps (tap t reads sources[t] with kernel weights[t]). Several
 * independent sums are in flight at once (four vectors, or two halves of
 * the taps), so the FMA latency does not serialize them. */
static inline void depthwise_pixel(int64_t C, int64_t inside, const float *const *sources,
                                   const float *const *weights, float *out, sc_epilogue e) {
    int64_t c = 0;
    for (; c + 4 * SC_VL <= C; c += 4 * SC_VL) {
        vf s0 = vsplat(0.0f), s1 = s0, s2 = s0, s3 = s0;
        for (int64_t t = 0; t < inside; t++) {
            const float *x = sources[t] + c, *w = weights[t] + c;
            s0 += vload(x) * vload(w);
            s1 += vload(x + SC_VL) * vload(w + SC_VL);
            s2 += vload(x + 2 * SC_VL) * vload(w + 2 * SC_VL);
            s3 += vload(x + 3 * SC_VL) * vload(w + 3 * SC_VL);
        }
        put(out, c, s0, e);
        put(out, c + SC_VL, s1, e);
        put(out, c + 2 * SC_VL, s2, e);
        put(out, c + 3 * SC_VL, s3, e);
    }
    /* A last partial vector is the whole vector ending at channel C: it
     * recomputes a few channels (to the same values) instead of finishing
     * them one by one. */
    for (; c < C && C >= SC_VL; c += SC_VL) {
        if (c + SC_VL > C) c = C - SC_VL;
        vf even = vsplat(0.0f), odd = even;
        int64_t t = 0;
        for (; t + 1 < inside; t += 2) {
            even += vload(sources[t] + c) * vload(weights[t] + c);
            odd += vload(sources[t + 1] + c) * vload(weights[t + 1] + c);
        }
        if (t < inside) even += vload(sources[t] + c) * vload(weights[t] + c);
        put(out, c, even + odd, e);
    }
    for (; c < C; c++) {
        float sum = 0.0f;
        for (int64_t t = 0; t < inside; t++) sum += sources[t][c] * weights[t][c];
        put_scalar(out, c, sum, e);
    }
}

/* Output pixels per block of a 3x3 run. */
#define SC_RUN_BLOCK 8

/* `run` horizontally adjacent output pixels of a 3x3 kernel whose nine
 * taps are all inside the image: pixel j's tap t reads
 * x0 + j * step + offsets[t]. Per block of pixels: four vectors of channels
 * at a time (four independent sums, four consecutive cache lines per input
 * pixel, which the prefetchers follow better than one line per pass), then
 * the remaining vectors one at a time with their nine kernel vectors held
 * in registers across the block, then the remaining channels. */
static void depthwise_run_3x3(int64_t C, const float *x0, int64_t step, const int64_t *offsets,
                              const float *kernel, int64_t run, float *out, int64_t ld,
                              sc_epilogue e) {
    for (int64_t j0 = 0; j0 < run; j0 += SC_RUN_BLOCK) {
        const int64_t block = run - j0 < SC_RUN_BLOCK ? run - j0 : SC_RUN_BLOCK;
        const float *xb = x0 + j0 * step;
        float *ob = out + j0 * ld;
        int64_t c = 0;
        for (; c + 4 * SC_VL <= C; c += 4 * SC_VL) {
            const float *x = xb + c;
            for (int64_t j = 0; j < block; j++, x += step) {
                vf s0 = vsplat(0.0f), s1 = s0, s2 = s0, s3 = s0;
                for (int t = 0; t < 9; t++) {
                    const float *xt = x + offsets[t], *w = kernel + t * C + c;
                    s0 += vload(xt) * vload(w);
                    s1 += vload(xt + SC_VL) * vload(w + SC_VL);
                    s2 += vload(xt + 2 * SC_VL) * vload(w + 2 * SC_VL);
                    s3 += vload(xt + 3 * SC_VL) * vload(w + 3 * SC_VL);
                }
                float *o = ob + j * ld;
                put(o, c, s0, e);
                put(o, c + SC_VL, s1, e);
                put(o, c + 2 * SC_VL, s2, e);
                put(o, c + 3 * SC_VL, s3, e);
            }
        }
        for (; c < C && C >= SC_VL; c += SC_VL) {
            if (c + SC_VL > C) c = C - SC_VL; /* as in depthwise_pixel */
            const vf w0 = vload(kernel + c), w1 = vload(kernel + C + c),
                     w2 = vload(kernel + 2 * C + c), w3 = vload(kernel + 3 * C + c),
                     w4 = vload(kernel + 4 * C + c), w5 = vload(kernel + 5 * C + c),
                     w6 = vload(kernel + 6 * C + c), w7 = vload(kernel + 7 * C + c),
                     w8 = vload(kernel + 8 * C + c);
            const float *x = xb + c;
            for (int64_t j = 0; j < block; j++, x += step) {
                vf a = vload(x + offsets[0]) * w0, b = vload(x + offsets[1]) * w1,
                   d = vload(x + offsets[2]) * w2;
                a += vload(x + offsets[3]) * w3;
                b += vload(x + offsets[4]) * w4;
                d += vload(x + offsets[5]) * w5;
                a += vload(x + offsets[6]) * w6;
                b += vload(x + offsets[7]) * w7;
                d += vload(x + offsets[8]) * w8;
                put(ob + j * ld, c, a + b + d, e);
            }
        }
        for (; c < C; c++) {
            const float *x = xb + c;
            for (int64_t j = 0; j < block; j++, x += step) {
                float sum = 0.0f;
                for (int t = 0; t < 9; t++) sum += x[offsets[t]] * kernel[t * C + c];
                put_scalar(ob + j * ld, c, sum, e);
            }
        }
    }
}

/* The nine kernel vectors at channel c (taps kh * 3 + kw, `stride` floats
 * apart; zero for the kernel rows not in ROWS). */
static inline __attribute__((always_inline)) void load_taps_3x3(vf w[3][3], const float *kernel,
                                                                int64_t stride, int64_t c,
                                                                const int ROWS) {
    for (int kh = 0; kh < 3; kh++)
        for (int kw = 0; kw < 3; kw++)
            w[kh][kw] = ROWS >> kh & 1 ? vload(kernel + (kh * 3 + kw) * stride + c) : vsplat(0.0f);
}

/* One vector of a 3x3 output whose three columns are all inside the image:
 * kernel row kh reads rows[kh] + at (the middle column) and `step` floats
 * either side. */
static inline __attribute__((always_inline)) vf sum_taps_3x3(const float *const *rows,
                                                             int64_t at, int64_t step,
                                                             vf w[3][3], const int ROWS) {
    vf a = vsplat(0.0f);
    for (int kh = 0; kh < 3; kh++)
        if (ROWS >> kh & 1) {
            const float *r = rows[kh] + at;
            a += vload(r - step) * w[kh][0] + vload(r) * w[kh][1] + vload(r + step) * w[kh][2];
        }
    return a;
}

/* One output row segment of a 3x3 kernel with horizontal stride and
 * dilation 1: `count` pixels, pixel j reading input columns j - 1, j, j + 1
 * counted from rows[kh] (its middle column), for the kernel rows kh whose
 * bit is set in ROWS (the others are outside the image). `lead`: the first
 * pixel's left column is outside the image (reads zeros); `trail`: the last
 * pixel's right column is. Channel vector by channel vector, the vector's
 * nine weights in registers across the whole segment; adjacent pixels share
 * input columns, so a pair of pixels loads four columns instead of six.
 * `ahead` (or NULL): the input row the next output row reads first, at the
 * same column; it is prefetched as the segment goes, so that it is in cache
 * when its turn comes (the hardware prefetchers do not follow these strided
 * sweeps through memory well). ROWS is a constant at every call, so each
 * mask gets its own code. */
static inline __attribute__((always_inline)) void row_3x3_unit_stride(
    int64_t C, const float *const *rows, const float *ahead, const float *kernel, int64_t count,
    int lead, int trail, float *out, int64_t ld, sc_epilogue e, const int ROWS) {
    const int64_t inside_end = count - trail; /* pixels [lead, inside_end) see all columns */
    for (int64_t c = 0; c < C; c += SC_VL) {
        if (c + SC_VL > C) c = C - SC_VL; /* as in depthwise_pixel */
        vf w[3][3];
        load_taps_3x3(w, kernel, C, c, ROWS);
        int64_t j = 0;
        if (lead) {
            vf a = vsplat(0.0f);
            for (int kh = 0; kh < 3; kh++)
                if (ROWS >> kh & 1) {
                    const float *r = rows[kh] + c;
                    a += vload(r) * w[kh][1] + vload(r + C) * w[kh][2];
                }
            put(out, c, a, e);
            j = 1;
        }
        for (; j + 2 <= inside_end; j += 2) {
            if (ahead) {
                __builtin_prefetch(ahead + j * C + c, 0, 3);
                __builtin_prefetch(ahead + (j + 1) * C + c, 0, 3);
            }
            vf a = vsplat(0.0f), b = a;
            for (int kh = 0; kh < 3; kh++)
                if (ROWS >> kh & 1) {
                    const float *r = rows[kh] + j * C + c;
                    const vf x0 = vload(r - C), x1 = vload(r), x2 = vload(r + C),
                             x3 = vload(r + 2 * C);
                    a += x0 * w[kh][0] + x1 * w[kh][1] + x2 * w[kh][2];
                    b += x1 * w[kh][0] + x2 * w[kh][1] + x3 * w[kh][2];
                }
            put(out + j * ld, c, a, e);
            put(out + (j + 1) * ld, c, b, e);
        }
        if (j < inside_end) {
            put(out + j * ld, c, sum_taps_3x3(rows, j * C + c, C, w, ROWS), e);
            j++;
        }
        if (j < count) { /* trail */
            vf a = vsplat(0.0f);
            for (int kh = 0; kh < 3; kh++)
                if (ROWS >> kh & 1) {
                    const float *r = rows[kh] + j * C + c;
                    a += vload(r - C) * w[kh][0] + vload(r) * w[kh][1];
                }
            put(out + j * ld, c, a, e);
        }
    }
}

/* Whether output row `oh` from column `ow` on can take the 3x3 row kernels
 * (horizontal stride and dilation 1, at least a vector of channels): then
 * rows[kh] points at kernel row kh's input for column ow (the middle tap),
 * *ahead at the next output row's last input row, same column (NULL past
 * the image; the row kernels prefetch it), and the result is the mask of
 * the kernel rows inside the image (7, 6 or 3; one row or none inside is
 * left to the generic path). 0 otherwise. */
static int row_inputs_3x3(const sc_geometry *g, const float *image, int64_t oh, int64_t ow,
                          const float **rows, const float **ahead) {
    const int64_t C = g->channels, W = g->width, H = g->height;
    if (g->kernel_h != 3 || g->kernel_w != 3 || g->stride_w != 1 || g->dilation_w != 1 ||
        C < SC_VL || W < 2)
        return 0;
    const int64_t top = oh * g->stride_h - g->pad_top, left = ow - g->pad_left;
    int mask = 0;
    for (int kh = 0; kh < 3; kh++) {
        const int64_t ih = top + kh * g->dilation_h;
        const int inside = ih >= 0 && ih < H;
        rows[kh] = inside ? image + (ih * W + left + 1) * C : image; /* read only when inside */
        mask |= inside << kh;
    }
    const int64_t next = top + g->stride_h + 2 * g->dilation_h;
    *ahead = next >= 0 && next < H ? image + (next * W + left + 1) * C : NULL;
    return mask == 7 || mask == 6 || mask == 3 ? mask : 0;
}

/* A segment of one output row for the 3x3 row kernels: its `count`
 * pixels, `rows`, `ahead` and `mask` as from row_inputs_3x3 (mask 0: the
 * row kernels do not take it), `lead` / `trail` as for
 * row_3x3_unit_stride. */
typedef struct {
    const float *rows[3], *ahead;
    int64_t count;
    int mask, lead, trail;
} row_segment;

/* The segment of output row `oh` from column `ow` to the row's end, at most
 * `limit` pixels. */
static row_segment row_segment_at(const sc_geometry *g, const float *image, int64_t oh,
                                  int64_t ow, int64_t limit) {
    row_segment s;
    s.count = g->out_w - ow < limit ? g->out_w - ow : limit;
    s.mask = row_inputs_3x3(g, image, oh, ow, s.rows, &s.ahead);
    const int64_t left = ow - g->pad_left;
    s.lead = left < 0;
    s.trail = left + s.count + 1 >= g->width;
    if (left < -1 || left + s.count + 1 > g->width || (s.lead && s.trail && s.count == 1))
        s.mask = 0;
    return s;
}

/* The rest of output row `oh` from column `ow` (at most `count` pixels)
 * through row_3x3_unit_stride; returns how many pixels it did, 0 when the
 * geometry is not one it handles (then nothing is written). */
static int64_t row_segment_3x3(const sc_geometry *g, const float *image, const float *kernel_packed,
                               int64_t oh, int64_t ow, int64_t count, float *out, int64_t ld,
                               sc_epilogue e) {
    const int64_t C = g->channels;
    const row_segment s = row_segment_at(g, image, oh, ow, count);
    if (!s.mask) return 0;
    for (int64_t m = 0; m < g->multiplier; m++) {
        const float *k = kernel_packed + m * 9 * C;
        float *o = out + m * C;
        if (s.mask == 7)
            row_3x3_unit_stride(C, s.rows, s.ahead, k, s.count, s.lead, s.trail, o, ld, e, 7);
        else if (s.mask == 6)
            row_3x3_unit_stride(C, s.rows, s.ahead, k, s.count, s.lead, s.trail, o, ld, e, 6);
        else
            row_3x3_unit_stride(C, s.rows, s.ahead, k, s.count, s.lead, s.trail, o, ld, e, 3);
    }
    return s.count;
}

/* How many output pixels from column `ow` on (in the same row) have every
 * kernel column inside the image. */
static int64_t interior_run(const sc_geometry *g, int64_t ow) {
    int64_t left = ow * g->stride_w - g->pad_left;
    int64_t span = (g->kernel_w - 1) * g->dilation_w;
    if (left < 0 || left + span >= g->width) return 0;
    /* the last ow with ow * stride - pad + span < width */
    int64_t last = (g->width - 1 - span + g->pad_left) / g->stride_w;
    if (last >= g->out_w) last = g->out_w - 1;
    return last - ow + 1;
}

static void depthwise_pixels(const sc_geometry *g, const float *image, const float *kernel_packed,
                             int64_t first, int64_t count, float *rows, int64_t ld,
                             sc_epilogue e) {
    const int64_t C = g->channels, M = g->multiplier, KH = g->kernel_h, KW = g->kernel_w;
    const int64_t taps = KH * KW, W = g->width, H = g->height;
    /* Variable-length arrays: a few pointers per tap on the stack. */
    const float *sources[taps], *weights[taps];
    int64_t tap_index[taps];
    for (int64_t i = 0; i < count;) {
        int64_t pixel = first + i;
        int64_t oh = pixel / g->out_w, ow = pixel % g->out_w;
        int64_t top = oh * g->stride_h - g->pad_top, left = ow * g->stride_w - g->pad_left;
        const int64_t segment =
            row_segment_3x3(g, image, kernel_packed, oh, ow, count - i, rows + i * ld, ld, e);
        if (segment > 0) {
            i += segment;
            continue;
        }
        if (KH == 3 && KW == 3 && top >= 0 && top + 2 * g->dilation_h < H) {
            int64_t run = interior_run(g, ow);
            if (run > count - i) run = count - i;
            if (run > 0) {
                int64_t offsets[9];
                for (int64_t t = 0; t < 9; t++)
                    offsets[t] = ((t / 3) * g->dilation_h * W + (t % 3) * g->dilation_w) * C;
                const float *x0 = image + (top * W + left) * C;
                for (int64_t m = 0; m < M; m++)
                    depthwise_run_3x3(C, x0, g->stride_w * C, offsets,
                                      kernel_packed + m * taps * C, run, rows + i * ld + m * C, ld, e);
                i += run;
                continue;
            }
        }
        /* The taps inside the image: where they read and which kernel tap
         * each is (taps outside read zeros, so they are left out). */
        int64_t inside = 0;
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
            for (int64_t t = 0; t < inside; t++) weights[t] = k_m + tap_index[t] * C;
            depthwise_pixel(C, inside, sources, weights, row + m * C, e);
        }
        i++;
    }
}

/* The input rows that output pixels [first, first + count) of the batch
 * (x) read, as one range of memory (a run crossing into the next image takes
 * in the rows between). */
static inline sc_span input_rows_span(const sc_geometry *g, const float *x, int64_t first,
                                      int64_t count) {
    const int64_t pixels = g->out_h * g->out_w, row = g->width * g->channels;
    sc_span span = {NULL, NULL};
    if (count <= 0 || pixels <= 0) return span;
    const int64_t last = first + count - 1;
    int64_t top = first % pixels / g->out_w * g->stride_h - g->pad_top;
    int64_t end = last % pixels / g->out_w * g->stride_h - g->pad_top +
                  (g->kernel_h - 1) * g->dilation_h + 1;
    if (top < 0) top = 0;
    if (end > g->height) end = g->height;
    span.next = (const char *)(x + (first / pixels * g->height + top) * row);
    span.end = (const char *)(x + (last / pixels * g->height + end) * row);
    return span;
}

/* depthwise_pixels for output pixels [first, first + count) of the whole
 * batch (x is the batch), the run crossing from one image into the next
 * where it must: a tile then never ends in a sliver of an image. */
static inline void depthwise_batch_pixels(const sc_geometry *g, const float *x,
                                          const float *kernel_packed, int64_t first,
                                          int64_t count, float *rows, int64_t ld, sc_epilogue e) {
    const int64_t pixels = g->out_h * g->out_w, image_floats = g->height * g->width * g->channels;
    for (int64_t done = 0; done < count;) {
        const int64_t n = (first + done) / pixels, within = (first + done) % pixels;
        const int64_t run = pixels - within < count - done ? pixels - within : count - done;
        const float *image = x + n * image_floats;
        depthwise_pixels(g, image, kernel_packed, within, run, rows + done * ld, ld, e);
        done += run;
    }
}

#endif
