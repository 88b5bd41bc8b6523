import Foundation
import StrataKernels
import StrataModel
import StrataTestSupport
import Testing

/// Stages that each own a range of blocks, chained in process, give the same logits as one
/// model, whatever the split and whatever depth each step stops at.
@Suite struct PipelineTests {
    @Test(arguments: [[0..<30], [0..<15, 15..<30], [0..<7, 7..<20, 20..<30]])
    func chainedStagesMatchOneModel(split: [Range<Int>]) throws {
        guard let whole = ModelHarness.model(exact: true) else { return }
        let stages = split.map { PipelineStage(model: whole, layers: $0, contextLimit: 512) }
        let schedule = [30, 9, 9, 21, 30, 12, 5, 30, 16]
        let prompt = [1, 9690, 198, 2683, 359, 253]
        let continuation = [5356, 5646, 11, 2683, 359, 216, 1, 4093]
        let record = PipelineSequence(id: 42, config: whole.config)
        let single = SequenceState(model: whole, limit: 512)
        let w = Workspace(config: whole.config)
        let d = whole.config.hiddenSize
        for (i, depth) in schedule.enumerated() {
            let newTokens = i == 0 ? prompt : [continuation[i - 1]]
            let step = try record.prepareStep(newTokens, depth: depth, model: whole)
            var hidden = step.hidden
            var rows = step.rows
            try hidden.withUnsafeMutableBufferPointer { h in
                var reached = 0
                for stage in stages where reached < depth {
                    reached = try stage.run(rows: &rows, hidden: h.baseAddress!, exit: depth)
                }
                #expect(rows.allSatisfy { $0.joinLayer == depth })
                #expect(reached == depth)
                record.finishStep(step, newTokens: newTokens, hidden: h.baseAddress!)
            }
            var logits = [Float](repeating: 0, count: whole.config.vocabularySize)
            hidden.withUnsafeBufferPointer { h in
                whole.head(h.baseAddress! + (step.rows.count - 1) * d, rows: 1, into: &logits, workspace: w)
            }
            let expected = try single.step(newTokens, depth: depth, model: whole, workspace: w)
            #expect(maxAbsDifference(logits, expected).0 < 1e-3, "split \(split) step \(i) depth \(depth)")
        }
        #expect(record.parkedDepths == single.parkedDepths)
    }

    @Test func releaseDropsCaches() throws {
        guard let whole = ModelHarness.model(exact: true) else { return }
        let stage = PipelineStage(model: whole, layers: 0..<4, contextLimit: 64)
        let record = PipelineSequence(id: 7, config: whole.config)
        var step = try record.prepareStep([1, 2, 3], depth: 4, model: whole)
        var rows = step.rows
        _ = try step.hidden.withUnsafeMutableBufferPointer { try stage.run(rows: &rows, hidden: $0.baseAddress!, exit: 4) }
        #expect(stage.sequenceCount == 1 && stage.cacheBytes > 0)
        stage.release([7])
        #expect(stage.sequenceCount == 0)
    }

    @Test func rowsThatSkippedThisStagesBlocksAreRejected() throws {
        guard let whole = ModelHarness.model(exact: true) else { return }
        let stage = PipelineStage(model: whole, layers: 10..<20, contextLimit: 64)
        var hidden = [Float](repeating: 0, count: whole.config.hiddenSize)
        #expect(throws: ModelError.self) {
            var rows = [PipelineStage.Row(sequence: 1, position: 0, joinLayer: 3)]
            return try stage.run(rows: &rows, hidden: &hidden, exit: 30)
        }
    }
}
