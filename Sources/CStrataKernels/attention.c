// Portable causal grouped-query attention: per query row and head, scores into scratch, then a
// softmax and the weighted sum of values (two passes over the visible positions).
#include "st_internal.h"

/// Element i of a cache row: f32, or IEEE half when f16 is set.
static inline float kv_at(const void *row, int64_t i, int f16) {
    return f16 ? st_h2f(((const uint16_t *)row)[i]) : ((const float *)row)[i];
}

/// Dot product with eight independent partial sums (vectorisable without reassociation).
static float dot_kv(const float *a, const void *b, int f16, int64_t n) {
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += a[i + k] * kv_at(b, i + k, f16);
    for (int k = 0; i + k < n; k++) acc[k] += a[i + k] * kv_at(b, i + k, f16);
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

void st_scalar_attention(const float *q, const void *k, const void *v, int f16, float *out, float *scratch,
                         int64_t start, int64_t count, int64_t heads, int64_t kv_heads, int64_t head_dim,
                         int64_t q_stride, int64_t kv_stride, int64_t h0, int64_t h1) {
    const int64_t group = heads / kv_heads;
    const float scale = st_rsqrt(head_dim);
    const int64_t es = f16 ? 2 : 4;
    for (int64_t t = 0; t < count; t++) {
        const int64_t visible = start + t + 1;
        for (int64_t h = h0; h < h1; h++) {
            const float *qh = q + t * q_stride + h * head_dim;
            const char *kh = (const char *)k + (h / group) * head_dim * es;
            const char *vh = (const char *)v + (h / group) * head_dim * es;
            float *oh = out + t * q_stride + h * head_dim;
            float mx = -__builtin_inff();
            for (int64_t p = 0; p < visible; p++) {
                const float s = dot_kv(qh, kh + p * kv_stride * es, f16, head_dim) * scale;
                scratch[p] = s;
                mx = s > mx ? s : mx;
            }
            float sum = 0.0f;
            for (int64_t p = 0; p < visible; p++) {
                const float e = st_exp_nonpos(scratch[p] - mx);
                scratch[p] = e;
                sum += e;
            }
            const float inv = 1.0f / sum;
            for (int64_t i = 0; i < head_dim; i++) oh[i] = 0.0f;
            for (int64_t p = 0; p < visible; p++) {
                const float w = scratch[p] * inv;
                const char *vp = vh + p * kv_stride * es;
                for (int64_t i = 0; i < head_dim; i++) oh[i] += w * kv_at(vp, i, f16);
            }
        }
    }
}
