import CStrataKernels
import StrataTestSupport
import Testing

/// A NaN with a payload no kernel produces: entries outside [r0, r1) must keep it bit for bit.
let sentinel = Float(bitPattern: 0x7FC0_1234)

/// Per-row error bounds for the fast path, derived from how activations are quantised.
///
/// With amax the block's largest |x|, d = amax/127 and q = round(x/d): |x − d·q| ≤ d/2. The
/// stored scale d' is d rounded to f16 (Q8_0/Q8_1; exact f32 for Q8_K), adding |d − d'|·|q| ≤
/// 127·2⁻¹¹·d. So |x − x̂| ≤ 0.6·amax/127 and |Σ w·(x − x̂)| ≤ 0.6 · Σ_i |w_i| · amax(i)/127.
/// Q4_1 also uses the activation block sum s = d'·Σq rounded to f16: |m|·|s|·2⁻¹¹ per block.
struct FastPathBounds {
    let xhat: [Double]
    let quantisation: Double  // |y − W·x| − |y − W·x̂| allowance
    let blockSum: Double  // Q4_1's rounding of s

    init(_ type: WeightType, row w: [Double], rowBytes: [UInt8], rowOffset: Int, x: [Float], xq: [UInt8]) {
        let n = x.count
        xhat = referenceActivations(type, xq, n: n)
        if type.isFloat {
            quantisation = 0
            blockSum = 0
            return
        }
        let block = type.isKQuant ? 256 : 32
        var q = 0.0
        for start in stride(from: 0, to: n, by: block) {
            let amax = x[start..<start + block].reduce(Float(0)) { max($0, abs($1)) }
            let wsum = w[start..<start + block].reduce(0) { $0 + abs($1) }
            q += 0.6 * wsum * Double(amax) / 127
        }
        quantisation = q
        var s = 0.0
        if type == .q4_1 {
            for blk in 0..<(n / 32) {
                let m = rowBytes.half(rowOffset + 20 * blk + 2)
                s += abs(m) * abs(xq.half(36 * blk + 2)) * 0x1p-11 * 1.01
            }
        }
        blockSum = s
    }
}

/// Checks y[r] for r in range against the exact product with x and with the decoded activations.
func checkFastPath(_ m: Matrix, x: [Float], xq: [UInt8], y: [Float], rows: Range<Int>, label: String) {
    let xd = x.map(Double.init)
    for r in rows {
        let w = m.row(r)
        let b = FastPathBounds(m.type, row: w, rowBytes: m.bytes, rowOffset: r * m.stride, x: x, xq: xq)
        let got = Double(y[r])
        // Against W·x̂: only float accumulation (and Q4_1's rounded block sums) separate them.
        let tight = 1e-5 * absDot(w, b.xhat) + b.blockSum + 1e-30
        #expect(abs(got - dot(w, b.xhat)) <= tight, "\(label) row \(r): \(got) vs W·x̂ \(dot(w, b.xhat))")
        // Against W·x: plus the activation rounding.
        let loose = tight + b.quantisation + 1e-5 * absDot(w, xd)
        #expect(abs(got - dot(w, xd)) <= loose, "\(label) row \(r): \(got) vs W·x \(dot(w, xd)), bound \(loose)")
    }
}

@Suite("Matrix-vector products")
struct MatvecTests {
    static let rowCounts = [1, 3, 17, 33]

    @Test("Exact path matches the double reference within 1e-5 of Σ|w·x|", arguments: WeightType.allCases, rowCounts)
    func exactPath(_ type: WeightType, rows: Int) {
        var rng = SplitMix64(seed: UInt64(rows) * 1000 + UInt64(type.rawValue))
        for n in type.testLengths {
            let m = Matrix(type, rows: rows, n: n, pad: rows % 2 == 1 ? 6 : 0, rng: &rng)
            let x = rng.floats(n, scale: 2)
            let xd = x.map(Double.init)
            var y = [Float](repeating: sentinel, count: rows)
            #expect(cMatvecF32(m, x, y: &y, r0: 0, r1: rows) == 0)
            for r in 0..<rows {
                let w = m.row(r)
                let bound = 1e-5 * absDot(w, xd) + 1e-30
                #expect(abs(Double(y[r]) - dot(w, xd)) <= bound, "\(type) n=\(n) row \(r): \(y[r]) vs \(dot(w, xd))")
            }
        }
    }

    @Test("Fast path matches W·x within the activation rounding bound", arguments: WeightType.allCases, rowCounts)
    func fastPath(_ type: WeightType, rows: Int) {
        var rng = SplitMix64(seed: UInt64(rows) * 2000 + UInt64(type.rawValue))
        for n in type.testLengths {
            let m = Matrix(type, rows: rows, n: n, pad: rows % 2 == 1 ? 10 : 0, rng: &rng)
            let x = rng.floats(n, scale: 2)
            let xq = cQuantizeActivations(type, x)
            var y = [Float](repeating: sentinel, count: rows)
            #expect(cMatvecQ(m, xq, y: &y, r0: 0, r1: rows) == 0)
            checkFastPath(m, x: x, xq: xq, y: y, rows: 0..<rows, label: "\(type) n=\(n)")
        }
    }

    @Test("Batched fast path gives each vector its own product", arguments: WeightType.allCases, [1, 2, 3, 4, 5, 9])
    func batchedFastPath(_ type: WeightType, batch: Int) {
        var rng = SplitMix64(seed: UInt64(batch) * 3000 + UInt64(type.rawValue))
        let rows = 17, n = type.testLengths[1]
        let m = Matrix(type, rows: rows, n: n, rng: &rng)
        let vecBytes = st_vec_bytes(type.rawValue, Int64(n))
        let xqStride = vecBytes + 40  // vectors need not be packed
        let xs = (0..<batch).map { _ in rng.floats(n, scale: 1.5) }
        var xq = [UInt8](repeating: 0, count: batch * xqStride)
        for b in 0..<batch { xq.replaceSubrange(b * xqStride..<b * xqStride + vecBytes, with: cQuantizeActivations(type, xs[b])) }
        let ldy = rows + 3
        var y = [Float](repeating: sentinel, count: batch * ldy)
        #expect(cMatmulQ(m, xq, xqStride: xqStride, batch: batch, y: &y, ldy: ldy, r0: 0, r1: rows) == 0)
        for b in 0..<batch {
            let yb = Array(y[(b * ldy)..<(b * ldy + rows)])
            checkFastPath(m, x: xs[b], xq: cQuantizeActivations(type, xs[b]), y: yb, rows: 0..<rows, label: "\(type) vector \(b)")
            for r in rows..<ldy { #expect(y[b * ldy + r].bitPattern == sentinel.bitPattern) }
        }
    }

    @Test("Row ranges not starting at 0 leave every other entry untouched", arguments: WeightType.allCases)
    func rowRanges(_ type: WeightType) {
        var rng = SplitMix64(seed: 0xA0 + UInt64(type.rawValue))
        let rows = 17, n = type.testLengths[1], r0 = 5, r1 = 12
        let m = Matrix(type, rows: rows, n: n, pad: 4, rng: &rng)
        let x = rng.floats(n, scale: 1)
        let xq = cQuantizeActivations(type, x)
        let outside = Array(0..<r0) + Array(r1..<rows)

        var y = [Float](repeating: sentinel, count: rows)
        #expect(cMatvecF32(m, x, y: &y, r0: r0, r1: r1) == 0)
        for r in outside { #expect(y[r].bitPattern == sentinel.bitPattern, "matvec_f32 wrote row \(r)") }
        for r in r0..<r1 {
            let w = m.row(r), xd = x.map(Double.init)
            #expect(abs(Double(y[r]) - dot(w, xd)) <= 1e-5 * absDot(w, xd))
        }

        y = [Float](repeating: sentinel, count: rows)
        #expect(cMatvecQ(m, xq, y: &y, r0: r0, r1: r1) == 0)
        for r in outside { #expect(y[r].bitPattern == sentinel.bitPattern, "matvec_q wrote row \(r)") }
        checkFastPath(m, x: x, xq: xq, y: y, rows: r0..<r1, label: "\(type) rows \(r0)..<\(r1)")

        y = [Float](repeating: sentinel, count: 2 * rows)
        let xq2 = xq + xq
        #expect(cMatmulQ(m, xq2, xqStride: xq.count, batch: 2, y: &y, ldy: rows, r0: r0, r1: r1) == 0)
        for b in 0..<2 {
            for r in outside { #expect(y[b * rows + r].bitPattern == sentinel.bitPattern, "matmul_q wrote \(b),\(r)") }
            checkFastPath(m, x: x, xq: xq, y: Array(y[(b * rows)..<(b * rows + rows)]), rows: r0..<r1, label: "\(type) batch \(b)")
        }

        // An empty range touches nothing.
        y = [Float](repeating: sentinel, count: rows)
        #expect(cMatvecF32(m, x, y: &y, r0: 3, r1: 3) == 0)
        #expect(cMatvecQ(m, xq, y: &y, r0: 3, r1: 3) == 0)
        #expect(y.allSatisfy { $0.bitPattern == sentinel.bitPattern })
    }

    @Test("Invalid ranges, batch sizes and types return -1", arguments: WeightType.allCases)
    func invalidArguments(_ type: WeightType) {
        var rng = SplitMix64(seed: 0xB0)
        let n = type.testLengths[0]
        let m = Matrix(type, rows: 4, n: n, rng: &rng)
        let x = rng.floats(n, scale: 1)
        let xq = cQuantizeActivations(type, x)
        var y = [Float](repeating: sentinel, count: 8)
        #expect(cMatvecF32(m, x, y: &y, r0: 3, r1: 2) == -1)
        #expect(cMatvecF32(m, x, y: &y, r0: -1, r1: 2) == -1)
        #expect(cMatvecQ(m, xq, y: &y, r0: 3, r1: 2) == -1)
        #expect(cMatmulQ(m, xq, xqStride: 0, batch: -1, y: &y, ldy: 4, r0: 0, r1: 4) == -1)
        #expect(cMatmulQ(m, xq, xqStride: 0, batch: 1, y: &y, ldy: 4, r0: 2, r1: 1) == -1)
        #expect(y.allSatisfy { $0.bitPattern == sentinel.bitPattern })
        // Activation-only and unknown types are not weights.
        for bad: Int32 in [9, 15, 6, 99] {
            let rc = m.bytes.withUnsafeBytes { w in
                xq.withUnsafeBytes { st_matvec_q(bad, w.baseAddress, m.stride, $0.baseAddress, &y, Int64(n), 0, 1) }
            }
            #expect(rc == -1)
            #expect(m.bytes.withUnsafeBytes { st_matvec_f32(bad, $0.baseAddress, m.stride, x, &y, Int64(n), 0, 1) } == -1)
        }
    }
}
