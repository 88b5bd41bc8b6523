import Foundation
import StrataFormats
import StrataModel
import StrataPlot
import StrataTrain
import Synchronization

/// `strata soft`: Sorted Fine-Tuning (or `--method sft`, the last-layer baseline) of a GGUF model
/// on instruction data, with checkpoints, exact resume, and a GGUF export that records its exits.
public struct SoftConfig: Sendable {
    public var modelPath: String
    public var dataPath: String
    public var outPath: String
    /// "soft" (every exit of B) or "sft" (the last only).
    public var method = "soft"
    /// The sorted set B; nil: 0.3, 0.4, … 1.0 of the depth (9, 12, …, 30 for 30 blocks).
    public var exits: [Int]?
    /// Relative loss weight of each exit of B (normalised); nil: equal, as published.
    public var exitWeights: [Double]?
    public var steps: Int?
    public var epochs: Double?
    public var learningRate = 1e-4
    public var minimumLearningRate: Double?
    public var warmupSteps: Int?
    public var weightDecay = 0.0
    public var clip: Double? = 1.0
    public var sequenceLength = 256
    public var batchTokens = 512
    public var accumulate = 8
    public var seed: UInt64 = 0
    /// Train on the first N records of the file only.
    public var limit: Int?
    public var checkpointPath: String?
    public var checkpointEvery = 10
    public var resume = false
    /// "q8_0" or "f32".
    public var exportType = "q8_0"
    /// A JSON-lines log of every step, and a PNG of the per-exit losses.
    public var logPath: String?
    public var plotPath: String?
    public var threads: Int

    public init(modelPath: String, dataPath: String, outPath: String, threads: Int) {
        self.modelPath = modelPath
        self.dataPath = dataPath
        self.outPath = outPath
        self.threads = threads
    }

    /// Where checkpoints go: `--checkpoint`, else beside the output.
    public var resolvedCheckpoint: String { checkpointPath ?? outPath + ".ckpt" }
}

/// What a finished (or interrupted) run reports.
public struct SoftOutcome: Sendable {
    public var steps: Int
    public var totalSteps: Int
    public var interrupted: Bool
    public var lastLosses: [Int: Double]
    public var tokensPerSecond: Double
    public var exported: String?
    public var checkpoint: String
}

/// Stops a training run cleanly on SIGINT or SIGTERM: the flag is read between steps, and the
/// run then writes a checkpoint before it ends.
///
/// SAFETY (`@unchecked Sendable`): `sources` is touched only by `watchSignals` and
/// `restoreSignals`, both called from the training thread; the flag is atomic.
final class StopRequest: @unchecked Sendable {
    let requested = Atomic<Bool>(false)
    private var sources: [any DispatchSourceSignal] = []

    func watchSignals() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in requested.store(true, ordering: .relaxed) }
            source.resume()
            sources.append(source)
        }
    }

    func restoreSignals() {
        for s in sources { s.cancel() }
        sources.removeAll()
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}

/// Runs the training on a thread of its own (BLAS work stays off the cooperative pool).
public func runSoft(_ config: SoftConfig, log: @escaping @Sendable (String) -> Void) async throws -> SoftOutcome {
    try await withCheckedThrowingContinuation { (c: CheckedContinuation<SoftOutcome, any Error>) in
        let thread = Thread {
            c.resume(with: Result { try trainBlocking(config, log: log) })
        }
        thread.stackSize = 16 << 20
        thread.start()
    }
}

private func trainBlocking(_ config: SoftConfig, log: @escaping @Sendable (String) -> Void) throws -> SoftOutcome {
    guard let method = TrainingMethod(rawValue: config.method) else { throw AppError.invalidArgument("--method must be soft or sft") }
    guard let exportType = ExportTensorType(rawValue: config.exportType) else { throw AppError.invalidArgument("--type must be q8_0 or f32") }
    let loaded = try LoadedModel.load(path: config.modelPath)
    guard let base = loaded.gguf else { throw AppError.invalidArgument("strata soft needs a GGUF model; convert a Hugging Face folder first") }
    let layers = loaded.config.layerCount
    let sorted = config.exits ?? defaultSortedExits(layerCount: layers)
    if let bad = sorted.first(where: { !(1...layers).contains($0) }) {
        throw AppError.invalidArgument("--exits: \(bad) is not in 1…\(layers)")
    }

    log("reading \(config.dataPath)")
    var records = try InstructionData.read(path: config.dataPath)
    if let limit = config.limit { records = Array(records.prefix(max(limit, 0))) }
    guard !records.isEmpty else { throw AppError.invalidArgument("\(config.dataPath) holds no examples") }
    let encoder = try ExampleEncoder(tokenizer: loaded.tokenizer, sequenceLength: config.sequenceLength)
    let (examples, skipped) = try encoder.encode(records) { done, total in log("tokenizing \(done)/\(total)") }
    guard !examples.isEmpty else { throw AppError.invalidArgument("no example keeps a response token at --seq-len \(config.sequenceLength)") }
    let tokens = examples.reduce(0) { $0 + $1.tokens.count }
    log("\(examples.count) examples (\(skipped) skipped), \(tokens) tokens")

    let checkpoint = config.resolvedCheckpoint
    let trainer: Trainer
    if config.resume {
        guard FileManager.default.fileExists(atPath: checkpoint) else {
            throw AppError.invalidArgument("--resume: no checkpoint at \(checkpoint)")
        }
        trainer = try Trainer.resume(from: checkpoint, examples: examples, threads: config.threads)
        log("resumed at step \(trainer.completedSteps) of \(trainer.config.totalSteps) from \(checkpoint)")
    } else {
        let perStep = config.batchTokens * config.accumulate
        let total: Int
        if let steps = config.steps {
            total = steps
        } else {
            let epochs = config.epochs ?? 1
            total = max(1, Int((Double(tokens) * epochs / Double(perStep)).rounded(.up)))
        }
        var settings = TrainingConfig(method: method, sortedExits: sorted, totalSteps: total)
        settings.learningRate = config.learningRate
        settings.minimumLearningRate = config.minimumLearningRate ?? config.learningRate / 10
        settings.warmupSteps = config.warmupSteps ?? min(max(total / 20, 1), 100)
        settings.optimizer.weightDecay = config.weightDecay
        settings.gradientClipNorm = config.clip
        settings.microBatchTokens = config.batchTokens
        settings.accumulationSteps = config.accumulate
        settings.seed = config.seed
        settings.exitWeights = config.exitWeights
        let model = try TrainableLlama<Float>(model: loaded)
        trainer = try Trainer(model: model, examples: examples, config: settings, threads: config.threads, baseModelPath: config.modelPath)
        let weights = settings.exitWeights.map { _ in
            ", exit weights " + settings.normalizedExitWeights.map { String(format: "%.4g", $0) }.joined(separator: ",")
        } ?? ""
        log("\(method.rawValue): exits \(settings.exits.map(String.init).joined(separator: ","))\(weights), \(total) steps of ≈\(perStep) tokens, lr \(settings.learningRate)")
    }

    let stop = StopRequest()
    stop.watchSignals()
    defer { stop.restoreSignals() }
    trainer.progressHandler = { progress in
        var line = progress.line()
        if let last = progress.lastStep {
            line += "  " + zip(last.exits, last.exitLosses).map { String(format: "%d:%.2f", $0, $1) }.joined(separator: " ")
        }
        log("\r" + line)
    }
    let logHandle = try config.logPath.map { path -> FileHandle in
        if !FileManager.default.fileExists(atPath: path) || !config.resume {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw AppError.invalidArgument("cannot write the log \(path)")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw AppError.invalidArgument("cannot write the log \(path)") }
        handle.seekToEndOfFile()
        return handle
    }
    defer { try? logHandle?.close() }

    var last: StepReport?
    var rates: [Double] = []
    var interrupted = false
    while trainer.completedSteps < trainer.config.totalSteps {
        if stop.requested.load(ordering: .relaxed) {
            interrupted = true
            break
        }
        let report = try trainer.step()
        last = report
        rates.append(report.tokensPerSecond)
        if let logHandle {
            let entry = StepLogEntry(
                step: report.step, loss: report.loss, exits: report.exits, exitLosses: report.exitLosses,
                learningRate: report.learningRate, gradientNorm: report.gradientNorm, tokens: report.tokens,
                seconds: report.seconds, epochProgress: report.epochProgress)
            logHandle.write(Data((try compactJSON(entry) + "\n").utf8))
        }
        if trainer.completedSteps % max(config.checkpointEvery, 1) == 0 {
            try trainer.saveCheckpoint(to: checkpoint)
        }
    }
    try trainer.saveCheckpoint(to: checkpoint)
    log("\ncheckpoint: \(checkpoint) (step \(trainer.completedSteps) of \(trainer.config.totalSteps))")
    var exported: String?
    if !interrupted {
        try trainer.exportGGUF(to: config.outPath, base: base, type: exportType)
        exported = config.outPath
        log("wrote \(config.outPath) (\(exportType.rawValue), exits \(trainer.config.sortedExits.map(String.init).joined(separator: ",")))")
    } else {
        log("interrupted: continue with the same command and --resume")
    }
    if let plot = config.plotPath, let logPath = config.logPath {
        try writeTrainingPlot(log: logPath, to: plot)
        log("plot: \(plot)")
    }
    let sortedRates = rates.sorted()
    return SoftOutcome(
        steps: trainer.completedSteps, totalSteps: trainer.config.totalSteps, interrupted: interrupted,
        lastLosses: Dictionary(uniqueKeysWithValues: zip(last?.exits ?? [], last?.exitLosses ?? [])),
        tokensPerSecond: sortedRates.isEmpty ? 0 : sortedRates[sortedRates.count / 2], exported: exported,
        checkpoint: checkpoint)
}

/// One line of `--log`.
struct StepLogEntry: Codable {
    var step: Int
    var loss: Double
    var exits: [Int]
    var exitLosses: [Double]
    var learningRate: Double
    var gradientNorm: Double
    var tokens: Int
    var seconds: Double
    var epochProgress: Double
}

func compactJSON<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// Per-exit training loss over steps (a 10-step running mean), from a `--log` file.
public func writeTrainingPlot(log path: String, to output: String) throws {
    guard let data = FileManager.default.contents(atPath: path) else { throw AppError.invalidArgument("cannot read \(path)") }
    let entries = String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
        try? JSONDecoder().decode(StepLogEntry.self, from: Data($0.utf8))
    }
    guard let exits = entries.first?.exits else { throw AppError.invalidArgument("\(path) has no steps") }
    let series = exits.enumerated().map { (i, exit) -> Series in
        var points: [(x: Double, y: Double)] = []
        var window: [Double] = []
        for e in entries where i < e.exitLosses.count {
            window.append(e.exitLosses[i])
            if window.count > 10 { window.removeFirst() }
            points.append((Double(e.step + 1), window.reduce(0, +) / Double(window.count)))
        }
        return Series("exit \(exit)", points: points)
    }
    let figure = Figure(
        title: "Training loss per exit", panels: [Panel(title: "Cross-entropy on response tokens (10-step mean)", xLabel: "step", yLabel: "loss", series: series)])
    try figure.write(to: output)
}
