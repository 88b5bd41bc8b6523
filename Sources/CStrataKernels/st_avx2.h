// AVX2/FMA/F16C helpers shared by the vector kernels. Every function carries the target
// attribute, so these files compile with baseline flags and run only after the CPU probe.
#ifndef ST_AVX2_H
#define ST_AVX2_H

#include "st_internal.h"

#if ST_X86
#include <immintrin.h>

#define ST_TARGET __attribute__((target("avx2,fma,f16c")))
#define ST_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))

ST_INLINE float st_hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// The two halves at p (4 readable bytes) as floats in lanes 0 and 1.
///
/// The load is written in assembly on purpose: when only lane 0 is used, the compiler narrows a
/// plain load to a 16-bit insert (vpinsrw) that merges into an arbitrary register, often a live
/// accumulator, which chains every block's scale conversion to the previous block's FMA and
/// halves throughput. vmovd zeroes the rest of the register and depends on nothing.
typedef struct {
    unsigned char b[4];
} st_bytes4;

ST_INLINE __m128 st_load2h(const void *p) {
    __m128i v;
    __asm__("{vmovd %1, %0|vmovd %0, %1}" : "=x"(v) : "m"(*(const st_bytes4 *)p));
    return _mm_cvtph_ps(v);
}

/// Lane 0 / lane 1 of v in all eight lanes.
ST_INLINE __m256 st_bcast0(__m128 v) { return _mm256_broadcastss_ps(v); }
ST_INLINE __m256 st_bcast1(__m128 v) { return _mm256_broadcastss_ps(_mm_movehdup_ps(v)); }

/// Scalar half conversion for tails (not on hot paths).
ST_INLINE float st_h2f_fast(uint16_t h) { return st_h2f(h); }

/// 16 bytes of packed nibbles → 32 bytes: low nibbles in bytes 0..15, high nibbles in 16..31.
/// (Broadcast load, then a per-lane variable shift: no cross-lane shuffle.)
ST_INLINE __m256i st_unpack_nibbles(const uint8_t *q) {
    const __m256i both = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)q));
    const __m256i shifted = _mm256_srlv_epi64(both, _mm256_setr_epi64x(0, 0, 4, 4));
    return _mm256_and_si256(shifted, _mm256_set1_epi8(0x0f));
}

/// Signed int8 × signed int8 dot product of 32 pairs, as eight int32 partial sums.
/// `absw` is |w| and `w` supplies the signs; products with w = 0 vanish either way.
ST_INLINE __m256i st_dot_i8(__m256i absw, __m256i w, __m256i x) {
    const __m256i p16 = _mm256_maddubs_epi16(absw, _mm256_sign_epi8(x, w));
    return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
}

/// Unsigned int8 (≤ 63) × signed int8 dot product of 32 pairs, as eight int32 partial sums.
ST_INLINE __m256i st_dot_u8(__m256i u, __m256i x) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1));
}

/// Unpacks the twelve scale bytes of Q4_K/Q5_K into eight scales and eight mins (bytes).
ST_INLINE void kscales8(const uint8_t *s, uint64_t *scales, uint64_t *mins) {
    uint32_t a, b, c;
    memcpy(&a, s, 4);
    memcpy(&b, s + 4, 4);
    memcpy(&c, s + 8, 4);
    const uint32_t sc_lo = a & 0x3f3f3f3fu;
    const uint32_t mn_lo = b & 0x3f3f3f3fu;
    const uint32_t sc_hi = (c & 0x0f0f0f0fu) | ((a >> 2) & 0x30303030u);
    const uint32_t mn_hi = ((c >> 4) & 0x0f0f0f0fu) | ((b >> 2) & 0x30303030u);
    *scales = (uint64_t)sc_lo | ((uint64_t)sc_hi << 32);
    *mins = (uint64_t)mn_lo | ((uint64_t)mn_hi << 32);
}

#endif
#endif
