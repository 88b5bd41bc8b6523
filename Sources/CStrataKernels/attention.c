// Portable causal grouped-query attention: per query row and head, scores into scratch, then a
// softmax and the weighted sum of values (two passes over the visible positions).
#include "st_internal.h"

/// Dot product with eight independent partial sums (vectorisable without reassociation).
static float dot_f32(const float *a, const float *b, int64_t n) {
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += a[i + k] * b[i + k];
    for (int k = 0; i + k < n; k++) acc[k] += a[i + k] * b[i + k];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

void st_scalar_attention(const float *q, const float *k, const float *v, float *out, float *scratch,
                         int64_t start, int64_t count, int64_t heads, int64_t kv_heads, int64_t head_dim,
                         int64_t q_stride, int64_t kv_stride, int64_t h0, int64_t h1) {
    const int64_t group = heads / kv_heads;
    const float scale = st_rsqrt(head_dim);
    for (int64_t t = 0; t < count; t++) {
        const int64_t visible = start + t + 1;
        for (int64_t h = h0; h < h1; h++) {
            const float *qh = q + t * q_stride + h * head_dim;
            const float *kh = k + (h / group) * head_dim;
            const float *vh = v + (h / group) * head_dim;
            float *oh = out + t * q_stride + h * head_dim;
            float mx = -__builtin_inff();
            for (int64_t p = 0; p < visible; p++) {
                const float s = dot_f32(qh, kh + p * kv_stride, head_dim) * scale;
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
                const float *vp = vh + p * kv_stride;
                for (int64_t i = 0; i < head_dim; i++) oh[i] += w * vp[i];
            }
        }
    }
}
