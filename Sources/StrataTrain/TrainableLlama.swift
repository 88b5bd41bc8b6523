import StrataKernels
import StrataModel

/// A LLaMA whose every weight is a trainable scalar of type S, with gradients.
///
/// Parameters live in one contiguous buffer (`layout` gives each tensor's offset), gradients in a
/// second of the same layout. The forward pass saves what the backward pass needs; both run
/// over a `TokenBatch` of packed sequences and read exits through the model's own final RMSNorm
/// and LM head (tied to the embedding unless the model has a separate `output.weight`).
///
/// Memory: parameters and gradients take 2 × `layout.count` scalars; the saved activations of a
/// batch of T tokens take about (6d + 3·qd + 3·ff)·T + heads·ΣL² scalars per block.
public final class TrainableLlama<S: TrainScalar> {
    /// The hyperparameters.
    public let shape: ModelShape
    /// Where each tensor lives in `parameters` and `gradients`.
    public let layout: ParameterLayout
    /// (layout.count,) every weight.
    public let parameters: UnsafeMutableBufferPointer<S>
    /// (layout.count,) d loss / d parameters, accumulated by `accumulateGradients`.
    public let gradients: UnsafeMutableBufferPointer<S>
    /// Rows of the LM head computed per product: bounds the (rows, vocabulary) logits scratch.
    /// Every exit's rows are stacked, so one product covers them all when this is large enough.
    public var headChunkRows = 2048
    /// Time spent in each phase of the last `accumulateGradients` or `lossSums` call.
    public internal(set) var lastTimings = PassTimings()

    let parameterBase: UnsafeMutablePointer<S>
    let gradientBase: UnsafeMutablePointer<S>
    let workspace = TrainingWorkspace<S>()

    /// A model of `shape` with every weight zero.
    /// - Throws: ``TrainError/unsupportedModel(_:)`` for an inconsistent shape.
    public init(shape: ModelShape) throws(TrainError) {
        try shape.validate()
        self.shape = shape
        layout = ParameterLayout(shape: shape)
        parameterBase = .allocate(capacity: layout.count)
        parameterBase.initialize(repeating: 0, count: layout.count)
        gradientBase = .allocate(capacity: layout.count)
        gradientBase.initialize(repeating: 0, count: layout.count)
        parameters = UnsafeMutableBufferPointer(start: parameterBase, count: layout.count)
        gradients = UnsafeMutableBufferPointer(start: gradientBase, count: layout.count)
    }

    deinit {
        parameterBase.deallocate()
        gradientBase.deallocate()
    }

    /// A seeded random model for tests: matrices uniform in ±`scale`, norm weights 1 ± 0.1.
    public convenience init(shape: ModelShape, seed: UInt64, scale: Double = 0.2) throws(TrainError) {
        try self.init(shape: shape)
        var rng = SplitMix(seed: seed)
        for entry in layout.entries {
            let p = parameterBase + entry.offset
            for i in 0..<entry.count {
                let u = rng.symmetricUnit()
                p[i] = entry.isVector ? S(1 + 0.1 * u) : S(scale * u)
            }
        }
    }

    /// The weights of a loaded model, every matrix row dequantised to S.
    /// - Throws: ``TrainError/unsupportedModel(_:)`` when blocks are missing (a pipeline stage's
    ///   partial load) or the shape is inconsistent.
    @_specialize(exported: true, where S == Float)
    public convenience init(model: LoadedModel) throws(TrainError) {
        let config = model.config
        try self.init(shape: ModelShape(config))
        let w = model.weights
        let row = UnsafeMutablePointer<Float>.allocate(capacity: max(shape.hiddenSize, shape.intermediateSize, shape.queryDimension))
        defer { row.deallocate() }
        func load(_ matrix: WeightMatrix, into offset: Int, name: String) throws(TrainError) {
            guard let entry = layout.entries.first(where: { $0.offset == offset }),
                matrix.rows == entry.rows, matrix.columns == entry.columns
            else {
                throw .unsupportedModel("tensor \(name) is \(matrix.rows)×\(matrix.columns), not the expected shape")
            }
            for r in 0..<matrix.rows {
                matrix.dequantizeRow(r, into: row)
                let dst = parameterBase + offset + r * matrix.columns
                for j in 0..<matrix.columns { dst[j] = S(row[j]) }
            }
        }
        func load(_ vector: [Float], into offset: Int, name: String) throws(TrainError) {
            guard vector.count == shape.hiddenSize else {
                throw .unsupportedModel("norm \(name) has \(vector.count) weights, expected \(shape.hiddenSize)")
            }
            for (j, x) in vector.enumerated() { parameterBase[offset + j] = S(x) }
        }
        try load(w.embedding, into: layout.embedding, name: "token_embd.weight")
        if !shape.tiedEmbeddings { try load(w.output, into: layout.output, name: "output.weight") }
        try load(w.outputNorm, into: layout.outputNorm, name: "output_norm.weight")
        guard w.blocks.count == shape.layerCount else {
            throw .unsupportedModel("\(w.blocks.count) blocks bound for \(shape.layerCount) layers")
        }
        for (l, block) in w.blocks.enumerated() {
            guard let block else { throw .unsupportedModel("block \(l) is not loaded (load the whole model, not a stage)") }
            let o = layout.blocks[l]
            try load(block.attentionNorm, into: o.attentionNorm, name: "blk.\(l).attn_norm")
            try load(block.query, into: o.query, name: "blk.\(l).attn_q")
            try load(block.key, into: o.key, name: "blk.\(l).attn_k")
            try load(block.value, into: o.value, name: "blk.\(l).attn_v")
            try load(block.attentionOutput, into: o.attentionOutput, name: "blk.\(l).attn_output")
            try load(block.ffnNorm, into: o.ffnNorm, name: "blk.\(l).ffn_norm")
            try load(block.gate, into: o.gate, name: "blk.\(l).ffn_gate")
            try load(block.up, into: o.up, name: "blk.\(l).ffn_up")
            try load(block.down, into: o.down, name: "blk.\(l).ffn_down")
        }
    }

    /// A copy of every parameter (safe to keep after the model is gone, unlike `parameters`).
    public func parameterValues() -> [S] { Array(parameters) }

    /// A copy of every gradient.
    public func gradientValues() -> [S] { Array(gradients) }

    /// The values of one tensor (a view into `parameters`).
    public func values(of entry: ParameterLayout.Entry) -> UnsafeMutableBufferPointer<S> {
        UnsafeMutableBufferPointer(start: parameterBase + entry.offset, count: entry.count)
    }

    /// The gradient of one tensor (a view into `gradients`).
    public func gradient(of entry: ParameterLayout.Entry) -> UnsafeMutableBufferPointer<S> {
        UnsafeMutableBufferPointer(start: gradientBase + entry.offset, count: entry.count)
    }

    /// Sets every gradient to zero.
    public func zeroGradients() {
        gradientBase.update(repeating: 0, count: layout.count)
    }

    /// The global L2 norm of every gradient, accumulated in Double.
    @_specialize(exported: true, where S == Float)
    public func gradientNorm() -> Double {
        let blocks = (layout.count + 4095) / 4096
        let partials = UnsafeMutablePointer<Double>.allocate(capacity: blocks)
        defer { partials.deallocate() }
        let shared = Shared((gradientBase, partials, layout.count))
        // Partial sums in S over blocks of 4096 keep rounding small without a Double per element;
        // each block's sum has its own slot, so the result does not depend on the thread count.
        Parallel.chunks(blocks, minimumChunk: 64) { _, range in
            let (g, partials, count) = shared.value
            for b in range {
                var sum: S = 0
                for i in (b * 4096)..<min(count, (b + 1) * 4096) { sum += g[i] * g[i] }
                partials[b] = Double(sum)
            }
        }
        var total = 0.0
        for b in 0..<blocks { total += partials[b] }
        return total.squareRoot()
    }

    /// Scales the gradients to a global norm of at most `maxNorm` (reference: PyTorch's
    /// `clip_grad_norm_`, factor maxNorm / (norm + 1e-6)).
    /// - Returns: the norm before clipping.
    @discardableResult
    @_specialize(exported: true, where S == Float)
    public func clipGradients(maxNorm: Double) -> Double {
        let norm = gradientNorm()
        guard norm.isFinite, norm > maxNorm else { return norm }
        let factor = S(maxNorm / (norm + 1e-6))
        let shared = Shared(gradientBase)
        Parallel.chunks(layout.count, minimumChunk: 1 << 16) { _, range in
            for i in range { shared.value[i] *= factor }
        }
        return norm
    }

    /// Copies (converting) every parameter of a model of the same shape.
    /// - Throws: ``TrainError/invalidConfig(_:)`` when the shapes differ.
    public func copyParameters<T: TrainScalar>(from other: TrainableLlama<T>) throws(TrainError) {
        guard other.shape == shape else { throw .invalidConfig("copying parameters between models of different shapes") }
        for i in 0..<layout.count { parameterBase[i] = S(other.parameterBase[i]) }
    }
}

/// A model is driven by one thread at a time: its workspace and gradients are unsynchronised.
@available(*, unavailable) extension TrainableLlama: Sendable {}
