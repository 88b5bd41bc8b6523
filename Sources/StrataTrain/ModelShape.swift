import StrataKernels
import StrataModel

/// The hyperparameters a trainable LLaMA needs, independent of any file, and serialisable into
/// checkpoints. Built from a `LlamaConfig` or directly (tests).
public struct ModelShape: Sendable, Equatable, Codable {
    /// Transformer blocks.
    public var layerCount: Int
    /// d, the width of the residual stream.
    public var hiddenSize: Int
    /// The feed-forward width.
    public var intermediateSize: Int
    /// Query heads.
    public var headCount: Int
    /// Key/value heads.
    public var kvHeadCount: Int
    /// Width of each head.
    public var headDimension: Int
    /// Token ids.
    public var vocabularySize: Int
    /// ε of every RMSNorm.
    public var rmsNormEpsilon: Float
    /// Rotated dimensions per head (even, ≤ headDimension).
    public var ropeDimensions: Int
    /// Which dimensions rotate together (GGUF: adjacent pairs).
    public var ropeLayout: Rope.Layout
    /// θᵢ per rotated pair, scaling already applied (`Rope.inverseFrequencies`).
    public var ropeInverseFrequencies: [Float]
    /// Whether the LM head is the token embedding.
    public var tiedEmbeddings: Bool

    /// heads · headDimension.
    public var queryDimension: Int { headCount * headDimension }
    /// kvHeads · headDimension.
    public var kvDimension: Int { kvHeadCount * headDimension }
    /// The attention geometry.
    public var attention: AttentionGeometry {
        AttentionGeometry(heads: headCount, kvHeads: kvHeadCount, headDim: headDimension)
    }

    /// - Parameter rope: frequencies and pair layout, as the inference model uses them.
    public init(
        layerCount: Int, hiddenSize: Int, intermediateSize: Int, headCount: Int, kvHeadCount: Int,
        headDimension: Int, vocabularySize: Int, rmsNormEpsilon: Float, rope: Rope, tiedEmbeddings: Bool
    ) {
        self.layerCount = layerCount
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDimension = headDimension
        self.vocabularySize = vocabularySize
        self.rmsNormEpsilon = rmsNormEpsilon
        self.ropeDimensions = rope.dimensions
        self.ropeLayout = rope.layout
        self.ropeInverseFrequencies = rope.inverseFrequencies
        self.tiedEmbeddings = tiedEmbeddings
    }

    /// The shape of a loaded model.
    public init(_ config: LlamaConfig) {
        self.init(
            layerCount: config.layerCount, hiddenSize: config.hiddenSize, intermediateSize: config.intermediateSize,
            headCount: config.headCount, kvHeadCount: config.kvHeadCount, headDimension: config.headDimension,
            vocabularySize: config.vocabularySize, rmsNormEpsilon: config.rmsNormEpsilon, rope: config.rope,
            tiedEmbeddings: config.tiedEmbeddings)
    }

    /// Checks the relations the forward pass relies on.
    /// - Throws: ``TrainError/unsupportedModel(_:)`` naming the first that fails.
    public func validate() throws(TrainError) {
        func check(_ ok: Bool, _ reason: String) throws(TrainError) {
            if !ok { throw .unsupportedModel(reason) }
        }
        try check(layerCount > 0, "\(layerCount) layers")
        try check(hiddenSize > 0 && intermediateSize > 0 && vocabularySize > 0, "empty dimensions")
        try check(headCount > 0 && kvHeadCount > 0 && headCount % kvHeadCount == 0, "\(kvHeadCount) KV heads do not divide \(headCount) heads")
        try check(headDimension > 0, "head dimension \(headDimension)")
        try check(
            ropeDimensions >= 0 && ropeDimensions % 2 == 0 && ropeDimensions <= headDimension
                && ropeInverseFrequencies.count == ropeDimensions / 2,
            "RoPE over \(ropeDimensions) dimensions with \(ropeInverseFrequencies.count) frequencies for heads of \(headDimension)")
        try check(rmsNormEpsilon > 0, "RMSNorm epsilon \(rmsNormEpsilon)")
        try check(vocabularySize < Int(Int32.max), "vocabulary of \(vocabularySize) exceeds 32-bit ids")
    }

    // Floats are stored as bit patterns so a checkpoint restores them exactly.
    private enum CodingKeys: String, CodingKey {
        case layerCount, hiddenSize, intermediateSize, headCount, kvHeadCount, headDimension, vocabularySize
        case rmsNormEpsilonBits, ropeDimensions, ropeLayout, ropeInverseFrequencyBits, tiedEmbeddings
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        layerCount = try c.decode(Int.self, forKey: .layerCount)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        headCount = try c.decode(Int.self, forKey: .headCount)
        kvHeadCount = try c.decode(Int.self, forKey: .kvHeadCount)
        headDimension = try c.decode(Int.self, forKey: .headDimension)
        vocabularySize = try c.decode(Int.self, forKey: .vocabularySize)
        rmsNormEpsilon = Float(bitPattern: try c.decode(UInt32.self, forKey: .rmsNormEpsilonBits))
        ropeDimensions = try c.decode(Int.self, forKey: .ropeDimensions)
        ropeLayout = try c.decode(Rope.Layout.self, forKey: .ropeLayout)
        ropeInverseFrequencies = try c.decode([UInt32].self, forKey: .ropeInverseFrequencyBits).map(Float.init(bitPattern:))
        tiedEmbeddings = try c.decode(Bool.self, forKey: .tiedEmbeddings)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(layerCount, forKey: .layerCount)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(headCount, forKey: .headCount)
        try c.encode(kvHeadCount, forKey: .kvHeadCount)
        try c.encode(headDimension, forKey: .headDimension)
        try c.encode(vocabularySize, forKey: .vocabularySize)
        try c.encode(rmsNormEpsilon.bitPattern, forKey: .rmsNormEpsilonBits)
        try c.encode(ropeDimensions, forKey: .ropeDimensions)
        try c.encode(ropeLayout, forKey: .ropeLayout)
        try c.encode(ropeInverseFrequencies.map(\.bitPattern), forKey: .ropeInverseFrequencyBits)
        try c.encode(tiedEmbeddings, forKey: .tiedEmbeddings)
    }
}
