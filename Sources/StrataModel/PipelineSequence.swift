/// The coordinator's record of one sequence: its tokens, how deep each position has been
/// computed, and the hidden state of positions that stopped at a shallow exit.
///
/// It builds each step's rows — positions that must be backfilled first, in position order,
/// then the new tokens — and absorbs the hidden states the exit stage returns. Holding the
/// parked states here rather than in the workers keeps them when a worker is lost.
public final class PipelineSequence {
    public let id: UInt64
    public private(set) var tokens: [Int] = []
    /// Blocks computed for each position.
    public private(set) var depths: [Int] = []
    /// Hidden state after block depths[p] of positions below the full depth: (d,) each.
    private var parked: [Int: [Float]] = [:]
    private let layerCount: Int
    private let hiddenSize: Int

    public init(id: UInt64, config: LlamaConfig) {
        self.id = id
        layerCount = config.layerCount
        hiddenSize = config.hiddenSize
    }

    /// A step ready to send: rows and their hidden states (rows.count, d).
    public struct Step: Sendable {
        public var rows: [PipelineStage.Row]
        public var hidden: [Float]
        public var depth: Int
        /// How many of the rows (at the end) are the new tokens.
        public var newTokenCount: Int
    }

    /// The rows for appending `newTokens` and running them to `depth`: backfill rows of
    /// positions below `depth` first, then the new tokens' embeddings.
    public func prepareStep(_ newTokens: [Int], depth: Int, model: LlamaModel) throws(ModelError) -> Step {
        guard !newTokens.isEmpty else { throw .emptyPrompt }
        try model.config.checkExit(depth)
        let d = hiddenSize
        let backfill = parked.keys.filter { depths[$0] < depth }.sorted()
        var rows = backfill.map { PipelineStage.Row(sequence: id, position: $0, joinLayer: depths[$0]) }
        rows += newTokens.indices.map { PipelineStage.Row(sequence: id, position: tokens.count + $0, joinLayer: 0) }
        var hidden = [Float](repeating: 0, count: rows.count * d)
        try hidden.withUnsafeMutableBufferPointer { buffer throws(ModelError) in
            guard let base = buffer.baseAddress else { return }
            for (i, p) in backfill.enumerated() {
                parked[p]?.withUnsafeBufferPointer { if let b = $0.baseAddress { (base + i * d).update(from: b, count: d) } }
            }
            try model.embed(newTokens, into: base + backfill.count * d)
        }
        return Step(rows: rows, hidden: hidden, depth: depth, newTokenCount: newTokens.count)
    }

    /// Records a finished step: every row reached `step.depth`; `hidden` holds their states
    /// there, (rows.count, d). New tokens are appended.
    public func finishStep(_ step: Step, newTokens: [Int], hidden: UnsafePointer<Float>) {
        let d = hiddenSize
        tokens += newTokens
        if depths.count < tokens.count { depths += repeatElement(0, count: tokens.count - depths.count) }
        for (i, row) in step.rows.enumerated() {
            depths[row.position] = step.depth
            parked[row.position] = step.depth < layerCount ? Array(UnsafeBufferPointer(start: hidden + i * d, count: d)) : nil
        }
    }

    /// Positions waiting for backfill, and their depths.
    public var parkedDepths: [Int: Int] {
        Dictionary(uniqueKeysWithValues: parked.keys.map { ($0, depths[$0]) })
    }
}
