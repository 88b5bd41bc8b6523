#ifndef STRATA_CFUZZERDRIVER_H
#define STRATA_CFUZZERDRIVER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt, LLVM 11 and later), linked in by `-sanitize=fuzzer`.
///
/// The harnesses call it from their own `main` because SwiftPM renames an executable's entry point and
/// defines `main` as an alias of it, which keeps libFuzzer's `main` out of the link.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
