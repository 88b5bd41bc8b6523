import Foundation
import StrataKernels
import StrataModel
import StrataTokenizer

/// Everything `strata bench` needs.
public struct BenchConfig: Sendable {
    public var modelPath: String
    public var exits: [Int]? = nil
    public var promptTokens = 512
    public var generatedTokens = 128
    public var runs = 5
    public var engine = EngineOptions()

    public init(modelPath: String) { self.modelPath = modelPath }
}

/// Median, min and max of one measured rate over the runs.
public struct RateSummary: Codable, Sendable, Equatable {
    public var median: Double
    public var min: Double
    public var max: Double
    public var samples: [Double]

    public init(_ samples: [Double]) {
        let sorted = samples.sorted()
        self.samples = samples
        min = sorted.first ?? 0
        max = sorted.last ?? 0
        let n = sorted.count
        median = n == 0 ? 0 : n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}

/// `strata bench` results: prefill and decode tokens/s per exit.
public struct BenchReport: Codable, Sendable {
    public struct ExitResult: Codable, Sendable {
        public var exit: Int
        public var prefillTokensPerSecond: RateSummary
        public var decodeTokensPerSecond: RateSummary
        /// Weight bytes one decode step reads at this exit (blocks 1…exit plus the head).
        public var weightBytesPerToken: Int
    }
    public var model: String
    public var threads: Int
    public var promptTokens: Int
    public var generatedTokens: Int
    public var runs: Int
    public var simd: String
    /// OpenBLAS's kernel family (`BLASCore.current`); nil in reports written before it was recorded.
    public var blasCore: String?
    /// How the KV cache stored keys and values ("f32" or "f16").
    public var kvCache: String
    /// What the engine's threads can read and copy, measured before the runs.
    public var memoryBandwidth: MemoryBandwidth
    public var results: [ExitResult]

    /// Weight bytes a decode step streams per second at `result`'s median.
    public func weightStream(_ result: ExitResult) -> Double {
        result.decodeTokensPerSecond.median * Double(result.weightBytesPerToken)
    }

    /// `weightStream` as a share of the measured read bandwidth.
    public func weightStreamShare(_ result: ExitResult) -> Double {
        memoryBandwidth.readBytesPerSecond > 0 ? weightStream(result) / memoryBandwidth.readBytesPerSecond : 0
    }
}

/// Runs prefill of `promptTokens` then greedy decode of `generatedTokens`, `runs` times per exit,
/// the exits interleaved within each run so machine noise spreads evenly over them.
/// - Parameter progress: receives one line per finished measurement.
public func runBench(_ config: BenchConfig, progress: (String) -> Void = { _ in }) throws -> BenchReport {
    guard config.promptTokens >= 1, config.generatedTokens >= 2, config.runs >= 1 else {
        throw AppError.invalidArgument("--prompt-tokens must be ≥ 1, --gen-tokens ≥ 2, --runs ≥ 1")
    }
    let loaded = try LoadedModel.load(path: config.modelPath)
    let c = loaded.config
    let exits = config.exits ?? [c.layerCount]
    for k in exits { try c.checkExit(k) }
    guard config.promptTokens + config.generatedTokens < c.contextLength else {
        throw AppError.invalidArgument("--prompt-tokens + --gen-tokens must stay below the context length \(c.contextLength)")
    }
    let model = try config.engine.makeModel(loaded)
    let generator = Generator(model: model)
    let bandwidth = MemoryBandwidth.measure(pool: model.linear.pool)
    progress(bandwidth.summary)
    // A fixed, ordinary English prompt, repeated to length: deterministic across runs and engines.
    let text = "The history of the city is long and complicated, and its people have told it in many ways. "
    var prompt: [Int] = []
    let piece = loaded.tokenizer.encode(text, addSpecial: false)
    while prompt.count < config.promptTokens { prompt += piece }
    prompt = Array(prompt.prefix(config.promptTokens))

    var prefill: [Int: [Double]] = [:]
    var decode: [Int: [Double]] = [:]
    var options = GenerationOptions(maxTokens: config.generatedTokens)
    options.stopAtEndOfGeneration = false
    for run in 1...config.runs {
        for k in exits {
            options.exit = k
            let r = try generator.generate(prompt: prompt, options: options)
            prefill[k, default: []].append(r.prefillTokensPerSecond)
            decode[k, default: []].append(r.decodeTokensPerSecond)
            progress(
                "run \(run)/\(config.runs) exit \(k): prefill " + String(format: "%.1f", r.prefillTokensPerSecond)
                    + " tok/s, decode " + String(format: "%.1f", r.decodeTokensPerSecond) + " tok/s")
        }
    }
    let blockBytes = (loaded.weights.blocks.first ?? nil)?.byteCount ?? 0
    let headBytes = loaded.weights.output.byteCount
    return BenchReport(
        model: config.modelPath, threads: config.engine.threadCount, promptTokens: config.promptTokens,
        generatedTokens: config.generatedTokens, runs: config.runs, simd: simdPathName(), blasCore: BLASCore.current, kvCache: config.engine.kvCache.rawValue,
        memoryBandwidth: bandwidth, results: exits.map { k in
            BenchReport.ExitResult(
                exit: k, prefillTokensPerSecond: RateSummary(prefill[k] ?? []),
                decodeTokensPerSecond: RateSummary(decode[k] ?? []), weightBytesPerToken: k * blockBytes + headBytes)
        })
}

/// A table for people: one row per exit.
public func benchTable(_ report: BenchReport) -> String {
    var lines = [
        "model \(report.model), \(report.threads) threads, \(report.simd), OpenBLAS \(report.blasCore ?? "?"), \(report.kvCache) KV cache; prompt \(report.promptTokens), generate \(report.generatedTokens), \(report.runs) runs (median [min–max])",
        report.memoryBandwidth.summary + " (copy counts bytes read + written)",
        "exit   prefill tok/s              decode tok/s              weights/token  weight stream (share of read)",
    ]
    func cell(_ r: RateSummary) -> String {
        (String(format: "%7.1f", r.median) + " [" + String(format: "%.1f", r.min) + "–" + String(format: "%.1f", r.max) + "]")
            .padding(toLength: 26)
    }
    for r in report.results {
        lines.append(
            String(r.exit).leftPadded(4) + "   " + cell(r.prefillTokensPerSecond) + " " + cell(r.decodeTokensPerSecond)
                + formatBytes(r.weightBytesPerToken).padding(toLength: 15)
                + String(format: "%.1f GB/s (%.0f%%)", report.weightStream(r) / 1e9, report.weightStreamShare(r) * 100))
    }
    return lines.joined(separator: "\n")
}

/// Any report as pretty JSON (keys sorted).
public func prettyJSON<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
