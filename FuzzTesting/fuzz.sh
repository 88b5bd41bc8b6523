#!/usr/bin/env bash
# Build and run the StrataWire fuzzers.
#   ./fuzz.sh seed DIR              write the golden frames of ../proto/vectors as binary seeds into DIR
#   ./fuzz.sh run PRODUCT SECONDS   build PRODUCT with libFuzzer + AddressSanitizer and fuzz for SECONDS
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
    swift build -c debug -Xswiftc -sanitize=fuzzer,address --product "$product"
    corpus="corpus/$product"
    seed "$corpus"
    ".build/debug/$product" "$corpus" -max_total_time="$seconds" -print_final_stats=1
    ;;
*) echo "usage: $0 seed DIR | run PRODUCT [SECONDS]" >&2; exit 2 ;;
esac
