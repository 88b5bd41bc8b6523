import StrataKernels

/// The LLaMA forward pass over a `LoadedModel`, with an exit after any block.
///
/// The exit head is the model's own: final RMSNorm then the LM head, applied to the hidden
/// state after block k (k = layerCount is the ordinary model). Blocks and the head are separate
/// calls so a pipeline stage can run just its layers.
///
/// SAFETY (`@unchecked Sendable`): the weights are immutable; `linear` and `attention` are
/// serialised by their pool. Calls from several threads at once must use separate pools.
public final class LlamaModel: @unchecked Sendable {
    public let model: LoadedModel
    /// The weights this model computes with: in place in the file mapping, or copied to the
    /// placement's NUMA node.
    public let weights: LlamaWeights
    public let linear: Linear
    let attention: Attention
    public var config: LlamaConfig { model.config }

    public init(model: LoadedModel, pool: ComputePool, placement: Placement = .unpinned, exact: Bool = false) {
        self.model = model
        if case .numaNode(let node) = placement {
            weights = model.weights.placed(onNode: node)
        } else {
            weights = model.weights
        }
        linear = Linear(pool: pool, exact: exact)
        attention = Attention(pool: pool)
    }

    /// Embedding rows of `tokens`: out (tokens.count, d).
    public func embed(_ tokens: [Int], into out: UnsafeMutablePointer<Float>) throws(ModelError) {
        let d = config.hiddenSize
        for (t, id) in tokens.enumerated() {
            guard id >= 0 && id < config.vocabularySize else {
                throw .tokenOutOfRange(id, vocabularySize: config.vocabularySize)
            }
            weights.embedding.dequantizeRow(id, into: out + t * d)
        }
    }

    /// Runs blocks `layers` over hidden rows for positions `start ..< start + count`, in place,
    /// writing those positions' keys and values into `cache`.
    /// - Parameters:
    ///   - hidden: (count, d) residual stream, updated in place.
    ///   - afterBlock: called with (block index, hidden) after each block, for exits.
    public func runBlocks(
        _ hidden: UnsafeMutablePointer<Float>, count: Int, start: Int, layers: Range<Int>, cache: KVCache,
        workspace: Workspace, afterBlock: ((Int, UnsafeMutablePointer<Float>) -> Void)? = nil
    ) throws(ModelError) {
        let c = config
        try cache.reserve(start + count)
        workspace.prepare(rows: count)
        let (cosTable, sinTable) = c.rope.table(positions: Array(start..<(start + count)))
        let d = c.hiddenSize
        let kvd = c.kvDimension
        for layer in layers {
            guard let w = weights.blocks[layer] else { throw .missingTensor("block \(layer)") }
            // Attention at these positions reads every earlier position's K/V in this layer.
            guard cache.filled(layer: layer) == start else {
                throw .cacheGap(layer: layer + 1, filled: cache.filled(layer: layer), start: start)
            }
            let keys = cache.keys(layer: layer) + start * kvd  // (count, kvd) rows of this call
            let values = cache.values(layer: layer) + start * kvd
            // attention
            Ops.rmsNorm(hidden, weight: w.attentionNorm, out: workspace.norm, rows: count, n: d, epsilon: c.rmsNormEpsilon)
            linear.matmul([(w.query, workspace.query), (w.key, keys), (w.value, values)], workspace.norm, batch: count)
            cosTable.withUnsafeBufferPointer { cosp in
                sinTable.withUnsafeBufferPointer { sinp in
                    guard let cp = cosp.baseAddress, let sp = sinp.baseAddress else { return }
                    c.rope.apply(workspace.query, rows: count, heads: c.headCount, headDim: c.headDimension, cos: cp, sin: sp)
                    c.rope.apply(keys, rows: count, heads: c.kvHeadCount, headDim: c.headDimension, cos: cp, sin: sp)
                }
            }
            cache.setFilled(layer: layer, count: start + count)
            attention.run(
                shape: c.attentionShape, q: workspace.query, keys: cache.keys(layer: layer),
                values: cache.values(layer: layer), out: workspace.attention, start: start, count: count)
            linear.matmul(w.attentionOutput, workspace.attention, workspace.projection, batch: count)
            Ops.add(hidden, workspace.projection, count: count * d)
            // feed-forward
            Ops.rmsNorm(hidden, weight: w.ffnNorm, out: workspace.norm, rows: count, n: d, epsilon: c.rmsNormEpsilon)
            linear.matmul([(w.gate, workspace.gate), (w.up, workspace.up)], workspace.norm, batch: count)
            Ops.swiGLU(gate: workspace.gate, up: workspace.up, count: count * c.intermediateSize)
            linear.matmul(w.down, workspace.gate, workspace.projection, batch: count)
            Ops.add(hidden, workspace.projection, count: count * d)
            afterBlock?(layer, hidden)
        }
    }

    /// The exit head: logits (rows, vocab) = LMHead(RMSNorm(hidden)). hidden: (rows, d).
    public func head(_ hidden: UnsafePointer<Float>, rows: Int, into logits: UnsafeMutablePointer<Float>, workspace: Workspace) {
        let c = config
        workspace.prepare(rows: rows)
        Ops.rmsNorm(hidden, weight: weights.outputNorm, out: workspace.norm, rows: rows, n: c.hiddenSize, epsilon: c.rmsNormEpsilon)
        linear.matmul(weights.output, workspace.norm, logits, batch: rows)
    }

    /// Appends `tokens` to the sequence in `cache` and returns logits at each requested exit.
    /// - Parameters:
    ///   - exits: 1-based exit layers; blocks run up to the deepest one.
    ///   - allPositions: logits for every new position (rows × vocab) instead of the last only.
    /// - Returns: exit → logits, row-major (rows, vocab).
    public func forward(
        tokens: [Int], cache: KVCache, exits: [Int], workspace: Workspace, allPositions: Bool = false
    ) throws(ModelError) -> [Int: [Float]] {
        guard !tokens.isEmpty else { throw .emptyPrompt }
        for k in exits { try config.checkExit(k) }
        let deepest = exits.max() ?? config.layerCount
        let count = tokens.count
        let d = config.hiddenSize
        let start = cache.length
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: count * d)
        defer { hidden.deallocate() }
        try embed(tokens, into: hidden)
        let rows = allPositions ? count : 1
        let firstRow = allPositions ? 0 : count - 1
        var results: [Int: [Float]] = [:]
        let wanted = Set(exits)
        let vocab = config.vocabularySize
        try runBlocks(hidden, count: count, start: start, layers: 0..<deepest, cache: cache, workspace: workspace) { layer, h in
            guard wanted.contains(layer + 1) else { return }
            results[layer + 1] = [Float](unsafeUninitializedCapacity: rows * vocab) { buffer, n in
                if let base = buffer.baseAddress {
                    self.head(h + firstRow * d, rows: rows, into: base, workspace: workspace)  // norm is rewritten before the next block reads it
                }
                n = rows * vocab
            }
        }
        return results
    }
}
