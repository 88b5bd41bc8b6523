import Foundation
import StrataCluster
import StrataModel
import StrataTokenizer

/// Aggregate decode throughput of a cluster at several concurrency levels.
public struct ClusterBenchReport: Codable, Sendable {
    public struct Level: Codable, Sendable {
        public var concurrency: Int
        /// Generated tokens per second over all sequences (median over runs).
        public var aggregateTokensPerSecond: RateSummary
        /// Decode tokens per second of one sequence (median over sequences and runs).
        public var perSequenceTokensPerSecond: RateSummary
    }
    public var workers: Int
    public var split: [String]
    public var promptTokens: Int
    public var generatedTokens: Int
    public var levels: [Level]
}

/// Runs `concurrency` sequences at once through the cluster, `runs` times per level.
public func runClusterBench(
    session: ClusterSession, concurrency: [Int], promptTokens: Int, generatedTokens: Int, runs: Int,
    progress: @Sendable (String) -> Void = { _ in }
) async throws -> ClusterBenchReport {
    let generator = session.generator
    let tokenizer = generator.model.model.tokenizer
    let text = "The history of the city is long and complicated, and its people have told it in many ways. "
    let piece = tokenizer.encode(text, addSpecial: false)
    var settings = GenerationOptions(maxTokens: generatedTokens)
    settings.stopAtEndOfGeneration = false
    let options = settings
    var levels: [ClusterBenchReport.Level] = []
    for c in concurrency {
        var aggregate: [Double] = []
        var perSequence: [Double] = []
        for run in 1...runs {
            let start = DispatchTime.now()
            let results = try await withThrowingTaskGroup(of: GenerationResult.self) { group in
                for s in 0..<c {
                    // Each sequence its own prompt (rotated), so no two share a cache by accident.
                    var prompt: [Int] = []
                    while prompt.count < promptTokens { prompt += piece }
                    prompt = Array(prompt.dropFirst(s % piece.count).prefix(promptTokens))
                    let p = prompt
                    group.addTask { try await generator.generate(prompt: p, options: options) }
                }
                var all: [GenerationResult] = []
                for try await r in group { all.append(r) }
                return all
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            let tokens = results.reduce(0) { $0 + $1.tokens.count }
            aggregate.append(Double(tokens) / seconds)
            perSequence += results.map(\.decodeTokensPerSecond)
            progress("concurrency \(c) run \(run)/\(runs): " + String(format: "%.1f", Double(tokens) / seconds) + " tok/s aggregate")
        }
        levels.append(.init(concurrency: c, aggregateTokensPerSecond: RateSummary(aggregate), perSequenceTokensPerSecond: RateSummary(perSequence)))
    }
    return ClusterBenchReport(
        workers: generator.cluster.split.count, split: generator.cluster.split.map { "\($0.lowerBound)-\($0.upperBound)" },
        promptTokens: promptTokens, generatedTokens: generatedTokens, levels: levels)
}

/// A table for people.
public func clusterBenchTable(_ r: ClusterBenchReport) -> String {
    var lines = [
        "\(r.workers) workers (split \(r.split.joined(separator: ","))); prompt \(r.promptTokens), generate \(r.generatedTokens) per sequence",
        "sequences   aggregate tok/s            per-sequence decode tok/s",
    ]
    for l in r.levels {
        func cell(_ s: RateSummary) -> String {
            (String(format: "%7.1f", s.median) + " [" + String(format: "%.1f", s.min) + "–" + String(format: "%.1f", s.max) + "]").padding(toLength: 27)
        }
        lines.append(String(l.concurrency).leftPadded(9) + "   " + cell(l.aggregateTokensPerSecond) + cell(l.perSequenceTokensPerSecond))
    }
    return lines.joined(separator: "\n")
}
