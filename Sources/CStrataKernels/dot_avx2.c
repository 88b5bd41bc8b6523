// AVX2 fast path for the 32-element block formats and the float formats. Each kernel is written
// once for NB activation vectors (a compile-time constant after inlining): a weight block is
// decoded once into registers and applied to all NB vectors. For NB ≤ 2, blocks alternate between
// two sets of accumulators so consecutive blocks do not wait on each other's FMA; wider batches
// already have NB independent chains and need the registers.
#include "st_avx2.h"

#if ST_X86

#define XQ(type, base, stride, b) ((const type *)((const char *)(base) + (size_t)(b) * (stride)))

// MARK: - Q4_0 × Q8_0

ST_INLINE void q4_0_step(const st_block_q4_0 *w, const void *xq, size_t xs, int64_t i, __m256 *acc,
                         const int NB) {
    // Σ (u − 8)·y = Σ u·y − Σ 8·y with u the raw nibbles: two unsigned×signed maddubs and a
    // subtraction in int16 (|each| ≤ 2·15·127), cheaper than taking signs for signed×signed.
    const __m256i u = st_unpack_nibbles(w->qs);
    const __m256i eight = _mm256_set1_epi8(8);
    const __m128 dw = st_load2h(&w->d); // lane 0: d (lane 1 reads quant bytes, unused)
    for (int b = 0; b < NB; b++) {
        const st_block_q8_0 *x = XQ(st_block_q8_0, xq, xs, b) + i;
        const __m256i y = _mm256_loadu_si256((const __m256i *)x->qs);
        const __m256i p16 = _mm256_sub_epi16(_mm256_maddubs_epi16(u, y), _mm256_maddubs_epi16(eight, y));
        const __m256 p = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
        acc[b] = _mm256_fmadd_ps(st_bcast0(_mm_mul_ss(dw, st_load2h(&x->d))), p, acc[b]);
    }
}

ST_INLINE void q4_0_nb(const void *w, const void *xq, size_t xs, int64_t nblocks, float *out, const int NB) {
    const st_block_q4_0 *wb = (const st_block_q4_0 *)w;
    __m256 a0[ST_MAX_NB], a1[ST_MAX_NB];
    for (int b = 0; b < NB; b++) a0[b] = a1[b] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 2 <= nblocks; i += 2) {
        q4_0_step(wb + i, xq, xs, i, a0, NB);
        q4_0_step(wb + i + 1, xq, xs, i + 1, NB <= 2 ? a1 : a0, NB);
    }
    if (i < nblocks) q4_0_step(wb + i, xq, xs, i, a0, NB);
    for (int b = 0; b < NB; b++) out[b] = st_hsum_ps(_mm256_add_ps(a0[b], a1[b]));
}

// MARK: - Q4_1 × Q8_1

ST_INLINE void q4_1_step(const st_block_q4_1 *w, const void *xq, size_t xs, int64_t i, __m256 *acc,
                         __m128 *summ, const int NB) {
    const __m256i q = st_unpack_nibbles(w->qs);
    const __m128 dm = st_load2h(&w->d); // [d, m]
    for (int b = 0; b < NB; b++) {
        const st_block_q8_1 *x = XQ(st_block_q8_1, xq, xs, b) + i;
        const __m256i y = _mm256_loadu_si256((const __m256i *)x->qs);
        const __m256 p = _mm256_cvtepi32_ps(st_dot_u8(q, y));
        const __m128 prod = _mm_mul_ps(dm, st_load2h(&x->d)); // [d·dx, m·s]
        acc[b] = _mm256_fmadd_ps(st_bcast0(prod), p, acc[b]);
        summ[b] = _mm_add_ps(summ[b], prod); // lane 1 collects Σ m·s
    }
}

ST_INLINE void q4_1_nb(const void *w, const void *xq, size_t xs, int64_t nblocks, float *out, const int NB) {
    const st_block_q4_1 *wb = (const st_block_q4_1 *)w;
    __m256 a0[ST_MAX_NB], a1[ST_MAX_NB];
    __m128 m0[ST_MAX_NB], m1[ST_MAX_NB];
    for (int b = 0; b < NB; b++) {
        a0[b] = a1[b] = _mm256_setzero_ps();
        m0[b] = m1[b] = _mm_setzero_ps();
    }
    int64_t i = 0;
    for (; i + 2 <= nblocks; i += 2) {
        q4_1_step(wb + i, xq, xs, i, a0, m0, NB);
        q4_1_step(wb + i + 1, xq, xs, i + 1, NB <= 2 ? a1 : a0, NB <= 2 ? m1 : m0, NB);
    }
    if (i < nblocks) q4_1_step(wb + i, xq, xs, i, a0, m0, NB);
    for (int b = 0; b < NB; b++) {
        const float summ = _mm_cvtss_f32(_mm_movehdup_ps(_mm_add_ps(m0[b], m1[b])));
        out[b] = st_hsum_ps(_mm256_add_ps(a0[b], a1[b])) + summ;
    }
}

// MARK: - Q8_0 × Q8_0

ST_INLINE void q8_0_step(const st_block_q8_0 *w, const void *xq, size_t xs, int64_t i, __m256 *acc,
                         const int NB) {
    const __m256i q = _mm256_loadu_si256((const __m256i *)w->qs);
    const __m256i aq = _mm256_sign_epi8(q, q);
    const __m128 dw = st_load2h(&w->d); // lane 0: d (lane 1 reads quant bytes, unused)
    for (int b = 0; b < NB; b++) {
        const st_block_q8_0 *x = XQ(st_block_q8_0, xq, xs, b) + i;
        const __m256i y = _mm256_loadu_si256((const __m256i *)x->qs);
        const __m256 p = _mm256_cvtepi32_ps(st_dot_i8(aq, q, y));
        acc[b] = _mm256_fmadd_ps(st_bcast0(_mm_mul_ss(dw, st_load2h(&x->d))), p, acc[b]);
    }
}

ST_INLINE void q8_0_nb(const void *w, const void *xq, size_t xs, int64_t nblocks, float *out, const int NB) {
    const st_block_q8_0 *wb = (const st_block_q8_0 *)w;
    __m256 a0[ST_MAX_NB], a1[ST_MAX_NB];
    for (int b = 0; b < NB; b++) a0[b] = a1[b] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 2 <= nblocks; i += 2) {
        q8_0_step(wb + i, xq, xs, i, a0, NB);
        q8_0_step(wb + i + 1, xq, xs, i + 1, NB <= 2 ? a1 : a0, NB);
    }
    if (i < nblocks) q8_0_step(wb + i, xq, xs, i, a0, NB);
    for (int b = 0; b < NB; b++) out[b] = st_hsum_ps(_mm256_add_ps(a0[b], a1[b]));
}

// MARK: - Float weights × f32 activations

/// Eight weights as floats, for each float storage format.
ST_INLINE __m256 load_f32w(const void *w, int64_t i) { return _mm256_loadu_ps((const float *)w + i); }
ST_INLINE __m256 load_f16w(const void *w, int64_t i) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + i)));
}
ST_INLINE __m256 load_bf16w(const void *w, int64_t i) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + i)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}
ST_INLINE float scalar_f32w(const void *w, int64_t i) { return ((const float *)w)[i]; }
ST_INLINE float scalar_f16w(const void *w, int64_t i) { return st_h2f_fast(((const uint16_t *)w)[i]); }
ST_INLINE float scalar_bf16w(const void *w, int64_t i) { return st_bf2f(((const uint16_t *)w)[i]); }

/// U vectors of 8 weights per step (4 for a single vector, 2 when NB > 1 to bound registers).
#define FLOAT_KERNEL(name, LOAD, SCALAR)                                                           \
    ST_INLINE void name(const void *w, const void *xq, size_t xs, int64_t n, float *out, const int NB) { \
        enum { U = 4 };                                                                            \
        const int u = NB == 1 ? 4 : 2;                                                             \
        __m256 acc[ST_MAX_NB][U];                                                                  \
        for (int b = 0; b < NB; b++)                                                               \
            for (int k = 0; k < U; k++) acc[b][k] = _mm256_setzero_ps();                           \
        int64_t i = 0;                                                                             \
        for (; i + 8 * u <= n; i += 8 * u) {                                                       \
            for (int k = 0; k < u; k++) {                                                          \
                const __m256 wv = LOAD(w, i + 8 * k);                                              \
                for (int b = 0; b < NB; b++) {                                                     \
                    const float *x = XQ(float, xq, xs, b);                                         \
                    acc[b][k] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + i + 8 * k), acc[b][k]);    \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
        for (; i + 8 <= n; i += 8) {                                                               \
            const __m256 wv = LOAD(w, i);                                                          \
            for (int b = 0; b < NB; b++)                                                           \
                acc[b][0] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(XQ(float, xq, xs, b) + i), acc[b][0]); \
        }                                                                                          \
        for (int b = 0; b < NB; b++) {                                                             \
            const float *x = XQ(float, xq, xs, b);                                                 \
            __m256 s = acc[b][0];                                                                  \
            for (int k = 1; k < u; k++) s = _mm256_add_ps(s, acc[b][k]);                           \
            float t = st_hsum_ps(s);                                                               \
            for (int64_t j = i; j < n; j++) t += SCALAR(w, j) * x[j];                              \
            out[b] = t;                                                                            \
        }                                                                                          \
    }

FLOAT_KERNEL(f32_nb, load_f32w, scalar_f32w)
FLOAT_KERNEL(f16_nb, load_f16w, scalar_f16w)
FLOAT_KERNEL(bf16_nb, load_bf16w, scalar_bf16w)

// MARK: - Entry points: one specialisation per batch width

#define NB_ENTRY(name, kernel)                                                                   \
    static ST_TARGET void name(const void *w, const void *xq, size_t xs, int nb, int64_t nblocks, \
                               float *out) {                                                     \
        switch (nb) {                                                                            \
        case 1: kernel(w, xq, xs, nblocks, out, 1); break;                                       \
        case 2: kernel(w, xq, xs, nblocks, out, 2); break;                                       \
        case 3: kernel(w, xq, xs, nblocks, out, 3); break;                                       \
        default: kernel(w, xq, xs, nblocks, out, 4); break;                                      \
        }                                                                                        \
    }

NB_ENTRY(q4_0_q, q4_0_nb)
NB_ENTRY(q4_1_q, q4_1_nb)
NB_ENTRY(q8_0_q, q8_0_nb)
NB_ENTRY(f32_q, f32_nb)
NB_ENTRY(f16_q, f16_nb)
NB_ENTRY(bf16_q, bf16_nb)

// The exact path for float weights is the same computation with a single vector.
ST_TARGET float st_avx2_f32_x(const void *w, const float *x, int64_t n) {
    float o;
    f32_nb(w, x, 0, n, &o, 1);
    return o;
}
ST_TARGET float st_avx2_f16_x(const void *w, const float *x, int64_t n) {
    float o;
    f16_nb(w, x, 0, n, &o, 1);
    return o;
}
ST_TARGET float st_avx2_bf16_x(const void *w, const float *x, int64_t n) {
    float o;
    bf16_nb(w, x, 0, n, &o, 1);
    return o;
}

const st_q_table st_avx2_q = {q4_0_q, q4_1_q, q8_0_q, st_avx2_q4_k_q, st_avx2_q5_k_q, st_avx2_q6_k_q,
                              f32_q, f16_q, bf16_q};

#endif

// MARK: - Runs of rows (Q4_0, Q4_1, Q8_0)

#if ST_X86
#define MK_VNNI 0
#define MK_TARGET ST_TARGET
#define MK_INLINE ST_INLINE
#include "mat256_kernel.h"

const st_mat_table st_avx2_mat = {mk_q4_0_mat, mk_q4_1_mat, mk_q8_0_mat};
#endif
