// 256-bit fast path over runs of rows for Q4_0, Q4_1 and Q8_0, included twice: by dot_avx2.c
// (AVX2: maddubs/madd products) and by dot_avx512.c (MK_VNNI: vpdpbusd on 256-bit registers,
// which needs AVX-512 VL and VNNI). The includer defines MK_VNNI, MK_INLINE (static inline,
// always_inline, with its target) and MK_TARGET (its target attribute).
//
// The row loop lives here. Activations are repacked once per call (per column chunk) so that a
// pair of 4-bit blocks is two unsigned×signed multiplies against [low halves | high halves] of
// both blocks, and the four scales of a group of blocks are gathered and converted at once.
// Rows run one after another, in memory order: interleaving the rows' loads ran up to 2× slower
// once the matrix was out of cache (the hardware prefetchers stop keeping up). Four rows share
// one horizontal reduction. Each row's arithmetic is the same whichever rows it runs with, so
// results do not depend on how callers split rows. No load reaches past a row's last block.
#ifndef ST_MAT256_KERNEL_H
#define ST_MAT256_KERNEL_H

#include "st_avx2.h"

#if ST_X86

enum {
    MK_Q4_0 = 0,
    MK_Q4_1 = 1,
    MK_Q8_0 = 2,
    MK_CHUNK = 64,          // weight blocks per column chunk (a multiple of 4)
    MK_PACK_BYTES = 32768,  // stack space for packed activations
};

MK_INLINE size_t mk_wblock(const int KIND) {
    return KIND == MK_Q4_0 ? sizeof(st_block_q4_0) : KIND == MK_Q4_1 ? sizeof(st_block_q4_1) : sizeof(st_block_q8_0);
}
MK_INLINE size_t mk_xblock(const int KIND) { return KIND == MK_Q4_1 ? sizeof(st_block_q8_1) : sizeof(st_block_q8_0); }
/// Packed bytes per group of four blocks:
///   Q4_1: [low halves of blocks 0..3: 64][high halves: 64][dx0, s0, dx1, s1, dx2, s2, dx3, s3]
///   Q4_0: [low 64][high 64][dx0..dx3, 0 ×4][8·Σ y per int16 pair: blocks 0,1 | blocks 2,3]
///         (MK_VNNI: [−8·Σ y per int32 lane: blocks 0,1 | blocks 2,3], vpdpbusd's start value)
///   Q8_0: [quants of blocks 0..3: 128][dx0..dx3, 0 ×4]
///         (MK_VNNI: then [−128·Σ y per int32 lane: one register per block], as the weights are
///         offset by +128 to make them unsigned)
MK_INLINE size_t mk_group(const int KIND) {
    return KIND == MK_Q4_1 ? 160 : KIND == MK_Q4_0 ? 224 : MK_VNNI ? 288 : 160;
}

MK_INLINE void mk_pack(const int KIND, const uint8_t *x, int64_t cn, uint8_t *dst) {
    const int64_t ng = (cn + 3) / 4;
    const size_t xb = mk_xblock(KIND);
    const size_t qoff = KIND == MK_Q4_1 ? 4 : 2;
    for (int64_t g = 0; g < ng; g++, dst += mk_group(KIND)) {
        float sc[8] = {0};
        for (int j = 0; j < 4; j++) {
            const int64_t blk = 4 * g + j;
            __m128i lo = _mm_setzero_si128(), hi = _mm_setzero_si128();
            if (blk < cn) {
                const uint8_t *b = x + (size_t)blk * xb;
                lo = _mm_loadu_si128((const __m128i *)(b + qoff));
                hi = _mm_loadu_si128((const __m128i *)(b + qoff + 16));
                uint16_t h[2];
                memcpy(h, b, 4);
                if (KIND == MK_Q4_1) {
                    sc[2 * j] = _cvtsh_ss(h[0]);
                    sc[2 * j + 1] = _cvtsh_ss(h[1]);
                } else {
                    sc[j] = _cvtsh_ss(h[0]);
                }
            }
            if (KIND == MK_Q8_0) {
                _mm_storeu_si128((__m128i *)(dst + 32 * j), lo);
                _mm_storeu_si128((__m128i *)(dst + 32 * j + 16), hi);
            } else {
                _mm_storeu_si128((__m128i *)(dst + 16 * j), lo);
                _mm_storeu_si128((__m128i *)(dst + 64 + 16 * j), hi);
            }
        }
        memcpy(dst + 128, sc, sizeof sc);
#if MK_VNNI
        if (KIND == MK_Q4_0) {
            const __m256i eight = _mm256_set1_epi8(8);
            for (int p = 0; p < 2; p++) {
                __m256i c = _mm256_dpbusd_epi32(_mm256_setzero_si256(), eight, _mm256_loadu_si256((const __m256i *)(dst + 32 * p)));
                c = _mm256_dpbusd_epi32(c, eight, _mm256_loadu_si256((const __m256i *)(dst + 64 + 32 * p)));
                _mm256_storeu_si256((__m256i *)(dst + 160 + 32 * p), _mm256_sub_epi32(_mm256_setzero_si256(), c));
            }
        } else if (KIND == MK_Q8_0) {
            const __m256i ones = _mm256_set1_epi8(1);
            for (int j = 0; j < 4; j++) {
                const __m256i c = _mm256_dpbusd_epi32(_mm256_setzero_si256(), ones, _mm256_loadu_si256((const __m256i *)(dst + 32 * j)));
                _mm256_storeu_si256((__m256i *)(dst + 160 + 32 * j), _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(c, 7)));
            }
        }
#else
        if (KIND == MK_Q4_0) {
            // Σ (u − 8)·y = Σ u·y − 8·Σ y; the second term in the int16 pairs maddubs produces.
            const __m256i eight = _mm256_set1_epi8(8);
            for (int p = 0; p < 2; p++) {
                const __m256i lo = _mm256_loadu_si256((const __m256i *)(dst + 32 * p));
                const __m256i hi = _mm256_loadu_si256((const __m256i *)(dst + 64 + 32 * p));
                const __m256i c = _mm256_add_epi16(_mm256_maddubs_epi16(eight, lo), _mm256_maddubs_epi16(eight, hi));
                _mm256_storeu_si256((__m256i *)(dst + 160 + 32 * p), c);
            }
        }
#endif
    }
}

/// 16 bytes at a and 16 at b as one register (a in the low lane).
MK_INLINE __m256i mk_load2x16(const uint8_t *a, const uint8_t *b) {
    return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)a)),
                                   _mm_loadu_si128((const __m128i *)b), 1);
}

/// The first two bytes of each of `valid` (≤ 4) blocks `stride` bytes apart, as int16 lanes 0..3.
MK_INLINE __m128i mk_gather16(const uint8_t *p, size_t stride, int valid) {
    uint16_t h[4] = {0, 0, 0, 0};
    memcpy(&h[0], p, 2);
    if (valid > 1) memcpy(&h[1], p + stride, 2);
    if (valid > 2) memcpy(&h[2], p + 2 * stride, 2);
    if (valid > 3) memcpy(&h[3], p + 3 * stride, 2);
    __m128i v = _mm_cvtsi32_si128(h[0] | (int)h[1] << 16);
    return _mm_insert_epi32(v, h[2] | (int)h[3] << 16, 1);
}

/// The first four bytes of each of `valid` (≤ 4) blocks `stride` bytes apart, as int32 lanes.
MK_INLINE __m128i mk_gather32(const uint8_t *p, size_t stride, int valid) {
    int32_t v[4] = {0, 0, 0, 0};
    memcpy(&v[0], p, 4);
    if (valid > 1) memcpy(&v[1], p + stride, 4);
    if (valid > 2) memcpy(&v[2], p + 2 * stride, 4);
    if (valid > 3) memcpy(&v[3], p + 3 * stride, 4);
    __m128i r = _mm_cvtsi32_si128(v[0]);
    r = _mm_insert_epi32(r, v[1], 1);
    r = _mm_insert_epi32(r, v[2], 2);
    return _mm_insert_epi32(r, v[3], 3);
}

/// One group of four blocks of one row (the first `valid` real) against NB packed vectors.
/// Q4_1 also adds [d·dx, m·s] products into summ[b] (odd lanes hold the m·s terms).
MK_INLINE void mk_group_step(const int KIND, const int NB, const int PARTIAL, const uint8_t *w, int valid,
                             const uint8_t *pk, size_t pstride, __m256 *acc, __m256 *summ) {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
#if !MK_VNNI
    const __m256i ones = _mm256_set1_epi16(1);
#endif
    const size_t wb = mk_wblock(KIND);
    if (KIND == MK_Q8_0) {
        // Four scales at once.
        const __m128 d4 = _mm_cvtph_ps(mk_gather16(w, wb, PARTIAL ? valid : 4));
        for (int j = 0; j < 4; j++) {
            if (PARTIAL && j >= valid) break;
            const __m256i q = _mm256_loadu_si256((const __m256i *)(w + j * wb + 2));
#if MK_VNNI
            const __m256i qu = _mm256_xor_si256(q, _mm256_set1_epi8((char)0x80)); // q + 128
#else
            const __m256i aq = _mm256_sign_epi8(q, q);
#endif
            for (int b = 0; b < NB; b++) {
                const uint8_t *x = pk + (size_t)b * pstride;
                const __m256i y = _mm256_loadu_si256((const __m256i *)(x + 32 * j));
#if MK_VNNI
                const __m256 p = _mm256_cvtepi32_ps(
                    _mm256_dpbusd_epi32(_mm256_loadu_si256((const __m256i *)(x + 160 + 32 * j)), qu, y));
#else
                const __m256 p = _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(aq, _mm256_sign_epi8(y, q)), ones));
#endif
                const __m128 s4 = _mm_mul_ps(d4, _mm_loadu_ps((const float *)(x + 128)));
                const __m256 s = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(s4), _mm256_set1_epi32(j));
                acc[b] = _mm256_fmadd_ps(s, p, acc[b]);
            }
        }
        return;
    }
    // Scales (and Q4_1's mins) of the four blocks, converted at once.
    const __m128i hv = KIND == MK_Q4_1 ? mk_gather32(w, wb, PARTIAL ? valid : 4) : mk_gather16(w, wb, PARTIAL ? valid : 4);
    const __m256 dm = _mm256_cvtph_ps(hv); // Q4_1: [d0, m0, d1, m1, ...]; Q4_0: [d0, d1, d2, d3, 0 ...]
    for (int k = 0; k < 2; k++) {
        if (PARTIAL && 2 * k >= valid) break;
        const uint8_t *q0 = w + (2 * k) * wb + (KIND == MK_Q4_1 ? 4 : 2);
        __m256i raw;
        if (PARTIAL && 2 * k + 1 >= valid) raw = _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)q0));
        else raw = mk_load2x16(q0, q0 + wb);
        const __m256i lo = _mm256_and_si256(raw, m4);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
        const __m256i spread = KIND == MK_Q4_1 ? _mm256_setr_epi32(4 * k, 4 * k, 4 * k, 4 * k, 4 * k + 2, 4 * k + 2, 4 * k + 2, 4 * k + 2)
                                               : _mm256_setr_epi32(2 * k, 2 * k, 2 * k, 2 * k, 2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1);
        for (int b = 0; b < NB; b++) {
            const uint8_t *x = pk + (size_t)b * pstride;
#if MK_VNNI
            const __m256i start = KIND == MK_Q4_0 ? _mm256_loadu_si256((const __m256i *)(x + 160 + 32 * k)) : _mm256_setzero_si256();
            __m256i p32 = _mm256_dpbusd_epi32(start, lo, _mm256_loadu_si256((const __m256i *)(x + 32 * k)));
            p32 = _mm256_dpbusd_epi32(p32, hi, _mm256_loadu_si256((const __m256i *)(x + 64 + 32 * k)));
            const __m256 p = _mm256_cvtepi32_ps(p32);
#else
            __m256i p16 = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(x + 32 * k))),
                                           _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(x + 64 + 32 * k))));
            if (KIND == MK_Q4_0) p16 = _mm256_sub_epi16(p16, _mm256_loadu_si256((const __m256i *)(x + 160 + 32 * k)));
            const __m256 p = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones));
#endif
            const __m256 prod = _mm256_mul_ps(dm, _mm256_loadu_ps((const float *)(x + 128)));
            acc[b] = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(prod, spread), p, acc[b]);
            if (KIND == MK_Q4_1 && k == 0) summ[b] = _mm256_add_ps(summ[b], prod);
        }
    }
}

/// Sums of a0..a3 in lanes 0..3, each in an order independent of the other inputs.
MK_INLINE __m128 mk_reduce4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

MK_INLINE void mk_rows4(const int KIND, const int NB, const uint8_t *const *w, const uint8_t *pk, size_t pstride,
                        int64_t cn, __m128 *out) {
    __m256 fin[4][ST_MAX_NB];
    const size_t wg = 4 * mk_wblock(KIND), xg = mk_group(KIND);
    const int64_t full = cn / 4;
    for (int r = 0; r < 4; r++) {
        __m256 acc[ST_MAX_NB], summ[ST_MAX_NB];
        for (int b = 0; b < NB; b++) acc[b] = summ[b] = _mm256_setzero_ps();
        for (int64_t g = 0; g < full; g++)
            mk_group_step(KIND, NB, 0, w[r] + (size_t)g * wg, 4, pk + (size_t)g * xg, pstride, acc, summ);
        if (cn % 4)
            mk_group_step(KIND, NB, 1, w[r] + (size_t)full * wg, (int)(cn % 4), pk + (size_t)full * xg, pstride, acc, summ);
        for (int b = 0; b < NB; b++)
            fin[r][b] = KIND == MK_Q4_1 ? _mm256_add_ps(acc[b], _mm256_blend_ps(_mm256_setzero_ps(), summ[b], 0xAA)) : acc[b];
    }
    for (int b = 0; b < NB; b++) out[b] = mk_reduce4(fin[0][b], fin[1][b], fin[2][b], fin[3][b]);
}

MK_INLINE void mk_mat(const int KIND, const void *w, size_t row_stride, const void *xq, size_t xq_stride,
                      int64_t batch, int64_t nblocks, int64_t rows, float *y, int64_t ldy) {
    _Alignas(32) uint8_t buf[MK_PACK_BYTES];
    const size_t gb = mk_group(KIND), wb = mk_wblock(KIND), xb = mk_xblock(KIND);
    const int64_t per_pass = MK_PACK_BYTES / (MK_CHUNK / 4 * gb);
    for (int64_t c0 = 0; c0 < nblocks; c0 += MK_CHUNK) {
        const int64_t cn = nblocks - c0 < MK_CHUNK ? nblocks - c0 : MK_CHUNK;
        const size_t pstride = (size_t)(cn + 3) / 4 * gb;
        for (int64_t p0 = 0; p0 < batch; p0 += per_pass) {
            const int64_t pn = batch - p0 < per_pass ? batch - p0 : per_pass;
            for (int64_t b = 0; b < pn; b++)
                mk_pack(KIND, (const uint8_t *)xq + (size_t)(p0 + b) * xq_stride + (size_t)c0 * xb, cn, buf + b * pstride);
            const uint8_t *wc = (const uint8_t *)w + (size_t)c0 * wb;
            for (int64_t r = 0; r < rows; r += 4) {
                const int64_t rv = rows - r < 4 ? rows - r : 4;
                const uint8_t *wr[4];
                for (int i = 0; i < 4; i++) wr[i] = wc + (size_t)(r + (i < rv ? i : rv - 1)) * row_stride;
                for (int64_t b = 0; b < pn; b += ST_MAX_NB) {
                    const int nb = (int)(pn - b < ST_MAX_NB ? pn - b : ST_MAX_NB);
                    const uint8_t *pk = buf + b * pstride;
                    __m128 out[ST_MAX_NB];
                    switch (nb) {
                    case 1: mk_rows4(KIND, 1, wr, pk, pstride, cn, out); break;
                    case 2: mk_rows4(KIND, 2, wr, pk, pstride, cn, out); break;
                    case 3: mk_rows4(KIND, 3, wr, pk, pstride, cn, out); break;
                    default: mk_rows4(KIND, 4, wr, pk, pstride, cn, out); break;
                    }
                    for (int j = 0; j < nb; j++) {
                        float *yo = y + (p0 + b + j) * ldy + r;
                        float v[4];
                        _mm_storeu_ps(v, out[j]);
                        for (int i = 0; i < rv; i++) yo[i] = c0 > 0 ? yo[i] + v[i] : v[i];
                    }
                }
            }
        }
    }
}

MK_TARGET static void mk_q4_0_mat(const void *w, size_t rs, const void *xq, size_t xs, int64_t batch,
                                   int64_t nblocks, int64_t rows, float *y, int64_t ldy) {
    mk_mat(MK_Q4_0, w, rs, xq, xs, batch, nblocks, rows, y, ldy);
}
MK_TARGET static void mk_q4_1_mat(const void *w, size_t rs, const void *xq, size_t xs, int64_t batch,
                                   int64_t nblocks, int64_t rows, float *y, int64_t ldy) {
    mk_mat(MK_Q4_1, w, rs, xq, xs, batch, nblocks, rows, y, ldy);
}
MK_TARGET static void mk_q8_0_mat(const void *w, size_t rs, const void *xq, size_t xs, int64_t batch,
                                   int64_t nblocks, int64_t rows, float *y, int64_t ldy) {
    mk_mat(MK_Q8_0, w, rs, xq, xs, batch, nblocks, rows, y, ldy);
}

#endif
#endif
