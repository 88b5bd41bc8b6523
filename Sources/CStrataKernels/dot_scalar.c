// Portable kernels: the fast path's integer block dot products and the exact f32 path.
// Each weight block is decoded once and applied to every activation vector of the batch.
#include "st_internal.h"

#define XQ(type, base, stride, b) ((const type *)((const char *)(base) + (size_t)(b) * (stride)))

// MARK: - Fast path: legacy blocks

static void q4_0_q(const void *w, const void *xq, size_t xs, int nb, int64_t nblocks, float *out) {
    const st_block_q4_0 *wb = (const st_block_q4_0 *)w;
    float acc[ST_MAX_NB] = {0};
    for (int64_t i = 0; i < nblocks; i++) {
        int8_t v[ST_QK];
        for (int j = 0; j < ST_QK / 2; j++) {
            v[j] = (int8_t)((wb[i].qs[j] & 0x0f) - 8);
            v[j + ST_QK / 2] = (int8_t)((wb[i].qs[j] >> 4) - 8);
        }
        const float dw = st_h2f(wb[i].d);
        for (int b = 0; b < nb; b++) {
            const st_block_q8_0 *x = XQ(st_block_q8_0, xq, xs, b) + i;
            int s = 0;
            for (int j = 0; j < ST_QK; j++) s += v[j] * x->qs[j];
            acc[b] += dw * st_h2f(x->d) * (float)s;
        }
    }
    for (int b = 0; b < nb; b++) out[b] = acc[b];
}

static void q4_1_q(const void *w, const void *xq, size_t xs, int nb, int64_t nblocks, float *out) {
    const st_block_q4_1 *wb = (const st_block_q4_1 *)w;
    float acc[ST_MAX_NB] = {0};
    for (int64_t i = 0; i < nblocks; i++) {
        uint8_t v[ST_QK];
        for (int j = 0; j < ST_QK / 2; j++) {
            v[j] = wb[i].qs[j] & 0x0f;
            v[j + ST_QK / 2] = wb[i].qs[j] >> 4;
        }
        const float dw = st_h2f(wb[i].d), mw = st_h2f(wb[i].m);
        for (int b = 0; b < nb; b++) {
            const st_block_q8_1 *x = XQ(st_block_q8_1, xq, xs, b) + i;
            int s = 0;
            for (int j = 0; j < ST_QK; j++) s += v[j] * x->qs[j];
            acc[b] += dw * st_h2f(x->d) * (float)s + mw * st_h2f(x->s);
        }
    }
    for (int b = 0; b < nb; b++) out[b] = acc[b];
}

static void q8_0_q(const void *w, const void *xq, size_t xs, int nb, int64_t nblocks, float *out) {
    const st_block_q8_0 *wb = (const st_block_q8_0 *)w;
    float acc[ST_MAX_NB] = {0};
    for (int64_t i = 0; i < nblocks; i++) {
        const float dw = st_h2f(wb[i].d);
        for (int b = 0; b < nb; b++) {
            const st_block_q8_0 *x = XQ(st_block_q8_0, xq, xs, b) + i;
            int s = 0;
            for (int j = 0; j < ST_QK; j++) s += wb[i].qs[j] * x->qs[j];
            acc[b] += dw * st_h2f(x->d) * (float)s;
        }
    }
    for (int b = 0; b < nb; b++) out[b] = acc[b];
}

// MARK: - Fast path: K-quants against Q8_K

/// Unpacks a Q4_K/Q5_K super-block's eight scales and mins.
static void kscales(const uint8_t *s, int *sc, int *mn) {
    for (int j = 0; j < 8; j++) st_kscale(s, j, &sc[j], &mn[j]);
}

static void q4_k_q(const void *w, const void *xq, size_t xs, int nb, int64_t nblocks, float *out) {
    const st_block_q4_k *wb = (const st_block_q4_k *)w;
    float acc[ST_MAX_NB] = {0};
    for (int64_t i = 0; i < nblocks; i++) {
        uint8_t v[ST_QK_K];
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                v[64 * c + l] = wb[i].qs[32 * c + l] & 0x0f;
                v[64 * c + 32 + l] = wb[i].qs[32 * c + l] >> 4;
            }
        }
        int sc[8], mn[8];
        kscales(wb[i].scales, sc, mn);
        const float d = st_h2f(wb[i].d), dmin = st_h2f(wb[i].dmin);
        for (int b = 0; b < nb; b++) {
            const st_block_q8_k *x = XQ(st_block_q8_k, xq, xs, b) + i;
            int sumi = 0, summ = 0;
            for (int j = 0; j < 8; j++) {
                int s = 0;
                for (int l = 32 * j; l < 32 * j + 32; l++) s += v[l] * x->qs[l];
                sumi += sc[j] * s;
                summ += mn[j] * (x->bsums[2 * j] + x->bsums[2 * j + 1]);
            }
            acc[b] += x->d * (d * (float)sumi - dmin * (float)summ);
        }
    }
    for (int b = 0; b < nb; b++) out[b] = acc[b];
}

static void q5_k_q(const void *w, const void *xq, size_t xs, int nb, int64_t nblocks, float *out) {
    const st_block_q5_k *wb = (const st_block_q5_k *)w;
    float acc[ST_MAX_NB] = {0};
    for (int64_t i = 0; i < nblocks; i++) {
        uint8_t v[ST_QK_K];
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                const uint8_t q = wb[i].qs[32 * c + l], h = wb[i].qh[l];
                v[64 * c + l] = (uint8_t)((q & 0x0f) | (((h >> (2 * c)) & 1) << 4));
                v[64 * c + 32 + l] = (uint8_t)((q >> 4) | (((h >> (2 * c + 1)) & 1) << 4));
            }
        }
        int sc[8], mn[8];
        kscales(wb[i].scales, sc, mn);
        const float d = st_h2f(wb[i].d), dmin = st_h2f(wb[i].dmin);
        for (int b = 0; b < nb; b++) {
            const st_block_q8_k *x = XQ(st_block_q8_k, xq, xs, b) + i;
            int sumi = 0, summ = 0;
            for (int j = 0; j < 8; j++) {
                int s = 0;
                for (int l = 32 * j; l < 32 * j + 32; l++) s += v[l] * x->qs[l];
                sumi += sc[j] * s;
                summ += mn[j] * (x->bsums[2 * j] + x->bsums[2 * j + 1]);
            }
            acc[b] += x->d * (d * (float)sumi - dmin * (float)summ);
        }
    }
    for (int b = 0; b < nb; b++) out[b] = acc[b];
}

static void q6_k_q(const void *w, const void *xq, size_t xs, int nb, int64_t nblocks, float *out) {
    const st_block_q6_k *wb = (const st_block_q6_k *)w;
    float acc[ST_MAX_NB] = {0};
    for (int64_t i = 0; i < nblocks; i++) {
        int8_t v[ST_QK_K];
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = wb[i].ql + 64 * h, *qh = wb[i].qh + 32 * h;
            int8_t *o = v + 128 * h;
            for (int l = 0; l < 32; l++) {
                o[l] = (int8_t)(((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32);
                o[l + 32] = (int8_t)(((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32);
                o[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                o[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
        }
        const float d = st_h2f(wb[i].d);
        for (int b = 0; b < nb; b++) {
            const st_block_q8_k *x = XQ(st_block_q8_k, xq, xs, b) + i;
            int sumi = 0;
            for (int g = 0; g < 16; g++) {
                int s = 0;
                for (int l = 16 * g; l < 16 * g + 16; l++) s += v[l] * x->qs[l];
                sumi += wb[i].scales[g] * s;
            }
            acc[b] += d * x->d * (float)sumi;
        }
    }
    for (int b = 0; b < nb; b++) out[b] = acc[b];
}

// MARK: - Fast path: float weights against f32 activations

// Float dots keep ST_LANES independent partial sums in an array: each lane is its own sum, so the
// compiler can vectorise the loop without reassociating float additions.
#define ST_LANES 16

#define FLOAT_DOT(name, type, conv)                                               \
    static inline float name(const type *w, const float *x, int64_t n) {          \
        float acc[ST_LANES] = {0};                                                \
        int64_t i = 0;                                                            \
        for (; i + ST_LANES <= n; i += ST_LANES)                                  \
            for (int k = 0; k < ST_LANES; k++) acc[k] += conv(w[i + k]) * x[i + k]; \
        for (int k = 0; i + k < n; k++) acc[k] += conv(w[i + k]) * x[i + k];      \
        float s = 0;                                                              \
        for (int k = 0; k < ST_LANES; k++) s += acc[k];                           \
        return s;                                                                 \
    }

static inline float ident(float v) { return v; }

FLOAT_DOT(dot_f32, float, ident)
FLOAT_DOT(dot_f16, uint16_t, st_h2f)
FLOAT_DOT(dot_bf16, uint16_t, st_bf2f)

static void f32_q(const void *w, const void *xq, size_t xs, int nb, int64_t n, float *out) {
    for (int b = 0; b < nb; b++) out[b] = dot_f32((const float *)w, XQ(float, xq, xs, b), n);
}

static void f16_q(const void *w, const void *xq, size_t xs, int nb, int64_t n, float *out) {
    for (int b = 0; b < nb; b++) out[b] = dot_f16((const uint16_t *)w, XQ(float, xq, xs, b), n);
}

static void bf16_q(const void *w, const void *xq, size_t xs, int nb, int64_t n, float *out) {
    for (int b = 0; b < nb; b++) out[b] = dot_bf16((const uint16_t *)w, XQ(float, xq, xs, b), n);
}

const st_q_table st_scalar_q = {q4_0_q, q4_1_q, q8_0_q, q4_k_q, q5_k_q, q6_k_q, f32_q, f16_q, bf16_q};

// MARK: - Exact path: decode a block into registers' worth of floats, then FMA against x

#define EXACT_KERNEL(name, block_t, qk, decode)                                       \
    static float name(const void *w, const float *x, int64_t nblocks) {               \
        const block_t *wb = (const block_t *)w;                                       \
        float acc[ST_LANES] = {0};                                                    \
        float buf[qk];                                                                \
        for (int64_t i = 0; i < nblocks; i++, x += (qk)) {                            \
            decode(wb + i, buf);                                                      \
            for (int j = 0; j < (qk); j += ST_LANES)                                  \
                for (int k = 0; k < ST_LANES; k++) acc[k] += buf[j + k] * x[j + k];   \
        }                                                                             \
        float s = 0;                                                                  \
        for (int k = 0; k < ST_LANES; k++) s += acc[k];                               \
        return s;                                                                     \
    }

EXACT_KERNEL(q4_0_x, st_block_q4_0, ST_QK, st_dequant_q4_0)
EXACT_KERNEL(q4_1_x, st_block_q4_1, ST_QK, st_dequant_q4_1)
EXACT_KERNEL(q8_0_x, st_block_q8_0, ST_QK, st_dequant_q8_0)
EXACT_KERNEL(q4_k_x, st_block_q4_k, ST_QK_K, st_dequant_q4_k)
EXACT_KERNEL(q5_k_x, st_block_q5_k, ST_QK_K, st_dequant_q5_k)
EXACT_KERNEL(q6_k_x, st_block_q6_k, ST_QK_K, st_dequant_q6_k)

static float f32_x(const void *w, const float *x, int64_t n) { return dot_f32((const float *)w, x, n); }
static float f16_x(const void *w, const float *x, int64_t n) { return dot_f16((const uint16_t *)w, x, n); }
static float bf16_x(const void *w, const float *x, int64_t n) { return dot_bf16((const uint16_t *)w, x, n); }

const st_f32_table st_scalar_f32 = {q4_0_x, q4_1_x, q8_0_x, q4_k_x, q5_k_x, q6_k_x, f32_x, f16_x, bf16_x};
