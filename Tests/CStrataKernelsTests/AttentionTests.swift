import CStrataKernels
import Foundation
import StrataTestSupport
import Testing

/// One attention problem: `count` query rows at positions start ..< start+count over a cache of
/// start+count positions, with padded strides so layout mistakes show.
struct AttentionCase: CustomTestStringConvertible, Sendable {
    let start: Int
    let count: Int
    let heads: Int
    let kvHeads: Int
    let dim: Int

    var qStride: Int { heads * dim + 5 }
    var kvStride: Int { kvHeads * dim + 3 }
    var length: Int { start + count }
    var testDescription: String { "start \(start) count \(count) heads \(heads)/\(kvHeads) dim \(dim)" }
}

struct AttentionInputs {
    let c: AttentionCase
    let q: [Float]
    let k: [Float]
    let v: [Float]
    /// The cache as IEEE halves (st_attention_f16); then k and v hold exactly the halves' values,
    /// so the double reference is the same.
    let half: Bool

    init(_ c: AttentionCase, seed: UInt64, half: Bool = false) {
        self.c = c
        self.half = half
        var rng = SplitMix64(seed: seed)
        // Queries scaled up so the softmax is far from uniform.
        q = rng.floats(c.count * c.qStride, scale: 3)
        let keys = rng.floats(c.length * c.kvStride, scale: 1)
        let values = rng.floats(c.length * c.kvStride, scale: 1)
        k = half ? keys.map { Float(Float16($0)) } : keys
        v = half ? values.map { Float(Float16($0)) } : values
    }

    /// Runs st_attention_f32 (or _f16) for heads [h0, h1) into `out` (count × qStride).
    func run(into out: inout [Float], h0: Int, h1: Int) -> Int32 {
        var scratch = [Float](repeating: .nan, count: c.length)
        let sizes = (Int64(c.start), Int64(c.count), Int64(c.heads), Int64(c.kvHeads), Int64(c.dim))
        guard half else {
            return st_attention_f32(
                q, k, v, &out, &scratch, sizes.0, sizes.1, sizes.2, sizes.3, sizes.4, Int64(c.qStride), Int64(c.kvStride),
                Int64(h0), Int64(h1))
        }
        let kh = k.map { Float16($0).bitPattern }, vh = v.map { Float16($0).bitPattern }
        return st_attention_f16(
            q, kh, vh, &out, &scratch, sizes.0, sizes.1, sizes.2, sizes.3, sizes.4, Int64(c.qStride), Int64(c.kvStride),
            Int64(h0), Int64(h1))
    }

    func run() -> [Float] {
        var out = [Float](repeating: sentinel, count: c.count * c.qStride)
        #expect(run(into: &out, h0: 0, h1: c.heads) == 0)
        return out
    }

    /// Double-precision attention, and per output element an error allowance: f32 rounding of
    /// the scores (relative to Σ|q·k|/√d), of exp, and of the sums over up to `length` positions,
    /// all relative to Σ p·|v|.
    func reference() -> (out: [Double], allowance: [Double]) {
        var out = [Double](repeating: 0, count: c.count * c.qStride)
        var allowance = [Double](repeating: 0, count: c.count * c.qStride)
        let group = c.heads / c.kvHeads
        let scale = 1 / Double(c.dim).squareRoot()
        for t in 0..<c.count {
            let visible = c.start + t + 1
            for h in 0..<c.heads {
                let qo = t * c.qStride + h * c.dim
                let ko = (h / group) * c.dim
                var scores = [Double](repeating: 0, count: visible)
                var magnitude = 0.0
                for p in 0..<visible {
                    var s = 0.0, a = 0.0
                    for i in 0..<c.dim {
                        let prod = Double(q[qo + i]) * Double(k[p * c.kvStride + ko + i])
                        s += prod
                        a += abs(prod)
                    }
                    scores[p] = s * scale
                    magnitude = max(magnitude, a * scale)
                }
                let mx = scores.max()!
                let e = scores.map { exp($0 - mx) }
                let sum = e.reduce(0, +)
                let factor = 1e-7 * (magnitude + Double(visible).squareRoot() + 16)
                for i in 0..<c.dim {
                    var o = 0.0, a = 0.0
                    for p in 0..<visible {
                        let w = e[p] / sum
                        o += w * Double(v[p * c.kvStride + ko + i])
                        a += w * abs(Double(v[p * c.kvStride + ko + i]))
                    }
                    out[qo + i] = o
                    allowance[qo + i] = factor * a + 1e-30
                }
            }
        }
        return (out, allowance)
    }
}

/// Checks `got` against the reference on every head's outputs; the padding must stay untouched.
func checkAttention(_ got: [Float], _ ref: (out: [Double], allowance: [Double]), _ c: AttentionCase, heads: Range<Int>,
                    label: String) {
    var worst = 0.0
    for t in 0..<c.count {
        for j in 0..<c.qStride {
            let at = t * c.qStride + j
            let h = j / c.dim
            if j < c.heads * c.dim && heads.contains(h) {
                let err = abs(Double(got[at]) - ref.out[at])
                worst = max(worst, err / ref.allowance[at])
                if err > ref.allowance[at] {
                    Issue.record("\(label) row \(t) head \(h) [\(j % c.dim)]: \(got[at]) vs \(ref.out[at])")
                    return
                }
            } else if got[at].bitPattern != sentinel.bitPattern {
                Issue.record("\(label): wrote row \(t) element \(j) outside heads \(heads)")
                return
            }
        }
    }
    #expect(worst <= 1)
}

@Suite("Attention over a KV cache")
struct AttentionTests {
    @Test("Invalid shapes, ranges and strides return -1; empty calls return 0 and write nothing")
    func invalidArguments() {
        let c = AttentionCase(start: 2, count: 2, heads: 4, kvHeads: 2, dim: 16)
        let inputs = AttentionInputs(c, seed: 1)
        var out = [Float](repeating: sentinel, count: c.count * c.qStride)
        var scratch = [Float](repeating: 0, count: c.length)
        func call(start: Int = 2, count: Int = 2, heads: Int = 4, kv: Int = 2, dim: Int = 16, qs: Int? = nil,
                  kvs: Int? = nil, h0: Int = 0, h1: Int = 4) -> Int32 {
            st_attention_f32(
                inputs.q, inputs.k, inputs.v, &out, &scratch, Int64(start), Int64(count), Int64(heads), Int64(kv),
                Int64(dim), Int64(qs ?? c.qStride), Int64(kvs ?? c.kvStride), Int64(h0), Int64(h1))
        }
        #expect(call(heads: 4, kv: 3) == -1)  // kv heads must divide heads
        #expect(call(kv: 0) == -1)
        #expect(call(dim: 0) == -1)
        #expect(call(start: -1) == -1)
        #expect(call(count: -1) == -1)
        #expect(call(h0: 3, h1: 2) == -1)
        #expect(call(h1: 5) == -1)
        #expect(call(h0: -1) == -1)
        #expect(call(qs: 4 * 16 - 1) == -1)
        #expect(call(kvs: 2 * 16 - 1) == -1)
        #expect(out.allSatisfy { $0.bitPattern == sentinel.bitPattern })
        #expect(call(count: 0) == 0)
        #expect(call(h0: 2, h1: 2) == 0)
        #expect(out.allSatisfy { $0.bitPattern == sentinel.bitPattern })
    }

    @Test("Output may overwrite the queries in place")
    func inPlace() {
        let c = AttentionCase(start: 20, count: 3, heads: 9, kvHeads: 3, dim: 64)
        let inputs = AttentionInputs(c, seed: 2)
        let separate = inputs.run()
        var buffer = inputs.q
        var scratch = [Float](repeating: 0, count: c.length)
        let rc = buffer.withUnsafeMutableBufferPointer { b in
            st_attention_f32(
                b.baseAddress, inputs.k, inputs.v, b.baseAddress, &scratch, Int64(c.start), Int64(c.count),
                Int64(c.heads), Int64(c.kvHeads), Int64(c.dim), Int64(c.qStride), Int64(c.kvStride), 0, Int64(c.heads))
        }
        #expect(rc == 0)
        for t in 0..<c.count {
            for j in 0..<(c.heads * c.dim) {
                let at = t * c.qStride + j
                #expect(buffer[at].bitPattern == separate[at].bitPattern, "row \(t) element \(j)")
            }
        }
    }
}

/// Attention on every path this CPU has (so it lives in the serialized path suite).
extension PathAgreementTests {
    static let attentionCases: [AttentionCase] = {
        var cases: [AttentionCase] = []
        for (heads, kv) in [(9, 3), (4, 4)] {
            for dim in [64, 128, 40] {
                for (start, count) in [(0, 1), (0, 3), (1, 1), (1, 17), (37, 3), (37, 17), (1000, 1), (1000, 3)] {
                    cases.append(AttentionCase(start: start, count: count, heads: heads, kvHeads: kv, dim: dim))
                }
            }
        }
        // Dimensions only the AVX2 path (24) or only the scalar path (3) takes on AVX-512.
        for dim in [24, 3] {
            cases.append(AttentionCase(start: 37, count: 3, heads: 9, kvHeads: 3, dim: dim))
            cases.append(AttentionCase(start: 0, count: 17, heads: 4, kvHeads: 2, dim: dim))
        }
        // Large dimensions: fewer vectors per pass (256, 512), and past the vector kernels' largest.
        cases.append(AttentionCase(start: 40, count: 9, heads: 8, kvHeads: 2, dim: 256))
        cases.append(AttentionCase(start: 5, count: 3, heads: 8, kvHeads: 4, dim: 512))
        cases.append(AttentionCase(start: 5, count: 2, heads: 2, kvHeads: 1, dim: 528))
        return cases
    }()

    @Test("Attention matches a double reference on every path", arguments: attentionCases)
    func attentionEveryPath(_ c: AttentionCase) {
        let inputs = AttentionInputs(c, seed: UInt64(c.start * 131 + c.count * 17 + c.dim * 7 + c.heads))
        let ref = inputs.reference()
        for level in availableLevels() {
            let got = withPath(level) { inputs.run() }
            checkAttention(got, ref, c, heads: 0..<c.heads, label: "\(pathName(level)) \(c.testDescription)")
        }
    }

    @Test("Attention over a half cache matches a double reference on every path", arguments: attentionCases)
    func halfCacheAttentionEveryPath(_ c: AttentionCase) {
        let inputs = AttentionInputs(c, seed: UInt64(c.start * 131 + c.count * 17 + c.dim * 7 + c.heads), half: true)
        let ref = inputs.reference()
        for level in availableLevels() {
            let got = withPath(level) { inputs.run() }
            checkAttention(got, ref, c, heads: 0..<c.heads, label: "f16 \(pathName(level)) \(c.testDescription)")
        }
    }

    @Test("Splitting heads over calls gives the same bits, on every path")
    func attentionHeadSplit() {
        let cases = [AttentionCase(start: 37, count: 3, heads: 9, kvHeads: 3, dim: 64),
                     AttentionCase(start: 100, count: 1, heads: 9, kvHeads: 3, dim: 40),
                     AttentionCase(start: 0, count: 5, heads: 4, kvHeads: 4, dim: 128)]
        for inputs in cases.flatMap({ [AttentionInputs($0, seed: 7), AttentionInputs($0, seed: 7, half: true)] }) {
            let c = inputs.c
            for level in availableLevels() {
                withPath(level) {
                    let whole = inputs.run()
                    var parts = [Float](repeating: sentinel, count: c.count * c.qStride)
                    // Splits through the middle of a KV group.
                    let cuts = [0, 2, c.heads / 2 + 1, c.heads]
                    for i in 0..<(cuts.count - 1) where cuts[i] < cuts[i + 1] {
                        #expect(inputs.run(into: &parts, h0: cuts[i], h1: cuts[i + 1]) == 0)
                    }
                    #expect(parts.map(\.bitPattern) == whole.map(\.bitPattern), "\(pathName(level)) \(c.testDescription)")
                    // A range of heads writes only those heads.
                    var some = [Float](repeating: sentinel, count: c.count * c.qStride)
                    #expect(inputs.run(into: &some, h0: 1, h1: 3) == 0)
                    for t in 0..<c.count {
                        for j in 0..<c.qStride {
                            let at = t * c.qStride + j
                            let inside = j < c.heads * c.dim && (1..<3).contains(j / c.dim)
                            #expect(some[at].bitPattern == (inside ? whole[at] : sentinel).bitPattern)
                        }
                    }
                }
            }
        }
    }
}
