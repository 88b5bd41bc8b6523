import Foundation
import StrataKernels
import StrataTestSupport
import Testing

@Suite struct AttentionTests {
    /// Naive causal GQA in Double: query row i (position start+i) attends to positions 0...start+i.
    static func reference(
        q: [Float], k: [Float], v: [Float], heads: Int, kvHeads: Int, hd: Int, start: Int, count: Int
    ) -> [Double] {
        var out = [Double](repeating: 0, count: count * heads * hd)
        let group = heads / kvHeads
        for i in 0..<count {
            for h in 0..<heads {
                let kvh = h / group
                let visible = start + i + 1
                var scores = [Double](repeating: 0, count: visible)
                for j in 0..<visible {
                    var dot = 0.0
                    for e in 0..<hd { dot += Double(q[i * heads * hd + h * hd + e]) * Double(k[j * kvHeads * hd + kvh * hd + e]) }
                    scores[j] = dot / Double(hd).squareRoot()
                }
                let m = scores.max()!
                let w = scores.map { exp($0 - m) }
                let z = w.reduce(0, +)
                for e in 0..<hd {
                    var acc = 0.0
                    for j in 0..<visible { acc += w[j] / z * Double(v[j * kvHeads * hd + kvh * hd + e]) }
                    out[i * heads * hd + h * hd + e] = acc
                }
            }
        }
        return out
    }

    @Test(arguments: [(0, 1), (0, 5), (6, 1), (3, 4), (0, 33)])
    func matchesNaiveCausalGQA(start: Int, count: Int) {
        let heads = 6, kvHeads = 2, hd = 16
        let length = start + count
        var rng = SplitMix64(seed: UInt64(start * 100 + count))
        let q = rng.floats(count * heads * hd, scale: 2)
        let k = rng.floats(length * kvHeads * hd, scale: 2)
        let v = rng.floats(length * kvHeads * hd)
        for threads in [1, 2] {
            let attention = Attention(pool: ComputePool(threadCount: threads))
            var out = [Float](repeating: .nan, count: count * heads * hd)
            attention.run(
                shape: AttentionShape(heads: heads, kvHeads: kvHeads, headDim: hd), q: q, keys: k, values: v, out: &out,
                start: start, count: count)
            let ref = Self.reference(q: q, k: k, v: v, heads: heads, kvHeads: kvHeads, hd: hd, start: start, count: count)
            #expect(approxEqual(out, ref, rtol: 1e-5), "threads \(threads)")
        }
    }
}
