/* The backward passes of SeparableConv2D and DepthwiseConv2D (no
 * activation: PyTorch applies it outside the op), channels_last float32.
 *
 * Separable: out = pointwise(D) + bias with D = depthwise(x). Names: dY the
 * output gradient (pixels x F), Wd the depthwise kernel, Wp the pointwise
 * kernel, dD = dY . Wp^T the gradient of D (pixels x K, K = C * M, order
 * m * C + c as the depthwise step writes D).
 *
 * Pass A runs over the forward's tiles of output pixels, in `chunks`
 * contiguous runs of tiles (one task each, one set of partial sums each).
 * Per tile:
 *   1. D is recomputed into per-thread scratch (never stored globally);
 *   2. dD = dY . Wp^T (a register-blocked GEMM against Wp^T packed in panels
 *      of SC_NR columns over K), into a global buffer when pass B needs it,
 *      else into per-thread scratch;
 *   3. the chunk's dWp (K x F) += D^T . dY (micro-tiles of SC_MR consecutive
 *      k by SC_NR filters, reduced over the tile's pixels);
 *   4. the chunk's db (F) += column sums of dY;
 *   5. the chunk's dWd (taps x K) += x at the tap (zero in the padding) * dD,
 *      vector by vector over the channels, summed over the tile's pixels.
 * The chunks' partial sums are then added in chunk order (deterministic for
 * a given thread count) and written in Keras's layouts.
 *
 * Pass B (when the input gradient is wanted) gathers, per input pixel,
 * dX[i, j, c] = sum over the taps (a, b) and m of Wd[a, b, c, m] *
 * dD[oi, oj, m * C + c] with oi * stride_h - pad_top + a * dilation_h == i
 * (and the same for j): each element written once, by one thread. With
 * stride 1 that is the forward's depthwise step on dD with the kernel
 * flipped (depthwise_pixels and its 3x3 fast path), then for M > 1 a sum
 * over m per channel.
 *
 * Depthwise: the same without the pointwise parts; dD is the output
 * gradient itself (reordered from c * M + m to m * C + c when M > 1). */
#include <stdlib.h>
#include <string.h>

#include "depthwise_tile.h"
#include "geometry.h"
#include "memory.h"
#include "parallel.h"
#include "pointwise_gemm.h"
#include "vec.h"

static const float zero_bias[SC_NR] = {0};

/* acc[c + l] += s[l] for the lanes with c + l >= from (the whole vector
 * when c == from; fewer when the vector was moved back to end at the last
 * channel, overlapping lanes that were already added). */
static inline void add_lanes(float *acc, int64_t c, int64_t from, vf s) {
    if (c == from) {
        vstore(acc + c, vload(acc + c) + s);
        return;
    }
    float lanes[SC_VL];
    vstore(lanes, s);
    for (int64_t l = from - c; l < SC_VL; l++) acc[c + l] += lanes[l];
}

/* acc[0..width) += the sums over `count` rows (leading dimension ld) of
 * their first `width` floats. */
static void add_column_sums(const float *rows, int64_t count, int64_t ld, int64_t width,
                            float *acc) {
    int64_t c = 0;
    for (; c + 2 * SC_VL <= width; c += 2 * SC_VL) {
        vf s0 = vsplat(0.0f), s1 = s0;
        for (int64_t p = 0; p < count; p++) {
            s0 += vload(rows + p * ld + c);
            s1 += vload(rows + p * ld + c + SC_VL);
        }
        vstore(acc + c, vload(acc + c) + s0);
        vstore(acc + c + SC_VL, vload(acc + c + SC_VL) + s1);
    }
    for (; c < width && width >= SC_VL; c += SC_VL) {
        int64_t from = c;
        if (c + SC_VL > width) c = width - SC_VL;
        vf s = vsplat(0.0f);
        for (int64_t p = 0; p < count; p++) s += vload(rows + p * ld + c);
        add_lanes(acc, c, from, s);
    }
    for (; c < width; c++) {
        float s = 0.0f;
        for (int64_t p = 0; p < count; p++) s += rows[p * ld + c];
        acc[c] += s;
    }
}

/* acc[0..C) += sum over q < n of xs[q][c] * ds[q][c]. */
static void add_products(int64_t C, int64_t n, const float *const *xs, const float *const *ds,
                         float *acc) {
    int64_t c = 0;
    for (; c + 4 * SC_VL <= C; c += 4 * SC_VL) {
        vf s0 = vsplat(0.0f), s1 = s0, s2 = s0, s3 = s0;
        for (int64_t q = 0; q < n; q++) {
            const float *x = xs[q] + c, *d = ds[q] + c;
            s0 += vload(x) * vload(d);
            s1 += vload(x + SC_VL) * vload(d + SC_VL);
            s2 += vload(x + 2 * SC_VL) * vload(d + 2 * SC_VL);
            s3 += vload(x + 3 * SC_VL) * vload(d + 3 * SC_VL);
        }
        vstore(acc + c, vload(acc + c) + s0);
        vstore(acc + c + SC_VL, vload(acc + c + SC_VL) + s1);
        vstore(acc + c + 2 * SC_VL, vload(acc + c + 2 * SC_VL) + s2);
        vstore(acc + c + 3 * SC_VL, vload(acc + c + 3 * SC_VL) + s3);
    }
    for (; c + 2 * SC_VL <= C; c += 2 * SC_VL) {
        vf s0 = vsplat(0.0f), s1 = s0, s2 = s0, s3 = s0;
        int64_t q = 0;
        for (; q + 1 < n; q += 2) {
            const float *x = xs[q] + c, *d = ds[q] + c, *x1 = xs[q + 1] + c, *d1 = ds[q + 1] + c;
            s0 += vload(x) * vload(d);
            s1 += vload(x + SC_VL) * vload(d + SC_VL);
            s2 += vload(x1) * vload(d1);
            s3 += vload(x1 + SC_VL) * vload(d1 + SC_VL);
        }
        if (q < n) {
            s0 += vload(xs[q] + c) * vload(ds[q] + c);
            s1 += vload(xs[q] + c + SC_VL) * vload(ds[q] + c + SC_VL);
        }
        vstore(acc + c, vload(acc + c) + s0 + s2);
        vstore(acc + c + SC_VL, vload(acc + c + SC_VL) + s1 + s3);
    }
    for (; c < C && C >= SC_VL; c += SC_VL) {
        int64_t from = c;
        if (c + SC_VL > C) c = C - SC_VL; /* a whole vector ending at channel C */
        vf even = vsplat(0.0f), odd = even;
        int64_t q = 0;
        for (; q + 1 < n; q += 2) {
            even += vload(xs[q] + c) * vload(ds[q] + c);
            odd += vload(xs[q + 1] + c) * vload(ds[q + 1] + c);
        }
        if (q < n) even += vload(xs[q] + c) * vload(ds[q] + c);
        add_lanes(acc, c, from, even + odd);
    }
    for (; c < C; c++) {
        float s = 0.0f;
        for (int64_t q = 0; q < n; q++) s += xs[q][c] * ds[q][c];
        acc[c] += s;
    }
}

/* The depthwise kernel's gradient from one tile: acc (taps x K, order
 * t * K + m * C + c) += x at each tap of each of the tile's `count` output
 * pixels from `first` * that pixel's dD row (ld K, order m * C + c). Taps in
 * the padding read zeros and are left out. xs, ds: `count` pointers each of
 * scratch. */
static void add_depthwise_grad_channels(const sc_geometry *g, const float *image,
                                        int64_t first, int64_t count, const float *dD,
                                        float *acc, const float **xs, const float **ds,
                                        int64_t c0, int64_t width);

#define SC_EACH_TAP(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8)
#define SC_TAP_ZERO(t) vf s##t = vsplat(0.0f);
#define SC_TAP_FMA(t) s##t += vload(taps[t] + c) * d;
#define SC_TAP_STORE(t) vstore(acc + (t) * K + m * C + c, vload(acc + (t) * K + m * C + c) + s##t);

/* add_depthwise_grad for a 3x3 kernel (any strides and dilation) over the
 * channels [0, full) that fill whole vectors: pixel by pixel, one vector of
 * channels at a time, the nine taps' sums in registers (each dD vector
 * loaded once for all nine taps). Taps in the padding read `zeros` (at
 * least `full` floats of 0). taps: 9 * count pointers of scratch. */
static void add_depthwise_grad_3x3(const sc_geometry *g, const float *image, int64_t first,
                                   int64_t count, const float *dD, float *acc, int64_t full,
                                   const float *zeros, const float **taps_of) {
    const int64_t C = g->channels, M = g->multiplier, K = C * M;
    const int64_t H = g->height, W = g->width;
    int64_t oh = first / g->out_w, ow = first % g->out_w;
    for (int64_t p = 0; p < count; p++) {
        for (int64_t a = 0; a < 3; a++)
            for (int64_t b = 0; b < 3; b++) {
                int64_t ih = oh * g->stride_h - g->pad_top + a * g->dilation_h;
                int64_t iw = ow * g->stride_w - g->pad_left + b * g->dilation_w;
                taps_of[p * 9 + a * 3 + b] = ih >= 0 && ih < H && iw >= 0 && iw < W
                                                 ? image + (ih * W + iw) * C
                                                 : zeros;
            }
        if (++ow == g->out_w) ow = 0, oh++;
    }
    for (int64_t m = 0; m < M; m++)
        for (int64_t c = 0; c < full; c += SC_VL) {
            SC_EACH_TAP(SC_TAP_ZERO)
            for (int64_t p = 0; p < count; p++) {
                const float *const *taps = taps_of + p * 9;
                vf d = vload(dD + p * K + m * C + c);
                SC_EACH_TAP(SC_TAP_FMA)
            }
            SC_EACH_TAP(SC_TAP_STORE)
        }
}

#undef SC_TAP_ZERO
#undef SC_TAP_FMA
#undef SC_TAP_STORE
#undef SC_EACH_TAP

/* add_depthwise_grad_3x3 for one output row segment that the forward's row
 * kernels take (rows, lead, trail, ROWS as for row_3x3_unit_stride): per
 * channel vector, the nine sums in registers, the three input columns a
 * pixel reads held in registers and slid along the row, so that each pixel
 * loads one new column per kernel row and its dD vector. */
static inline __attribute__((always_inline)) void row_grad_3x3(
    int64_t C, int64_t K, const float *const *rows, const float *dD, int64_t count, int lead,
    int trail, float *acc, int64_t full, const int ROWS) {
    for (int64_t c = 0; c < full; c += SC_VL) {
        vf s[3][3], left[3], mid[3];
        for (int kh = 0; kh < 3; kh++) {
            s[kh][0] = s[kh][1] = s[kh][2] = vsplat(0.0f);
            const int inside = ROWS >> kh & 1;
            left[kh] = inside && !lead ? vload(rows[kh] + c - C) : vsplat(0.0f);
            mid[kh] = inside ? vload(rows[kh] + c) : vsplat(0.0f);
        }
        for (int64_t j = 0; j < count; j++) {
            const vf d = vload(dD + j * K + c);
            const int right_inside = j + 1 < count || !trail;
            for (int kh = 0; kh < 3; kh++)
                if (ROWS >> kh & 1) {
                    const vf right =
                        right_inside ? vload(rows[kh] + (j + 1) * C + c) : vsplat(0.0f);
                    s[kh][0] += left[kh] * d;
                    s[kh][1] += mid[kh] * d;
                    s[kh][2] += right * d;
                    left[kh] = mid[kh];
                    mid[kh] = right;
                }
        }
        for (int kh = 0; kh < 3; kh++)
            for (int kw = 0; kw < 3; kw++) {
                float *a = acc + (kh * 3 + kw) * K + c;
                vstore(a, vload(a) + s[kh][kw]);
            }
    }
}

/* add_depthwise_grad_3x3 over [first, first + count), row segment by row
 * segment: through row_grad_3x3 where the forward's row kernels apply, the
 * pixel-by-pixel loop elsewhere. */
static void add_depthwise_grad_3x3_rows(const sc_geometry *g, const float *image, int64_t first,
                                        int64_t count, const float *dD, float *acc,
                                        int64_t full, const float *zeros, const float **taps_of) {
    const int64_t C = g->channels, M = g->multiplier, K = C * M;
    for (int64_t i = 0; i < count;) {
        const row_segment s =
            row_segment_at(g, image, (first + i) / g->out_w, (first + i) % g->out_w, count - i);
        if (!s.mask) {
            add_depthwise_grad_3x3(g, image, first + i, s.count, dD + i * K, acc, full, zeros,
                                   taps_of);
        } else {
            for (int64_t m = 0; m < M; m++) {
                const float *d = dD + i * K + m * C;
                float *a = acc + m * C;
                if (s.mask == 7)
                    row_grad_3x3(C, K, s.rows, d, s.count, s.lead, s.trail, a, full, 7);
                else if (s.mask == 6)
                    row_grad_3x3(C, K, s.rows, d, s.count, s.lead, s.trail, a, full, 6);
                else
                    row_grad_3x3(C, K, s.rows, d, s.count, s.lead, s.trail, a, full, 3);
            }
        }
        i += s.count;
    }
}

static void add_depthwise_grad(const sc_geometry *g, const float *image, int64_t first,
                               int64_t count, const float *dD, float *acc, const float **xs,
                               const float **ds, const float *zeros) {
    int64_t full = g->kernel_h == 3 && g->kernel_w == 3 ? g->channels / SC_VL * SC_VL : 0;
    /* Row by row unless a pixel's channels span a multiple of 512 bytes:
     * then a row sweep (one channel vector along the row) meets only
     * 4096 / span of the L1's 64 sets, and pixel by pixel is faster (C A/Bs
     * of the DepthwiseConv2D backward: by rows 25% faster at 8x112x112x32,
     * 15% at 16x19x19x728; 2% and 8% slower at 128 and 256 channels). */
    if (full > 0) {
        if (g->channels * (int64_t)sizeof(float) % 512)
            add_depthwise_grad_3x3_rows(g, image, first, count, dD, acc, full, zeros, xs);
        else
            add_depthwise_grad_3x3(g, image, first, count, dD, acc, full, zeros, xs);
    }
    if (full < g->channels)
        add_depthwise_grad_channels(g, image, first, count, dD, acc, xs, ds, full,
                                    g->channels - full);
}

/* ... for the channels [c0, c0 + width) only. */
static void add_depthwise_grad_channels(const sc_geometry *g, const float *image,
                                        int64_t first, int64_t count, const float *dD,
                                        float *acc, const float **xs, const float **ds,
                                        int64_t c0, int64_t width) {
    const int64_t C = g->channels, M = g->multiplier, K = C * M;
    const int64_t H = g->height, W = g->width;
    for (int64_t a = 0; a < g->kernel_h; a++)
        for (int64_t b = 0; b < g->kernel_w; b++) {
            int64_t inside = 0, oh = first / g->out_w, ow = first % g->out_w;
            for (int64_t p = 0; p < count; p++) {
                int64_t ih = oh * g->stride_h - g->pad_top + a * g->dilation_h;
                int64_t iw = ow * g->stride_w - g->pad_left + b * g->dilation_w;
                if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
                    xs[inside] = image + (ih * W + iw) * C + c0;
                    ds[inside] = dD + p * K + c0;
                    inside++;
                }
                if (++ow == g->out_w) ow = 0, oh++;
            }
            if (!inside) continue;
            float *acc_t = acc + (a * g->kernel_w + b) * K + c0;
            for (int64_t m = 0; m < M; m++) {
                if (m > 0)
                    for (int64_t q = 0; q < inside; q++) ds[q] += C;
                add_products(width, inside, xs, ds, acc_t + m * C);
            }
        }
}

/* ---- pass B: the input gradient ---------------------------------------- */

/* Pass B's inputs and buffers, allocated before pass A runs (so that
 * nothing can fail once outputs are being written). */
typedef struct {
    const sc_geometry *g;
    const float *dD;          /* (N, oh, ow, K), order m * C + c */
    const float *wd_packed;   /* (M, taps, C), from pack_depthwise */
    float *grad_x;
    /* Stride 1: dX is a depthwise step on dD (K channels, multiplier 1)
     * with the kernel flipped, and for M > 1 a sum over m per channel. */
    int stride1;
    sc_geometry transposed;
    float *flipped;           /* (taps, K): tap t is the op's tap taps - 1 - t */
    float **rows;             /* M > 1: per thread, one input row of K floats per pixel */
    int threads;
} input_grad_plan;

/* One input row (image task / H, row task % H), gathered: per input
 * pixel, the (tap, m) pairs whose output pixel reads it. */
static void gather_row(const input_grad_plan *plan, int64_t task) {
    const sc_geometry *g = plan->g;
    const int64_t C = g->channels, M = g->multiplier, K = C * M;
    const int64_t KH = g->kernel_h, KW = g->kernel_w, taps = KH * KW;
    const int64_t H = g->height, W = g->width, n = task / H, i = task % H;
    const float *dD_image = plan->dD + n * g->out_h * g->out_w * K;
    float *out = plan->grad_x + (n * H + i) * W * C;
    const float *sources[taps * M], *weights[taps * M];
    int64_t rows[KH], row_taps[KH], nrows = 0; /* output rows reading input row i */
    for (int64_t a = 0; a < KH; a++) {
        int64_t num = i + g->pad_top - a * g->dilation_h;
        if (num < 0 || num % g->stride_h) continue;
        if (num / g->stride_h >= g->out_h) continue;
        rows[nrows] = num / g->stride_h;
        row_taps[nrows++] = a;
    }
    for (int64_t j = 0; j < W; j++) {
        int64_t inside = 0;
        for (int64_t b = 0; b < KW; b++) {
            int64_t num = j + g->pad_left - b * g->dilation_w;
            if (num < 0 || num % g->stride_w) continue;
            int64_t oj = num / g->stride_w;
            if (oj >= g->out_w) continue;
            for (int64_t r = 0; r < nrows; r++) {
                const float *d = dD_image + (rows[r] * g->out_w + oj) * K;
                int64_t t = row_taps[r] * KW + b;
                for (int64_t m = 0; m < M; m++) {
                    sources[inside] = d + m * C;
                    weights[inside] = plan->wd_packed + (m * taps + t) * C;
                    inside++;
                }
            }
        }
        /* the same sum of products as the forward's depthwise step */
        depthwise_pixel(C, inside, sources, weights, out + j * C, NONE);
    }
}

/* out[j * C + c] = sum over m of rows[j * K + m * C + c], for `count` pixels. */
static void sum_multipliers(int64_t C, int64_t M, const float *rows, int64_t count, float *out) {
    const int64_t K = C * M;
    for (int64_t j = 0; j < count; j++, rows += K, out += C) {
        int64_t c = 0;
        for (; c < C && C >= SC_VL; c += SC_VL) {
            if (c + SC_VL > C) c = C - SC_VL; /* overlapping: the same values again */
            vf s = vload(rows + c);
            for (int64_t m = 1; m < M; m++) s += vload(rows + m * C + c);
            vstore(out + c, s);
        }
        for (; c < C; c++) {
            float s = rows[c];
            for (int64_t m = 1; m < M; m++) s += rows[m * C + c];
            out[c] = s;
        }
    }
}

/* One input row with stride 1: the forward's depthwise step on dD. */
static void transposed_row(const input_grad_plan *plan, int64_t task, int thread) {
    const sc_geometry *g = plan->g;
    const int64_t C = g->channels, M = g->multiplier, K = C * M;
    const int64_t H = g->height, W = g->width, n = task / H, i = task % H;
    const float *dD_image = plan->dD + n * g->out_h * g->out_w * K;
    float *out = plan->grad_x + (n * H + i) * W * C;
    if (M == 1) {
        depthwise_pixels(&plan->transposed, dD_image, plan->flipped, i * W, W, out, C, NONE);
        return;
    }
    float *rows = plan->rows[thread];
    depthwise_pixels(&plan->transposed, dD_image, plan->flipped, i * W, W, rows, K, NONE);
    sum_multipliers(C, M, rows, W, out);
}

static void input_grad_task(void *context, int64_t task, int thread) {
    const input_grad_plan *plan = (const input_grad_plan *)context;
    if (plan->stride1)
        transposed_row(plan, task, thread);
    else
        gather_row(plan, task);
}

/* Frees what was allocated (any of it may be NULL); may run again. */
static void input_grad_free(input_grad_plan *plan) {
    for (int t = 0; plan->rows && t < plan->threads; t++) free(plan->rows[t]);
    free(plan->rows);
    free(plan->flipped);
    plan->rows = NULL;
    plan->flipped = NULL;
}

/* The plan of pass B (wd_packed filled in later); 0, or -1 when out of
 * memory (plan then freed). */
static int input_grad_alloc(input_grad_plan *plan, const sc_geometry *g, int threads,
                            const float *wd_packed, float *grad_x) {
    const int64_t K = g->channels * g->multiplier, taps = g->kernel_h * g->kernel_w;
    const int64_t tasks = g->batch * g->height;
    memset(plan, 0, sizeof(*plan));
    plan->g = g;
    plan->wd_packed = wd_packed;
    plan->grad_x = grad_x;
    plan->stride1 = g->stride_h == 1 && g->stride_w == 1;
    if (!plan->stride1) return 0;
    sc_geometry *t = &plan->transposed;
    *t = *g;
    t->height = g->out_h;
    t->width = g->out_w;
    t->channels = K;
    t->multiplier = 1;
    t->out_h = g->height;
    t->out_w = g->width;
    t->pad_top = (g->kernel_h - 1) * g->dilation_h - g->pad_top;
    t->pad_left = (g->kernel_w - 1) * g->dilation_w - g->pad_left;
    t->activation = SC_LINEAR;
    plan->flipped = aligned(sizeof(float) * (size_t)(taps * K));
    if (!plan->flipped) goto fail;
    if (g->multiplier > 1) {
        plan->threads = tasks < threads ? (int)tasks : threads;
        plan->rows = calloc((size_t)plan->threads, sizeof(float *));
        if (!plan->rows) goto fail;
        for (int i = 0; i < plan->threads; i++) {
            plan->rows[i] = aligned(sizeof(float) * (size_t)(g->width * K));
            if (!plan->rows[i]) goto fail;
        }
    }
    return 0;
fail:
    input_grad_free(plan);
    return -1;
}

/* Pass B into grad_x, once wd_packed is packed and dD complete; 0, or -1
 * (nothing written) when threads ran out. */
static int input_grad(input_grad_plan *plan, int threads, const float *dD) {
    const sc_geometry *g = plan->g;
    const int64_t C = g->channels, M = g->multiplier, K = C * M, taps = g->kernel_h * g->kernel_w;
    plan->dD = dD;
    if (plan->stride1)
        for (int64_t t = 0; t < taps; t++)
            for (int64_t m = 0; m < M; m++)
                for (int64_t c = 0; c < C; c++)
                    plan->flipped[t * K + m * C + c] =
                        plan->wd_packed[(m * taps + taps - 1 - t) * C + c];
    return sc_parallel_for(threads, g->batch * g->height, input_grad_task, plan);
}

/* ---- shared set-up ------------------------------------------------------ */

/* Per-thread scratch of pass A and per-chunk partial sums. */
typedef struct {
    float **rows;           /* per thread: tile rows (D, dY, dD as needed) */
    const float ***lists;   /* per thread: 9 * tile pointers (add_depthwise_grad) */
    float **partial;        /* per chunk: partial sums, zeroed */
    float *zeros;           /* a row of input channels of 0 (taps in the padding) */
    int threads, chunks;
} workspace;

/* Frees what was allocated (any of it may be NULL); may run again. */
static void workspace_free(workspace *w) {
    for (int t = 0; w->rows && t < w->threads; t++) free(w->rows[t]);
    for (int t = 0; w->lists && t < w->threads; t++) free(w->lists[t]);
    for (int t = 0; w->partial && t < w->chunks; t++) free(w->partial[t]);
    free(w->rows);
    free(w->lists);
    free(w->partial);
    free(w->zeros);
    w->zeros = NULL;
    w->rows = NULL;
    w->lists = NULL;
    w->partial = NULL;
}

/* 0, or -1 when out of memory (w is then freed). */
static int workspace_alloc(workspace *w, int threads, int chunks, int64_t row_floats,
                           int64_t tile, int64_t partial_floats, int64_t channels) {
    if (threads > chunks) threads = chunks; /* sc_parallel_for starts no more */
    w->threads = threads;
    w->chunks = chunks;
    w->rows = calloc((size_t)threads, sizeof(float *));
    w->lists = calloc((size_t)threads, sizeof(float **));
    w->partial = calloc((size_t)chunks, sizeof(float *));
    w->zeros = aligned(sizeof(float) * (size_t)(channels + SC_VL));
    if (!w->rows || !w->lists || !w->partial || !w->zeros) goto fail;
    memset(w->zeros, 0, sizeof(float) * (size_t)(channels + SC_VL));
    for (int t = 0; t < threads; t++) {
        w->rows[t] = aligned(sizeof(float) * (size_t)row_floats);
        w->lists[t] = malloc(sizeof(float *) * (size_t)(9 * tile));
        if (!w->rows[t] || !w->lists[t]) goto fail;
        memset(w->rows[t], 0, sizeof(float) * (size_t)row_floats);
    }
    for (int t = 0; t < chunks; t++) {
        w->partial[t] = aligned(sizeof(float) * (size_t)partial_floats);
        if (!w->partial[t]) goto fail;
        memset(w->partial[t], 0, sizeof(float) * (size_t)partial_floats);
    }
    return 0;
fail:
    workspace_free(w);
    return -1;
}

/* partial[0] += partial[1] + ... in chunk order. */
static void reduce_partials(workspace *w, int64_t floats) {
    float *sum = w->partial[0];
    for (int t = 1; t < w->chunks; t++) {
        const float *p = w->partial[t];
        int64_t i = 0;
        for (; i + SC_VL <= floats; i += SC_VL) vstore(sum + i, vload(sum + i) + vload(p + i));
        for (; i < floats; i++) sum[i] += p[i];
    }
}

/* The tasks of chunk `chunk`: [*begin, *end) of `tiles`. */
static void chunk_range(int64_t chunk, int64_t chunks, int64_t tiles, int64_t *begin,
                        int64_t *end) {
    *begin = chunk * tiles / chunks;
    *end = (chunk + 1) * tiles / chunks;
}

static int64_t clamp_tile(int64_t pixels, int64_t low, int64_t high) {
    return pixels < low ? low : pixels > high ? high : pixels;
}

/* Every gradient zero (no output pixels: nothing reads the input). */
static void zero_gradients(float *a, int64_t na, float *b, int64_t nb, float *c, int64_t nc,
                           float *d, int64_t nd) {
    if (a) memset(a, 0, sizeof(float) * (size_t)na);
    if (b) memset(b, 0, sizeof(float) * (size_t)nb);
    if (c) memset(c, 0, sizeof(float) * (size_t)nc);
    if (d) memset(d, 0, sizeof(float) * (size_t)nd);
}

/* The depthwise kernel's gradient in Keras's layout (kh, kw, C, M) from the
 * summed partials (order t * K + m * C + c). */
static void unpack_depthwise_grad(const sc_geometry *g, const float *dwd, float *grad) {
    const int64_t C = g->channels, M = g->multiplier, K = C * M;
    for (int64_t t = 0; t < g->kernel_h * g->kernel_w; t++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t m = 0; m < M; m++) grad[(t * C + c) * M + m] = dwd[t * K + m * C + c];
}

/* ---- separable ---------------------------------------------------------- */

/* acc (SC_MR rows of SC_NR, ld SC_NR) += A^T . B over `count` pixels, with
 * A element (r, p) = D[p * ldd + r] and B row p = B + p * ldb. */
#define SC_DECLARE(r) vf c##r##0 = vsplat(0.0f), c##r##1 = c##r##0;
#define SC_FMA(r)                   \
    {                               \
        vf a = vsplat(A[r]);        \
        c##r##0 += a * b0;          \
        c##r##1 += a * b1;          \
    }
#define SC_ADD(r)                                                     \
    vstore(acc + (r) * SC_NR, vload(acc + (r) * SC_NR) + c##r##0);    \
    vstore(acc + (r) * SC_NR + SC_VL, vload(acc + (r) * SC_NR + SC_VL) + c##r##1);

static inline void weight_tile(int64_t count, const float *D, int64_t ldd, const float *B,
                               int64_t ldb, float *acc) {
    SC_EACH_ROW(SC_DECLARE)
#pragma GCC unroll 2
    for (int64_t p = 0; p < count; p++) {
        const float *A = D + p * ldd;
        vf b0 = vload(B + p * ldb), b1 = vload(B + p * ldb + SC_VL);
        SC_EACH_ROW(SC_FMA)
    }
    SC_EACH_ROW(SC_ADD)
}

#undef SC_DECLARE
#undef SC_FMA
#undef SC_ADD

/* Panel j of Wp^T packed in panels of SC_NR columns over K (column k =
 * m * C + c is Keras's pointwise row c * M + m): F rows of SC_NR floats,
 * zero past K. */
static void pack_pointwise_transposed_panel(const sc_geometry *g, const float *kernel,
                                            float *packed, int64_t j) {
    const int64_t C = g->channels, M = g->multiplier, K = C * M, F = g->filters;
    for (int64_t f = 0; f < F; f++)
        for (int64_t l = 0; l < SC_NR; l++) {
            int64_t k = j * SC_NR + l;
            packed[(j * F + f) * SC_NR + l] = k < K ? kernel[((k % C) * M + k / C) * F + f] : 0.0f;
        }
}

typedef struct {
    const sc_geometry *g;
    const float *x, *wd_packed, *wpt_packed, *grad_out;
    float *dD;                 /* global (N, oh, ow, K), or NULL: per-thread */
    workspace *w;
    int64_t tile, tiles_per_image, tiles;
    int64_t Kp, Fp;            /* K rounded up to SC_MR, F to SC_NR */
    int64_t rows;              /* scratch rows per tile: the tile rounded up to SC_MR */
    int want_bias, want_depthwise, want_pointwise;
} separable_job;

static void separable_chunk(void *context, int64_t chunk, int thread) {
    const separable_job *job = (const separable_job *)context;
    const sc_geometry *g = job->g;
    const int64_t C = g->channels, K = C * g->multiplier, F = g->filters;
    const int64_t Kp = job->Kp, Fp = job->Fp, taps = g->kernel_h * g->kernel_w;
    const int64_t pixels = g->out_h * g->out_w;
    /* scratch: D (rows x Kp), dY (rows x Fp), dD (rows x K) */
    float *D = job->w->rows[thread], *dY = D + job->rows * Kp, *dD_scratch = dY + job->rows * Fp;
    const float **xs = job->w->lists[thread], **ds = xs + job->tile;
    /* the chunk's partial sums: dWp in panels of SC_NR filters (Kp rows
     * each), then dWd (taps x K), then db (Fp) */
    float *dwp = job->w->partial[chunk], *dwd = dwp + Fp * Kp, *db = dwd + taps * K;
    int64_t begin, end;
    chunk_range(chunk, job->w->chunks, job->tiles, &begin, &end);
    for (int64_t task = begin; task < end; task++) {
        const sc_tile t = sc_tile_of(g, task, job->tile, job->tiles_per_image);
        const float *image = job->x + t.n * g->height * g->width * C;
        const int64_t offset = t.n * pixels + t.first;
        /* 1. D, recomputed (only dWp reads it) */
        if (job->want_pointwise)
            depthwise_pixels(g, image, job->wd_packed, t.first, t.count, D, Kp, NONE);
        /* dY rows padded to Fp (the padding stays zero) */
        const float *grad_out = job->grad_out + offset * F;
        for (int64_t p = 0; p < t.count; p++)
            memcpy(dY + p * Fp, grad_out + p * F, sizeof(float) * (size_t)F);
        /* 2. dD = dY . Wp^T (for dWd and pass B) */
        float *dD = job->dD ? job->dD + offset * K : dD_scratch;
        for (int64_t j = 0; (job->dD || job->want_depthwise) && j * SC_NR < K; j++) {
            int64_t cols = K - j * SC_NR < SC_NR ? K - j * SC_NR : SC_NR;
            for (int64_t i = 0; i < t.count; i += SC_MR) {
                int64_t block = t.count - i < SC_MR ? t.count - i : SC_MR;
                micro_tile(F, dY + i * Fp, Fp, job->wpt_packed + j * F * SC_NR, zero_bias,
                           SC_LINEAR, 0, dD + i * K + j * SC_NR, K, block, cols);
            }
        }
        /* 3. dWp += D^T . dY */
        for (int64_t j = 0; job->want_pointwise && j * SC_NR < F; j++)
            for (int64_t k = 0; k < Kp; k += SC_MR)
                weight_tile(t.count, D + k, Kp, dY + j * SC_NR, Fp, dwp + (j * Kp + k) * SC_NR);
        /* 4. db += column sums of dY */
        if (job->want_bias) add_column_sums(dY, t.count, Fp, Fp, db);
        /* 5. dWd += x . dD */
        if (job->want_depthwise)
            add_depthwise_grad(g, image, t.first, t.count, dD, dwd, xs, ds, job->w->zeros);
    }
}

/* Output pixels per tile of the separable backward: its D, dY and dD rows
 * take about 384 KiB (in L2 with a panel of the packed Wp^T and the lines
 * of the partial dWp in use; 768 KiB left too little of the 1 MiB L2 of the
 * machine it was tuned on: 3-5% slower), a whole number of micro-tiles, at
 * least 64 pixels. */
static int64_t separable_tile(const sc_geometry *g) {
    const int64_t K = g->channels * g->multiplier;
    const int64_t per_pixel = 2 * round_up(K, SC_MR) + round_up(g->filters, SC_NR);
    return round_up(clamp_tile((384 * 1024 / 4) / (per_pixel > 0 ? per_pixel : 1), 64, 1024),
                    SC_MR);
}

/* Layouts as in the forward (x (N, H, W, C), depthwise_kernel (kh, kw, C, M),
 * pointwise_kernel (C * M, F), grad_out (N, oh, ow, F)); each gradient is
 * written in its tensor's layout, or not computed when its pointer is NULL.
 * Returns 0, or -1 when out of memory (nothing written then). */
int sc_separable_backward(const sc_geometry *g, const float *x, const float *depthwise_kernel,
                          const float *pointwise_kernel, const float *grad_out, float *grad_x,
                          float *grad_depthwise, float *grad_pointwise, float *grad_bias) {
    const int64_t C = g->channels, M = g->multiplier, K = C * M, F = g->filters;
    const int64_t taps = g->kernel_h * g->kernel_w, pixels = g->out_h * g->out_w;
    const int threads = g->threads > 0 ? (int)g->threads : 1;
    if (pixels <= 0 || g->batch <= 0) {
        zero_gradients(grad_x, g->batch * g->height * g->width * C, grad_depthwise, taps * K,
                       grad_pointwise, K * F, grad_bias, F);
        return 0;
    }
    const int64_t tile = separable_tile(g), tiles_per_image = (pixels + tile - 1) / tile;
    const int64_t tiles = g->batch * tiles_per_image;
    const int chunks = tiles < threads ? (int)tiles : threads;
    const int64_t Kp = round_up(K, SC_MR), Fp = round_up(F, SC_NR);
    const int64_t rows = round_up(tile, SC_MR); /* micro_tile reads whole blocks */
    separable_job job = {g, x, NULL, NULL, grad_out, NULL, NULL, tile, tiles_per_image, tiles,
                         Kp, Fp, rows, grad_bias != NULL, grad_depthwise != NULL,
                         grad_pointwise != NULL};
    const int64_t partial_floats = Fp * Kp + taps * K + Fp;
    int status = -1;
    workspace w = {0};
    input_grad_plan plan = {0};
    float *wd_packed = aligned(sizeof(float) * (size_t)(taps * K));
    float *wpt_packed = aligned(sizeof(float) * (size_t)(round_up(K, SC_NR) * F));
    float *dD = grad_x ? aligned(sizeof(float) * (size_t)(g->batch * pixels * K)) : NULL;
    if (!wd_packed || !wpt_packed || (grad_x && !dD)) goto done;
    if (grad_x && input_grad_alloc(&plan, g, threads, wd_packed, grad_x)) goto done;
    if (workspace_alloc(&w, threads, chunks, rows * (Kp + Fp + K), tile, partial_floats, C))
        goto done;
    pack_depthwise(g, depthwise_kernel, wd_packed);
    if (pack_panels(g, pointwise_kernel, wpt_packed, (K + SC_NR - 1) / SC_NR,
                    pack_pointwise_transposed_panel, threads))
        goto done;
    job.wd_packed = wd_packed;
    job.wpt_packed = wpt_packed;
    job.dD = dD;
    job.w = &w;
    if (sc_parallel_for(threads, chunks, separable_chunk, &job)) goto done;
    if (grad_x && input_grad(&plan, threads, dD)) goto done;
    /* Nothing is written before this point: the rest cannot fail. */
    reduce_partials(&w, partial_floats);
    const float *dwp = w.partial[0], *dwd = dwp + Fp * Kp, *db = dwd + taps * K;
    for (int64_t c = 0; grad_pointwise && c < C; c++)
        for (int64_t m = 0; m < M; m++)
            for (int64_t f = 0; f < F; f++)
                grad_pointwise[(c * M + m) * F + f] =
                    dwp[((f / SC_NR) * Kp + m * C + c) * SC_NR + f % SC_NR];
    if (grad_depthwise) unpack_depthwise_grad(g, dwd, grad_depthwise);
    if (grad_bias) memcpy(grad_bias, db, sizeof(float) * (size_t)F);
    status = 0;
done:
    input_grad_free(&plan);
    workspace_free(&w);
    free(dD);
    free(wpt_packed);
    free(wd_packed);
    return status;
}

/* ---- depthwise ---------------------------------------------------------- */

typedef struct {
    const sc_geometry *g;
    const float *x, *grad_out;
    float *dD;            /* global reordered (M > 1 with grad_x), or NULL */
    workspace *w;
    int64_t tile, tiles_per_image, tiles;
    int want_bias, want_kernel;
} depthwise_job;

static void depthwise_chunk(void *context, int64_t chunk, int thread) {
    const depthwise_job *job = (const depthwise_job *)context;
    const sc_geometry *g = job->g;
    const int64_t C = g->channels, M = g->multiplier, K = C * M;
    const int64_t pixels = g->out_h * g->out_w, taps = g->kernel_h * g->kernel_w;
    const float **xs = job->w->lists[thread], **ds = xs + job->tile;
    float *dwd = job->w->partial[chunk], *db = dwd + taps * K;
    int64_t begin, end;
    chunk_range(chunk, job->w->chunks, job->tiles, &begin, &end);
    for (int64_t task = begin; task < end; task++) {
        const sc_tile t = sc_tile_of(g, task, job->tile, job->tiles_per_image);
        const float *image = job->x + t.n * g->height * g->width * C;
        const int64_t offset = t.n * pixels + t.first;
        const float *grad_out = job->grad_out + offset * K;
        const float *dD = grad_out; /* order c * M + m is m * C + c when M == 1 */
        if (M > 1 && (job->dD || job->want_kernel)) {
            float *reordered = job->dD ? job->dD + offset * K : job->w->rows[thread];
            for (int64_t p = 0; p < t.count; p++)
                for (int64_t c = 0; c < C; c++)
                    for (int64_t m = 0; m < M; m++)
                        reordered[p * K + m * C + c] = grad_out[p * K + c * M + m];
            dD = reordered;
        }
        if (job->want_bias) add_column_sums(grad_out, t.count, K, K, db);
        if (job->want_kernel)
            add_depthwise_grad(g, image, t.first, t.count, dD, dwd, xs, ds, job->w->zeros);
    }
}

/* grad_out (N, oh, ow, C * M) in Keras's channel order c * M + m; each
 * gradient written, or not computed when its pointer is NULL. Returns 0, or
 * -1 when out of memory (nothing written then). */
int sc_depthwise_backward(const sc_geometry *g, const float *x, const float *kernel,
                          const float *grad_out, float *grad_x, float *grad_kernel,
                          float *grad_bias) {
    const int64_t C = g->channels, M = g->multiplier, K = C * M;
    const int64_t taps = g->kernel_h * g->kernel_w, pixels = g->out_h * g->out_w;
    const int threads = g->threads > 0 ? (int)g->threads : 1;
    if (pixels <= 0 || g->batch <= 0) {
        zero_gradients(grad_x, g->batch * g->height * g->width * C, grad_kernel, taps * K,
                       grad_bias, K, NULL, 0);
        return 0;
    }
    /* tiles of about 128 KiB of output-gradient rows, at least 64 pixels */
    const int64_t tile = clamp_tile((128 * 1024 / 4) / (K > 0 ? K : 1), 64, 4096);
    const int64_t tiles_per_image = (pixels + tile - 1) / tile, tiles = g->batch * tiles_per_image;
    const int chunks = tiles < threads ? (int)tiles : threads;
    const int64_t partial_floats = taps * K + K;
    const int global = grad_x && M > 1; /* pass B reads the reordered dD */
    depthwise_job job = {g, x, grad_out, NULL, NULL, tile, tiles_per_image, tiles,
                         grad_bias != NULL, grad_kernel != NULL};
    int status = -1;
    workspace w = {0};
    input_grad_plan plan = {0};
    float *wd_packed = aligned(sizeof(float) * (size_t)(taps * K));
    float *dD = global ? aligned(sizeof(float) * (size_t)(g->batch * pixels * K)) : NULL;
    if (!wd_packed || (global && !dD)) goto done;
    if (grad_x && input_grad_alloc(&plan, g, threads, wd_packed, grad_x)) goto done;
    if (workspace_alloc(&w, threads, chunks, M > 1 && !global ? tile * K : 0, tile,
                        partial_floats, C))
        goto done;
    pack_depthwise(g, kernel, wd_packed);
    job.dD = dD;
    job.w = &w;
    if (sc_parallel_for(threads, chunks, depthwise_chunk, &job)) goto done;
    if (grad_x && input_grad(&plan, threads, global ? dD : grad_out)) goto done;
    /* Nothing is written before this point: the rest cannot fail. */
    reduce_partials(&w, partial_floats);
    const float *dwd = w.partial[0], *db = dwd + taps * K;
    if (grad_kernel) unpack_depthwise_grad(g, dwd, grad_kernel);
    if (grad_bias) memcpy(grad_bias, db, sizeof(float) * (size_t)K);
    status = 0;
done:
    input_grad_free(&plan);
    workspace_free(&w);
    free(dD);
    free(wd_packed);
    return status;
}
