import Testing

@testable import StrataTrain

@Suite(.serialized) struct TrainerTests {
    func config(steps: Int, lr: Double = 1e-2) -> TrainingConfig {
        var c = TrainingConfig(method: .soft, sortedExits: [1, 2], totalSteps: steps)
        c.learningRate = lr
        c.minimumLearningRate = lr / 10
        c.warmupSteps = 5
        c.microBatchTokens = 64
        c.seed = 11
        return c
    }

    /// A fixed batch is fitted: the loss falls below a small fraction of where it started.
    @Test func overfitsAFixedBatch() throws {
        let model = try TrainableLlama<Float>(shape: Tiny.shape(layers: 2), seed: 12, scale: 0.3)
        var c = config(steps: 150)
        c.shuffle = false
        let examples = Tiny.examples([12, 10], seed: 13)
        let trainer = try Trainer(model: model, examples: examples, config: c)
        let reports = try trainer.train()
        let first = try #require(reports.first), last = try #require(reports.last)
        #expect(reports.count == 150 && trainer.completedSteps == 150)
        #expect(first.loss > 3)  // about ln 40 at the start
        #expect(last.loss < 0.05 * first.loss, "loss \(first.loss) → \(last.loss)")
        #expect(last.exitLosses.count == 2 && last.exitLosses.allSatisfy { $0 < 0.1 * first.loss })
        #expect(last.learningRate == c.schedule.rate(at: 149) && last.learningRate < 1.01 * c.minimumLearningRate)
        #expect(first.tokens == 22 && first.targetTokens == examples[0].targetCount + examples[1].targetCount)
    }

    /// N steps straight equal N/2 steps, a checkpoint, a fresh trainer and N/2 more, bit for bit.
    @Test func resumingFromACheckpointIsBitIdentical() throws {
        let directory = try TemporaryDirectory()
        let examples = Tiny.examples([7, 9, 5, 11, 6, 8, 10, 4, 9], seed: 14)
        var c = config(steps: 20, lr: 3e-3)
        c.accumulationSteps = 2
        c.microBatchTokens = 20
        c.optimizer.weightDecay = 0.1
        c.exitWeights = [1, 3]
        func fresh() throws -> Trainer {
            try Trainer(model: try TrainableLlama<Float>(shape: Tiny.shape(), seed: 15), examples: examples, config: c)
        }
        let straight = try fresh()
        let straightReports = try straight.train(steps: 8)

        let first = try fresh()
        _ = try first.train(steps: 4)
        let path = directory.path + "/run.ckpt"
        try first.saveCheckpoint(to: path)
        let resumed = try Trainer.resume(from: path, examples: examples)
        #expect(resumed.completedSteps == 4 && resumed.config == c)
        let resumedReports = try resumed.train(steps: 4)

        // Booleans, so a failure does not print thousands of floats.
        let sameParameters = resumed.model.parameterValues() == straight.model.parameterValues()
        let sameMoments = resumed.optimizer.momentValues() == straight.optimizer.momentValues()
        #expect(sameParameters)
        #expect(sameMoments)
        #expect(resumed.loader.cursor == straight.loader.cursor)
        #expect(resumedReports.map(\.loss) == straightReports.suffix(4).map(\.loss))
        // Training moved the weights (the comparison is not of two untouched models).
        let untouched = try TrainableLlama<Float>(shape: Tiny.shape(), seed: 15)
        let moved = untouched.parameterValues() != straight.model.parameterValues()
        #expect(moved)
    }

    /// Exit weights [0, 1] train exactly what exit 2 alone trains, and the step's loss is exit
    /// 2's; weights [1, 3] give the weighted mean and different weights.
    @Test func exitWeightsShapeTheObjective() throws {
        let examples = Tiny.examples([9, 7, 11, 8], seed: 25)
        func run(exits: [Int], weights: [Double]?) throws -> (Trainer, [StepReport]) {
            var c = config(steps: 4, lr: 3e-3)
            c.exits = exits
            c.exitWeights = weights
            c.microBatchTokens = 24
            let trainer = try Trainer(
                model: try TrainableLlama<Float>(shape: Tiny.shape(layers: 2), seed: 26), examples: examples, config: c)
            return (trainer, try trainer.train())
        }
        let (masked, maskedReports) = try run(exits: [1, 2], weights: [0, 1])
        let (alone, aloneReports) = try run(exits: [2], weights: nil)
        let (weighted, weightedReports) = try run(exits: [1, 2], weights: [1, 3])
        let (equal, _) = try run(exits: [1, 2], weights: nil)
        let sameAsAlone = masked.model.parameterValues() == alone.model.parameterValues()
        #expect(sameAsAlone)
        #expect(zip(maskedReports, aloneReports).allSatisfy { $0.loss == $1.exitLosses[0] && $0.exitLosses[1] == $1.exitLosses[0] })
        for r in weightedReports {
            #expect(abs(r.loss - (0.25 * r.exitLosses[0] + 0.75 * r.exitLosses[1])) < 1e-12)
        }
        let differ = weighted.model.parameterValues() != equal.model.parameterValues()
        #expect(differ)
    }

    @Test func badExitWeightsAreRefused() throws {
        for weights: [Double] in [[1], [1, 2, 3], [1, -1], [0, 0], [1, .nan], [1, .infinity]] {
            var c = config(steps: 2)
            c.exitWeights = weights
            #expect(throws: TrainError.self) { try c.validate(layerCount: 3) }
        }
        var c = config(steps: 2)
        c.exitWeights = [2, 6]
        try c.validate(layerCount: 3)
        #expect(c.normalizedExitWeights == [0.25, 0.75])
    }

    /// The row-parallel loops split work without changing any result.
    @Test func threadCountDoesNotChangeResults() throws {
        let examples = Tiny.examples([9, 12, 7, 10], seed: 23)
        var c = config(steps: 3)
        c.microBatchTokens = 40
        func run(threads: Int) throws -> [Float] {
            let trainer = try Trainer(
                model: try TrainableLlama<Float>(shape: Tiny.shape(vocabulary: 300), seed: 24), examples: examples, config: c,
                threads: threads)
            _ = try trainer.train()
            return trainer.model.parameterValues()
        }
        let two = try run(threads: 2)
        let one = try run(threads: 1)
        let same = one == two
        #expect(same)
    }

    @Test func resumingWithOtherDataIsRefused() throws {
        let directory = try TemporaryDirectory()
        let examples = Tiny.examples([7, 9, 5], seed: 16)
        let trainer = try Trainer(model: try TrainableLlama<Float>(shape: Tiny.shape(), seed: 17), examples: examples, config: config(steps: 3))
        _ = try trainer.step()
        let path = directory.path + "/a.ckpt"
        try trainer.saveCheckpoint(to: path)
        #expect(throws: TrainError.self) { try Trainer.resume(from: path, examples: Tiny.examples([7, 9, 5], seed: 18)) }
    }

    @Test func progressReportsEveryMicroBatchWithAnEstimate() throws {
        var c = config(steps: 4)
        c.accumulationSteps = 2
        let trainer = try Trainer(
            model: try TrainableLlama<Float>(shape: Tiny.shape(layers: 2), seed: 19),
            examples: Tiny.examples([6, 6, 6, 6], seed: 20), config: c)
        var seen: [TrainingProgress] = []
        trainer.progressHandler = { seen.append($0) }
        _ = try trainer.train(steps: 2)
        #expect(seen.map(\.microBatch) == [1, 2, 0, 1, 2, 0])
        #expect(seen.map(\.completedSteps) == [0, 0, 1, 1, 1, 2])
        #expect(seen.last?.fraction == 1 && seen.last?.estimatedRemainingSeconds == 0)
        #expect(seen.last?.line().hasPrefix("[########################] 2/2 loss ") == true)
        #expect(seen[2].lastStep?.step == 1)
    }

    /// The held-out loss of a trained model falls on the data it was fitted to.
    @Test func evaluateReportsEachExit() throws {
        let examples = Tiny.examples([8, 8], seed: 21)
        var c = config(steps: 30)
        c.shuffle = false
        let trainer = try Trainer(model: try TrainableLlama<Float>(shape: Tiny.shape(), seed: 22), examples: examples, config: c)
        let before = try trainer.evaluate(examples, exits: [1, 2, 3])
        _ = try trainer.train()
        let after = try trainer.evaluate(examples, exits: [1, 2, 3])
        #expect(before.count == 3)
        #expect(after[0] < before[0] && after[1] < before[1])
    }
}
