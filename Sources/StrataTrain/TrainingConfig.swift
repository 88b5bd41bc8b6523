/// Which exits the loss reads.
public enum TrainingMethod: String, Sendable, Codable, CaseIterable {
    /// Sorted Fine-Tuning: the equal-weight mean of every exit's loss.
    case soft
    /// Ordinary supervised fine-tuning: the deepest exit only.
    case sft

    /// The exits this method trains, given the sorted set B.
    public func exits(from sorted: [Int]) -> [Int] {
        switch self {
        case .soft: sorted
        case .sft: sorted.max().map { [$0] } ?? []
        }
    }
}

/// Everything that shapes a training run; stored in every checkpoint so a resumed run continues
/// with exactly the same settings.
public struct TrainingConfig: Sendable, Equatable, Codable {
    /// 1-based exit layers the loss reads (ascending, unique).
    public var exits: [Int]
    /// The sorted set B the model is being made to serve (written to the exported file); for
    /// SoFT the same as `exits`, for SFT the set the model will later be evaluated on.
    public var sortedExits: [Int]
    /// Peak learning rate, reached at the end of warm-up.
    public var learningRate: Double = 2e-5
    /// The floor the cosine decay ends at.
    public var minimumLearningRate: Double = 2e-6
    /// Steps of linear warm-up.
    public var warmupSteps: Int = 0
    /// Optimizer steps the schedule spans.
    public var totalSteps: Int
    /// AdamW's coefficients and weight decay.
    public var optimizer = AdamW.Hyperparameters()
    /// Global gradient-norm clip; nil for none.
    public var gradientClipNorm: Double? = 1.0
    /// Micro-batches per optimizer step.
    public var accumulationSteps: Int = 1
    /// Tokens per micro-batch (examples are packed up to this).
    public var microBatchTokens: Int = 2048
    /// Data-order seed.
    public var seed: UInt64 = 0
    /// Reshuffle every epoch (otherwise file order).
    public var shuffle = true
    /// Rows per LM-head product (see `TrainableLlama.headChunkRows`).
    public var headChunkRows = 2048
    /// Relative weight of each exit's loss, in `exits` order; nil: equal weights (the published
    /// objective). Normalised to sum to 1 (see `normalizedExitWeights`).
    public var exitWeights: [Double]?

    /// The weight of each exit's mean loss in the step's objective, summing to 1.
    public var normalizedExitWeights: [Double] {
        guard let weights = exitWeights, weights.count == exits.count else {
            return exits.map { _ in 1 / Double(max(exits.count, 1)) }
        }
        let total = weights.reduce(0, +)
        return weights.map { $0 / total }
    }

    /// - Parameters:
    ///   - method: `.soft` trains every exit of `sortedExits`, `.sft` the deepest only.
    ///   - sortedExits: the set B.
    ///   - totalSteps: optimizer steps the schedule spans.
    public init(method: TrainingMethod, sortedExits: [Int], totalSteps: Int) {
        self.sortedExits = sortedExits
        self.exits = method.exits(from: sortedExits)
        self.totalSteps = totalSteps
    }

    /// B = {first, first + step, …} up to `layerCount`, with `layerCount` always included, e.g.
    /// (30, 9, 3) → [9, 12, …, 30].
    public static func sortedExits(layerCount: Int, first: Int, step: Int) -> [Int] {
        guard layerCount >= 1 else { return [] }
        let start = min(max(first, 1), layerCount)
        var exits = Array(stride(from: start, through: layerCount, by: max(step, 1)))
        if exits.last != layerCount { exits.append(layerCount) }
        return exits
    }

    /// The learning-rate schedule these settings give.
    public var schedule: LearningRateSchedule {
        LearningRateSchedule(
            peak: learningRate, floor: minimumLearningRate, warmupSteps: warmupSteps, totalSteps: totalSteps)
    }

    /// Checks the settings against a model of `layerCount` blocks.
    /// - Throws: ``TrainError/invalidConfig(_:)`` naming the first bad setting.
    public func validate(layerCount: Int) throws(TrainError) {
        func check(_ ok: Bool, _ reason: String) throws(TrainError) {
            if !ok { throw .invalidConfig(reason) }
        }
        for (name, list) in [("exits", exits), ("sorted exits", sortedExits)] {
            try check(!list.isEmpty, "no \(name)")
            try check(list.allSatisfy { $0 >= 1 && $0 <= layerCount }, "\(name) \(list) outside 1…\(layerCount)")
            try check(zip(list, list.dropFirst()).allSatisfy { $0 < $1 }, "\(name) \(list) are not ascending and unique")
        }
        try check(learningRate > 0 && learningRate.isFinite, "learning rate \(learningRate)")
        try check(minimumLearningRate >= 0 && minimumLearningRate <= learningRate, "minimum learning rate \(minimumLearningRate)")
        try check(totalSteps >= 1 && warmupSteps >= 0, "\(totalSteps) steps with \(warmupSteps) of warm-up")
        try check(accumulationSteps >= 1, "accumulation over \(accumulationSteps) micro-batches")
        try check(microBatchTokens >= 1, "micro-batch of \(microBatchTokens) tokens")
        try check(headChunkRows >= 1, "head chunk of \(headChunkRows) rows")
        if let clip = gradientClipNorm { try check(clip > 0, "gradient clip \(clip)") }
        if let weights = exitWeights {
            try check(
                weights.count == exits.count,
                "\(weights.count) exit weights for the \(exits.count) exits \(exits.map(String.init).joined(separator: ","))")
            try check(weights.allSatisfy { $0.isFinite && $0 >= 0 }, "exit weights \(weights) must be finite and non-negative")
            try check(weights.reduce(0, +) > 0, "exit weights \(weights) sum to zero")
        }
        let o = optimizer
        try check(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1, "Adam betas \(o.beta1), \(o.beta2)")
        try check(o.epsilon > 0 && o.weightDecay >= 0, "Adam epsilon \(o.epsilon), weight decay \(o.weightDecay)")
    }
}
