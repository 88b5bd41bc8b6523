// AVX2 exact path: x stays f32; each weight block is decoded to floats in registers and
// multiplied against x with FMAs. Per block, Σ q·x and (where a min or offset needs it) Σ x are
// formed in vectors, then scaled into two alternating accumulators.
#include "st_avx2.h"

#if ST_X86

/// Σ q[j] · x[j] over 32 int8 quants (values within int8), as eight float lanes.
ST_INLINE __m256 dot32(__m256i q, const float *x) {
    const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    const __m256 f0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo));
    const __m256 f1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)));
    const __m256 f2 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi));
    const __m256 f3 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)));
    const __m256 s01 = _mm256_fmadd_ps(f1, _mm256_loadu_ps(x + 8), _mm256_mul_ps(f0, _mm256_loadu_ps(x)));
    const __m256 s23 = _mm256_fmadd_ps(f3, _mm256_loadu_ps(x + 24), _mm256_mul_ps(f2, _mm256_loadu_ps(x + 16)));
    return _mm256_add_ps(s01, s23);
}

/// The two 16-element halves of dot32, separately (for Q6_K's 16-element scale groups).
ST_INLINE void dot16x2(__m256i q, const float *x, __m256 *first, __m256 *second) {
    const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    const __m256 f0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo));
    const __m256 f1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)));
    const __m256 f2 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi));
    const __m256 f3 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)));
    *first = _mm256_fmadd_ps(f1, _mm256_loadu_ps(x + 8), _mm256_mul_ps(f0, _mm256_loadu_ps(x)));
    *second = _mm256_fmadd_ps(f3, _mm256_loadu_ps(x + 24), _mm256_mul_ps(f2, _mm256_loadu_ps(x + 16)));
}

/// Σ x[j] over 32 floats, as eight lanes.
ST_INLINE __m256 sum32(const float *x) {
    return _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8)),
                         _mm256_add_ps(_mm256_loadu_ps(x + 16), _mm256_loadu_ps(x + 24)));
}

// MARK: - 32-element blocks

static ST_TARGET float q4_0_x(const void *w, const float *x, int64_t nblocks) {
    const st_block_q4_0 *wb = (const st_block_q4_0 *)w;
    const __m256i eight = _mm256_set1_epi8(8);
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 2 <= nblocks; i += 2, x += 2 * ST_QK) {
        const __m256i q0 = _mm256_sub_epi8(st_unpack_nibbles(wb[i].qs), eight);
        const __m256i q1 = _mm256_sub_epi8(st_unpack_nibbles(wb[i + 1].qs), eight);
        a0 = _mm256_fmadd_ps(st_bcast0(st_load2h(&wb[i].d)), dot32(q0, x), a0);
        a1 = _mm256_fmadd_ps(st_bcast0(st_load2h(&wb[i + 1].d)), dot32(q1, x + ST_QK), a1);
    }
    if (i < nblocks) {
        const __m256i q0 = _mm256_sub_epi8(st_unpack_nibbles(wb[i].qs), eight);
        a0 = _mm256_fmadd_ps(st_bcast0(st_load2h(&wb[i].d)), dot32(q0, x), a0);
    }
    return st_hsum_ps(_mm256_add_ps(a0, a1));
}

static ST_TARGET float q4_1_x(const void *w, const float *x, int64_t nblocks) {
    const st_block_q4_1 *wb = (const st_block_q4_1 *)w;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    for (int64_t i = 0; i < nblocks; i++, x += ST_QK) {
        const __m256i q = st_unpack_nibbles(wb[i].qs);
        const __m128 dm = st_load2h(&wb[i].d);
        a0 = _mm256_fmadd_ps(st_bcast0(dm), dot32(q, x), a0);
        a1 = _mm256_fmadd_ps(st_bcast1(dm), sum32(x), a1);
    }
    return st_hsum_ps(_mm256_add_ps(a0, a1));
}

static ST_TARGET float q8_0_x(const void *w, const float *x, int64_t nblocks) {
    const st_block_q8_0 *wb = (const st_block_q8_0 *)w;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 2 <= nblocks; i += 2, x += 2 * ST_QK) {
        const __m256i q0 = _mm256_loadu_si256((const __m256i *)wb[i].qs);
        const __m256i q1 = _mm256_loadu_si256((const __m256i *)wb[i + 1].qs);
        a0 = _mm256_fmadd_ps(st_bcast0(st_load2h(&wb[i].d)), dot32(q0, x), a0);
        a1 = _mm256_fmadd_ps(st_bcast0(st_load2h(&wb[i + 1].d)), dot32(q1, x + ST_QK), a1);
    }
    if (i < nblocks) {
        const __m256i q0 = _mm256_loadu_si256((const __m256i *)wb[i].qs);
        a0 = _mm256_fmadd_ps(st_bcast0(st_load2h(&wb[i].d)), dot32(q0, x), a0);
    }
    return st_hsum_ps(_mm256_add_ps(a0, a1));
}

// MARK: - K-quants

/// Q4_K and Q5_K: w = d·sc·q − dmin·mn per 32-element sub-block.
ST_INLINE float q45_k_x(const void *w, const float *x, int64_t nblocks, const int HIGH) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), m1 = _mm256_set1_epi8(0x01);
    const size_t bytes = HIGH ? sizeof(st_block_q5_k) : sizeof(st_block_q4_k);
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    for (int64_t i = 0; i < nblocks; i++, x += ST_QK_K) {
        const uint8_t *blk = (const uint8_t *)w + (size_t)i * bytes;
        // Both layouts start with d, dmin, scales[12]; Q5_K then has qh[32] before qs.
        const uint8_t *scales = blk + 4;
        const uint8_t *qh = blk + 16;
        const uint8_t *qs = HIGH ? blk + 48 : blk + 16;
        // Sub-block scales d·sc[j] and mins dmin·mn[j] as floats, once per super-block.
        uint64_t sc8, mn8;
        kscales8(scales, &sc8, &mn8);
        const __m128 dm = st_load2h(blk);
        float scf[8], mnf[8];
        const __m256 scv = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)sc8)));
        const __m256 mnv = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)mn8)));
        _mm256_storeu_ps(scf, _mm256_mul_ps(st_bcast0(dm), scv));
        _mm256_storeu_ps(mnf, _mm256_mul_ps(st_bcast1(dm), mnv));
        __m256i hb = _mm256_setzero_si256();
        if (HIGH) hb = _mm256_loadu_si256((const __m256i *)qh);
#pragma unroll
        for (int c = 0; c < 4; c++) {
            const __m256i raw = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
            __m256i lo = _mm256_and_si256(raw, m4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
            if (HIGH) {
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2 * c), m1), 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2 * c + 1), m1), 4));
            }
            const float *xc = x + 64 * c;
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(scf + 2 * c), dot32(lo, xc), a0);
            a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(scf + 2 * c + 1), dot32(hi, xc + 32), a1);
            a0 = _mm256_fnmadd_ps(_mm256_broadcast_ss(mnf + 2 * c), sum32(xc), a0);
            a1 = _mm256_fnmadd_ps(_mm256_broadcast_ss(mnf + 2 * c + 1), sum32(xc + 32), a1);
        }
    }
    return st_hsum_ps(_mm256_add_ps(a0, a1));
}

static ST_TARGET float q4_k_x(const void *w, const float *x, int64_t nblocks) { return q45_k_x(w, x, nblocks, 0); }
static ST_TARGET float q5_k_x(const void *w, const float *x, int64_t nblocks) { return q45_k_x(w, x, nblocks, 1); }

static ST_TARGET float q6_k_x(const void *w, const float *x, int64_t nblocks) {
    const st_block_q6_k *wb = (const st_block_q6_k *)w;
    const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30), off = _mm256_set1_epi8(32);
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    for (int64_t i = 0; i < nblocks; i++, x += ST_QK_K) {
        const st_block_q6_k *blk = wb + i;
        const float d = _mm_cvtss_f32(_mm_movehdup_ps(st_load2h(blk->scales + 14)));
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = blk->ql + 64 * h;
            const int8_t *sc = blk->scales + 8 * h;
            const __m256i qhv = _mm256_loadu_si256((const __m256i *)(blk->qh + 32 * h));
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qhv, 4), m30));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qhv, 2), m30));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qhv, m30));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                   _mm256_and_si256(_mm256_srli_epi16(qhv, 2), m30));
            for (int k = 0; k < 4; k++) {
                __m256 s0, s1;
                dot16x2(_mm256_sub_epi8(q[k], off), x + 128 * h + 32 * k, &s0, &s1);
                a0 = _mm256_fmadd_ps(_mm256_set1_ps(d * (float)sc[2 * k]), s0, a0);
                a1 = _mm256_fmadd_ps(_mm256_set1_ps(d * (float)sc[2 * k + 1]), s1, a1);
            }
        }
    }
    return st_hsum_ps(_mm256_add_ps(a0, a1));
}

const st_f32_table st_avx2_f32 = {q4_0_x, q4_1_x, q8_0_x, q4_k_x, q5_k_x, q6_k_x,
                                  st_avx2_f32_x, st_avx2_f16_x, st_avx2_bf16_x};

#endif
