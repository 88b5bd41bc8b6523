import Foundation
import StrataKernels
import StrataTestSupport
import Testing

@Suite struct OpsTests {
    @Test(arguments: [(1, 1), (3, 7), (2, 576), (5, 33)])
    func rmsNormMatchesReference(rows: Int, n: Int) {
        var rng = SplitMix64(seed: UInt64(rows * 1000 + n))
        let x = rng.floats(rows * n, scale: 3)
        let w = rng.floats(n, scale: 2)
        var out = [Float](repeating: 0, count: rows * n)
        Ops.rmsNorm(x, weight: w, out: &out, rows: rows, n: n, epsilon: 1e-5)
        var ref = [Double](repeating: 0, count: rows * n)
        for t in 0..<rows {
            let ss = (0..<n).reduce(0.0) { $0 + Double(x[t * n + $1]) * Double(x[t * n + $1]) }
            let scale = 1 / (ss / Double(n) + 1e-5).squareRoot()
            for j in 0..<n { ref[t * n + j] = Double(x[t * n + j]) * scale * Double(w[j]) }
        }
        #expect(approxEqual(out, ref, rtol: 1e-5))
    }

    @Test func softmaxMatchesReferenceAndSumsToOne() {
        var rng = SplitMix64(seed: 3)
        for n in [1, 2, 9, 100] {
            var x = rng.floats(n, scale: 20)
            let m = x.map(Double.init).max()!
            let e = x.map { exp(Double($0) - m) }
            let ref = e.map { $0 / e.reduce(0, +) }
            Ops.softmax(&x, count: n)
            #expect(approxEqual(x, ref, rtol: 1e-5))
            #expect(isApproximatelyEqual(Double(x.reduce(0, +)), 1, rtol: 1e-5))
        }
    }

    @Test func swiGLUMatchesReference() {
        var rng = SplitMix64(seed: 4)
        var g = rng.floats(37, scale: 6)
        let u = rng.floats(37, scale: 2)
        let ref = zip(g, u).map { Double($0) / (1 + exp(-Double($0))) * Double($1) }
        Ops.swiGLU(gate: &g, up: u, count: 37)
        #expect(approxEqual(g, ref, rtol: 1e-5))
    }

    @Test(arguments: [Rope.Layout.adjacentPairs, .halves])
    func ropeMatchesReference(layout: Rope.Layout) {
        let heads = 3, hd = 8
        let rope = Rope(dimensions: hd, base: 10_000, layout: layout, linearScale: 2)
        var rng = SplitMix64(seed: 5)
        let positions = [0, 1, 7, 4095]
        var x = rng.floats(positions.count * heads * hd)
        let original = x
        let (c, s) = rope.table(positions: positions)
        rope.apply(&x, rows: positions.count, heads: heads, headDim: hd, cos: c, sin: s)
        var ref = [Double](repeating: 0, count: x.count)
        for (t, p) in positions.enumerated() {
            for h in 0..<heads {
                let base = t * heads * hd + h * hd
                for i in 0..<hd / 2 {
                    let theta = Double(p) / 2 * pow(10_000, -2 * Double(i) / Double(hd))
                    let (a, b) = layout == .adjacentPairs ? (2 * i, 2 * i + 1) : (i, i + hd / 2)
                    let x0 = Double(original[base + a]), x1 = Double(original[base + b])
                    ref[base + a] = x0 * cos(theta) - x1 * sin(theta)
                    ref[base + b] = x0 * sin(theta) + x1 * cos(theta)
                }
            }
        }
        #expect(approxEqual(x, ref, rtol: 1e-5))
    }
}

@Suite struct RopeScalingTests {
    @Test func llama3FactorsKeepHighFrequenciesAndScaleLowOnes() {
        // Llama 3.1 8B: θ 500000, head 128, factor 8, low 1, high 4, original context 8192.
        let f = Rope.llama3Factors(
            dimensions: 128, base: 500_000, factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContext: 8192)
        #expect(f.count == 64)
        #expect(f[0] == 1)  // wavelength 2π < 2048
        #expect(f[63] == 8)  // wavelength far above 8192
        // In between the divisor rises monotonically from 1 to 8.
        #expect(zip(f, f.dropFirst()).allSatisfy { $0 <= $1 })
        let blended = f.filter { $0 > 1 && $0 < 8 }
        #expect(!blended.isEmpty)
        // At the blend's midpoint of 1/wavelength the divisor is 1 / (0.5/8 + 0.5) = 16/9.
        let i = f.firstIndex { $0 > 1 }!
        #expect(f[i] > 1 && f[i] < 16.0 / 9.0 + 1)
    }
}
