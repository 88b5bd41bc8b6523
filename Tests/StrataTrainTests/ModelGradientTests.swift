import StrataKernels
import StrataTestSupport
import Testing

@testable import StrataTrain

/// The whole model's backward pass against finite differences of its loss, in Double.
@Suite(.tags(.gradcheck)) struct ModelGradientTests {
    /// Analytic and numeric gradients at a few seeded coordinates of every tensor.
    func check(_ model: TrainableLlama<Double>, batch: TokenBatch, exits: [Int], perTensor: Int = 3) throws -> Double {
        model.zeroGradients()
        try model.accumulateGradients(batch, exits: exits, lossScale: 1 / Double(exits.count * batch.targetCount))
        var rng = SplitMix64(seed: 99)
        var indices: [Int] = []
        for entry in model.layout.entries {
            for _ in 0..<perTensor { indices.append(entry.offset + Int(rng.next() % UInt64(entry.count))) }
        }
        // Embedding rows of tokens in the batch get gradient from the input side too.
        let d = model.shape.hiddenSize
        for t in batch.tokens.prefix(3) { indices.append(Int(t) * d + Int(rng.next() % UInt64(d))) }
        let analytic = indices.map { model.gradients[$0] }
        let numeric = numericalGradient(at: model.parameterBase, indices: indices) {
            (try? model.loss(batch, exits: exits).loss) ?? .nan
        }
        #expect(analytic.contains { $0 != 0 })
        return relativeError(analytic, numeric)
    }

    @Test func tiedModelWithTwoExits() throws {
        let model = try TrainableLlama<Double>(shape: Tiny.shape(), seed: 5, scale: 0.3)
        let error = try check(model, batch: Tiny.batch(), exits: [2, 3])
        #expect(error < 1e-6)
    }

    @Test func untiedModelWithHalvesRopeAndOneExit() throws {
        let model = try TrainableLlama<Double>(shape: Tiny.shape(layers: 2, tied: false, layout: .halves), seed: 6, scale: 0.3)
        let error = try check(model, batch: Tiny.batch(seed: 8), exits: [2])
        #expect(error < 1e-6)
    }

    /// The gathered-row loss equals the definition over full logits, and blocks past the deepest
    /// exit get no gradient.
    @Test func lossMatchesDefinitionOverFullLogits() throws {
        let model = try TrainableLlama<Double>(shape: Tiny.shape(), seed: 9, scale: 0.3)
        let batch = Tiny.batch(seed: 10)
        let exits = [1, 2]
        let (loss, perExit) = try model.loss(batch, exits: exits)
        var logits: [Double] = []
        for e in exits { logits += try model.logits(batch, exit: e) }
        // Position t predicts token t+1 of its sequence: build per-row targets and mask.
        var targets = [Int32](repeating: 0, count: batch.count)
        var mask = [Bool](repeating: false, count: batch.count)
        for (row, token) in zip(batch.targetRows, batch.targetTokens) {
            targets[Int(row)] = token
            mask[Int(row)] = true
        }
        let reference = CrossEntropy.sortedLoss(
            logits: logits, targets: targets, mask: mask, exits: exits.count, vocabulary: model.shape.vocabularySize)
        #expect(abs(loss - reference.loss) < 1e-12)
        for (a, b) in zip(perExit, reference.perExit) { #expect(abs(a - b) < 1e-12) }
        model.zeroGradients()
        try model.accumulateGradients(batch, exits: exits, lossScale: 1)
        for entry in model.layout.entries where entry.layer == 2 {
            #expect(model.gradient(of: entry).allSatisfy { $0 == 0 })
        }
    }

    /// The head's row chunking changes nothing: chunks of 3 rows give the loss and gradient of one product.
    @Test func headChunkingIsInvisible() throws {
        let model = try TrainableLlama<Double>(shape: Tiny.shape(), seed: 11, scale: 0.3)
        let batch = Tiny.batch(seed: 12)
        model.zeroGradients()
        let whole = try model.accumulateGradients(batch, exits: [1, 3], lossScale: 0.1)
        let wholeGradient = model.gradientValues()
        model.headChunkRows = 3
        model.zeroGradients()
        let chunked = try model.accumulateGradients(batch, exits: [1, 3], lossScale: 0.1)
        #expect(zip(whole, chunked).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(relativeError(wholeGradient, model.gradientValues()) < 1e-12)
    }

    /// Per-exit loss scales: the gradient of Σₑ wₑ · meanₑ against central differences, with
    /// head chunks of 5 rows so that chunks straddle exits (each exit's rows must get its own
    /// scale); a single scale for every exit is the single-scale call.
    @Test func weightedExitsMatchFiniteDifferences() throws {
        let model = try TrainableLlama<Double>(shape: Tiny.shape(), seed: 17, scale: 0.3)
        model.headChunkRows = 5
        let batch = Tiny.batch(seed: 18)
        let exits = [1, 2, 3], weights = [0.1, 0.2, 0.7]
        let M = Double(batch.targetCount)
        #expect(batch.targetCount % 5 != 0, "chunks of 5 must straddle exits")
        model.zeroGradients()
        try model.accumulateGradients(batch, exits: exits, lossScales: weights.map { $0 / M })
        var rng = SplitMix64(seed: 19)
        let indices = model.layout.entries.flatMap { entry in
            (0..<3).map { _ in entry.offset + Int(rng.next() % UInt64(entry.count)) }
        }
        let analytic = indices.map { model.gradients[$0] }
        let numeric = numericalGradient(at: model.parameterBase, indices: indices) {
            guard let perExit = try? model.loss(batch, exits: exits).perExit else { return .nan }
            return zip(weights, perExit).reduce(0) { $0 + $1.0 * $1.1 }
        }
        #expect(relativeError(analytic, numeric) < 1e-6)

        model.zeroGradients()
        let a = try model.accumulateGradients(batch, exits: exits, lossScales: [0.25, 0.25, 0.25])
        let scaled = model.gradientValues()
        model.zeroGradients()
        let b = try model.accumulateGradients(batch, exits: exits, lossScale: 0.25)
        #expect(a == b)
        #expect(scaled == model.gradientValues())
        #expect(throws: TrainError.self) { try model.accumulateGradients(batch, exits: exits, lossScales: [1, 1]) }
    }

    @Test func rejectsBadExitsAndTokens() throws {
        let model = try TrainableLlama<Double>(shape: Tiny.shape(), seed: 1)
        #expect(throws: TrainError.self) { try model.loss(Tiny.batch(), exits: [3, 2]) }
        #expect(throws: TrainError.self) { try model.loss(Tiny.batch(), exits: [4]) }
        let outside = TokenBatch([TrainingExample(tokens: [1, 2, 45], targetMask: [false, true, true])])
        #expect(throws: TrainError.self) { try model.loss(outside, exits: [1]) }
    }
}
