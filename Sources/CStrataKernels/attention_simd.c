// Vector causal grouped-query attention (AVX-512 with 16 positions per step, AVX2 with 8).
//
// A pass takes up to QB query vectors of the call (rows × heads, whatever their KV heads) and
// walks the cache positions once, block by block: the keys and values of a block of positions
// are contiguous for all KV heads, so the cache streams through memory in order, and each block
// is read from memory once for all the pass's vectors (then from L1). Per vector, an online
// softmax keeps a running maximum m, a running sum l (per lane, summed at the end) and the
// unnormalised output o: for each block, the scores are formed (one FMA chain per position
// over the head dimension, then a transposing reduction that leaves position i's score in lane
// i), m grows if needed (rescaling o and l by exp(m_old − m_new)), and o += exp(s − m) · v for
// each position.
//
// Every vector's arithmetic is the same whichever vectors it runs with, so results do not depend
// on how callers split heads over threads. Outputs are written once, at the end of a pass, from
// local accumulators, so `out` may be `q` itself.
//
// The cache holds f32 or IEEE half keys and values; halves are widened as they are loaded (F16C)
// and the arithmetic is the same f32 either way, so a half cache moves half the bytes.
#include "st_internal.h"

#if ST_X86
#include <immintrin.h>

enum {
    QB = 32,                // query vectors per pass, at most
    OBUF = 8192,            // floats of output accumulators per pass (32 KB): QB vectors up to d = 256
    PREFETCH = 32,          // positions ahead to ask for (into L2: measured best from DRAM)
};

/// One query vector of a pass, with its KV head's keys and values (byte addresses).
typedef struct {
    const float *q;
    float *out;
    const char *k, *v;
    int64_t visible; // positions 0 ..< visible
} st_qvec;

/// The distinct KV heads (key pointers) among a pass's vectors; returns how many.
static inline int distinct_heads(const st_qvec *vec, int n, const char **k, const char **v) {
    int m = 0;
    for (int j = 0; j < n; j++) {
        int seen = 0;
        for (int i = 0; i < m; i++) seen |= k[i] == vec[j].k;
        if (!seen) {
            k[m] = vec[j].k;
            v[m++] = vec[j].v;
        }
    }
    return m;
}

/// Asks for the keys and values of positions [p, p + rows) of the given KV heads (rows past
/// `end` are skipped). The hardware prefetchers do not follow a block's accesses, which hop
/// between heads and rows; without this, attention over a cache in DRAM ran at about half the
/// speed. A share of the block is asked for per vector: all of it at once overflows the miss
/// queues and most of it is dropped.
static inline void prefetch_rows(const char *const *k, const char *const *v, int heads, int64_t p, int rows,
                                 int64_t end, int64_t row_bytes, int64_t head_bytes) {
    for (int r = 0; r < rows && p + r < end; r++) {
        for (int g = 0; g < heads; g++) {
            const char *kr = k[g] + (p + r) * row_bytes;
            const char *vr = v[g] + (p + r) * row_bytes;
            for (int64_t b = 0; b < head_bytes; b += 64) {
                __builtin_prefetch(kr + b, 0, 2);
                __builtin_prefetch(vr + b, 0, 2);
            }
        }
    }
}

/// Collects the query vectors of rows [0, count) and heads [h0, h1), row by row, and calls
/// run(vectors, n, kv_stride, head_dim) for each pass of up to min(QB, OBUF / head_dim) of them
/// (`es`: bytes per cache element).
#define ST_FOR_EACH_PASS(run)                                                                  \
    do {                                                                                       \
        const int64_t group = heads / kv_heads;                                                \
        const int per_pass = OBUF / head_dim < QB ? (int)(OBUF / head_dim) : QB;               \
        st_qvec vec[QB];                                                                       \
        int n = 0;                                                                             \
        for (int64_t t = 0; t < count; t++) {                                                  \
            for (int64_t h = h0; h < h1; h++) {                                                \
                vec[n].q = q + t * q_stride + h * head_dim;                                    \
                vec[n].out = out + t * q_stride + h * head_dim;                                \
                vec[n].k = (const char *)k + (h / group) * head_dim * es;                      \
                vec[n].v = (const char *)v + (h / group) * head_dim * es;                      \
                vec[n].visible = start + t + 1;                                                \
                if (++n == per_pass) {                                                         \
                    run(vec, n, kv_stride, head_dim);                                          \
                    n = 0;                                                                     \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
        if (n) run(vec, n, kv_stride, head_dim);                                               \
    } while (0)

// MARK: - AVX-512

#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#define I512 static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

/// exp(x) for x ≤ 0 (−∞ included), within about 1 ulp; results below the float range flush
/// towards 0 through scalef.
I512 __m512 exp512(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
    // Taylor polynomial to degree 7 on |r| ≤ ln2/2 (truncation below 2^-27 relative).
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/// Lane i = sum of a[i]'s lanes, for 16 vectors.
I512 __m512 transpose_sum16(__m512 *a) {
    __m512 t[8], u[4], w[2];
    for (int i = 0; i < 8; i++) // lanes (per 128-bit quarter): a2i, a2i+1, a2i, a2i+1
        t[i] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]), _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]));
    for (int i = 0; i < 4; i++) { // per quarter: a4i .. a4i+3
        const __m512d x = _mm512_castps_pd(t[2 * i]), y = _mm512_castps_pd(t[2 * i + 1]);
        u[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)), _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
    }
    for (int i = 0; i < 2; i++) // quarters: u2i halves summed, u2i+1 halves summed
        w[i] = _mm512_add_ps(_mm512_shuffle_f32x4(u[2 * i], u[2 * i + 1], 0x88), _mm512_shuffle_f32x4(u[2 * i], u[2 * i + 1], 0xDD));
    return _mm512_add_ps(_mm512_shuffle_f32x4(w[0], w[1], 0x88), _mm512_shuffle_f32x4(w[0], w[1], 0xDD));
}

/// 16 cache elements from element i of a row, widened from half when H.
I512 __m512 load512(const char *row, int64_t i, const int H) {
    return H ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + 2 * i))) : _mm512_loadu_ps((const float *)row + i);
}

/// One pass: n query vectors against KV head (k, v). D is the head dimension when known at
/// compile time (0: use `dim`, a multiple of 16); H: the cache holds halves.
I512 void pass512(const st_qvec *vec, int n, int64_t kv_stride, int64_t dim, const int D, const int H) {
    const int64_t es = H ? 2 : 4;
    const int64_t rs = kv_stride * es; // bytes per cache row
    const int64_t d = D ? D : dim;
    const int64_t slices = d / 16;
    const float scale = st_rsqrt(d);
    int64_t longest = 0;
    float m[QB];
    __m512 l[QB];
    _Alignas(64) float obuf[OBUF]; // unnormalised outputs, d apart (out is written at the end)
    for (int j = 0; j < n; j++) {
        longest = vec[j].visible > longest ? vec[j].visible : longest;
        m[j] = -__builtin_inff();
        l[j] = _mm512_setzero_ps();
        for (int64_t s = 0; s < slices; s++) _mm512_storeu_ps(obuf + j * d + 16 * s, _mm512_setzero_ps());
    }
    const char *hk[QB], *hv[QB];
    const int nh = distinct_heads(vec, n, hk, hv);
    for (int64_t p0 = 0; p0 < longest; p0 += 16) {
        for (int j = 0; j < n; j++) {
            // The block PREFETCH positions ahead, a share per vector.
            const int r0 = j * 16 / n, r1 = (j + 1) * 16 / n;
            prefetch_rows(hk, hv, nh, p0 + PREFETCH + r0, r1 - r0, longest, rs, d * es);
            const int64_t valid = vec[j].visible - p0;
            if (valid <= 0) continue;
            const char *kb = vec[j].k + p0 * rs;
            const char *vb = vec[j].v + p0 * rs;
            const int pn = valid < 16 ? (int)valid : 16;
            // Scores: position i's partial sums in acc[i] (positions past the end repeat the last).
            __m512 acc[16];
            for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();
            for (int i = 0; i < 16; i++) {
                const char *kr = kb + (i < pn ? i : pn - 1) * rs;
                for (int64_t s = 0; s < slices; s++)
                    acc[i] = _mm512_fmadd_ps(_mm512_loadu_ps(vec[j].q + 16 * s), load512(kr, 16 * s, H), acc[i]);
            }
            __m512 sc = _mm512_mul_ps(transpose_sum16(acc), _mm512_set1_ps(scale));
            sc = _mm512_mask_mov_ps(_mm512_set1_ps(-__builtin_inff()), (__mmask16)((1u << pn) - 1), sc);
            const float mx = _mm512_reduce_max_ps(sc);
            if (mx > m[j]) {
                const float alpha = st_exp_nonpos(m[j] - mx); // 0 on the first block
                const __m512 av = _mm512_set1_ps(alpha);
                l[j] = _mm512_mul_ps(l[j], av);
                if (m[j] != -__builtin_inff()) {
                    for (int64_t s = 0; s < slices; s++)
                        _mm512_storeu_ps(obuf + j * d + 16 * s, _mm512_mul_ps(_mm512_loadu_ps(obuf + j * d + 16 * s), av));
                }
                m[j] = mx;
            }
            const __m512 p = exp512(_mm512_sub_ps(sc, _mm512_set1_ps(m[j])));
            l[j] = _mm512_add_ps(l[j], p);
            // o += p_i · v_i, two interleaved chains per slice.
            if (D == 64 || D == 128) {
                // Accumulators in registers: positions outer, slices inner.
                const int S = D / 16;
                __m512 o0[8], o1[8];
                for (int s = 0; s < S; s++) {
                    o0[s] = _mm512_loadu_ps(obuf + j * d + 16 * s);
                    o1[s] = _mm512_setzero_ps();
                }
                int i = 0;
                for (; i + 2 <= pn; i += 2) {
                    const __m512 pa = _mm512_permutexvar_ps(_mm512_set1_epi32(i), p);
                    const __m512 pb = _mm512_permutexvar_ps(_mm512_set1_epi32(i + 1), p);
                    for (int s = 0; s < S; s++) {
                        o0[s] = _mm512_fmadd_ps(pa, load512(vb + i * rs, 16 * s, H), o0[s]);
                        o1[s] = _mm512_fmadd_ps(pb, load512(vb + (i + 1) * rs, 16 * s, H), o1[s]);
                    }
                }
                if (i < pn) {
                    const __m512 pa = _mm512_permutexvar_ps(_mm512_set1_epi32(i), p);
                    for (int s = 0; s < S; s++) o0[s] = _mm512_fmadd_ps(pa, load512(vb + i * rs, 16 * s, H), o0[s]);
                }
                for (int s = 0; s < S; s++) _mm512_storeu_ps(obuf + j * d + 16 * s, _mm512_add_ps(o0[s], o1[s]));
            } else {
                for (int64_t s = 0; s < slices; s++) {
                    __m512 o0 = _mm512_loadu_ps(obuf + j * d + 16 * s), o1 = _mm512_setzero_ps();
                    int i = 0;
                    for (; i + 2 <= pn; i += 2) {
                        o0 = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_set1_epi32(i), p),
                                             load512(vb + i * rs, 16 * s, H), o0);
                        o1 = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_set1_epi32(i + 1), p),
                                             load512(vb + (i + 1) * rs, 16 * s, H), o1);
                    }
                    if (i < pn)
                        o0 = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_set1_epi32(i), p),
                                             load512(vb + i * rs, 16 * s, H), o0);
                    _mm512_storeu_ps(obuf + j * d + 16 * s, _mm512_add_ps(o0, o1));
                }
            }
        }
    }
    for (int j = 0; j < n; j++) {
        const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(l[j]));
        for (int64_t s = 0; s < slices; s++)
            _mm512_storeu_ps(vec[j].out + 16 * s, _mm512_mul_ps(_mm512_loadu_ps(obuf + j * d + 16 * s), inv));
    }
}

/// A pass function for ST_FOR_EACH_PASS: `kernel` with the head dimension D (0: any) and the
/// cache element type (H: half) fixed at compile time.
#define ST_PASS(attrs, name, kernel, D, H)                                       \
    static attrs void name(const st_qvec *vec, int n, int64_t kvs, int64_t dim) { \
        kernel(vec, n, kvs, dim, D, H);                                           \
    }
ST_PASS(T512, pass512_64, pass512, 64, 0)
ST_PASS(T512, pass512_128, pass512, 128, 0)
ST_PASS(T512, pass512_any, pass512, 0, 0)
ST_PASS(T512, pass512_64h, pass512, 64, 1)
ST_PASS(T512, pass512_128h, pass512, 128, 1)
ST_PASS(T512, pass512_anyh, pass512, 0, 1)

T512 void st_avx512_attention(const float *q, const void *k, const void *v, int f16, float *out, float *scratch,
                              int64_t start, int64_t count, int64_t heads, int64_t kv_heads, int64_t head_dim,
                              int64_t q_stride, int64_t kv_stride, int64_t h0, int64_t h1) {
    (void)scratch;
    const int64_t es = f16 ? 2 : 4;
    if (f16) {
        if (head_dim == 64) ST_FOR_EACH_PASS(pass512_64h);
        else if (head_dim == 128) ST_FOR_EACH_PASS(pass512_128h);
        else ST_FOR_EACH_PASS(pass512_anyh);
    } else {
        if (head_dim == 64) ST_FOR_EACH_PASS(pass512_64);
        else if (head_dim == 128) ST_FOR_EACH_PASS(pass512_128);
        else ST_FOR_EACH_PASS(pass512_any);
    }
}

// MARK: - AVX2

#define T256 __attribute__((target("avx2,fma,f16c")))
#define I256 static inline __attribute__((always_inline, target("avx2,fma,f16c")))

/// exp(x) for x ≤ 0 (−∞ included), within about 1 ulp; 0 below the normal float range.
I256 __m256 exp256(__m256 x) {
    const __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(-87.33f), _CMP_LT_OQ);
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.33f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187045e-06f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    // 2^n for n in [−126, 0], placed in the exponent field.
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(tiny, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

/// Lane i = sum of a[i]'s lanes, for 8 vectors.
I256 __m256 transpose_sum8(__m256 *a) {
    const __m256 h01 = _mm256_hadd_ps(a[0], a[1]), h23 = _mm256_hadd_ps(a[2], a[3]);
    const __m256 h45 = _mm256_hadd_ps(a[4], a[5]), h67 = _mm256_hadd_ps(a[6], a[7]);
    const __m256 x = _mm256_hadd_ps(h01, h23), y = _mm256_hadd_ps(h45, h67); // [a0..a3 low | a0..a3 high]
    return _mm256_add_ps(_mm256_permute2f128_ps(x, y, 0x20), _mm256_permute2f128_ps(x, y, 0x31));
}

I256 float hmax256(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

I256 float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// 8 cache elements from element i of a row, widened from half when H.
I256 __m256 load256(const char *row, int64_t i, const int H) {
    return H ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 2 * i))) : _mm256_loadu_ps((const float *)row + i);
}

I256 void pass256(const st_qvec *vec, int n, int64_t kv_stride, int64_t dim, const int D, const int H) {
    const int64_t es = H ? 2 : 4;
    const int64_t rs = kv_stride * es; // bytes per cache row
    const int64_t d = D ? D : dim;
    const int64_t slices = d / 8;
    const float scale = st_rsqrt(d);
    int64_t longest = 0;
    float m[QB];
    __m256 l[QB];
    _Alignas(64) float obuf[OBUF]; // unnormalised outputs, d apart (out is written at the end)
    for (int j = 0; j < n; j++) {
        longest = vec[j].visible > longest ? vec[j].visible : longest;
        m[j] = -__builtin_inff();
        l[j] = _mm256_setzero_ps();
        for (int64_t s = 0; s < slices; s++) _mm256_storeu_ps(obuf + j * d + 8 * s, _mm256_setzero_ps());
    }
    const char *hk[QB], *hv[QB];
    const int nh = distinct_heads(vec, n, hk, hv);
    for (int64_t p0 = 0; p0 < longest; p0 += 8) {
        for (int j = 0; j < n; j++) {
            // The block PREFETCH positions ahead, a share per vector.
            const int r0 = j * 8 / n, r1 = (j + 1) * 8 / n;
            prefetch_rows(hk, hv, nh, p0 + PREFETCH + r0, r1 - r0, longest, rs, d * es);
            const int64_t valid = vec[j].visible - p0;
            if (valid <= 0) continue;
            const char *kb = vec[j].k + p0 * rs;
            const char *vb = vec[j].v + p0 * rs;
            const int pn = valid < 8 ? (int)valid : 8;
            __m256 acc[8];
            for (int i = 0; i < 8; i++) acc[i] = _mm256_setzero_ps();
            for (int i = 0; i < 8; i++) {
                const char *kr = kb + (i < pn ? i : pn - 1) * rs;
                for (int64_t s = 0; s < slices; s++)
                    acc[i] = _mm256_fmadd_ps(_mm256_loadu_ps(vec[j].q + 8 * s), load256(kr, 8 * s, H), acc[i]);
            }
            __m256 sc = _mm256_mul_ps(transpose_sum8(acc), _mm256_set1_ps(scale));
            const __m256 live = _mm256_castsi256_ps(
                _mm256_cmpgt_epi32(_mm256_set1_epi32(pn), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
            sc = _mm256_blendv_ps(_mm256_set1_ps(-__builtin_inff()), sc, live);
            const float mx = hmax256(sc);
            if (mx > m[j]) {
                const float alpha = st_exp_nonpos(m[j] - mx);
                const __m256 av = _mm256_set1_ps(alpha);
                l[j] = _mm256_mul_ps(l[j], av);
                if (m[j] != -__builtin_inff()) {
                    for (int64_t s = 0; s < slices; s++)
                        _mm256_storeu_ps(obuf + j * d + 8 * s, _mm256_mul_ps(_mm256_loadu_ps(obuf + j * d + 8 * s), av));
                }
                m[j] = mx;
            }
            const __m256 p = exp256(_mm256_sub_ps(sc, _mm256_set1_ps(m[j])));
            l[j] = _mm256_add_ps(l[j], p);
            for (int64_t s = 0; s < slices; s++) {
                __m256 o0 = _mm256_loadu_ps(obuf + j * d + 8 * s), o1 = _mm256_setzero_ps();
                int i = 0;
                for (; i + 2 <= pn; i += 2) {
                    o0 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(p, _mm256_set1_epi32(i)),
                                         load256(vb + i * rs, 8 * s, H), o0);
                    o1 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(p, _mm256_set1_epi32(i + 1)),
                                         load256(vb + (i + 1) * rs, 8 * s, H), o1);
                }
                if (i < pn)
                    o0 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(p, _mm256_set1_epi32(i)),
                                         load256(vb + i * rs, 8 * s, H), o0);
                _mm256_storeu_ps(obuf + j * d + 8 * s, _mm256_add_ps(o0, o1));
            }
        }
    }
    for (int j = 0; j < n; j++) {
        const __m256 inv = _mm256_set1_ps(1.0f / hsum256(l[j]));
        for (int64_t s = 0; s < slices; s++)
            _mm256_storeu_ps(vec[j].out + 8 * s, _mm256_mul_ps(_mm256_loadu_ps(obuf + j * d + 8 * s), inv));
    }
}

ST_PASS(T256, pass256_64, pass256, 64, 0)
ST_PASS(T256, pass256_any, pass256, 0, 0)
ST_PASS(T256, pass256_64h, pass256, 64, 1)
ST_PASS(T256, pass256_anyh, pass256, 0, 1)

T256 void st_avx2_attention(const float *q, const void *k, const void *v, int f16, float *out, float *scratch,
                            int64_t start, int64_t count, int64_t heads, int64_t kv_heads, int64_t head_dim,
                            int64_t q_stride, int64_t kv_stride, int64_t h0, int64_t h1) {
    (void)scratch;
    const int64_t es = f16 ? 2 : 4;
    if (f16) {
        if (head_dim == 64) ST_FOR_EACH_PASS(pass256_64h);
        else ST_FOR_EACH_PASS(pass256_anyh);
    } else {
        if (head_dim == 64) ST_FOR_EACH_PASS(pass256_64);
        else ST_FOR_EACH_PASS(pass256_any);
    }
}

#endif
