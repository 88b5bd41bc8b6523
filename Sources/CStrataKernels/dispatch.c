// Public entry points: CPU feature probe, path selection, and the row loops over the kernels.
#include "st_internal.h"

#if ST_X86
#include <cpuid.h>
#endif

enum { PROBE_UNKNOWN = 0, PROBE_SCALAR = 1, PROBE_AVX2 = 2 };

static int probed = PROBE_UNKNOWN; // accessed atomically; every racing probe stores the same value
static int forced_scalar = 0;

static int probe_cpu(void) {
#if ST_X86
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return PROBE_SCALAR;
    // F16C: CPUID leaf 1, ECX bit 29 (the OS's AVX state support is implied by the avx2 check).
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 29))) return PROBE_SCALAR;
    return PROBE_AVX2;
#else
    return PROBE_SCALAR;
#endif
}

static int detected(void) {
    int p = __atomic_load_n(&probed, __ATOMIC_RELAXED);
    if (p == PROBE_UNKNOWN) {
        p = probe_cpu();
        __atomic_store_n(&probed, p, __ATOMIC_RELAXED);
    }
    return p;
}

int st_use_avx2(void) {
    return detected() == PROBE_AVX2 && !__atomic_load_n(&forced_scalar, __ATOMIC_RELAXED);
}

const char *st_simd_path(void) { return st_use_avx2() ? "avx2" : "scalar"; }

void st_force_scalar(int force) { __atomic_store_n(&forced_scalar, force ? 1 : 0, __ATOMIC_RELAXED); }

// MARK: - Kernel selection

static const st_q_table *q_table(void) {
#if ST_X86
    if (st_use_avx2()) return &st_avx2_q;
#endif
    return &st_scalar_q;
}

static const st_f32_table *f32_table(void) {
#if ST_X86
    if (st_use_avx2()) return &st_avx2_f32;
#endif
    return &st_scalar_f32;
}

static const st_act_table *act_table(void) {
#if ST_X86
    if (st_use_avx2()) return &st_avx2_act;
#endif
    return &st_scalar_act;
}

static st_rowdot_q_fn pick_q(int type) {
    const st_q_table *t = q_table();
    switch (type) {
    case ST_TYPE_Q4_0: return t->q4_0;
    case ST_TYPE_Q4_1: return t->q4_1;
    case ST_TYPE_Q8_0: return t->q8_0;
    case ST_TYPE_Q4_K: return t->q4_k;
    case ST_TYPE_Q5_K: return t->q5_k;
    case ST_TYPE_Q6_K: return t->q6_k;
    case ST_TYPE_F32: return t->f32;
    case ST_TYPE_F16: return t->f16;
    case ST_TYPE_BF16: return t->bf16;
    default: return NULL;
    }
}

static st_rowdot_f32_fn pick_f32(int type) {
    const st_f32_table *t = f32_table();
    switch (type) {
    case ST_TYPE_Q4_0: return t->q4_0;
    case ST_TYPE_Q4_1: return t->q4_1;
    case ST_TYPE_Q8_0: return t->q8_0;
    case ST_TYPE_Q4_K: return t->q4_k;
    case ST_TYPE_Q5_K: return t->q5_k;
    case ST_TYPE_Q6_K: return t->q6_k;
    case ST_TYPE_F32: return t->f32;
    case ST_TYPE_F16: return t->f16;
    case ST_TYPE_BF16: return t->bf16;
    default: return NULL;
    }
}

/// Number of weight blocks in a row of n elements, or -1 when n does not fit the type.
static int64_t row_blocks(int type, int64_t n) {
    if (!st_type_supported(type) || n < 0) return -1;
    const int64_t be = st_block_elements(type);
    return n % be == 0 ? n / be : -1;
}

// MARK: - Activations

int st_vec_dot_type(int type) {
    switch (type) {
    case ST_TYPE_Q4_0:
    case ST_TYPE_Q8_0: return ST_TYPE_Q8_0;
    case ST_TYPE_Q4_1: return ST_TYPE_Q8_1;
    case ST_TYPE_Q4_K:
    case ST_TYPE_Q5_K:
    case ST_TYPE_Q6_K: return ST_TYPE_Q8_K;
    case ST_TYPE_F32:
    case ST_TYPE_F16:
    case ST_TYPE_BF16: return ST_TYPE_F32;
    default: return -1;
    }
}

size_t st_vec_bytes(int type, int64_t n) {
    const int vt = st_vec_dot_type(type);
    if (vt < 0 || row_blocks(type, n) < 0) return 0;
    return st_row_bytes(vt, n);
}

int st_vec_quantize(int type, const float *x, void *dst, int64_t n) {
    const int vt = st_vec_dot_type(type);
    if (vt < 0 || row_blocks(type, n) < 0) return -1;
    const st_act_table *t = act_table();
    switch (vt) {
    case ST_TYPE_F32: memmove(dst, x, (size_t)n * sizeof(float)); break;
    case ST_TYPE_Q8_0: t->q8_0(x, dst, n); break;
    case ST_TYPE_Q8_1: t->q8_1(x, dst, n); break;
    case ST_TYPE_Q8_K: t->q8_k(x, dst, n); break;
    default: return -1;
    }
    return 0;
}

// MARK: - Matrix-vector products

int st_matvec_f32(int type, const void *w, size_t row_stride, const float *x, float *y,
                  int64_t n, int64_t r0, int64_t r1) {
    const int64_t nblocks = row_blocks(type, n);
    if (nblocks < 0 || r0 < 0 || r1 < r0) return -1;
    const st_rowdot_f32_fn fn = pick_f32(type);
    const char *row = (const char *)w + (size_t)r0 * row_stride;
    for (int64_t r = r0; r < r1; r++, row += row_stride) y[r] = fn(row, x, nblocks);
    return 0;
}

int st_matvec_q(int type, const void *w, size_t row_stride, const void *xq, float *y,
                int64_t n, int64_t r0, int64_t r1) {
    const int64_t nblocks = row_blocks(type, n);
    if (nblocks < 0 || r0 < 0 || r1 < r0) return -1;
    const st_rowdot_q_fn fn = pick_q(type);
    const char *row = (const char *)w + (size_t)r0 * row_stride;
    for (int64_t r = r0; r < r1; r++, row += row_stride) fn(row, xq, 0, 1, nblocks, y + r);
    return 0;
}

int st_matmul_q(int type, const void *w, size_t row_stride, const void *xq, size_t xq_stride,
                float *y, int64_t ldy, int64_t n, int64_t batch, int64_t r0, int64_t r1) {
    const int64_t nblocks = row_blocks(type, n);
    if (nblocks < 0 || r0 < 0 || r1 < r0 || batch < 0) return -1;
    const st_rowdot_q_fn fn = pick_q(type);
    const char *row = (const char *)w + (size_t)r0 * row_stride;
    // Rows outside, batch chunks inside: a row stays in L1 while every chunk reads it.
    for (int64_t r = r0; r < r1; r++, row += row_stride) {
        for (int64_t b0 = 0; b0 < batch; b0 += ST_MAX_NB) {
            const int nb = (int)(batch - b0 < ST_MAX_NB ? batch - b0 : ST_MAX_NB);
            float out[ST_MAX_NB];
            fn(row, (const char *)xq + (size_t)b0 * xq_stride, xq_stride, nb, nblocks, out);
            for (int k = 0; k < nb; k++) y[(b0 + k) * ldy + r] = out[k];
        }
    }
    return 0;
}
