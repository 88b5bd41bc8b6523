// AVX2 fast path for the K-quants against Q8_K activations. Per super-block, integer products
// (maddubs) are weighted by the sub-block scales in 16-bit (madd) and summed in int32; one float
// FMA per super-block and vector applies d. Mins (Q4_K/Q5_K) and Q6_K's offset of 32 come from
// the activations' group sums, so they cost one madd per super-block.
#include "st_avx2.h"

#if ST_X86

#define XQ(type, base, stride, b) ((const type *)((const char *)(base) + (size_t)(b) * (stride)))

/// Shuffle mask replicating int16 element `lo` over the low 128-bit lane and `hi` over the high.
ST_INLINE __m256i rep16(int lo, int hi) {
    const short a = (short)(0x0100 + 0x0202 * lo), b = (short)(0x0100 + 0x0202 * hi);
    return _mm256_set_m128i(_mm_set1_epi16(b), _mm_set1_epi16(a));
}

/// Σ_j mins[j] · (bsums[2j] + bsums[2j+1]) as four int32 lanes (zero-extended to 256 bits).
ST_INLINE __m256i kmins(__m128i mins16, const st_block_q8_k *x) {
    const __m256i bs = _mm256_loadu_si256((const __m256i *)x->bsums);
    const __m128i pairs = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
    return _mm256_zextsi128_si256(_mm_madd_epi16(mins16, pairs));
}

// MARK: - Q4_K / Q5_K

/// Shared body; HIGH selects Q5_K's fifth bit from qh.
ST_INLINE void q45_k_nb(const uint8_t *blk, const uint8_t *scales_raw, const uint8_t *qs, const uint8_t *qh,
                        const void *xq, size_t xs, int64_t i, __m256 *acc, const int NB, const int HIGH) {
    const __m128 dm = st_load2h(blk); // [d, dmin]
    uint64_t sc8, mn8;
    kscales8(scales_raw, &sc8, &mn8);
    const __m128i mins16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn8));
    const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc8)));
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    __m256i hb = _mm256_setzero_si256();
    if (HIGH) hb = _mm256_loadu_si256((const __m256i *)qh);

    __m256i sumi[ST_MAX_NB];
    for (int b = 0; b < NB; b++) sumi[b] = _mm256_setzero_si256();

#pragma unroll
    for (int c = 0; c < 4; c++) {
        const __m256i raw = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
        __m256i lo = _mm256_and_si256(raw, m4);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
        if (HIGH) {
            // Bit 2c of qh is the fifth bit of the low half, bit 2c+1 of the high half: move
            // each to bit 4 (16-bit shifts; the mask drops bits that crossed a byte).
            const __m256i m16 = _mm256_set1_epi8(0x10);
            const __m256i hl = c == 0 ? _mm256_slli_epi16(hb, 4)
                             : c == 1 ? _mm256_slli_epi16(hb, 2)
                             : c == 2 ? hb
                                      : _mm256_srli_epi16(hb, 2);
            const __m256i hh = c == 0 ? _mm256_slli_epi16(hb, 3)
                             : c == 1 ? _mm256_slli_epi16(hb, 1)
                             : c == 2 ? _mm256_srli_epi16(hb, 1)
                                      : _mm256_srli_epi16(hb, 3);
            lo = _mm256_or_si256(lo, _mm256_and_si256(hl, m16));
            hi = _mm256_or_si256(hi, _mm256_and_si256(hh, m16));
        }
        const __m256i s_lo = _mm256_shuffle_epi8(sc16, rep16(2 * c, 2 * c));
        const __m256i s_hi = _mm256_shuffle_epi8(sc16, rep16(2 * c + 1, 2 * c + 1));
        for (int b = 0; b < NB; b++) {
            const st_block_q8_k *x = XQ(st_block_q8_k, xq, xs, b) + i;
            const __m256i y0 = _mm256_loadu_si256((const __m256i *)(x->qs + 64 * c));
            const __m256i y1 = _mm256_loadu_si256((const __m256i *)(x->qs + 64 * c + 32));
            const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), s_lo);
            const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), s_hi);
            sumi[b] = _mm256_add_epi32(sumi[b], _mm256_add_epi32(p0, p1));
        }
    }
    for (int b = 0; b < NB; b++) {
        const st_block_q8_k *x = XQ(st_block_q8_k, xq, xs, b) + i;
        const __m256 m = _mm256_cvtepi32_ps(kmins(mins16, x));
        const __m128 f = _mm_mul_ps(dm, _mm_set1_ps(x->d)); // [d·dx, dmin·dx]
        acc[b] = _mm256_fmadd_ps(st_bcast0(f), _mm256_cvtepi32_ps(sumi[b]), acc[b]);
        acc[b] = _mm256_fnmadd_ps(st_bcast1(f), m, acc[b]);
    }
}

ST_INLINE void q4_k_nb(const void *w, const void *xq, size_t xs, int64_t nblocks, float *out, const int NB) {
    const st_block_q4_k *wb = (const st_block_q4_k *)w;
    __m256 acc[ST_MAX_NB];
    for (int b = 0; b < NB; b++) acc[b] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nblocks; i++) {
        q45_k_nb((const uint8_t *)(wb + i), wb[i].scales, wb[i].qs, NULL, xq, xs, i, acc, NB, 0);
    }
    for (int b = 0; b < NB; b++) out[b] = st_hsum_ps(acc[b]);
}

ST_INLINE void q5_k_nb(const void *w, const void *xq, size_t xs, int64_t nblocks, float *out, const int NB) {
    const st_block_q5_k *wb = (const st_block_q5_k *)w;
    __m256 acc[ST_MAX_NB];
    for (int b = 0; b < NB; b++) acc[b] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nblocks; i++) {
        q45_k_nb((const uint8_t *)(wb + i), wb[i].scales, wb[i].qs, wb[i].qh, xq, xs, i, acc, NB, 1);
    }
    for (int b = 0; b < NB; b++) out[b] = st_hsum_ps(acc[b]);
}

// MARK: - Q6_K

ST_INLINE void q6_k_nb(const void *w, const void *xq, size_t xs, int64_t nblocks, float *out, const int NB) {
    const st_block_q6_k *wb = (const st_block_q6_k *)w;
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const __m256i m30 = _mm256_set1_epi8(0x30);
    __m256 acc[ST_MAX_NB];
    for (int b = 0; b < NB; b++) acc[b] = _mm256_setzero_ps();

    for (int64_t i = 0; i < nblocks; i++) {
        const st_block_q6_k *blk = wb + i;
        const __m128i sc8 = _mm_loadu_si128((const __m128i *)blk->scales);
        const __m256i sc_all = _mm256_cvtepi8_epi16(sc8); // 16 scales, for the offset term
        __m256i sumi[ST_MAX_NB];
        for (int b = 0; b < NB; b++) {
            // Σ_g sc[g] · (q[g] − 32) · x = Σ sc·q·x − 32 · Σ_g sc[g] · bsums[g]
            const st_block_q8_k *x = XQ(st_block_q8_k, xq, xs, b) + i;
            const __m256i bs = _mm256_loadu_si256((const __m256i *)x->bsums);
            sumi[b] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_madd_epi16(sc_all, bs), 5));
        }
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = blk->ql + 64 * h;
            const __m256i qhv = _mm256_loadu_si256((const __m256i *)(blk->qh + 32 * h));
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            // Eight scales of this half, as int16 in both lanes.
            const __m256i sc16 = _mm256_broadcastsi128_si256(
                _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(blk->scales + 8 * h))));
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qhv, 4), m30));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qhv, 2), m30));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qhv, m30));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                   _mm256_and_si256(_mm256_srli_epi16(qhv, 2), m30));
#pragma unroll
            for (int k = 0; k < 4; k++) {
                // Elements 32k..32k+31 of this half: groups 2k (lane 0) and 2k+1 (lane 1).
                const __m256i s = _mm256_shuffle_epi8(sc16, rep16(2 * k, 2 * k + 1));
                for (int b = 0; b < NB; b++) {
                    const st_block_q8_k *x = XQ(st_block_q8_k, xq, xs, b) + i;
                    const __m256i y = _mm256_loadu_si256((const __m256i *)(x->qs + 128 * h + 32 * k));
                    const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], y), s);
                    sumi[b] = _mm256_add_epi32(sumi[b], p);
                }
            }
        }
        // d is the block's last two bytes: load it with the two scales before it, use lane 1.
        const __m128 d = _mm_movehdup_ps(st_load2h(blk->scales + 14));
        for (int b = 0; b < NB; b++) {
            const st_block_q8_k *x = XQ(st_block_q8_k, xq, xs, b) + i;
            const __m256 f = st_bcast0(_mm_mul_ss(d, _mm_set_ss(x->d)));
            acc[b] = _mm256_fmadd_ps(f, _mm256_cvtepi32_ps(sumi[b]), acc[b]);
        }
    }
    for (int b = 0; b < NB; b++) out[b] = st_hsum_ps(acc[b]);
}

// MARK: - Entry points

#define NB_ENTRY(name, kernel)                                                                  \
    ST_TARGET void name(const void *w, const void *xq, size_t xs, int nb, int64_t nblocks,      \
                        float *out) {                                                           \
        switch (nb) {                                                                           \
        case 1: kernel(w, xq, xs, nblocks, out, 1); break;                                      \
        case 2: kernel(w, xq, xs, nblocks, out, 2); break;                                      \
        case 3: kernel(w, xq, xs, nblocks, out, 3); break;                                      \
        default: kernel(w, xq, xs, nblocks, out, 4); break;                                     \
        }                                                                                       \
    }

NB_ENTRY(st_avx2_q4_k_q, q4_k_nb)
NB_ENTRY(st_avx2_q5_k_q, q5_k_nb)
NB_ENTRY(st_avx2_q6_k_q, q6_k_nb)

#endif
