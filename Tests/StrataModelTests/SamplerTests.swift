import Foundation
import StrataModel
import Testing

@Suite struct SamplerTests {
    static let logits: [Float] = [1.0, 3.0, 2.5, -1.0, 0.5, 2.9]

    func draws(_ options: SamplingOptions, count: Int = 4000, history: [Int] = []) -> [Int: Int] {
        var sampler = Sampler(options: options)
        var counts: [Int: Int] = [:]
        for _ in 0..<count {
            let id = Self.logits.withUnsafeBufferPointer { sampler.sample($0, history: history) }
            counts[id, default: 0] += 1
        }
        return counts
    }

    @Test func greedyTakesTheArgmax() {
        #expect(draws(SamplingOptions(temperature: 0), count: 3) == [1: 3])
    }

    @Test func repetitionPenaltyDemotesSeenTokens() {
        // 3.0 / 1.5 = 2.0 falls below 2.9 and 2.5.
        #expect(draws(SamplingOptions(temperature: 0, repetitionPenalty: 1.5), count: 1, history: [1]) == [5: 1])
        // Negative logits are multiplied, so a penalised negative token gets less likely still.
        var s = Sampler(options: SamplingOptions(temperature: 0, repetitionPenalty: 2))
        let id = [Float](arrayLiteral: -1, -0.6).withUnsafeBufferPointer { s.sample($0, history: [1]) }
        #expect(id == 0)
    }

    @Test func topKKeepsOnlyTheKBest() {
        let counts = draws(SamplingOptions(temperature: 1, topK: 2, seed: 1))
        #expect(Set(counts.keys) == [1, 5])
    }

    @Test func topPKeepsTheSmallestSetReachingP() {
        // Softmax probabilities: id1 .37, id5 .33, id2 .22, … → p = 0.6 keeps {1, 5}.
        let counts = draws(SamplingOptions(temperature: 1, topP: 0.6, seed: 2))
        #expect(Set(counts.keys) == [1, 5])
    }

    @Test func minPDropsUnlikelyTokens() {
        // Threshold 0.5 × p(id1): keeps ids with logit ≥ 3 + ln 0.5 ≈ 2.31 → {1, 5, 2}.
        let counts = draws(SamplingOptions(temperature: 1, minP: 0.5, seed: 3))
        #expect(Set(counts.keys) == [1, 2, 5])
    }

    @Test func temperatureOneMatchesTheSoftmax() {
        let counts = draws(SamplingOptions(temperature: 1, seed: 4), count: 20000)
        let z = Self.logits.map { exp(Double($0)) }.reduce(0, +)
        for (id, logit) in Self.logits.enumerated() {
            let expected = exp(Double(logit)) / z
            let observed = Double(counts[id, default: 0]) / 20000
            #expect(abs(observed - expected) < 0.015, "id \(id): \(observed) vs \(expected)")
        }
    }

    @Test func lowTemperatureConcentratesOnTheTop() {
        let counts = draws(SamplingOptions(temperature: 0.05, seed: 5))
        #expect(Double(counts[1, default: 0]) / 4000 > 0.85)
    }

    @Test func sameSeedSameDraws() {
        let options = SamplingOptions(temperature: 1.2, topP: 0.95, seed: 99)
        var a = Sampler(options: options), b = Sampler(options: options)
        let sa = (0..<50).map { _ in Self.logits.withUnsafeBufferPointer { a.sample($0, history: []) } }
        let sb = (0..<50).map { _ in Self.logits.withUnsafeBufferPointer { b.sample($0, history: []) } }
        #expect(sa == sb)
        #expect(Set(sa).count > 1)
    }

    @Test(arguments: [
        SamplingOptions(temperature: -1), SamplingOptions(topK: -2), SamplingOptions(topP: 0), SamplingOptions(topP: 1.5),
        SamplingOptions(minP: 2), SamplingOptions(repetitionPenalty: 0),
    ])
    func invalidOptionsAreRejected(options: SamplingOptions) {
        #expect(throws: SamplingError.self) { try options.validate() }
    }
}
