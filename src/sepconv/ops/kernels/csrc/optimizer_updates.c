/* Optimizer updates in one pass over each weight.
 *
 * Keras's Adam step (sepconv.training.optimizers.Adam) is eight of PyTorch's
 * foreach kernels, each a loop over every weight; for a small network the
 * step costs far more in calls than in arithmetic. Here it is two passes,
 * each element going through the same float32 operations in the same order:
 *
 *   sc_adam_moments:  m = fma(g, 1 - beta_1, m * beta_1)   (m *= beta_1; m += (1 - beta_1) g)
 *                     v = fma(g * g, 1 - beta_2, v * beta_2)
 *                     v_hat = max(v_hat, v)                 (AMSGrad only)
 *                     and v (v_hat) copied into one buffer for all weights;
 *   then the caller takes PyTorch's square root of that buffer in place (its
 *   float32 sqrt is not always the correctly rounded one, and Keras uses it);
 *   sc_adam_weights:  w = w - (m * alpha) / (root + epsilon)
 *
 * PyTorch's vectorized add with alpha is a fused multiply-add, so the two
 * paths agree bit for bit. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "parallel.h"

typedef struct {
    int64_t count;               /* weights */
    const int64_t *sizes;        /* floats in each weight */
    float *const *params;
    const float *const *grads;
    float *const *momentums;
    float *const *velocities;
    float *const *velocity_hats; /* NULL without AMSGrad */
    float alpha, beta_1, one_minus_beta_1, beta_2, one_minus_beta_2, epsilon;
    int64_t threads;
} sc_adam_step;

/* Elements [begin, end) of weight `w`; `roots` is the weight's part of the
 * buffer of all weights' velocities. */
typedef void (*adam_pass)(const sc_adam_step *s, int64_t w, int64_t begin, int64_t end,
                          float *roots);

static void moments_range(const sc_adam_step *s, int64_t w, int64_t begin, int64_t end,
                          float *roots) {
    float *restrict m = s->momentums[w], *restrict v = s->velocities[w], *restrict r = roots;
    float *restrict v_hat = s->velocity_hats ? s->velocity_hats[w] : NULL;
    const float *restrict g = s->grads[w];
    const float b1 = s->beta_1, a1 = s->one_minus_beta_1, b2 = s->beta_2, a2 = s->one_minus_beta_2;
    if (!v_hat) {
        for (int64_t i = begin; i < end; i++) {
            const float gi = g[i], vi = fmaf(gi * gi, a2, v[i] * b2);
            m[i] = fmaf(gi, a1, m[i] * b1);
            v[i] = vi;
            r[i] = vi;
        }
        return;
    }
    for (int64_t i = begin; i < end; i++) {
        const float gi = g[i], vi = fmaf(gi * gi, a2, v[i] * b2), h = v_hat[i];
        const float top = (h != h || h > vi) ? h : vi; /* torch.maximum: NaN wins */
        m[i] = fmaf(gi, a1, m[i] * b1);
        v[i] = vi;
        v_hat[i] = top;
        r[i] = top;
    }
}

static void weights_range(const sc_adam_step *s, int64_t w, int64_t begin, int64_t end,
                          float *roots) {
    float *restrict p = s->params[w];
    const float *restrict m = s->momentums[w], *restrict r = roots;
    const float alpha = s->alpha, epsilon = s->epsilon;
    for (int64_t i = begin; i < end; i++) p[i] = p[i] - (m[i] * alpha) / (r[i] + epsilon);
}

/* Work for the threads: pieces of CHUNK floats, a weight's last one shorter. */
#define CHUNK ((int64_t)1 << 15)

static inline int64_t pieces_of(int64_t size) { return (size + CHUNK - 1) / CHUNK; }

typedef struct {
    const sc_adam_step *step;
    adam_pass pass;
    float *roots;
} adam_job;

static void adam_task(void *context, int64_t chunk, int thread) {
    (void)thread;
    const adam_job *job = (const adam_job *)context;
    const sc_adam_step *s = job->step;
    int64_t w = 0, offset = 0;
    for (int64_t pieces; chunk >= (pieces = pieces_of(s->sizes[w])); w++) {
        chunk -= pieces; /* not in weight w: on to the next */
        offset += s->sizes[w];
    }
    const int64_t begin = chunk * CHUNK, end = begin + CHUNK;
    job->pass(s, w, begin, end < s->sizes[w] ? end : s->sizes[w], job->roots + offset);
}

static void run_serially(const sc_adam_step *s, adam_pass pass, float *roots) {
    for (int64_t w = 0, offset = 0; w < s->count; offset += s->sizes[w], w++)
        pass(s, w, 0, s->sizes[w], roots + offset);
}

/* Runs `pass` over every element of every weight, in threads when there is
 * enough work (serially when threads cannot be had). */
static void run_pass(const sc_adam_step *s, adam_pass pass, float *roots) {
    int64_t chunks = 0;
    for (int64_t w = 0; w < s->count; w++) chunks += pieces_of(s->sizes[w]);
    adam_job job = {s, pass, roots};
    if (s->threads <= 1 || chunks <= 2 ||
        sc_parallel_for((int)s->threads, chunks, adam_task, &job) != 0)
        run_serially(s, pass, roots); /* a failed sc_parallel_for ran nothing */
}

/* The moments of every weight, and its velocity (AMSGrad: v_hat) copied to
 * `roots` (all weights one after the other). */
void sc_adam_moments(const sc_adam_step *s, float *roots) { run_pass(s, moments_range, roots); }

/* Every weight updated from its momentum and `roots`, the square roots of
 * what sc_adam_moments left there. */
void sc_adam_weights(const sc_adam_step *s, const float *roots) {
    run_pass(s, weights_range, (float *)roots);
}
