/* Vector types and register-blocking sizes of one build of the kernels.
 *
 * The same C sources are compiled once per instruction set (see build.py):
 * with -mavx512f a `vf` is one zmm register, with -mavx2 one ymm, and in the
 * portable build one SSE / NEON register. GCC's vector extensions turn the
 * arithmetic on `vf` into the matching instructions, so there is one source
 * of truth for every code path.
 */
#ifndef SEPCONV_VEC_H
#define SEPCONV_VEC_H

#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#if defined(__AVX512F__)
#define SC_VL 16        /* floats per vector */
#define SC_MR 12        /* GEMM micro-tile rows (output pixels) */
#define SC_ISA_NAME "avx512"
#elif defined(__AVX2__) && defined(__FMA__)
#define SC_VL 8
#define SC_MR 6
#define SC_ISA_NAME "avx2"
#else
#define SC_VL 4
#define SC_MR 6
#define SC_ISA_NAME "portable"
#endif

#define SC_NV 2                   /* vectors per micro-tile row */
#define SC_NR (SC_NV * SC_VL)     /* micro-tile columns (filters) */
#define SC_ALIGN 64

typedef float vf __attribute__((vector_size(SC_VL * 4)));
/* The same vector read from / written to memory aligned to a float only. */
typedef float vf_u __attribute__((vector_size(SC_VL * 4), aligned(4), may_alias));

typedef int32_t vi __attribute__((vector_size(SC_VL * 4)));

/* mask ? a : b, lane by lane (GCC's C has no vector ?:). */
static inline vf vselect(vi mask, vf a, vf b) { return (vf)(((vi)a & mask) | ((vi)b & ~mask)); }

static inline vf vload(const float *p) { return *(const vf_u *)p; }
static inline void vstore(float *p, vf v) { *(vf_u *)p = v; }
/* A store that bypasses the caches (p aligned to a whole vector): for
 * outputs too large to be read again from cache. */
static inline void vstream(float *p, vf v) {
#if SC_VL == 16
    _mm512_stream_ps(p, (__m512)v);
#elif SC_VL == 8
    _mm256_stream_ps(p, (__m256)v);
#elif defined(__SSE__)
    _mm_stream_ps(p, (__m128)v);
#else
    vstore(p, v);
#endif
}
/* Every lane = s (an initializer list: `(vf){0} + s` would cost a scalar add). */
#if SC_VL == 16
#define SC_LANES(s) s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s
#elif SC_VL == 8
#define SC_LANES(s) s, s, s, s, s, s, s, s
#else
#define SC_LANES(s) s, s, s, s
#endif
static inline vf vsplat(float s) { return (vf){SC_LANES(s)}; }

/* Activations applied in the epilogue. */
enum { SC_LINEAR = 0, SC_RELU = 1, SC_RELU6 = 2 };

/* NaN passes through both, as torch's relu and relu6 let it. */
static inline vf vactivate(vf v, int activation) {
    if (activation == SC_RELU || activation == SC_RELU6) {
        vf zero = vsplat(0.0f);
        v = vselect(v < zero, zero, v);
        if (activation == SC_RELU6) {
            vf six = vsplat(6.0f);
            v = vselect(v > six, six, v);
        }
    }
    return v;
}

static inline float sactivate(float v, int activation) {
    if (activation == SC_RELU || activation == SC_RELU6) {
        v = v < 0.0f ? 0.0f : v;
        if (activation == SC_RELU6) v = v > 6.0f ? 6.0f : v;
    }
    return v;
}

static inline int64_t round_up(int64_t value, int64_t multiple) {
    return (value + multiple - 1) / multiple * multiple;
}

#endif
