// Type table, block decoders, and the weight-side encoders (ggml's reference rounding).
#include <math.h>

#include "st_internal.h"

// The encoders must round exactly as ggml's reference does: no fused multiply-adds.
#pragma STDC FP_CONTRACT OFF

int st_type_supported(int type) {
    switch (type) {
    case ST_TYPE_F32:
    case ST_TYPE_F16:
    case ST_TYPE_BF16:
    case ST_TYPE_Q4_0:
    case ST_TYPE_Q4_1:
    case ST_TYPE_Q8_0:
    case ST_TYPE_Q4_K:
    case ST_TYPE_Q5_K:
    case ST_TYPE_Q6_K:
        return 1;
    default:
        return 0;
    }
}

int64_t st_block_elements(int type) {
    switch (type) {
    case ST_TYPE_F32:
    case ST_TYPE_F16:
    case ST_TYPE_BF16:
        return 1;
    case ST_TYPE_Q4_0:
    case ST_TYPE_Q4_1:
    case ST_TYPE_Q8_0:
    case ST_TYPE_Q8_1:
        return ST_QK;
    case ST_TYPE_Q4_K:
    case ST_TYPE_Q5_K:
    case ST_TYPE_Q6_K:
    case ST_TYPE_Q8_K:
        return ST_QK_K;
    default:
        return 0;
    }
}

size_t st_block_bytes(int type) {
    switch (type) {
    case ST_TYPE_F32: return 4;
    case ST_TYPE_F16: return 2;
    case ST_TYPE_BF16: return 2;
    case ST_TYPE_Q4_0: return sizeof(st_block_q4_0);
    case ST_TYPE_Q4_1: return sizeof(st_block_q4_1);
    case ST_TYPE_Q8_0: return sizeof(st_block_q8_0);
    case ST_TYPE_Q8_1: return sizeof(st_block_q8_1);
    case ST_TYPE_Q4_K: return sizeof(st_block_q4_k);
    case ST_TYPE_Q5_K: return sizeof(st_block_q5_k);
    case ST_TYPE_Q6_K: return sizeof(st_block_q6_k);
    case ST_TYPE_Q8_K: return sizeof(st_block_q8_k);
    default: return 0;
    }
}

size_t st_row_bytes(int type, int64_t n) {
    const int64_t be = st_block_elements(type);
    if (be == 0 || n < 0 || n % be != 0) return 0;
    return (size_t)(n / be) * st_block_bytes(type);
}

// MARK: - Block decoders

void st_dequant_q4_0(const st_block_q4_0 *b, float *y) {
    const float d = st_h2f(b->d);
    for (int j = 0; j < ST_QK / 2; j++) {
        y[j] = d * (float)((b->qs[j] & 0x0f) - 8);
        y[j + ST_QK / 2] = d * (float)((b->qs[j] >> 4) - 8);
    }
}

void st_dequant_q4_1(const st_block_q4_1 *b, float *y) {
    const float d = st_h2f(b->d);
    const float m = st_h2f(b->m);
    for (int j = 0; j < ST_QK / 2; j++) {
        y[j] = d * (float)(b->qs[j] & 0x0f) + m;
        y[j + ST_QK / 2] = d * (float)(b->qs[j] >> 4) + m;
    }
}

void st_dequant_q8_0(const st_block_q8_0 *b, float *y) {
    const float d = st_h2f(b->d);
    for (int j = 0; j < ST_QK; j++) y[j] = d * (float)b->qs[j];
}

void st_dequant_q4_k(const st_block_q4_k *b, float *y) {
    const float d = st_h2f(b->d);
    const float dmin = st_h2f(b->dmin);
    const uint8_t *q = b->qs;
    for (int c = 0; c < 4; c++) { // 64 elements per chunk: low nibbles, then high nibbles
        int sc, mn;
        st_kscale(b->scales, 2 * c, &sc, &mn);
        const float d1 = d * (float)sc, m1 = dmin * (float)mn;
        st_kscale(b->scales, 2 * c + 1, &sc, &mn);
        const float d2 = d * (float)sc, m2 = dmin * (float)mn;
        for (int l = 0; l < 32; l++) y[l] = d1 * (float)(q[l] & 0x0f) - m1;
        for (int l = 0; l < 32; l++) y[32 + l] = d2 * (float)(q[l] >> 4) - m2;
        q += 32;
        y += 64;
    }
}

void st_dequant_q5_k(const st_block_q5_k *b, float *y) {
    const float d = st_h2f(b->d);
    const float dmin = st_h2f(b->dmin);
    const uint8_t *q = b->qs;
    for (int c = 0; c < 4; c++) {
        int sc, mn;
        st_kscale(b->scales, 2 * c, &sc, &mn);
        const float d1 = d * (float)sc, m1 = dmin * (float)mn;
        st_kscale(b->scales, 2 * c + 1, &sc, &mn);
        const float d2 = d * (float)sc, m2 = dmin * (float)mn;
        const int s1 = 2 * c, s2 = 2 * c + 1; // bit of qh holding the fifth bit
        for (int l = 0; l < 32; l++) {
            const int v = (q[l] & 0x0f) | (((b->qh[l] >> s1) & 1) << 4);
            y[l] = d1 * (float)v - m1;
        }
        for (int l = 0; l < 32; l++) {
            const int v = (q[l] >> 4) | (((b->qh[l] >> s2) & 1) << 4);
            y[32 + l] = d2 * (float)v - m2;
        }
        q += 32;
        y += 64;
    }
}

void st_dequant_q6_k(const st_block_q6_k *b, float *y) {
    const float d = st_h2f(b->d);
    const uint8_t *ql = b->ql;
    const uint8_t *qh = b->qh;
    const int8_t *sc = b->scales;
    for (int half = 0; half < 2; half++) { // 128 elements per half
        for (int l = 0; l < 32; l++) {
            const int is = l / 16;
            const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
            const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l] = d * (float)sc[is] * (float)q1;
            y[l + 32] = d * (float)sc[is + 2] * (float)q2;
            y[l + 64] = d * (float)sc[is + 4] * (float)q3;
            y[l + 96] = d * (float)sc[is + 6] * (float)q4;
        }
        ql += 64;
        qh += 32;
        sc += 8;
        y += 128;
    }
}

int st_dequantize_row(int type, const void *src, float *dst, int64_t n) {
    if (!st_type_supported(type) || n < 0 || n % st_block_elements(type) != 0) return -1;
    const int64_t nb = n / st_block_elements(type);
    switch (type) {
    case ST_TYPE_F32:
        memmove(dst, src, (size_t)n * sizeof(float));
        return 0;
    case ST_TYPE_F16:
        st_f16_to_f32((const uint16_t *)src, dst, n);
        return 0;
    case ST_TYPE_BF16:
        st_bf16_to_f32((const uint16_t *)src, dst, n);
        return 0;
    case ST_TYPE_Q4_0:
        for (int64_t i = 0; i < nb; i++) st_dequant_q4_0((const st_block_q4_0 *)src + i, dst + i * ST_QK);
        return 0;
    case ST_TYPE_Q4_1:
        for (int64_t i = 0; i < nb; i++) st_dequant_q4_1((const st_block_q4_1 *)src + i, dst + i * ST_QK);
        return 0;
    case ST_TYPE_Q8_0:
        for (int64_t i = 0; i < nb; i++) st_dequant_q8_0((const st_block_q8_0 *)src + i, dst + i * ST_QK);
        return 0;
    case ST_TYPE_Q4_K:
        for (int64_t i = 0; i < nb; i++) st_dequant_q4_k((const st_block_q4_k *)src + i, dst + i * ST_QK_K);
        return 0;
    case ST_TYPE_Q5_K:
        for (int64_t i = 0; i < nb; i++) st_dequant_q5_k((const st_block_q5_k *)src + i, dst + i * ST_QK_K);
        return 0;
    case ST_TYPE_Q6_K:
        for (int64_t i = 0; i < nb; i++) st_dequant_q6_k((const st_block_q6_k *)src + i, dst + i * ST_QK_K);
        return 0;
    default:
        return -1;
    }
}

// MARK: - Weight encoders (ggml reference semantics)

static void quantize_q8_0_ref(const float *x, st_block_q8_0 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += ST_QK) {
        float amax = 0.0f;
        for (int j = 0; j < ST_QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = st_f2h(d);
        for (int j = 0; j < ST_QK; j++) y[i].qs[j] = (int8_t)st_round_away(x[j] * id);
    }
}

static void quantize_q4_0_ref(const float *x, st_block_q4_0 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += ST_QK) {
        float amax = 0.0f, max = 0.0f; // largest magnitude, and that value with its sign
        for (int j = 0; j < ST_QK; j++) {
            if (amax < fabsf(x[j])) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = st_f2h(d);
        for (int j = 0; j < ST_QK / 2; j++) {
            // x * id lies in [-8, 8]: +8.5 then truncation rounds to the nearest level in 0..16.
            const int8_t a = (int8_t)(x[j] * id + 8.5f);
            const int8_t b = (int8_t)(x[j + ST_QK / 2] * id + 8.5f);
            const uint8_t qa = (uint8_t)(a < 15 ? a : 15);
            const uint8_t qb = (uint8_t)(b < 15 ? b : 15);
            y[i].qs[j] = (uint8_t)(qa | (qb << 4));
        }
    }
}

static void quantize_q4_1_ref(const float *x, st_block_q4_1 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += ST_QK) {
        float min = x[0], max = x[0];
        for (int j = 1; j < ST_QK; j++) {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        const float d = (max - min) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = st_f2h(d);
        y[i].m = st_f2h(min);
        for (int j = 0; j < ST_QK / 2; j++) {
            const int8_t a = (int8_t)((x[j] - min) * id + 0.5f);
            const int8_t b = (int8_t)((x[j + ST_QK / 2] - min) * id + 0.5f);
            const uint8_t qa = (uint8_t)(a < 15 ? a : 15);
            const uint8_t qb = (uint8_t)(b < 15 ? b : 15);
            y[i].qs[j] = (uint8_t)(qa | (qb << 4));
        }
    }
}

int st_quantize_row(int type, const float *src, void *dst, int64_t n) {
    if (n < 0) return -1;
    switch (type) {
    case ST_TYPE_F32:
        memmove(dst, src, (size_t)n * sizeof(float));
        return 0;
    case ST_TYPE_F16:
        st_f32_to_f16(src, (uint16_t *)dst, n);
        return 0;
    case ST_TYPE_BF16:
        st_f32_to_bf16(src, (uint16_t *)dst, n);
        return 0;
    case ST_TYPE_Q8_0:
    case ST_TYPE_Q4_0:
    case ST_TYPE_Q4_1:
        break;
    default:
        return -1;
    }
    if (n % ST_QK != 0) return -1;
    const int64_t nb = n / ST_QK;
    if (type == ST_TYPE_Q8_0) quantize_q8_0_ref(src, (st_block_q8_0 *)dst, nb);
    else if (type == ST_TYPE_Q4_0) quantize_q4_0_ref(src, (st_block_q4_0 *)dst, nb);
    else quantize_q4_1_ref(src, (st_block_q4_1 *)dst, nb);
    return 0;
}
