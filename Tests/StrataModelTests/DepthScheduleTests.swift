import Foundation
import StrataKernels
import StrataModel
import StrataTestSupport
import Testing

/// Depth may change between the tokens of a sequence; the logits of each token must still be
/// those of a cache-free recomputation at that token's depth.
@Suite struct DepthScheduleTests {
    @Test(arguments: [[30, 9, 9, 21, 30, 12, 5, 30, 1, 17], [4, 4, 30, 2, 29, 29, 8]])
    func changingDepthEqualsCacheFreeRecomputation(schedule: [Int]) throws {
        guard let model = ModelHarness.model(exact: true) else { return }
        let prompt = [1, 9690, 198, 2683, 359, 253]
        let continuation = [5356, 5646, 11, 2683, 359, 216, 1, 4093, 198, 504, 314]
        let sequence = SequenceState(model: model, limit: 256)
        let workspace = Workspace(config: model.config)
        var tokens: [Int] = []
        for (step, depth) in schedule.enumerated() {
            let newTokens = step == 0 ? prompt : [continuation[step - 1]]
            tokens += newTokens
            let logits = try sequence.step(newTokens, depth: depth, model: model, workspace: workspace)
            let reference = try #require(
                try model.forward(
                    tokens: tokens, cache: ModelHarness.freshCache(model), exits: [depth], workspace: Workspace(config: model.config)
                )[depth])
            let (diff, at) = maxAbsDifference(logits, reference)
            #expect(diff < 2e-3, "step \(step) at depth \(depth): max |Δ| \(diff) at \(at)")
        }
        // After a full-depth step nothing waits; after a shallow one, every position waits at that depth.
        let lastDepth = try #require(schedule.last)
        if lastDepth == model.config.layerCount {
            #expect(sequence.parkedDepths.isEmpty)
        } else {
            #expect(sequence.parkedDepths.values.allSatisfy { $0 >= lastDepth })
        }
    }

    @Test func stepsOfSeveralSequencesShareOneBatch() throws {
        guard let model = ModelHarness.model(exact: true) else { return }
        let l = model.config.layerCount
        let a = [1, 9690, 198, 2683], b = [1, 4093, 198]
        let caches = [ModelHarness.freshCache(model), ModelHarness.freshCache(model)]
        let d = model.config.hiddenSize
        var hidden = [Float](repeating: 0, count: (a.count + b.count) * d)
        try hidden.withUnsafeMutableBufferPointer { h in
            try model.embed(a, into: h.baseAddress!)
            try model.embed(b, into: h.baseAddress! + a.count * d)
            let rows = a.indices.map { BlockRow(sequence: 0, position: $0) } + b.indices.map { BlockRow(sequence: 1, position: $0) }
            try model.runBlocks(h.baseAddress!, rows: rows, caches: caches, layers: 0..<l, workspace: Workspace(config: model.config))
        }
        for (tokens, lastRow) in [(a, a.count - 1), (b, a.count + b.count - 1)] {
            var logits = [Float](repeating: 0, count: model.config.vocabularySize)
            hidden.withUnsafeBufferPointer { h in model.head(h.baseAddress! + lastRow * d, rows: 1, into: &logits, workspace: Workspace(config: model.config)) }
            let alone = try #require(
                try model.forward(tokens: tokens, cache: ModelHarness.freshCache(model), exits: [l], workspace: Workspace(config: model.config))[l])
            #expect(maxAbsDifference(logits, alone).0 < 2e-3)
        }
    }

    @Test func missingKeysAreAnErrorNotAGuess() throws {
        guard let model = ModelHarness.model(exact: true) else { return }
        let cache = ModelHarness.freshCache(model)
        let w = Workspace(config: model.config)
        _ = try model.forward(tokens: [1, 9690], cache: cache, exits: [5], workspace: w)
        // Positions 0 and 1 hold layers 0..<5 only; a step to depth 9 without backfill must fail.
        #expect(throws: ModelError.cacheGap(layer: 6, position: 0, depth: 5)) {
            try model.forward(tokens: [198], cache: cache, exits: [9], workspace: w)
        }
    }
}
