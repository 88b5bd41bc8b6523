import Foundation
import Testing

@testable import StrataTrain

@Suite struct OptimizerTests {
    @Test func warmupThenCosineToTheFloor() {
        let s = LearningRateSchedule(peak: 1e-3, floor: 1e-4, warmupSteps: 4, totalSteps: 14)
        #expect(abs(s.rate(at: 0) - 2.5e-4) < 1e-15)
        #expect(abs(s.rate(at: 3) - 1e-3) < 1e-15)
        #expect(abs(s.rate(at: 4) - 1e-3) < 1e-15)
        #expect(abs(s.rate(at: 9) - 5.5e-4) < 1e-12)  // halfway: the mean of peak and floor
        #expect(abs(s.rate(at: 14) - 1e-4) < 1e-15)
        #expect(abs(s.rate(at: 500) - 1e-4) < 1e-15)
        let rates = (4...14).map(s.rate(at:))
        #expect(zip(rates, rates.dropFirst()).allSatisfy { $0 > $1 })
    }

    /// Two AdamW steps on hand-computed values; weight decay only where the range decays.
    @Test func adamWMatchesTheReferenceUpdate() {
        let h = AdamW.Hyperparameters(beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1)
        let adam = AdamW(count: 2, hyperparameters: h)
        var p: [Float] = [1, 1]
        let grads: [[Float]] = [[0.5, 0.5], [-0.25, -0.25]]
        var reference = [1.0, 1.0]
        var m = [0.0, 0.0], v = [0.0, 0.0]
        for (t, g) in grads.enumerated() {
            adam.update(parameters: &p, gradients: g, ranges: [(0..<1, true), (1..<2, false)], learningRate: 0.01)
            for i in 0..<2 {
                if i == 0 { reference[i] *= 1 - 0.01 * 0.1 }
                m[i] = 0.9 * m[i] + 0.1 * Double(g[i])
                v[i] = 0.99 * v[i] + 0.01 * Double(g[i]) * Double(g[i])
                let mh = m[i] / (1 - pow(0.9, Double(t + 1))), vh = v[i] / (1 - pow(0.99, Double(t + 1)))
                reference[i] -= 0.01 * mh / (vh.squareRoot() + 1e-8)
            }
        }
        #expect(adam.stepCount == 2)
        #expect(abs(Double(p[0]) - reference[0]) < 1e-6)
        #expect(abs(Double(p[1]) - reference[1]) < 1e-6)
        #expect(p[0] < p[1])  // only the first decayed
    }

    @Test func clippingScalesToTheMaximumNorm() throws {
        let model = try TrainableLlama<Float>(shape: Tiny.shape(layers: 1), seed: 3)
        try model.accumulateGradients(Tiny.batch(), exits: [1], lossScale: 10)
        let before = model.gradientNorm()
        #expect(before > 0.5)
        let reported = model.clipGradients(maxNorm: 0.5)
        #expect(reported == before)
        #expect(abs(model.gradientNorm() - 0.5) < 1e-4)
        #expect(model.clipGradients(maxNorm: 10) < 10)  // under the limit: unchanged
        #expect(abs(model.gradientNorm() - 0.5) < 1e-4)
    }

    @Test func sortedExitSetsAndMethods() throws {
        let b = TrainingConfig.sortedExits(layerCount: 30, first: 9, step: 3)
        #expect(b == [9, 12, 15, 18, 21, 24, 27, 30])
        #expect(TrainingConfig.sortedExits(layerCount: 30, first: 10, step: 4) == [10, 14, 18, 22, 26, 30])
        #expect(TrainingMethod.sft.exits(from: b) == [30])
        #expect(TrainingMethod.soft.exits(from: b) == b)
        var config = TrainingConfig(method: .soft, sortedExits: b, totalSteps: 10)
        try config.validate(layerCount: 30)
        #expect(throws: TrainError.self) { try config.validate(layerCount: 24) }
        config.exits = [12, 9]
        #expect(throws: TrainError.self) { try config.validate(layerCount: 30) }
    }
}
