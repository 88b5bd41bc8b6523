/// One sequence on a single-process model, whose depth may change from token to token.
///
/// The logits of token t at depth d are exactly `head(norm(h_d(t)))` of a cache-free full
/// recomputation. A position that stopped at a shallow exit keeps its hidden state there; when
/// a later step goes deeper, that position re-enters at its depth (backfill) and its keys and
/// values for the deeper layers are filled before the new token attends to it.
public final class SequenceState {
    public let cache: KVCache
    public private(set) var tokens: [Int] = []
    /// Hidden state after block `cache.depth(of: p)` of positions that have not reached the
    /// last layer: (d,) each.
    private var parked: [Int: [Float]] = [:]
    private let layerCount: Int

    public init(config: LlamaConfig, limit: Int) {
        cache = KVCache(layers: 0..<config.layerCount, kvDimension: config.kvDimension, limit: limit)
        layerCount = config.layerCount
    }

    /// Positions waiting for backfill, and their depths.
    public var parkedDepths: [Int: Int] {
        Dictionary(uniqueKeysWithValues: parked.keys.map { ($0, cache.depth(of: $0)) })
    }

    /// Appends `newTokens`, runs them (and any shallower earlier positions) to `depth`, and
    /// returns the logits of the last new token at that exit: (vocab,).
    /// - Parameter allPositions: return logits for every new token, (newTokens.count, vocab).
    public func step(
        _ newTokens: [Int], depth: Int, model: LlamaModel, workspace: Workspace, allPositions: Bool = false
    ) throws(ModelError) -> [Float] {
        guard !newTokens.isEmpty else { throw .emptyPrompt }
        try model.config.checkExit(depth)
        let d = model.config.hiddenSize
        let start = tokens.count
        let backfill = parked.keys.filter { cache.depth(of: $0) < depth }.sorted()
        var rows = backfill.map { BlockRow(sequence: 0, position: $0, firstLayer: cache.depth(of: $0)) }
        rows += newTokens.indices.map { BlockRow(sequence: 0, position: start + $0, firstLayer: 0) }
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: rows.count * d)
        defer { hidden.deallocate() }
        for (i, p) in backfill.enumerated() {
            parked[p]?.withUnsafeBufferPointer { if let b = $0.baseAddress { (hidden + i * d).update(from: b, count: d) } }
        }
        try model.embed(newTokens, into: hidden + backfill.count * d)
        try model.runBlocks(hidden, rows: rows, caches: [cache], layers: 0..<depth, workspace: workspace)
        tokens += newTokens
        for (i, row) in rows.enumerated() {
            if depth < layerCount {
                parked[row.position] = Array(UnsafeBufferPointer(start: hidden + i * d, count: d))
            } else {
                parked[row.position] = nil
            }
        }
        let outputRows = allPositions ? newTokens.count : 1
        let firstOutput = rows.count - outputRows
        return [Float](unsafeUninitializedCapacity: outputRows * model.config.vocabularySize) { buffer, n in
            if let base = buffer.baseAddress {
                model.head(hidden + firstOutput * d, rows: outputRows, into: base, workspace: workspace)
            }
            n = outputRows * model.config.vocabularySize
        }
    }
}
