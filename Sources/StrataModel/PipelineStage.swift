/// The blocks one pipeline stage owns, and its sequences' KV caches for them.
///
/// A stage receives hidden rows that have passed `joinLayer` blocks, runs its own blocks that
/// lie below the step's exit, and hands the rows on. Caches are created on a sequence's first
/// row and dropped by `release`. Used by one thread at a time (the worker's compute thread).
public final class PipelineStage {
    public let model: LlamaModel
    /// 0-based blocks this stage runs.
    public let layers: Range<Int>
    public let contextLimit: Int
    private var caches: [UInt64: KVCache] = [:]
    private let workspace: Workspace

    /// One hidden row of a step.
    public struct Row: Sendable, Equatable {
        public var sequence: UInt64
        public var position: Int
        /// Blocks already applied to the row's hidden state (0 for an embedding).
        public var joinLayer: Int

        public init(sequence: UInt64, position: Int, joinLayer: Int) {
            self.sequence = sequence
            self.position = position
            self.joinLayer = joinLayer
        }
    }

    public init(model: LlamaModel, layers: Range<Int>, contextLimit: Int) {
        self.model = model
        self.layers = layers
        self.contextLimit = contextLimit
        workspace = Workspace(config: model.config)
    }

    /// Runs this stage's blocks below `exit` over `rows`, in place; each row's `joinLayer`
    /// advances to the blocks it has passed, ready for the next stage.
    /// - Parameters:
    ///   - hidden: (rows.count, d) row-major.
    ///   - exit: 1-based exit layer of the step.
    /// - Returns: blocks applied to every row afterwards (`min(exit, layers.upperBound)`).
    public func run(rows: inout [Row], hidden: UnsafeMutablePointer<Float>, exit: Int) throws(ModelError) -> Int {
        try model.config.checkExit(exit)
        let end = min(exit, layers.upperBound)
        guard end > layers.lowerBound else { return end }
        var order: [UInt64: Int] = [:]
        var stepCaches: [KVCache] = []
        var blockRows: [BlockRow] = []
        blockRows.reserveCapacity(rows.count)
        for row in rows {
            // A row that joins past this stage passes through; one that missed earlier blocks is an error.
            guard row.joinLayer >= layers.lowerBound, row.joinLayer <= exit else {
                throw .invalidBatch("row of sequence \(row.sequence) joins at block \(row.joinLayer), outside \(layers.lowerBound)…\(exit)")
            }
            guard row.position >= 0, row.position < contextLimit else {
                throw .contextOverflow(needed: row.position + 1, limit: contextLimit)
            }
            let slot: Int
            if let known = order[row.sequence] {
                slot = known
            } else {
                slot = stepCaches.count
                order[row.sequence] = slot
                stepCaches.append(cache(for: row.sequence))
            }
            blockRows.append(BlockRow(sequence: slot, position: row.position, firstLayer: row.joinLayer))
        }
        try model.runBlocks(hidden, rows: blockRows, caches: stepCaches, layers: layers.lowerBound..<end, workspace: workspace)
        for i in rows.indices { rows[i].joinLayer = max(rows[i].joinLayer, end) }
        return end
    }

    /// Drops the caches of `sequences`.
    public func release(_ sequences: [UInt64]) {
        for s in sequences { caches[s] = nil }
    }

    /// Sequences holding a cache here.
    public var sequenceCount: Int { caches.count }

    /// Ids of the sequences holding a cache here.
    public var sequenceIDs: [UInt64] { Array(caches.keys) }

    /// Bytes held by all caches.
    public var cacheBytes: Int { caches.values.reduce(0) { $0 + $1.byteCount } }

    /// Bytes of the blocks this stage holds.
    public var weightBytes: Int { model.weights.blocks.reduce(0) { $0 + ($1?.byteCount ?? 0) } }

    private func cache(for sequence: UInt64) -> KVCache {
        if let c = caches[sequence] { return c }
        let c = KVCache(
            layers: layers, kvDimension: model.config.kvDimension, limit: contextLimit, initialCapacity: 64, type: model.kvCacheType)
        caches[sequence] = c
        return c
    }
}
