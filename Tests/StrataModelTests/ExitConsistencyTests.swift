import Foundation
import StrataKernels
import StrataModel
import StrataTestSupport
import Testing

/// The cache and the exits must not change the numbers: token-by-token decoding equals a
/// cache-free recomputation of the whole sequence, at every exit.
@Suite struct ExitConsistencyTests {
    static let tokens = [1, 9690, 198, 2683, 359, 253, 5356, 5646, 11, 2683, 359, 216, 1, 4093, 198, 504, 314, 260]

    @Test(arguments: [1, 9, 15, 30])
    func incrementalDecodeEqualsCacheFreeRecomputation(exit: Int) throws {
        guard let model = ModelHarness.model() else { return }
        let workspace = Workspace(config: model.config)
        // Prompt of 11 in one batch (GEMM path), then one token at a time.
        let cache = ModelHarness.freshCache(model)
        _ = try model.forward(tokens: Array(Self.tokens[0..<11]), cache: cache, exits: [exit], workspace: workspace)
        for t in 11..<Self.tokens.count {
            let incremental = try #require(
                try model.forward(tokens: [Self.tokens[t]], cache: cache, exits: [exit], workspace: workspace)[exit])
            let fresh = ModelHarness.freshCache(model)
            let full = try #require(
                try model.forward(tokens: Array(Self.tokens[0...t]), cache: fresh, exits: [exit], workspace: Workspace(config: model.config))[exit])
            let (diff, at) = maxAbsDifference(incremental, full)
            #expect(diff < 2e-3, "exit \(exit), position \(t): max |Δ| \(diff) at \(at)")
        }
    }

    /// A half cache holds keys and values rounded to 11 significant bits: logits move a little,
    /// never the clear choices. A 40-token prompt takes the long-run (widen + SGEMM) path, the
    /// decode steps the fused kernel.
    @Test(arguments: [15, 30])
    func halfCacheStaysCloseToTheF32Cache(exit: Int) throws {
        guard let loaded = ModelHarness.loaded else { return }
        let prompt = Array((Self.tokens + Self.tokens + Self.tokens + Self.tokens).prefix(40))
        var logits: [KVCacheType: [[Float]]] = [:]
        for type in KVCacheType.allCases {
            let model = LlamaModel(model: loaded, pool: ComputePool(threadCount: 2), exact: true, kvCacheType: type)
            let cache = KVCache(layers: 0..<30, kvDimension: model.config.kvDimension, limit: 256, type: type)
            let workspace = Workspace(config: model.config)
            var steps = [try #require(try model.forward(tokens: prompt, cache: cache, exits: [exit], workspace: workspace)[exit])]
            for t in Self.tokens.prefix(12) {
                steps.append(try #require(try model.forward(tokens: [t], cache: cache, exits: [exit], workspace: workspace)[exit]))
            }
            #expect(cache.byteCount == 2 * 30 * cache.capacity * model.config.kvDimension * type.bytes)
            logits[type] = steps
        }
        let full = try #require(logits[.f32]), half = try #require(logits[.f16])
        var worst = 0.0
        for (a, b) in zip(full, half) {
            let (diff, _) = maxAbsDifference(a, b)
            worst = max(worst, Double(diff))
            let sorted = a.enumerated().sorted { $0.element > $1.element }
            if sorted[0].element - sorted[1].element > 0.25 {
                #expect(b.indices.max { b[$0] < b[$1] } == sorted[0].offset, "exit \(exit): the top token changed")
            }
        }
        #expect(worst < 0.08, "exit \(exit): max |Δ logit| \(worst)")
        #expect(worst > 0, "the half cache rounds")
        print("half cache, exit \(exit): max |Δ logit| \(worst) over \(full.count) steps")
    }

    @Test func exitAtTheLastLayerIsTheOrdinaryForward() throws {
        guard let model = ModelHarness.model() else { return }
        let l = model.config.layerCount
        let both = try model.forward(tokens: Self.tokens, cache: ModelHarness.freshCache(model), exits: [9, l], workspace: Workspace(config: model.config))
        let alone = try model.forward(tokens: Self.tokens, cache: ModelHarness.freshCache(model), exits: [l], workspace: Workspace(config: model.config))
        #expect(both[l] == alone[l])
        #expect(both[9] != both[l])
    }

    @Test func invalidExitsAndTokensAreErrors() throws {
        guard let model = ModelHarness.model() else { return }
        let w = Workspace(config: model.config)
        #expect(throws: ModelError.invalidExit(0, layerCount: 30)) {
            try model.forward(tokens: [1], cache: ModelHarness.freshCache(model), exits: [0], workspace: w)
        }
        #expect(throws: ModelError.invalidExit(31, layerCount: 30)) {
            try model.forward(tokens: [1], cache: ModelHarness.freshCache(model), exits: [31], workspace: w)
        }
        #expect(throws: ModelError.tokenOutOfRange(49152, vocabularySize: 49152)) {
            try model.forward(tokens: [49152], cache: ModelHarness.freshCache(model), exits: [30], workspace: w)
        }
        #expect(throws: ModelError.emptyPrompt) {
            try model.forward(tokens: [], cache: ModelHarness.freshCache(model), exits: [30], workspace: w)
        }
    }
}
