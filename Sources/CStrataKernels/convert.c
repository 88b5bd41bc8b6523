// Element conversions between f32 and IEEE half / bfloat16, scalar and F16C/AVX2.
#include "st_internal.h"

#if ST_X86
#include <immintrin.h>

#define ST_TARGET __attribute__((target("avx2,fma,f16c")))

ST_TARGET void st_avx2_f16_to_f32(const uint16_t *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        const __m128i b = _mm_loadu_si128((const __m128i *)(src + i + 8));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(a));
        _mm256_storeu_ps(dst + i + 8, _mm256_cvtph_ps(b));
    }
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    }
    for (; i < n; i++) dst[i] = _cvtsh_ss(src[i]);
}

ST_TARGET void st_avx2_f32_to_f16(const float *src, uint16_t *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(dst + i), h);
    }
    for (; i < n; i++) dst[i] = _cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT);
}

ST_TARGET void st_avx2_bf16_to_f32(const uint16_t *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(src + i)));
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)));
    }
    for (; i < n; i++) dst[i] = st_bf2f(src[i]);
}
#endif

void st_f16_to_f32(const uint16_t *src, float *dst, int64_t n) {
#if ST_X86
    if (st_use_avx2()) {
        st_avx2_f16_to_f32(src, dst, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) dst[i] = st_h2f(src[i]);
}

void st_f32_to_f16(const float *src, uint16_t *dst, int64_t n) {
#if ST_X86
    if (st_use_avx2()) {
        st_avx2_f32_to_f16(src, dst, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) dst[i] = st_f2h(src[i]);
}

void st_bf16_to_f32(const uint16_t *src, float *dst, int64_t n) {
#if ST_X86
    if (st_use_avx2()) {
        st_avx2_bf16_to_f32(src, dst, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) dst[i] = st_bf2f(src[i]);
}

void st_f32_to_bf16(const float *src, uint16_t *dst, int64_t n) {
    // Integer-only rounding: the compiler vectorises this loop well on any target.
    for (int64_t i = 0; i < n; i++) dst[i] = st_f2bf(src[i]);
}
