import Foundation
import StrataKernels
import Testing

@testable import StrataTrain

/// Causal grouped-query attention over two sequences packed in one batch.
@Suite(.tags(.gradcheck)) struct AttentionTests {
    let geometry = AttentionGeometry(heads: 4, kvHeads: 2, headDim: 3)
    let sequences = [0..<3, 3..<7]
    var T: Int { 7 }

    func forward(_ q: [Double], _ k: [Double], _ v: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: T * geometry.queryWidth)
        var p = [Double](repeating: 0, count: CausalAttention.probabilityCount(sequences: sequences, heads: geometry.heads))
        CausalAttention.forward(q: q, k: k, v: v, into: &out, probabilities: &p, sequences: sequences, geometry: geometry)
        return out
    }

    @Test func gradientsOfPackedGroupedQueryAttention() {
        var q = randomValues(T * geometry.queryWidth, seed: 70, scale: 2)
        var k = randomValues(T * geometry.kvWidth, seed: 71, scale: 2)
        var v = randomValues(T * geometry.kvWidth, seed: 72)
        let c = randomValues(T * geometry.queryWidth, seed: 73)
        func loss(_ q: [Double], _ k: [Double], _ v: [Double]) -> Double {
            zip(forward(q, k, v), c).reduce(0) { $0 + $1.0 * $1.1 }
        }
        var out = [Double](repeating: 0, count: T * geometry.queryWidth)
        var p = [Double](repeating: 0, count: CausalAttention.probabilityCount(sequences: sequences, heads: geometry.heads))
        CausalAttention.forward(q: q, k: k, v: v, into: &out, probabilities: &p, sequences: sequences, geometry: geometry)
        var dq = [Double](repeating: 9, count: q.count), dk = [Double](repeating: 9, count: k.count)
        var dv = [Double](repeating: 9, count: v.count), scratch = [Double](repeating: 0, count: 16)
        CausalAttention.backward(
            outputGradient: c, q: q, k: k, v: v, probabilities: p, queryGradient: &dq, keyGradient: &dk,
            valueGradient: &dv, scratch: &scratch, sequences: sequences, geometry: geometry)
        let (q0, k0, v0) = (q, k, v)
        let bound = OpGradientTests.bound
        #expect(relativeError(dq, numericalGradient(at: &q, indices: Array(q.indices)) { loss($0, k0, v0) }) < bound)
        #expect(relativeError(dk, numericalGradient(at: &k, indices: Array(k.indices)) { loss(q0, $0, v0) }) < bound)
        #expect(relativeError(dv, numericalGradient(at: &v, indices: Array(v.indices)) { loss(q0, k0, $0) }) < bound)
    }

    @Test func sequencesDoNotAttendAcrossEachOther() {
        let q = randomValues(T * geometry.queryWidth, seed: 74)
        let k = randomValues(T * geometry.kvWidth, seed: 75)
        var v = randomValues(T * geometry.kvWidth, seed: 76)
        let before = forward(q, k, v)
        // Changing the second sequence's values leaves the first sequence's outputs alone...
        for i in (3 * geometry.kvWidth)..<v.count { v[i] += 1 }
        let after = forward(q, k, v)
        let firstRows = 0..<(3 * geometry.queryWidth)
        #expect(Array(before[firstRows]) == Array(after[firstRows]))
        #expect(before != after)
        // ...and the first row of each sequence sees only itself: its output is its own value row.
        for (h, row) in [(0, 0), (3, 0), (1, 3), (2, 3)] {
            let g = h / geometry.group
            for j in 0..<geometry.headDim {
                #expect(abs(after[row * geometry.queryWidth + h * 3 + j] - v[row * geometry.kvWidth + g * 3 + j]) < 1e-12)
            }
        }
    }

    @Test func causalMaskHidesLaterPositions() {
        let q = randomValues(T * geometry.queryWidth, seed: 77)
        var k = randomValues(T * geometry.kvWidth, seed: 78)
        let v = randomValues(T * geometry.kvWidth, seed: 79)
        let before = forward(q, k, v)
        for j in 0..<geometry.kvWidth { k[6 * geometry.kvWidth + j] += 3 }  // the last row's key
        let after = forward(q, k, v)
        #expect(Array(before[0..<(6 * geometry.queryWidth)]) == Array(after[0..<(6 * geometry.queryWidth)]))
        #expect(before != after)
    }
}
