import CStrataKernels
import StrataTestSupport
import Testing

/// Every test that switches the path selection lives here (and in extensions of this suite in
/// other files), run one at a time. The switch acts on the calling thread only, so kernels that
/// other suites run meanwhile on their compute pools keep the automatic path (their numerics,
/// compared against llama.cpp, must not change under them).
@Suite("Scalar, AVX2 and AVX-512 paths agree", .serialized)
struct PathAgreementTests {
    @Test("Forcing a path is reported by st_simd_path")
    func forcedPathReported() {
        let automatic = String(cString: st_simd_path())
        #expect(["avx512", "avx2", "scalar"].contains(automatic))
        withScalarPath { #expect(String(cString: st_simd_path()) == "scalar") }
        #expect(String(cString: st_simd_path()) == automatic)
        let levels = availableLevels()
        for level in levels { withPath(level) { #expect(String(cString: st_simd_path()) == pathName(level)) } }
        // A cap above what the CPU has changes nothing.
        withPath(3) { #expect(String(cString: st_simd_path()) == automatic) }
        #expect(String(cString: st_simd_path()) == automatic)
    }

    @Test("Half and bfloat conversions are bit-identical on both paths")
    func conversionsBitIdentical() {
        let values = halfProbeValues()
        let halves = (0...0xFFFF).map { UInt16($0) }
        let fast = (toHalf(values), fromHalf(halves), toBF16(values), fromBF16(halves))
        let slow = withScalarPath { (toHalf(values), fromHalf(halves), toBF16(values), fromBF16(halves)) }
        #expect(fast.0 == slow.0)
        #expect(fast.1.map(\.bitPattern) == slow.1.map(\.bitPattern))
        #expect(fast.2 == slow.2)
        #expect(fast.3.map(\.bitPattern) == slow.3.map(\.bitPattern))
    }

    @Test("Decoding is bit-identical on both paths", arguments: WeightType.allCases)
    func dequantizeBothPaths(_ type: WeightType) {
        var rng = SplitMix64(seed: 0xD1)
        let n = 2 * max(type.blockElements, 32)
        let m = Matrix(type, rows: 1, n: n, rng: &rng)
        func run() -> [Float] {
            var out = [Float](repeating: 0, count: n)
            _ = m.bytes.withUnsafeBytes { st_dequantize_row(type.rawValue, $0.baseAddress, &out, Int64(n)) }
            return out
        }
        let fast = run()
        let slow = withScalarPath(run)
        #expect(fast.map(\.bitPattern) == slow.map(\.bitPattern))
    }

    @Test("Activation quantisation is byte-identical on both paths", arguments: [WeightType.q8_0, .q4_1, .q6K, .f16])
    func activationBothPaths(_ type: WeightType) {
        var rng = SplitMix64(seed: 0xE4)
        var x = rng.floats(768, scale: 10)
        x[40] = 0  // a zero inside a block
        x.replaceSubrange(512..<544, with: [Float](repeating: 0, count: 32))  // an all-zero block
        let fast = cQuantizeActivations(type, x)
        let slow = withScalarPath { cQuantizeActivations(type, x) }
        #expect(fast == slow)
    }

    @Test("Exact, fast and batched products agree between paths", arguments: WeightType.allCases)
    func productsBothPaths(_ type: WeightType) {
        var rng = SplitMix64(seed: 0xF0 + UInt64(type.rawValue))
        let rows = 33, batch = 5
        for n in type.testLengths {
            let m = Matrix(type, rows: rows, n: n, pad: 2, rng: &rng)
            let xs = (0..<batch).map { _ in rng.floats(n, scale: 1) }
            let xq = xs.map { cQuantizeActivations(type, $0) }.reduce([], +)
            let stride = xq.count / batch

            func run() -> (exact: [Float], fast: [Float], batched: [Float]) {
                var exact = [Float](repeating: sentinel, count: rows)
                var fast = [Float](repeating: sentinel, count: rows)
                var batched = [Float](repeating: sentinel, count: batch * rows)
                _ = cMatvecF32(m, xs[0], y: &exact, r0: 0, r1: rows)
                _ = cMatvecQ(m, xq, y: &fast, r0: 0, r1: rows)
                _ = cMatmulQ(m, xq, xqStride: stride, batch: batch, y: &batched, ldy: rows, r0: 0, r1: rows)
                return (exact, fast, batched)
            }
            let avx = run()
            let scalar = withScalarPath(run)
            let x0 = xs[0].map(Double.init)
            for r in 0..<rows {
                let w = m.row(r)
                let scale = 1e-5 * absDot(w, x0) + 1e-30
                #expect(abs(Double(avx.exact[r]) - Double(scalar.exact[r])) <= scale, "\(type) n=\(n) exact row \(r)")
                #expect(abs(Double(avx.fast[r]) - Double(scalar.fast[r])) <= 2 * scale, "\(type) n=\(n) fast row \(r)")
                for b in 0..<batch {
                    let sb = 1e-5 * absDot(w, xs[b].map(Double.init)) + 1e-30
                    let (p, q) = (Double(avx.batched[b * rows + r]), Double(scalar.batched[b * rows + r]))
                    #expect(abs(p - q) <= 2 * sb, "\(type) n=\(n) batched \(b) row \(r)")
                }
            }
        }
    }
}
