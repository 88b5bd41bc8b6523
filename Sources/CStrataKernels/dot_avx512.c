// AVX-512 fast path (F/BW/VL + VNNI) for Q4_0, Q4_1 and Q8_0 over runs of rows: the 256-bit
// kernel of mat256_kernel.h with vpdpbusd (unsigned×signed bytes summed into int32 in one
// instruction) in place of maddubs/madd, and word permutes for gathering scales.
//
// 512-bit versions of these kernels (two-source word permutes gathering four blocks per
// register, sixteen scales converted at once) ran up to 1.4× faster while the weights sat in L2,
// but 1.2–1.3× slower than this kernel streaming weights from DRAM (Zen 4, one thread), which is
// where decoding reads them; so this path stays at 256 bits.
#include "st_avx2.h"

#if ST_X86

#define ST512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#define ST512_INLINE static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

#define MK_VNNI 1
#define MK_TARGET ST512_TARGET
#define MK_INLINE ST512_INLINE
#include "mat256_kernel.h"

const st_mat_table st_avx512_mat = {mk_q4_0_mat, mk_q4_1_mat, mk_q8_0_mat};

#endif
