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
    /// How the caches this model's stages and generators create store keys and values.
    public let kvCacheType: KVCacheType
    public var config: LlamaConfig { model.config }

    public init(
        model: LoadedModel, pool: ComputePool, placement: Placement = .unpinned, exact: Bool = false, kvCacheType: KVCacheType = .f32
    ) {
        self.model = model
        self.kvCacheType = kvCacheType
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

    /// Runs blocks `layers` over one sequence's new positions `start ..< start + count`, in
    /// place, writing their keys and values into `cache`.
    /// - Parameters:
    ///   - hidden: (count, d) residual stream, updated in place.
    ///   - afterBlock: called with (block index, hidden) after each block, for exits.
    public func runBlocks(
        _ hidden: UnsafeMutablePointer<Float>, count: Int, start: Int, layers: Range<Int>, cache: KVCache,
        workspace: Workspace, afterBlock: ((Int, UnsafeMutablePointer<Float>) -> Void)? = nil
    ) throws(ModelError) {
        let rows = (0..<count).map { BlockRow(sequence: 0, position: start + $0, firstLayer: layers.lowerBound) }
        try runBlocks(hidden, rows: rows, caches: [cache], layers: layers, workspace: workspace, afterBlock: afterBlock)
    }

    /// Runs blocks `layers` over rows of one or more sequences, in place.
    ///
    /// A row takes part from block `max(row.firstLayer, layers.lowerBound)` on; its keys and
    /// values go into `caches[row.sequence]` at its position. Rows of one sequence must come in
    /// increasing position order. Before a row attends at a layer, every earlier position of its
    /// sequence must hold that layer's K/V or be a row of this step; otherwise this throws
    /// `cacheGap` rather than attend to missing keys.
    /// - Parameters:
    ///   - hidden: (rows.count, d) residual stream, updated in place.
    ///   - afterBlock: called with (block index, hidden) after each block.
    public func runBlocks(
        _ hidden: UnsafeMutablePointer<Float>, rows: [BlockRow], caches: [KVCache], layers: Range<Int>,
        workspace: Workspace, afterBlock: ((Int, UnsafeMutablePointer<Float>) -> Void)? = nil
    ) throws(ModelError) {
        let c = config
        let d = c.hiddenSize
        let qd = c.queryDimension
        let kvd = c.kvDimension
        for (i, row) in rows.enumerated() {
            guard caches.indices.contains(row.sequence) else { throw .invalidBatch("row \(i) names sequence \(row.sequence)") }
            if i > 0, rows[i - 1].sequence == row.sequence, rows[i - 1].position >= row.position {
                throw .invalidBatch("rows of sequence \(row.sequence) are not in increasing position order")
            }
            try caches[row.sequence].reserve(row.position + 1)
        }
        workspace.prepare(rows: rows.count)
        let (cosTable, sinTable) = c.rope.table(positions: rows.map(\.position))
        let half = c.rope.dimensions / 2
        for layer in layers {
            guard let w = weights.blocks[layer] else { throw .missingTensor("block \(layer)") }
            let active = rows.indices.filter { max(rows[$0].firstLayer, layers.lowerBound) <= layer }
            guard !active.isEmpty else { continue }
            try checkCacheComplete(rows: rows, active: active, caches: caches, layer: layer)
            let n = active.count
            let everyRow = n == rows.count
            // x: (n, d) the active rows, contiguous
            let x = everyRow ? hidden : workspace.gathered
            if !everyRow {
                for (j, i) in active.enumerated() { (x + j * d).update(from: hidden + i * d, count: d) }
            }
            // attention
            Ops.rmsNorm(x, weight: w.attentionNorm, out: workspace.norm, rows: n, n: d, epsilon: c.rmsNormEpsilon)
            linear.matmul(
                [(w.query, workspace.query), (w.key, workspace.keys), (w.value, workspace.values)], workspace.norm, batch: n)
            cosTable.withUnsafeBufferPointer { cosp in
                sinTable.withUnsafeBufferPointer { sinp in
                    guard let cp = cosp.baseAddress, let sp = sinp.baseAddress else { return }
                    for (j, i) in active.enumerated() {
                        c.rope.apply(workspace.query + j * qd, rows: 1, heads: c.headCount, headDim: c.headDimension, cos: cp + i * half, sin: sp + i * half)
                        c.rope.apply(workspace.keys + j * kvd, rows: 1, heads: c.kvHeadCount, headDim: c.headDimension, cos: cp + i * half, sin: sp + i * half)
                    }
                }
            }
            for (j, i) in active.enumerated() {
                let cache = caches[rows[i].sequence]
                let p = rows[i].position
                cache.store(layer: layer, position: p, keys: workspace.keys + j * kvd, values: workspace.values + j * kvd)
                cache.markFilled(layer: layer, position: p)
            }
            // Causal attention over runs of consecutive positions of one sequence.
            var j = 0
            while j < n {
                let first = rows[active[j]]
                var runEnd = j + 1
                while runEnd < n, rows[active[runEnd]].sequence == first.sequence,
                    rows[active[runEnd]].position == first.position + (runEnd - j)
                {
                    runEnd += 1
                }
                let cache = caches[first.sequence]
                attention.run(
                    shape: c.attentionShape, q: workspace.query + j * qd, keys: cache.keys(layer: layer),
                    values: cache.values(layer: layer), type: cache.type, out: workspace.attention + j * qd, start: first.position,
                    count: runEnd - j)
                j = runEnd
            }
            linear.matmul(w.attentionOutput, workspace.attention, workspace.projection, batch: n)
            Ops.add(x, workspace.projection, count: n * d)
            // feed-forward
            Ops.rmsNorm(x, weight: w.ffnNorm, out: workspace.norm, rows: n, n: d, epsilon: c.rmsNormEpsilon)
            linear.matmul([(w.gate, workspace.gate), (w.up, workspace.up)], workspace.norm, batch: n)
            Ops.swiGLU(gate: workspace.gate, up: workspace.up, count: n * c.intermediateSize)
            linear.matmul(w.down, workspace.gate, workspace.projection, batch: n)
            Ops.add(x, workspace.projection, count: n * d)
            if !everyRow {
                for (j, i) in active.enumerated() { (hidden + i * d).update(from: x + j * d, count: d) }
            }
            afterBlock?(layer, hidden)
        }
    }

    /// Throws `cacheGap` unless every active row's earlier positions hold `layer`'s K/V or are
    /// themselves active at this layer.
    private func checkCacheComplete(rows: [BlockRow], active: [Int], caches: [KVCache], layer: Int) throws(ModelError) {
        var activeBySequence: [Int: Set<Int>] = [:]
        for i in active { activeBySequence[rows[i].sequence, default: []].insert(rows[i].position) }
        for (sequence, positions) in activeBySequence {
            let cache = caches[sequence]
            guard let last = positions.max() else { continue }
            // The error names the earliest position missing (sets iterate in no fixed order).
            if let p = positions.filter({ cache.depth(of: $0) != layer }).min() {
                throw .cacheGap(layer: layer + 1, position: p, depth: cache.depth(of: p))
            }
            // Every position outside `incomplete` holds all of the cache's layers.
            let missing = cache.incomplete.filter { $0 < last && !cache.holds(layer: layer, position: $0) && !positions.contains($0) }
            if let q = missing.min() {
                throw .cacheGap(layer: layer + 1, position: q, depth: cache.depth(of: q))
            }
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
