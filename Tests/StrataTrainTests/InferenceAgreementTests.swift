import StrataKernels
import StrataModel
import Testing

@testable import StrataTrain

/// The trainable model's Float forward pass against the inference engine's exact path, on the
/// same GGUF file: same weights, RoPE layout and frequencies (including `rope_freqs` factors),
/// GQA grouping and exit head.
@Suite struct InferenceAgreementTests {
    static let tokens: [[Int]] = [[3, 72, 101, 256, 108, 257, 33, 200, 44, 258, 90], [261, 17, 111, 260, 9, 5, 77]]

    func inferenceLogits(_ loaded: LoadedModel, tokens: [Int], exits: [Int]) throws -> [Int: [Float]] {
        let model = LlamaModel(model: loaded, pool: ComputePool(threadCount: 1), exact: true)
        let c = loaded.config
        let cache = KVCache(layers: 0..<c.layerCount, kvDimension: c.kvDimension, limit: c.contextLength)
        return try model.forward(tokens: tokens, cache: cache, exits: exits, workspace: Workspace(config: c), allPositions: true)
    }

    /// max |a − b| ≤ rtol · max |b|.
    func close(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>, rtol: Float) -> Bool {
        guard a.count == b.count else { return false }
        let scale = b.reduce(0) { max($0, abs($1)) }
        return zip(a, b).allSatisfy { abs($0 - $1) <= rtol * scale }
    }

    @Test func exitLogitsMatchInferenceForOneSequence() throws {
        let directory = try TemporaryDirectory()
        let loaded = try LoadedModel.load(path: try TinyLlamaFile.write(seed: 21, in: directory))
        let trainable = try TrainableLlama<Float>(model: loaded)
        #expect(trainable.shape.ropeInverseFrequencies == loaded.config.rope.inverseFrequencies)
        let tokens = Self.tokens[0]
        let reference = try inferenceLogits(loaded, tokens: tokens, exits: [1, 2, 3])
        let batch = TokenBatch([TrainingExample(tokens: tokens.map(Int32.init), targetMask: tokens.map { _ in false })])
        for exit in [1, 2, 3] {
            let ours = try trainable.logits(batch, exit: exit)
            let theirs = try #require(reference[exit])
            #expect(close(ours[...], theirs[...], rtol: 1e-4), "exit \(exit)")
        }
    }

    /// Two sequences packed in one batch give each sequence's logits as if run alone.
    @Test func packedSequencesMatchSeparateInferenceRuns() throws {
        let directory = try TemporaryDirectory()
        let loaded = try LoadedModel.load(path: try TinyLlamaFile.write(seed: 22, in: directory))
        let trainable = try TrainableLlama<Float>(model: loaded)
        let examples = Self.tokens.map { TrainingExample(tokens: $0.map(Int32.init), targetMask: $0.map { _ in true }) }
        let ours = try trainable.logits(TokenBatch(examples), exit: 2)
        let V = loaded.config.vocabularySize
        var row = 0
        for tokens in Self.tokens {
            let theirs = try #require(try inferenceLogits(loaded, tokens: tokens, exits: [2])[2])
            let slice = ours[(row * V)..<((row + tokens.count) * V)]
            #expect(close(slice, theirs[...], rtol: 1e-4))
            row += tokens.count
        }
    }

    /// A check that the comparison above can fail: a perturbed weight shows up in the logits.
    @Test func perturbedWeightsDisagree() throws {
        let directory = try TemporaryDirectory()
        let loaded = try LoadedModel.load(path: try TinyLlamaFile.write(seed: 23, in: directory))
        let trainable = try TrainableLlama<Float>(model: loaded)
        let entry = try #require(trainable.layout.entry(named: "blk.1.attn_k.weight"))
        trainable.values(of: entry)[5] += 0.5
        let tokens = Self.tokens[0]
        let reference = try #require(try inferenceLogits(loaded, tokens: tokens, exits: [3])[3])
        let batch = TokenBatch([TrainingExample(tokens: tokens.map(Int32.init), targetMask: tokens.map { _ in false })])
        #expect(!close(try trainable.logits(batch, exit: 3)[...], reference[...], rtol: 1e-4))
    }
}
