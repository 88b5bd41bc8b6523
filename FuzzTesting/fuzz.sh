#!/usr/bin/env bash
# Build and run the StrataWire fuzzers.
#   ./fuzz.sh seed DIR              write the golden frames of ../proto/vectors as binary seeds into DIR
#   ./fuzz.sh run PRODUCT SECONDS   build PRODUCT (optimised, with libFuzzer + AddressSanitizer) and fuzz for SECONDS
set -euo pipefail
cd "$(dirname "$0")"

seed() {
    mkdir -p "$1"
    for f in ../proto/vectors/*.hex; do
        sed 's/#.*//' "$f" | tr -d ' \n\t\r' | xxd -r -p > "$1/$(basename "$f" .hex).bin"
    done
}

case "${1:-}" in
seed) seed "$2" ;;
run)
    product="$2"; seconds="${3:-300}"
    # Optimised: the handshake harness runs ~7,000 inputs/s this way against ~520 in a debug build.
    swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -g --product "$product"
    corpus="corpus/$product"
    seed "$corpus"
    # A trap is libFuzzer's finding; Swift's own backtracer would only hold the process up.
    SWIFT_BACKTRACE=enable=no ".build/release/$product" "$corpus" -max_total_time="$seconds" -print_final_stats=1
    ;;
*) echo "usage: $0 seed DIR | run PRODUCT [SECONDS]" >&2; exit 2 ;;
esac
