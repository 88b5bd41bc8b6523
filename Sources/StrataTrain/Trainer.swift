import StrataModel
import StrataFormats

/// Fine-tunes a `TrainableLlama<Float>`: micro-batches from a `DataLoader`, gradients accumulated
/// over `accumulationSteps` of them, global-norm clipping, AdamW on the warm-up/cosine schedule.
///
/// The loss of a step is, for each exit, the mean cross-entropy over every target token of the
/// step's micro-batches (token-weighted, so accumulation gives exactly the gradient of the whole
/// batch), then the mean over exits — equal-weight unless `TrainingConfig.exitWeights` says
/// otherwise. Blocks past the deepest exit are not updated.
///
/// Everything a later step depends on — parameters, moments, step count, data cursor, settings —
/// is in `saveCheckpoint`, so `resume` continues bit-identically.
public final class Trainer {
    /// The settings (from the checkpoint when resumed).
    public let config: TrainingConfig
    /// The model being trained, updated in place.
    public let model: TrainableLlama<Float>
    /// The optimizer and its moments.
    public let optimizer: AdamW
    /// The data, and where the run stands in it.
    public private(set) var loader: DataLoader
    /// The model file training started from (recorded in checkpoints).
    public var baseModelPath: String?
    /// Called after every micro-batch and every step.
    public var progressHandler: ((TrainingProgress) -> Void)?

    /// Optimizer steps completed.
    public var completedSteps: Int { optimizer.stepCount }

    /// Spans the optimizer updates, with whether weight decay applies.
    private let ranges: [(range: Range<Int>, decays: Bool)]
    private var run = RunStatistics()

    /// - Parameters:
    ///   - model: the model to train (its parameters are updated in place).
    ///   - examples: the training data.
    ///   - config: the settings, checked against the model.
    ///   - threads: OpenBLAS threads; nil leaves the current setting.
    /// - Throws: ``TrainError/invalidConfig(_:)`` for bad settings or data.
    public init(
        model: TrainableLlama<Float>, examples: [TrainingExample], config: TrainingConfig, threads: Int? = nil,
        baseModelPath: String? = nil
    ) throws(TrainError) {
        try config.validate(layerCount: model.shape.layerCount)
        let vocabulary = model.shape.vocabularySize
        for (i, example) in examples.enumerated() {
            if let bad = example.tokens.first(where: { $0 < 0 || Int($0) >= vocabulary }) {
                throw .invalidConfig(
                    "example \(i) has token id \(bad), outside the model's vocabulary of \(vocabulary) "
                        + "(do the tokenizer and the model belong together?)")
            }
        }
        self.config = config
        self.model = model
        model.headChunkRows = config.headChunkRows
        optimizer = AdamW(count: model.layout.count, hyperparameters: config.optimizer)
        loader = try DataLoader(
            examples: examples, tokenBudget: config.microBatchTokens, seed: config.seed, shuffle: config.shuffle)
        self.baseModelPath = baseModelPath
        let deepest = config.exits.last ?? model.shape.layerCount
        ranges = model.layout.entries.filter { ($0.layer ?? 0) < deepest }.map {
            (range: $0.offset..<($0.offset + $0.count), decays: $0.decays)
        }
        if let threads { TrainingThreads.configure(threads) }
    }

    /// A trainer restored from a checkpoint: its parameters, moments, step, data position and
    /// settings. The examples must be the ones the checkpoint was trained on.
    /// - Throws: the checkpoint's read errors, or ``TrainError/checkpointMismatch(path:reason:)``
    ///   when the examples differ from those it was trained on.
    public static func resume(from path: String, examples: [TrainingExample], threads: Int? = nil) throws(TrainError) -> Trainer {
        let checkpoint = try Checkpoint.read(from: path)
        let header = checkpoint.header
        let model = try TrainableLlama<Float>(shape: header.shape)
        let trainer = try Trainer(
            model: model, examples: examples, config: header.config, threads: threads, baseModelPath: header.baseModel)
        guard String(trainer.loader.fingerprint, radix: 16) == header.dataFingerprint,
            examples.count == header.exampleCount
        else {
            throw .checkpointMismatch(
                path: path, reason: "the training examples differ from the \(header.exampleCount) it was trained on")
        }
        checkpoint.copyParameters(into: model.parameterBase)
        if let m = trainer.optimizer.firstMoment.baseAddress, let v = trainer.optimizer.secondMoment.baseAddress {
            checkpoint.copyFirstMoment(into: m)
            checkpoint.copySecondMoment(into: v)
        }
        trainer.optimizer.stepCount = header.step
        trainer.loader = try DataLoader(
            examples: examples, tokenBudget: header.config.microBatchTokens, seed: header.config.seed,
            shuffle: header.config.shuffle, cursor: header.cursor)
        return trainer
    }

    /// One optimizer step over `accumulationSteps` micro-batches.
    /// - Returns: the step's losses, learning rate, gradient norm and throughput.
    /// - Throws: ``TrainError/nonFiniteGradient(step:)`` (parameters untouched, data consumed),
    ///   or a batch error.
    public func step() throws(TrainError) -> StepReport {
        let clock = ContinuousClock()
        let started = clock.now
        if run.started == nil { run.started = started }
        let batches = (0..<config.accumulationSteps).map { _ in loader.next() }
        let targets = batches.reduce(0) { $0 + $1.targetCount }
        let tokens = batches.reduce(0) { $0 + $1.count }
        guard targets > 0 else { throw .invalidBatch("the step's micro-batches have no target tokens") }
        let exits = config.exits
        model.zeroGradients()
        let weights = config.normalizedExitWeights
        let scales = weights.map { Float($0 / Double(targets)) }
        var sums = [Double](repeating: 0, count: exits.count)
        for (i, batch) in batches.enumerated() {
            let batchSums = try model.accumulateGradients(batch, exits: exits, lossScales: scales)
            for e in sums.indices { sums[e] += batchSums[e] }
            run.tokens += batch.count
            report(microBatch: i + 1)
        }
        let norm = config.gradientClipNorm.map { model.clipGradients(maxNorm: $0) } ?? model.gradientNorm()
        guard norm.isFinite else { throw .nonFiniteGradient(step: completedSteps + 1) }
        let rate = config.schedule.rate(at: completedSteps)
        optimizer.update(
            parameters: model.parameterBase, gradients: model.gradientBase, ranges: ranges, learningRate: rate)
        let exitLosses = sums.map { $0 / Double(targets) }
        let elapsed = clock.now - started
        let result = StepReport(
            step: completedSteps, exits: exits, exitLosses: exitLosses,
            loss: zip(weights, exitLosses).reduce(0) { $0 + $1.0 * $1.1 }, learningRate: rate, gradientNorm: norm,
            tokens: tokens, targetTokens: targets, microBatches: batches.count, seconds: elapsed.seconds,
            cursor: loader.cursor, epochProgress: loader.epochProgress)
        run.steps += 1
        run.last = result
        report(microBatch: 0)
        return result
    }

    /// Runs `steps` optimizer steps (by default up to `config.totalSteps`), reporting progress.
    /// - Parameter shouldContinue: asked after each step; false stops early.
    /// - Returns: every step's report.
    public func train(steps: Int? = nil, shouldContinue: (StepReport) -> Bool = { _ in true }) throws(TrainError) -> [StepReport] {
        let count = steps ?? max(0, config.totalSteps - completedSteps)
        run = RunStatistics(target: completedSteps + count)
        var reports: [StepReport] = []
        for _ in 0..<count {
            let r = try step()
            reports.append(r)
            if !shouldContinue(r) { break }
        }
        return reports
    }

    /// Writes a checkpoint (see ``Checkpoint``) atomically.
    public func saveCheckpoint(to path: String) throws(TrainError) {
        let header = CheckpointHeader(
            shape: model.shape, layout: model.layout, config: config, step: completedSteps, cursor: loader.cursor,
            dataFingerprint: loader.fingerprint, exampleCount: loader.examples.count, baseModel: baseModelPath)
        try Checkpoint.write(
            to: path, header: header, parameters: UnsafeBufferPointer(model.parameters),
            firstMoment: UnsafeBufferPointer(optimizer.firstMoment), secondMoment: UnsafeBufferPointer(optimizer.secondMoment))
    }

    /// Writes the trained model as GGUF with the base file's metadata and names, and
    /// `strata.sorted_exits` set to `config.sortedExits` (see `TrainableLlama.writeGGUF`).
    public func exportGGUF(to path: String, base: GGUFFile, type: ExportTensorType) throws(TrainError) {
        try model.writeGGUF(to: path, base: base, sortedExits: config.sortedExits, type: type)
    }

    /// Mean cross-entropy per exit over `examples` (packed in order, no gradients), e.g. on
    /// held-out data.
    /// - Parameter exits: the exits to evaluate (all of `config.sortedExits` by default).
    public func evaluate(_ examples: [TrainingExample], exits: [Int]? = nil) throws(TrainError) -> [Double] {
        let exits = exits ?? config.sortedExits
        var sums = [Double](repeating: 0, count: exits.count)
        var targets = 0
        var batch = TokenBatch()
        func flush() throws(TrainError) {
            guard batch.targetCount > 0 else { return }
            let s = try model.lossSums(batch, exits: exits)
            for i in sums.indices { sums[i] += s[i] }
            targets += batch.targetCount
            batch = TokenBatch()
        }
        for e in examples {
            if batch.count > 0, batch.count + e.tokens.count > config.microBatchTokens { try flush() }
            batch.append(e)
        }
        try flush()
        return sums.map { $0 / Double(max(targets, 1)) }
    }

    // MARK: - Internals

    private func report(microBatch: Int) {
        guard let handler = progressHandler else { return }
        let clock = ContinuousClock()
        let elapsed = run.started.map { (clock.now - $0).seconds } ?? 0
        handler(
            TrainingProgress(
                completedSteps: completedSteps, totalSteps: run.target ?? config.totalSteps, microBatch: microBatch,
                microBatchesPerStep: config.accumulationSteps, elapsedSeconds: elapsed, tokens: run.tokens,
                lastStep: run.last, stepsThisRun: run.steps))
    }
}

/// Counters of the current `train` call, for progress and ETA.
private struct RunStatistics {
    var target: Int?
    var started: ContinuousClock.Instant?
    var tokens = 0
    var steps = 0
    var last: StepReport?
}

/// One trainer is driven by one thread at a time.
@available(*, unavailable) extension Trainer: Sendable {}
