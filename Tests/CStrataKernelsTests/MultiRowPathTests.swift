import CStrataKernels
import StrataTestSupport
import Testing

/// `batch` activation vectors quantised for `type`, laid out `stride` bytes apart.
private func quantizedBatch(_ type: WeightType, _ xs: [[Float]], n: Int) -> (bytes: [UInt8], stride: Int) {
    let vecBytes = st_vec_bytes(type.rawValue, Int64(n))
    let stride = vecBytes + 8  // vectors need not be packed
    var xq = [UInt8](repeating: 0, count: xs.count * stride)
    for (b, x) in xs.enumerated() {
        xq.replaceSubrange(b * stride..<b * stride + vecBytes, with: cQuantizeActivations(type, x))
    }
    return (xq, stride)
}

/// The multi-row kernels (every path this CPU has) against the double reference, the scalar
/// path and themselves under different row splits. Lives in the serialized path suite.
extension PathAgreementTests {
    /// Weight types with multi-row kernels, and two read row by row for comparison.
    static let multiRowTypes: [WeightType] = [.q4_0, .q4_1, .q8_0, .q4K, .f16]

    static func multiRowCases(_ type: WeightType) -> [(n: Int, batches: [Int])] {
        switch type {
        case .q4_0, .q4_1, .q8_0:
            // One block; a partial group; 18 blocks (the model's width); past one column chunk
            // (64 blocks) with a partial group; past two chunks.
            [(32, Array(1...9)), (96, Array(1...9)), (576, [1, 2, 4, 5, 9]), (2080, [1, 3]), (4128, [1, 6])]
        case .q4K, .q5K, .q6K: [(256, [1, 5]), (768, [1, 3])]
        default: [(37, [1, 5]), (200, [1, 3])]
        }
    }

    @Test("Multi-row products on every path match the double reference and the scalar path", arguments: multiRowTypes)
    func multiRowEveryPath(_ type: WeightType) {
        let levels = availableLevels()
        var rng = SplitMix64(seed: 0x5EED + UInt64(type.rawValue))
        let rows = 13, r0 = 1, r1 = 12  // 11 rows: neither aligned nor a multiple of 4
        for (n, batches) in Self.multiRowCases(type) {
            let m = Matrix(type, rows: rows, n: n, pad: 6, rng: &rng)
            for batch in batches {
                let xs = (0..<batch).map { _ in rng.floats(n, scale: 1.5) }
                let (xq, stride) = quantizedBatch(type, xs, n: n)
                let ldy = rows + 2
                func run(_ level: Int32) -> [Float] {
                    withPath(level) {
                        var y = [Float](repeating: sentinel, count: batch * ldy)
                        #expect(cMatmulQ(m, xq, xqStride: stride, batch: batch, y: &y, ldy: ldy, r0: r0, r1: r1) == 0)
                        return y
                    }
                }
                let scalar = run(1)
                for level in levels {
                    let y = level == 1 ? scalar : run(level)
                    let label = "\(type) \(pathName(level)) n=\(n) batch \(batch)"
                    for b in 0..<batch {
                        let outside = Array(0..<r0) + Array(r1..<ldy)
                        for r in outside {
                            #expect(y[b * ldy + r].bitPattern == sentinel.bitPattern, "\(label): wrote \(b),\(r)")
                        }
                        let xqb = Array(xq[b * stride..<b * stride + st_vec_bytes(type.rawValue, Int64(n))])
                        let yb = Array(y[b * ldy..<b * ldy + rows])
                        checkFastPath(m, x: xs[b], xq: xqb, y: yb, rows: r0..<r1, label: "\(label) vector \(b)")
                        let xd = xs[b].map(Double.init)
                        for r in r0..<r1 {
                            let bound = 2e-5 * absDot(m.row(r), xd) + 1e-30
                            let (p, s) = (Double(y[b * ldy + r]), Double(scalar[b * ldy + r]))
                            #expect(abs(p - s) <= bound, "\(label) vector \(b) row \(r): \(p) vs scalar \(s)")
                        }
                    }
                }
            }
        }
    }

    @Test("A row's product does not depend on the row split or the batch, on any path", arguments: multiRowTypes)
    func splitInvariance(_ type: WeightType) {
        let levels = availableLevels()
        var rng = SplitMix64(seed: 0x5717 + UInt64(type.rawValue))
        let rows = 23, batch = 3
        let lengths = Self.multiRowCases(type).map(\.n).prefix(4)
        for n in lengths {
            let m = Matrix(type, rows: rows, n: n, rng: &rng)
            let xs = (0..<batch).map { _ in rng.floats(n, scale: 1) }
            let (xq, stride) = quantizedBatch(type, xs, n: n)
            for level in levels {
                withPath(level) {
                    let label = "\(type) \(pathName(level)) n=\(n)"
                    var whole = [Float](repeating: sentinel, count: batch * rows)
                    #expect(cMatmulQ(m, xq, xqStride: stride, batch: batch, y: &whole, ldy: rows, r0: 0, r1: rows) == 0)
                    // Pieces of 5, 1, 11 and 6 rows, as threads might take them.
                    var pieces = [Float](repeating: sentinel, count: batch * rows)
                    for (a, b) in [(0, 5), (5, 6), (6, 17), (17, 23)] {
                        #expect(cMatmulQ(m, xq, xqStride: stride, batch: batch, y: &pieces, ldy: rows, r0: a, r1: b) == 0)
                    }
                    #expect(pieces.map(\.bitPattern) == whole.map(\.bitPattern), "\(label): split rows differ")
                    // Each vector alone (st_matvec_q) gives its column of the batched product.
                    // (Float weights unroll differently for one vector than for several.)
                    for b in 0..<batch where !type.isFloat {
                        var single = [Float](repeating: sentinel, count: rows)
                        let one = Array(xq[b * stride..<(b + 1) * stride])
                        #expect(cMatvecQ(m, one, y: &single, r0: 0, r1: rows) == 0)
                        let column = Array(whole[b * rows..<(b + 1) * rows])
                        #expect(single.map(\.bitPattern) == column.map(\.bitPattern), "\(label): vector \(b) alone differs")
                    }
                }
            }
        }
    }

    @Test("Zero-width and zero-batch calls touch nothing on any path", arguments: [WeightType.q4_0, .q4_1, .q8_0])
    func emptyCalls(_ type: WeightType) {
        var rng = SplitMix64(seed: 0xE0)
        let n = 96
        let m = Matrix(type, rows: 5, n: n, rng: &rng)
        let xq = cQuantizeActivations(type, rng.floats(n))
        for level in availableLevels() {
            withPath(level) {
                var y = [Float](repeating: sentinel, count: 10)
                #expect(cMatmulQ(m, xq, xqStride: xq.count, batch: 0, y: &y, ldy: 5, r0: 0, r1: 5) == 0)
                #expect(cMatmulQ(m, xq, xqStride: xq.count, batch: 2, y: &y, ldy: 5, r0: 4, r1: 4) == 0)
                #expect(y.allSatisfy { $0.bitPattern == sentinel.bitPattern })
            }
        }
    }
}
