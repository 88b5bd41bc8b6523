// Strata's C compute core: weight rows in ggml's block formats, read in place.
//
// Every function here is pure (no allocation, no global state except the one-time CPU feature
// probe) and works on a caller-chosen range of output rows, so callers split work over threads.
// Type ids are ggml's (the GGUF tensor type field), so a GGUF tensor's type passes straight through.
#ifndef STRATA_KERNELS_H
#define STRATA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Weight storage types, numbered as in GGUF.
enum st_type {
    ST_TYPE_F32 = 0,
    ST_TYPE_F16 = 1,
    ST_TYPE_Q4_0 = 2,
    ST_TYPE_Q4_1 = 3,
    ST_TYPE_Q8_0 = 8,
    ST_TYPE_Q8_1 = 9,  // activations only (never a weight type here)
    ST_TYPE_Q4_K = 12,
    ST_TYPE_Q5_K = 13,
    ST_TYPE_Q6_K = 14,
    ST_TYPE_Q8_K = 15, // activations only
    ST_TYPE_BF16 = 30,
};

/// 1 if `type` is one of the weight types above that this library reads, else 0.
int st_type_supported(int type);
/// Elements per block (1 for F32/F16/BF16, 32 for Q4_0/Q4_1/Q8_0, 256 for K-quants); 0 if unknown.
int64_t st_block_elements(int type);
/// Bytes per block; 0 if unknown.
size_t st_block_bytes(int type);
/// Bytes of one row of `n` elements (`n` a multiple of the block size); 0 if unknown.
size_t st_row_bytes(int type, int64_t n);

/// Which SIMD path the dispatcher chose at first use: "avx512" (AVX-512 F/BW/VL with VNNI),
/// "avx2" or "scalar".
const char *st_simd_path(void);

/// 1 when the CPU and OS support AVX2 and FMA (what OpenBLAS's Haswell kernels need), else 0.
int st_cpu_has_avx2_fma(void);

/// 1 when the CPU and OS support AVX-512 F, BW, VL, DQ and CD (what OpenBLAS's SkylakeX kernels
/// need), else 0.
int st_cpu_has_avx512_skx(void);
/// Force the portable path (1) or automatic selection (0). For tests comparing the two.
void st_force_scalar(int force);
/// Caps the path for tests comparing them: 0 automatic, 1 scalar, 2 at most AVX2, 3 at most
/// AVX-512. A cap above what the CPU supports changes nothing. st_force_scalar(1) is a cap of 1.
/// Both act on the calling thread only (kernels other threads run keep their own path).
void st_force_path(int level);

// MARK: - Conversions

/// dst[i] = float(src[i]) for IEEE half.
void st_f16_to_f32(const uint16_t *src, float *dst, int64_t n);
/// Round-to-nearest-even float → IEEE half.
void st_f32_to_f16(const float *src, uint16_t *dst, int64_t n);
void st_bf16_to_f32(const uint16_t *src, float *dst, int64_t n);
/// Round-to-nearest-even float → bfloat16 (NaN stays NaN).
void st_f32_to_bf16(const float *src, uint16_t *dst, int64_t n);

/// Decodes one row of `n` elements stored as `type` into `dst` (n floats). Returns 0, or -1 for
/// an unsupported type or an `n` not a multiple of the block size.
int st_dequantize_row(int type, const void *src, float *dst, int64_t n);
/// Encodes `n` floats as one row of `type` (F32, F16, BF16, Q8_0, Q4_0, Q4_1: ggml's reference
/// rounding, so files written this way read back in llama.cpp). Returns 0 or -1.
int st_quantize_row(int type, const float *src, void *dst, int64_t n);

// MARK: - Matrix-vector products, weights read in place
//
// W is `rows` rows of `n` elements in `type`, row r starting at w + r * row_stride bytes.
// Rows [r0, r1) are computed; other entries of y are untouched.

/// Exact path: y[r] = sum_i W[r,i] * x[i] with x in f32. Accumulates in f32 with several
/// independent accumulators.
int st_matvec_f32(int type, const void *w, size_t row_stride, const float *x, float *y,
                  int64_t n, int64_t r0, int64_t r1);

/// Activation format for the fast path: `type` needs x quantised as
/// st_vec_dot_type(type) (Q8_0 for Q4_0/Q8_0, Q8_1 for Q4_1, Q8_K for K-quants, F32 for F32,
/// F16 for F16 and BF16 weights read as-is against f32 x → returns ST_TYPE_F32).
int st_vec_dot_type(int type);
/// Bytes needed to hold `n` activations in the fast path's format for weight type `type`.
size_t st_vec_bytes(int type, int64_t n);
/// Quantises the activation vector x (n floats) into `dst` (st_vec_bytes(type, n) bytes) in the
/// format st_vec_dot_type(type) names. Returns 0 or -1.
int st_vec_quantize(int type, const float *x, void *dst, int64_t n);
/// Fast path: y[r] = dot(W[r,:], xq) with xq from st_vec_quantize (integer dot products where
/// the format allows, as llama.cpp does). Returns 0 or -1.
int st_matvec_q(int type, const void *w, size_t row_stride, const void *xq, float *y,
                int64_t n, int64_t r0, int64_t r1);

/// Small batch, fast path: for b in [0, batch): y[b * ldy + r] = dot(W[r,:], xq_b) where
/// xq_b = (const char *)xq + b * xq_stride. Each weight block is loaded once for all b, so a
/// batch of up to ~8 costs little more memory traffic than one vector. Returns 0 or -1.
int st_matmul_q(int type, const void *w, size_t row_stride, const void *xq, size_t xq_stride,
                float *y, int64_t ldy, int64_t n, int64_t batch, int64_t r0, int64_t r1);

// MARK: - Attention over a KV cache

/// Causal attention of `count` query rows (positions start … start+count-1) for the query heads
/// [h0, h1), against f32 keys/values of positions 0 … start+count-1.
///   q:   (count, q_stride) floats; head h's vector at q + t*q_stride + h*head_dim (RoPE applied)
///   k,v: (start+count, kv_stride) floats; KV head g at + pos*kv_stride + g*head_dim
///   out: (count, q_stride) floats, same layout as q
///   scratch: at least (start + count) floats, private to the calling thread
/// Query head h reads KV head h / (heads / kv_heads); scores are scaled by 1/sqrt(head_dim);
/// row t sees positions 0 … start+t. Returns 0, or -1 on bad arguments.
int st_attention_f32(const float *q, const float *k, const float *v, float *out, float *scratch,
                     int64_t start, int64_t count, int64_t heads, int64_t kv_heads, int64_t head_dim,
                     int64_t q_stride, int64_t kv_stride, int64_t h0, int64_t h1);

/// st_attention_f32 against a cache of IEEE half keys and values (same layout, strides in
/// elements); the arithmetic stays f32.
int st_attention_f16(const float *q, const uint16_t *k, const uint16_t *v, float *out, float *scratch,
                     int64_t start, int64_t count, int64_t heads, int64_t kv_heads, int64_t head_dim,
                     int64_t q_stride, int64_t kv_stride, int64_t h0, int64_t h1);

/// XOR of the n 64-bit words at p: a pure read of n * 8 bytes, for bandwidth probes.
uint64_t st_stream_read(const uint64_t *p, int64_t n);

/// memcpy of `bytes` bytes (nothing when bytes <= 0), for bandwidth probes.
void st_stream_copy(void *dst, const void *src, int64_t bytes);

/// A hint to the CPU that the caller is spinning on a shared variable.
static inline void st_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#ifdef __cplusplus
}
#endif
#endif
