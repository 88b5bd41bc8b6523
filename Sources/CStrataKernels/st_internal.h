// Internal declarations shared by the kernel sources: block layouts (ggml's, byte for byte),
// scalar half/bfloat conversions, and the per-path kernel tables the dispatcher chooses from.
#ifndef ST_INTERNAL_H
#define ST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "strata_kernels.h"

#if defined(__x86_64__)
#define ST_X86 1
#else
#define ST_X86 0
#endif

#define ST_QK 32    // elements per legacy block
#define ST_QK_K 256 // elements per K-quant super-block

// MARK: - Block layouts

typedef struct {
    uint16_t d;
    uint8_t qs[ST_QK / 2];
} st_block_q4_0;

typedef struct {
    uint16_t d;
    uint16_t m;
    uint8_t qs[ST_QK / 2];
} st_block_q4_1;

typedef struct {
    uint16_t d;
    int8_t qs[ST_QK];
} st_block_q8_0;

typedef struct {
    uint16_t d;
    uint16_t s; // d * sum(qs)
    int8_t qs[ST_QK];
} st_block_q8_1;

typedef struct {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12]; // eight 6-bit scales and eight 6-bit mins
    uint8_t qs[ST_QK_K / 2];
} st_block_q4_k;

typedef struct {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qh[ST_QK_K / 8];
    uint8_t qs[ST_QK_K / 2];
} st_block_q5_k;

typedef struct {
    uint8_t ql[ST_QK_K / 2];
    uint8_t qh[ST_QK_K / 4];
    int8_t scales[ST_QK_K / 16];
    uint16_t d;
} st_block_q6_k;

typedef struct {
    float d;
    int8_t qs[ST_QK_K];
    int16_t bsums[ST_QK_K / 16]; // sums of qs in groups of 16
} st_block_q8_k;

_Static_assert(sizeof(st_block_q4_0) == 18, "Q4_0 block size");
_Static_assert(sizeof(st_block_q4_1) == 20, "Q4_1 block size");
_Static_assert(sizeof(st_block_q8_0) == 34, "Q8_0 block size");
_Static_assert(sizeof(st_block_q8_1) == 36, "Q8_1 block size");
_Static_assert(sizeof(st_block_q4_k) == 144, "Q4_K block size");
_Static_assert(sizeof(st_block_q5_k) == 176, "Q5_K block size");
_Static_assert(sizeof(st_block_q6_k) == 210, "Q6_K block size");
_Static_assert(sizeof(st_block_q8_k) == 292, "Q8_K block size");

// MARK: - Scalar conversions

static inline uint32_t st_f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float st_bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/// IEEE half → float, exact for every input; NaNs come out quiet, as the hardware converter does.
/// Branch-free so loops over it vectorise.
static inline float st_h2f(uint16_t h) {
#if defined(__aarch64__)
    __fp16 v;
    memcpy(&v, &h, sizeof v);
    return (float)v;
#else
    const uint32_t w = (uint32_t)h << 16;
    const uint32_t sign = w & 0x80000000u;
    const uint32_t two_w = w + w; // exponent and mantissa at the top, sign dropped
    // Normal, infinite and NaN halves: place exponent and mantissa as a float whose exponent is
    // 112 too large, then scale by 2^-112 (exact; infinities stay infinite, NaNs turn quiet).
    const float normal = st_bits_f32((two_w >> 4) + (0xE0u << 23)) * 0x1.0p-112f;
    // Zero and subnormal halves: the mantissa under the exponent of 0.5, minus 0.5 (exact).
    const float subnormal = st_bits_f32((two_w >> 17) | (126u << 23)) - 0.5f;
    const uint32_t bits = two_w < (1u << 27) ? st_f32_bits(subnormal) : st_f32_bits(normal);
    return st_bits_f32(sign | bits);
#endif
}

/// float → IEEE half with round-to-nearest-even; overflow goes to infinity, NaN stays NaN (quiet,
/// top payload bits kept, as the hardware converter does).
static inline uint16_t st_f2h(float f) {
    const uint32_t x = st_f32_bits(f);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    const uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) {
        if (ax == 0x7f800000u) return sign | 0x7c00u;
        return sign | 0x7e00u | (uint16_t)((ax >> 13) & 0x3ffu);
    }
    if (ax >= 0x477ff000u) return sign | 0x7c00u; // rounds to 65520 or above: infinity
    if (ax >= 0x38800000u) {
        // Normal half range: drop 13 mantissa bits with rounding to nearest even.
        const uint32_t r = ax + 0x0fffu + ((ax >> 13) & 1u) - 0x38000000u;
        return sign | (uint16_t)(r >> 13);
    }
    if (ax < 0x33000000u) return sign; // below half the smallest subnormal: zero
    // Subnormal half: value = m * 2^-24 with m < 1024.
    const uint32_t e = ax >> 23;                     // 102 ..= 112
    const uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - e;                 // 14 ..= 24
    const uint32_t q = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1u);
    const uint32_t up = (rem > half) || (rem == half && (q & 1u));
    return sign | (uint16_t)(q + up);
}

static inline float st_bf2f(uint16_t h) { return st_bits_f32((uint32_t)h << 16); }

/// float → bfloat16 with round-to-nearest-even; NaN is kept NaN (quiet).
static inline uint16_t st_f2bf(float f) {
    const uint32_t x = st_f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x0040u);
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

/// Rounding of |v| < 2^31 without libm: half away from zero (C's roundf) and half to even (the
/// default rounding mode, as the vector round instruction uses). v − trunc(v) is exact in float.
static inline int st_round_away(float v) {
    int i = (int)v;
    const float f = v - (float)i;
    if (f >= 0.5f) i++;
    else if (f <= -0.5f) i--;
    return i;
}

static inline int st_round_even(float v) {
    int i = (int)v;
    const float f = v - (float)i;
    if (f > 0.5f || (f == 0.5f && (i & 1))) i++;
    else if (f < -0.5f || (f == -0.5f && (i & 1))) i--;
    return i;
}

/// 1/√n for n ≥ 1, correctly rounded but in rare ties (Newton's method in double; no libm).
static inline float st_rsqrt(int64_t n) {
    const double x = (double)n;
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    bits = 0x5FE6EB50C7B537A9ull - (bits >> 1); // within a few percent
    double y;
    memcpy(&y, &bits, sizeof y);
    for (int i = 0; i < 5; i++) y = y * (1.5 - 0.5 * x * y * y);
    return (float)y;
}

/// exp(x) for x ≤ 0 (−∞ included) within about 1 ulp, 0 below the normal range; no libm.
/// Range reduction x = n·ln2 + r (ln2 in two parts), then a degree-7 Taylor polynomial on
/// |r| ≤ ln2/2, whose truncation error is below 2^-27 relative.
static inline float st_exp_nonpos(float x) {
    if (!(x >= -87.33f)) return 0.0f; // also −∞ (x is never NaN here)
    const float n = (float)st_round_even(x * 1.44269504088896341f);
    float r = x - n * 0.693145751953125f;
    r = r - n * 1.428606765330187045e-06f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    return p * st_bits_f32((uint32_t)((int)n + 127) << 23);
}

/// The 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K super-block.
static inline void st_kscale(const uint8_t *s, int j, int *sc, int *mn) {
    if (j < 4) {
        *sc = s[j] & 63;
        *mn = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
        *mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

// MARK: - Kernel tables

/// Fast path, one weight row against `nb` (1..ST_MAX_NB) activation vectors: out[b] = dot.
/// `nblocks` counts weight blocks (elements for F32/F16/BF16 rows).
typedef void (*st_rowdot_q_fn)(const void *w, const void *xq, size_t xq_stride, int nb,
                               int64_t nblocks, float *out);
/// Exact path: dot of one weight row with f32 x.
typedef float (*st_rowdot_f32_fn)(const void *w, const float *x, int64_t nblocks);
/// Activation quantiser: n floats into the fast path's format.
typedef void (*st_quant_act_fn)(const float *x, void *dst, int64_t n);

#define ST_MAX_NB 4

typedef struct {
    st_rowdot_q_fn q4_0, q4_1, q8_0, q4_k, q5_k, q6_k, f32, f16, bf16;
} st_q_table;

typedef struct {
    st_rowdot_f32_fn q4_0, q4_1, q8_0, q4_k, q5_k, q6_k, f32, f16, bf16;
} st_f32_table;

typedef struct {
    st_quant_act_fn q8_0, q8_1, q8_k;
} st_act_table;

/// Fast path over a run of rows: for b in [0, batch), r in [0, rows):
/// y[b * ldy + r] = dot(row r of w, vector b of xq), row r at w + r * row_stride and vector b at
/// xq + b * xq_stride. The row loop lives inside the kernel (no call per row), and the
/// activations are prepared once for all rows. A row's result does not depend on where the run
/// starts or how long it is, nor on which other vectors share the batch.
typedef void (*st_mat_q_fn)(const void *w, size_t row_stride, const void *xq, size_t xq_stride,
                            int64_t batch, int64_t nblocks, int64_t rows, float *y, int64_t ldy);

/// Multi-row kernels where a path has them (NULL entries fall back to the row-by-row kernels).
typedef struct {
    st_mat_q_fn q4_0, q4_1, q8_0;
} st_mat_table;

/// Largest head dimension the vector attention kernels take (larger ones run on the scalar path).
#define ST_ATTN_MAX_DIM 512

/// Attention over the query heads/rows of one call, after argument checks (see strata_kernels.h).
/// Keys and values are f32, or IEEE half when `f16` is set (strides and offsets count elements).
typedef void (*st_attention_fn)(const float *q, const void *k, const void *v, int f16, float *out, float *scratch,
                                int64_t start, int64_t count, int64_t heads, int64_t kv_heads, int64_t head_dim,
                                int64_t q_stride, int64_t kv_stride, int64_t h0, int64_t h1);

extern const st_q_table st_scalar_q;
extern const st_f32_table st_scalar_f32;
extern const st_act_table st_scalar_act;

void st_scalar_attention(const float *q, const void *k, const void *v, int f16, float *out, float *scratch,
                         int64_t start, int64_t count, int64_t heads, int64_t kv_heads, int64_t head_dim,
                         int64_t q_stride, int64_t kv_stride, int64_t h0, int64_t h1);

#if ST_X86
extern const st_mat_table st_avx2_mat;
extern const st_mat_table st_avx512_mat;
void st_avx2_attention(const float *q, const void *k, const void *v, int f16, float *out, float *scratch,
                       int64_t start, int64_t count, int64_t heads, int64_t kv_heads, int64_t head_dim,
                       int64_t q_stride, int64_t kv_stride, int64_t h0, int64_t h1);
void st_avx512_attention(const float *q, const void *k, const void *v, int f16, float *out, float *scratch,
                         int64_t start, int64_t count, int64_t heads, int64_t kv_heads, int64_t head_dim,
                         int64_t q_stride, int64_t kv_stride, int64_t h0, int64_t h1);
extern const st_q_table st_avx2_q;
extern const st_f32_table st_avx2_f32;
extern const st_act_table st_avx2_act;
void st_avx2_f16_to_f32(const uint16_t *src, float *dst, int64_t n);
void st_avx2_f32_to_f16(const float *src, uint16_t *dst, int64_t n);
void st_avx2_bf16_to_f32(const uint16_t *src, float *dst, int64_t n);
void st_avx2_q4_k_q(const void *w, const void *xq, size_t xs, int nb, int64_t nblocks, float *out);
void st_avx2_q5_k_q(const void *w, const void *xq, size_t xs, int nb, int64_t nblocks, float *out);
void st_avx2_q6_k_q(const void *w, const void *xq, size_t xs, int nb, int64_t nblocks, float *out);
float st_avx2_f32_x(const void *w, const float *x, int64_t n);
float st_avx2_f16_x(const void *w, const float *x, int64_t n);
float st_avx2_bf16_x(const void *w, const float *x, int64_t n);
#endif

/// SIMD levels, lowest first.
enum { ST_PATH_SCALAR = 1, ST_PATH_AVX2 = 2, ST_PATH_AVX512 = 3 };

/// The level in use: the best the CPU supports, capped by st_force_path / st_force_scalar.
int st_path_level(void);
/// 1 when the AVX2 path (or better) is in use.
int st_use_avx2(void);

/// Block decoders (scalar), shared by st_dequantize_row and the portable exact path.
void st_dequant_q4_0(const st_block_q4_0 *b, float *y);
void st_dequant_q4_1(const st_block_q4_1 *b, float *y);
void st_dequant_q8_0(const st_block_q8_0 *b, float *y);
void st_dequant_q4_k(const st_block_q4_k *b, float *y);
void st_dequant_q5_k(const st_block_q5_k *b, float *y);
void st_dequant_q6_k(const st_block_q6_k *b, float *y);

#endif
