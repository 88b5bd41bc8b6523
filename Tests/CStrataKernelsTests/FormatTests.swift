import CStrataKernels
import StrataTestSupport
import Testing

@Suite("Type table and block decoding")
struct FormatTests {
    @Test("Type ids match GGUF's numbering")
    func typeIds() {
        #expect(ST_TYPE_F32.rawValue == 0 && ST_TYPE_F16.rawValue == 1 && ST_TYPE_Q4_0.rawValue == 2)
        #expect(ST_TYPE_Q4_1.rawValue == 3 && ST_TYPE_Q8_0.rawValue == 8 && ST_TYPE_Q8_1.rawValue == 9)
        #expect(ST_TYPE_Q4_K.rawValue == 12 && ST_TYPE_Q5_K.rawValue == 13 && ST_TYPE_Q6_K.rawValue == 14)
        #expect(ST_TYPE_Q8_K.rawValue == 15 && ST_TYPE_BF16.rawValue == 30)
    }

    @Test("Block sizes and row bytes follow ggml's layouts", arguments: WeightType.allCases)
    func blockSizes(_ type: WeightType) {
        #expect(st_type_supported(type.rawValue) == 1)
        #expect(st_block_elements(type.rawValue) == Int64(type.blockElements))
        #expect(st_block_bytes(type.rawValue) == type.blockBytes)
        #expect(st_row_bytes(type.rawValue, Int64(3 * type.blockElements)) == 3 * type.blockBytes)
    }

    @Test("Activation formats: Q8_1 is 36 bytes, Q8_K is 292 bytes, neither is a weight type")
    func activationFormats() {
        #expect(st_block_bytes(9) == 36 && st_block_elements(9) == 32)
        #expect(st_block_bytes(15) == 292 && st_block_elements(15) == 256)
        #expect(st_type_supported(9) == 0 && st_type_supported(15) == 0)
        #expect(st_vec_dot_type(WeightType.q4_0.rawValue) == 8)
        #expect(st_vec_dot_type(WeightType.q8_0.rawValue) == 8)
        #expect(st_vec_dot_type(WeightType.q4_1.rawValue) == 9)
        for t in [WeightType.q4K, .q5K, .q6K] { #expect(st_vec_dot_type(t.rawValue) == 15) }
        for t in [WeightType.f32, .f16, .bf16] {
            #expect(st_vec_dot_type(t.rawValue) == 0)
            #expect(st_vec_bytes(t.rawValue, 100) == 400)
        }
        #expect(st_vec_bytes(WeightType.q4_1.rawValue, 64) == 72)
        #expect(st_vec_bytes(WeightType.q6K.rawValue, 512) == 584)
    }

    @Test("Unknown types and misaligned lengths are rejected", arguments: [Int32(-1), 6, 7, 9, 10, 11, 15, 16, 29, 99])
    func unknownTypes(_ type: Int32) {
        #expect(st_type_supported(type) == 0)
        // Q8_1 and Q8_K have a layout (activations) but are not weights.
        if type != 9 && type != 15 { #expect(st_row_bytes(type, 256) == 0) }
        #expect(st_vec_bytes(type, 256) == 0)
        var out = [Float](repeating: 0, count: 1024)
        let src = [UInt8](repeating: 0, count: 4096)
        let x = [Float](repeating: 1, count: 256)
        #expect(st_dequantize_row(type, src, &out, 256) == -1)
        #expect(st_vec_quantize(type, x, &out, 256) == -1)
        #expect(st_quantize_row(type, x, &out, 256) == -1)
    }

    @Test("Decoding matches the element-by-element reference", arguments: WeightType.allCases)
    func dequantizeMatchesReference(_ type: WeightType) {
        var rng = SplitMix64(seed: 0xD0 + UInt64(type.rawValue))
        for blocks in [1, 2, 5] {
            let n = blocks * max(type.blockElements, 32)
            let m = Matrix(type, rows: 1, n: n, rng: &rng)
            var out = [Float](repeating: .nan, count: n)
            let rc = m.bytes.withUnsafeBytes { st_dequantize_row(type.rawValue, $0.baseAddress, &out, Int64(n)) }
            #expect(rc == 0)
            let ref = m.row(0)
            // Each element is a few float roundings of the exact value, relative to its terms.
            let (worst, at) = maxAbsDifference(out, ref)
            #expect(approxEqual(out, ref, rtol: 1e-6), "\(type) n=\(n) element \(at): \(out[at]) vs \(ref[at]), |Δ| \(worst)")
        }
    }

    @Test("A length that is not a whole number of blocks is rejected", arguments: [WeightType.q4_0, .q4_1, .q8_0, .q4K, .q5K, .q6K])
    func partialBlocks(_ type: WeightType) {
        let n = type.blockElements + 1
        var out = [Float](repeating: 0, count: 2 * n)
        let x = [Float](repeating: 1, count: 2 * n)
        let src = [UInt8](repeating: 0, count: 4 * type.blockBytes)
        #expect(st_row_bytes(type.rawValue, Int64(n)) == 0)
        #expect(st_vec_bytes(type.rawValue, Int64(n)) == 0)
        #expect(st_dequantize_row(type.rawValue, src, &out, Int64(n)) == -1)
        #expect(st_vec_quantize(type.rawValue, x, &out, Int64(n)) == -1)
        #expect(st_quantize_row(type.rawValue, x, &out, Int64(n)) == -1)
        var y = [Float](repeating: 0, count: 4)
        let rc = src.withUnsafeBytes { w in
            st_matvec_f32(type.rawValue, w.baseAddress, type.blockBytes, x, &y, Int64(n), 0, 1)
        }
        #expect(rc == -1)
        let rcq = src.withUnsafeBytes { w in
            st_matvec_q(type.rawValue, w.baseAddress, type.blockBytes, x, &y, Int64(n), 0, 1)
        }
        #expect(rcq == -1)
        let rcm = src.withUnsafeBytes { w in
            st_matmul_q(type.rawValue, w.baseAddress, type.blockBytes, x, 0, &y, 1, Int64(n), 1, 0, 1)
        }
        #expect(rcm == -1)
    }
}
