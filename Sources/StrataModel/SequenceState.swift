/// One sequence on a single-process model, whose depth may change from token to token.
///
/// The logits of token t at depth d are exactly `head(norm(h_d(t)))` of a cache-free full
/// recomputation. A position that stopped at a shallow exit keeps its hidden state there; when
/// a later step goes deeper, that position re-enters at its depth (backfill) and its keys and
/// values for the deeper layers are filled before the new token attends to it. This is the
/// pipeline's bookkeeping (`PipelineSequence`) with one stage holding every block.
public final class SequenceState {
    private let record: PipelineSequence
    private let stage: PipelineStage

    public init(model: LlamaModel, limit: Int) {
        record = PipelineSequence(id: 0, config: model.config)
        stage = PipelineStage(model: model, layers: 0..<model.config.layerCount, contextLimit: limit)
    }

    public var tokens: [Int] { record.tokens }

    /// Positions waiting for backfill, and their depths.
    public var parkedDepths: [Int: Int] { record.parkedDepths }

    /// Appends `newTokens`, runs them (and any shallower earlier positions) to `depth`, and
    /// returns the logits of the last new token at that exit: (vocab,).
    /// - Parameter allPositions: return logits for every new token, (newTokens.count, vocab).
    public func step(
        _ newTokens: [Int], depth: Int, model: LlamaModel, workspace: Workspace, allPositions: Bool = false
    ) throws(ModelError) -> [Float] {
        var step = try record.prepareStep(newTokens, depth: depth, model: model)
        let d = model.config.hiddenSize
        let vocab = model.config.vocabularySize
        let outputRows = allPositions ? newTokens.count : 1
        var states = step.hidden
        step.hidden = []  // one owner, so the rows are updated in place without a copy
        return try states.withUnsafeMutableBufferPointer { buffer throws(ModelError) -> [Float] in
            guard let hidden = buffer.baseAddress else { return [] }
            var rows = step.rows
            _ = try stage.run(rows: &rows, hidden: hidden, exit: depth)
            record.finishStep(step, newTokens: newTokens, hidden: hidden)
            let firstOutput = step.rows.count - outputRows
            return [Float](unsafeUninitializedCapacity: outputRows * vocab) { out, n in
                if let base = out.baseAddress {
                    model.head(hidden + firstOutput * d, rows: outputRows, into: base, workspace: workspace)
                }
                n = outputRows * vocab
            }
        }
    }
}
