import Foundation
import StrataKernels
import Testing

@testable import StrataTrain

/// Each op's backward pass against central finite differences of L = Σ c ⊙ y (so dL/dy = c),
/// in Double at tiny shapes.
@Suite(.tags(.gradcheck)) struct OpGradientTests {
    static let bound = 1e-6

    @Test func matmulGradients() {
        let rows = 3, inputs = 4, outputs = 5
        var x = randomValues(rows * inputs, seed: 10), w = randomValues(outputs * inputs, seed: 11)
        let c = randomValues(rows * outputs, seed: 12)
        func loss(_ x: [Double], _ w: [Double]) -> Double {
            var y = [Double](repeating: 0, count: rows * outputs)
            MatMul.forward(x, weight: w, into: &y, rows: rows, inputs: inputs, outputs: outputs)
            return zip(y, c).reduce(0) { $0 + $1.0 * $1.1 }
        }
        var dx = [Double](repeating: 7, count: rows * inputs)  // overwritten
        var dw = [Double](repeating: 0, count: outputs * inputs)
        MatMul.backward(
            outputGradient: c, input: x, weight: w, inputGradient: &dx, weightGradient: &dw, rows: rows, inputs: inputs,
            outputs: outputs)
        let wCopy = w, xCopy = x
        #expect(relativeError(dx, numericalGradient(at: &x, indices: Array(x.indices)) { loss($0, wCopy) }) < Self.bound)
        #expect(relativeError(dw, numericalGradient(at: &w, indices: Array(w.indices)) { loss(xCopy, $0) }) < Self.bound)
        // y = x·Wᵀ: row 0, column 1 by hand.
        var y = [Double](repeating: 0, count: rows * outputs)
        MatMul.forward(x, weight: w, into: &y, rows: rows, inputs: inputs, outputs: outputs)
        let manual = (0..<inputs).reduce(0.0) { $0 + x[$1] * w[inputs + $1] }
        #expect(abs(y[1] - manual) < 1e-12)
    }

    @Test func rmsNormGradients() {
        let rows = 3, n = 6
        var x = randomValues(rows * n, seed: 20, scale: 2), w = randomValues(n, seed: 21).map { 1 + 0.3 * $0 }
        let c = randomValues(rows * n, seed: 22)
        let eps = 1e-5
        func loss(_ x: [Double], _ w: [Double]) -> Double {
            var y = [Double](repeating: 0, count: rows * n)
            var r = [Double](repeating: 0, count: rows)
            RMSNorm.forward(x, weight: w, into: &y, inverseRMS: &r, rows: rows, n: n, epsilon: eps)
            return zip(y, c).reduce(0) { $0 + $1.0 * $1.1 }
        }
        var y = [Double](repeating: 0, count: rows * n), r = [Double](repeating: 0, count: rows)
        RMSNorm.forward(x, weight: w, into: &y, inverseRMS: &r, rows: rows, n: n, epsilon: eps)
        var dx = [Double](repeating: 0, count: rows * n), dw = [Double](repeating: 0, count: n)
        RMSNorm.backward(
            outputGradient: c, input: x, weight: w, inverseRMS: r, inputGradient: &dx, weightGradient: &dw, rows: rows,
            n: n, accumulate: false)
        let wCopy = w, xCopy = x
        #expect(relativeError(dx, numericalGradient(at: &x, indices: Array(x.indices)) { loss($0, wCopy) }) < Self.bound)
        #expect(relativeError(dw, numericalGradient(at: &w, indices: Array(w.indices)) { loss(xCopy, $0) }) < Self.bound)
    }

    @Test(arguments: [Rope.Layout.adjacentPairs, .halves], [8, 6])
    func ropeGradients(layout: Rope.Layout, rotated: Int) {
        let rows = 4, heads = 2, headDim = 8
        let rope = Rope(dimensions: rotated, base: 10_000, layout: layout)
        let table = RopeTable<Double>(inverseFrequencies: rope.inverseFrequencies, positions: [0, 1, 5, 2])
        var x = randomValues(rows * heads * headDim, seed: 30)
        let c = randomValues(x.count, seed: 31)
        func loss(_ x: [Double]) -> Double {
            var y = x
            RotaryEmbedding.forward(&y, rows: rows, heads: heads, headDim: headDim, layout: layout, table: table)
            return zip(y, c).reduce(0) { $0 + $1.0 * $1.1 }
        }
        var dx = c
        RotaryEmbedding.backward(&dx, rows: rows, heads: heads, headDim: headDim, layout: layout, table: table)
        #expect(relativeError(dx, numericalGradient(at: &x, indices: Array(x.indices), loss)) < Self.bound)
    }

    /// The Float forward is the inference `Rope.apply`, bit for bit, in both layouts.
    @Test(arguments: [Rope.Layout.adjacentPairs, .halves])
    func ropeMatchesInferenceRope(layout: Rope.Layout) {
        let rope = Rope(dimensions: 16, base: 100_000, layout: layout)
        let positions = [0, 3, 17, 250]
        let x = randomValues(positions.count * 3 * 16, seed: 32).map(Float.init)
        var ours = x
        RotaryEmbedding.forward(
            &ours, rows: positions.count, heads: 3, headDim: 16, layout: layout,
            table: RopeTable<Float>(inverseFrequencies: rope.inverseFrequencies, positions: positions.map(Int32.init)))
        var theirs = x
        let (cos, sin) = rope.table(positions: positions)
        rope.apply(&theirs, rows: positions.count, heads: 3, headDim: 16, cos: cos, sin: sin)
        #expect(ours == theirs)
    }

    @Test func swiGLUGradients() {
        let n = 9
        var g = randomValues(n, seed: 40, scale: 6), u = randomValues(n, seed: 41, scale: 2)
        let c = randomValues(n, seed: 42)
        func loss(_ g: [Double], _ u: [Double]) -> Double {
            var h = [Double](repeating: 0, count: n)
            SwiGLU.forward(gate: g, up: u, into: &h, count: n)
            return zip(h, c).reduce(0) { $0 + $1.0 * $1.1 }
        }
        var dg = [Double](repeating: 0, count: n), du = [Double](repeating: 0, count: n)
        SwiGLU.backward(outputGradient: c, gate: g, up: u, gateGradient: &dg, upGradient: &du, count: n)
        let gCopy = g, uCopy = u
        #expect(relativeError(dg, numericalGradient(at: &g, indices: Array(g.indices)) { loss($0, uCopy) }) < Self.bound)
        #expect(relativeError(du, numericalGradient(at: &u, indices: Array(u.indices)) { loss(gCopy, $0) }) < Self.bound)
    }

    @Test func embeddingGradientScatterAdds() {
        let vocab = 5, n = 3
        let tokens: [Int32] = [1, 3, 1, 0]
        var table = randomValues(vocab * n, seed: 50)
        let c = randomValues(tokens.count * n, seed: 51)
        func loss(_ table: [Double]) -> Double {
            var out = [Double](repeating: 0, count: tokens.count * n)
            Embedding.forward(table: table, tokens: tokens, into: &out, count: tokens.count, n: n)
            return zip(out, c).reduce(0) { $0 + $1.0 * $1.1 }
        }
        var dtable = [Double](repeating: 0, count: vocab * n)
        Embedding.backward(outputGradient: c, tokens: tokens, tableGradient: &dtable, count: tokens.count, n: n)
        #expect(relativeError(dtable, numericalGradient(at: &table, indices: Array(table.indices), loss)) < Self.bound)
        #expect(dtable[2 * n..<3 * n].allSatisfy { $0 == 0 })  // token 2 never appears
        #expect(abs(dtable[n] - (c[0] + c[2 * n])) < 1e-12)  // token 1 twice
    }

    @Test func sortedCrossEntropyGradients() {
        let exits = 2, T = 5, V = 6
        let targets: [Int32] = [2, 0, 5, 1, 3]
        let mask = [false, true, true, false, true]
        var logits = randomValues(exits * T * V, seed: 60, scale: 3)
        let (_, perExit, gradient) = CrossEntropy.sortedLoss(logits: logits, targets: targets, mask: mask, exits: exits, vocabulary: V)
        let numeric = numericalGradient(at: &logits, indices: Array(logits.indices)) {
            CrossEntropy.sortedLoss(logits: $0, targets: targets, mask: mask, exits: exits, vocabulary: V).loss
        }
        #expect(relativeError(gradient, numeric) < Self.bound)
        // Masked positions get no gradient; each exit's loss is its own mean.
        for e in 0..<exits {
            for t in 0..<T where !mask[t] {
                #expect(gradient[(e * T + t) * V..<(e * T + t + 1) * V].allSatisfy { $0 == 0 })
            }
        }
        var exit1 = 0.0
        for t in 0..<T where mask[t] {
            let row = Array(logits[(T + t) * V..<(T + t + 1) * V])
            let m = row.max() ?? 0
            exit1 += m + log(row.reduce(0) { $0 + exp($1 - m) }) - row[Int(targets[t])]
        }
        #expect(abs(perExit[1] - exit1 / 3) < 1e-12)
        // Uniform logits: the loss is ln V at every exit.
        let uniform = CrossEntropy.sortedLoss(
            logits: [Double](repeating: 0.5, count: logits.count), targets: targets, mask: mask, exits: exits, vocabulary: V)
        #expect(abs(uniform.loss - log(Double(V))) < 1e-12)
    }
}

extension Tag {
    @Tag static var gradcheck: Self
}
