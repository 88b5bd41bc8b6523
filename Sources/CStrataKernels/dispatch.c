// Public entry points: CPU feature probe, path selection, and the row loops over the kernels.
#include "st_internal.h"

#if ST_X86
#include <cpuid.h>
#endif

static int probed = 0;       // best ST_PATH_* level; 0 until probed. Racing probes store the same value.
// Cap set by st_force_path (0: none). Per thread: a test that forces a path on its own thread
// must not change the path of kernels other threads (other tests' compute pools) run meanwhile.
static _Thread_local int forced_level = 0;

static int probe_cpu(void) {
#if ST_X86
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return ST_PATH_SCALAR;
    // F16C: CPUID leaf 1, ECX bit 29 (the OS's AVX state support is implied by the avx2 check).
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 29))) return ST_PATH_SCALAR;
    // The runtime's avx512 checks include the OS saving the 512-bit state.
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
        return ST_PATH_AVX512;
    return ST_PATH_AVX2;
#else
    return ST_PATH_SCALAR;
#endif
}

static int detected(void) {
    int p = __atomic_load_n(&probed, __ATOMIC_RELAXED);
    if (p == 0) {
        p = probe_cpu();
        __atomic_store_n(&probed, p, __ATOMIC_RELAXED);
    }
    return p;
}

int st_path_level(void) {
    const int p = detected();
    const int cap = forced_level;
    return cap > 0 && cap < p ? cap : p;
}

int st_use_avx2(void) { return st_path_level() >= ST_PATH_AVX2; }

const char *st_simd_path(void) {
    switch (st_path_level()) {
    case ST_PATH_AVX512: return "avx512";
    case ST_PATH_AVX2: return "avx2";
    default: return "scalar";
    }
}

int st_cpu_has_avx2_fma(void) {
#if ST_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

int st_cpu_has_avx512_skx(void) {
#if ST_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512cd");
#else
    return 0;
#endif
}

void st_force_path(int level) {
    forced_level = level < 0 ? 0 : level;
}

void st_force_scalar(int force) { st_force_path(force ? ST_PATH_SCALAR : 0); }

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

static st_mat_q_fn pick_mat(int type) {
#if ST_X86
    const int level = st_path_level();
    const st_mat_table *t = level >= ST_PATH_AVX512 ? &st_avx512_mat : level >= ST_PATH_AVX2 ? &st_avx2_mat : NULL;
    if (t) {
        switch (type) {
        case ST_TYPE_Q4_0: return t->q4_0;
        case ST_TYPE_Q4_1: return t->q4_1;
        case ST_TYPE_Q8_0: return t->q8_0;
        default: return NULL;
        }
    }
#else
    (void)type;
#endif
    return NULL;
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
    return st_matmul_q(type, w, row_stride, xq, 0, y, 0, n, 1, r0, r1);
}

int st_matmul_q(int type, const void *w, size_t row_stride, const void *xq, size_t xq_stride,
                float *y, int64_t ldy, int64_t n, int64_t batch, int64_t r0, int64_t r1) {
    const int64_t nblocks = row_blocks(type, n);
    if (nblocks < 0 || r0 < 0 || r1 < r0 || batch < 0) return -1;
    if (r1 == r0 || batch == 0) return 0;
    const char *row = (const char *)w + (size_t)r0 * row_stride;
    const st_mat_q_fn mat = pick_mat(type);
    if (mat) {
        mat(row, row_stride, xq, xq_stride, batch, nblocks, r1 - r0, y + r0, ldy);
        return 0;
    }
    const st_rowdot_q_fn fn = pick_q(type);
    if (batch == 1) {
        for (int64_t r = r0; r < r1; r++, row += row_stride) fn(row, xq, 0, 1, nblocks, y + r);
        return 0;
    }
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

// MARK: - Attention

static int attention(const float *q, const void *k, const void *v, int f16, float *out, float *scratch,
                     int64_t start, int64_t count, int64_t heads, int64_t kv_heads, int64_t head_dim,
                     int64_t q_stride, int64_t kv_stride, int64_t h0, int64_t h1) {
    if (start < 0 || count < 0 || heads <= 0 || kv_heads <= 0 || heads % kv_heads != 0 || head_dim <= 0 ||
        h0 < 0 || h1 < h0 || h1 > heads || q_stride < heads * head_dim || kv_stride < kv_heads * head_dim)
        return -1;
    if (count == 0 || h0 == h1) return 0;
    if (!q || !k || !v || !out || !scratch) return -1;
    st_attention_fn fn = st_scalar_attention;
#if ST_X86
    const int level = st_path_level();
    if (head_dim <= ST_ATTN_MAX_DIM) {
        if (level >= ST_PATH_AVX512 && head_dim % 16 == 0) fn = st_avx512_attention;
        else if (level >= ST_PATH_AVX2 && head_dim % 8 == 0) fn = st_avx2_attention;
    }
#endif
    fn(q, k, v, f16, out, scratch, start, count, heads, kv_heads, head_dim, q_stride, kv_stride, h0, h1);
    return 0;
}

int st_attention_f32(const float *q, const float *k, const float *v, float *out, float *scratch,
                     int64_t start, int64_t count, int64_t heads, int64_t kv_heads, int64_t head_dim,
                     int64_t q_stride, int64_t kv_stride, int64_t h0, int64_t h1) {
    return attention(q, k, v, 0, out, scratch, start, count, heads, kv_heads, head_dim, q_stride, kv_stride, h0, h1);
}

int st_attention_f16(const float *q, const uint16_t *k, const uint16_t *v, float *out, float *scratch,
                     int64_t start, int64_t count, int64_t heads, int64_t kv_heads, int64_t head_dim,
                     int64_t q_stride, int64_t kv_stride, int64_t h0, int64_t h1) {
    return attention(q, k, v, 1, out, scratch, start, count, heads, kv_heads, head_dim, q_stride, kv_stride, h0, h1);
}
