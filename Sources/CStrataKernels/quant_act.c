// Activation quantisers for the fast path (Q8_0, Q8_1, Q8_K), scalar and AVX2.
// Both paths compute the same bytes: scale = amax / 127, q = round-half-even(x * (127 / amax)).
#include <math.h>

#include "st_internal.h"

// MARK: - Scalar

static void act_q8_0_scalar(const float *x, void *dst, int64_t n) {
    st_block_q8_0 *y = (st_block_q8_0 *)dst;
    for (int64_t i = 0; i < n / ST_QK; i++, x += ST_QK) {
        float amax = 0.0f;
        for (int j = 0; j < ST_QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[i].d = st_f2h(amax / 127.0f);
        for (int j = 0; j < ST_QK; j++) y[i].qs[j] = (int8_t)st_round_even(x[j] * id);
    }
}

static void act_q8_1_scalar(const float *x, void *dst, int64_t n) {
    st_block_q8_1 *y = (st_block_q8_1 *)dst;
    for (int64_t i = 0; i < n / ST_QK; i++, x += ST_QK) {
        float amax = 0.0f;
        for (int j = 0; j < ST_QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        const uint16_t dh = st_f2h(amax / 127.0f);
        int sum = 0;
        for (int j = 0; j < ST_QK; j++) {
            const int q = st_round_even(x[j] * id);
            y[i].qs[j] = (int8_t)q;
            sum += q;
        }
        y[i].d = dh;
        y[i].s = st_f2h(st_h2f(dh) * (float)sum);
    }
}

static void act_q8_k_scalar(const float *x, void *dst, int64_t n) {
    st_block_q8_k *y = (st_block_q8_k *)dst;
    for (int64_t i = 0; i < n / ST_QK_K; i++, x += ST_QK_K) {
        float amax = 0.0f;
        for (int j = 0; j < ST_QK_K; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[i].d = amax / 127.0f;
        for (int g = 0; g < ST_QK_K / 16; g++) {
            int sum = 0;
            for (int j = 16 * g; j < 16 * g + 16; j++) {
                const int q = st_round_even(x[j] * id);
                y[i].qs[j] = (int8_t)q;
                sum += q;
            }
            y[i].bsums[g] = (int16_t)sum;
        }
    }
}

const st_act_table st_scalar_act = {act_q8_0_scalar, act_q8_1_scalar, act_q8_k_scalar};

// MARK: - AVX2

#if ST_X86
#include <immintrin.h>

#define ST_TARGET __attribute__((target("avx2,fma,f16c")))

static ST_TARGET inline float hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/// Quantises 32 floats with multiplier id into 32 int8 (in order) and returns their int32
/// partial sums (eight lanes) for callers that need block sums.
static ST_TARGET inline __m256i q32(const float *x, __m256 id, int8_t *out) {
#define mode (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
    const __m256i a = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x), id), mode));
    const __m256i b = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8), id), mode));
    const __m256i c = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 16), id), mode));
    const __m256i d = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 24), id), mode));
    const __m256i sums = _mm256_add_epi32(_mm256_add_epi32(a, b), _mm256_add_epi32(c, d));
    // packs work within 128-bit lanes; the final permute restores element order.
    const __m256i ab = _mm256_packs_epi32(a, b);
    const __m256i cd = _mm256_packs_epi32(c, d);
    __m256i q = _mm256_packs_epi16(ab, cd);
    q = _mm256_permutevar8x32_epi32(q, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)out, q);
    return sums;
}
#undef mode

static ST_TARGET inline float absmax32(const float *x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_andnot_ps(sign, _mm256_loadu_ps(x));
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8)));
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 16)));
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 24)));
    return hmax8(m);
}

static ST_TARGET inline int hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

static ST_TARGET void act_q8_0_avx2(const float *x, void *dst, int64_t n) {
    st_block_q8_0 *y = (st_block_q8_0 *)dst;
    for (int64_t i = 0; i < n / ST_QK; i++, x += ST_QK) {
        const float amax = absmax32(x);
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[i].d = st_f2h(amax / 127.0f);
        (void)q32(x, _mm256_set1_ps(id), y[i].qs);
    }
}

static ST_TARGET void act_q8_1_avx2(const float *x, void *dst, int64_t n) {
    st_block_q8_1 *y = (st_block_q8_1 *)dst;
    for (int64_t i = 0; i < n / ST_QK; i++, x += ST_QK) {
        const float amax = absmax32(x);
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        const uint16_t dh = st_f2h(amax / 127.0f);
        const int sum = hsum_i32(q32(x, _mm256_set1_ps(id), y[i].qs));
        y[i].d = dh;
        y[i].s = st_f2h(st_h2f(dh) * (float)sum);
    }
}

static ST_TARGET void act_q8_k_avx2(const float *x, void *dst, int64_t n) {
    st_block_q8_k *y = (st_block_q8_k *)dst;
    for (int64_t i = 0; i < n / ST_QK_K; i++, x += ST_QK_K) {
        const __m256 sign = _mm256_set1_ps(-0.0f);
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < ST_QK_K; j += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
        const float amax = hmax8(m);
        const __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
        y[i].d = amax / 127.0f;
        for (int j = 0; j < ST_QK_K; j += 32) (void)q32(x + j, id, y[i].qs + j);
        // Sums of each group of 16 quants.
        const __m256i ones = _mm256_set1_epi16(1);
        for (int g = 0; g < ST_QK_K / 16; g++) {
            const __m256i v = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(y[i].qs + 16 * g)));
            y[i].bsums[g] = (int16_t)hsum_i32(_mm256_madd_epi16(v, ones));
        }
    }
}

const st_act_table st_avx2_act = {act_q8_0_avx2, act_q8_1_avx2, act_q8_k_avx2};
#endif
