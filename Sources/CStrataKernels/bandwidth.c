#include "strata_kernels.h"

#include <string.h>

/* Integer XOR keeps the loop free of floating-point ordering rules, so the compiler turns it
 * into wide vector loads: the loop is bound by memory, not by arithmetic. */
uint64_t st_stream_read(const uint64_t *p, int64_t n) {
    uint64_t a = 0, b = 0, c = 0, d = 0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        a ^= p[i];
        b ^= p[i + 1];
        c ^= p[i + 2];
        d ^= p[i + 3];
    }
    for (; i < n; i++) a ^= p[i];
    return a ^ b ^ c ^ d;
}

void st_stream_copy(void *dst, const void *src, int64_t bytes) {
    if (bytes > 0) memcpy(dst, src, (size_t)bytes);
}
