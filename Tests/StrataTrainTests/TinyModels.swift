import StrataKernels
import StrataTestSupport

@testable import StrataTrain

/// Tiny shapes and batches for model-level tests.
enum Tiny {
    /// d = 16, 4 heads of 4 sharing 2 KV heads, FFN 24, vocabulary 40.
    static func shape(
        layers: Int = 3, tied: Bool = true, layout: Rope.Layout = .adjacentPairs, vocabulary: Int = 40
    ) -> ModelShape {
        ModelShape(
            layerCount: layers, hiddenSize: 16, intermediateSize: 24, headCount: 4, kvHeadCount: 2, headDimension: 4,
            vocabularySize: vocabulary, rmsNormEpsilon: 1e-5, rope: Rope(dimensions: 4, base: 10_000, layout: layout),
            tiedEmbeddings: tied)
    }

    /// A random example of `length` tokens whose second half is the response.
    static func example(length: Int, vocabulary: Int, rng: inout SplitMix64) -> TrainingExample {
        let tokens = (0..<length).map { _ in Int32(rng.next() % UInt64(vocabulary)) }
        let mask = (0..<length).map { $0 >= length / 2 }
        return TrainingExample(tokens: tokens, targetMask: mask)
    }

    static func examples(_ lengths: [Int], vocabulary: Int = 40, seed: UInt64) -> [TrainingExample] {
        var rng = SplitMix64(seed: seed)
        return lengths.map { example(length: $0, vocabulary: vocabulary, rng: &rng) }
    }

    /// Two packed sequences of 6 and 5 tokens.
    static func batch(seed: UInt64 = 7, vocabulary: Int = 40) -> TokenBatch {
        TokenBatch(examples([6, 5], vocabulary: vocabulary, seed: seed))
    }
}
