/// What one optimizer step did.
public struct StepReport: Sendable, Equatable {
    /// Optimizer steps completed, this one included.
    public var step: Int
    /// The exits the loss read, and each one's mean cross-entropy over the step's targets.
    public var exits: [Int]
    /// Mean cross-entropy per exit, in `exits` order.
    public var exitLosses: [Double]
    /// The objective: the mean of `exitLosses` under the exit weights (equal unless set).
    public var loss: Double
    /// The rate this step used.
    public var learningRate: Double
    /// The global gradient norm before clipping.
    public var gradientNorm: Double
    /// Tokens in the step's micro-batches, and those that were targets.
    public var tokens: Int
    /// Tokens the loss read.
    public var targetTokens: Int
    /// Micro-batches accumulated.
    public var microBatches: Int
    /// Wall time of the step.
    public var seconds: Double
    /// The data position after this step.
    public var cursor: DataCursor
    /// Epochs completed, as a fraction.
    public var epochProgress: Double

    /// Tokens per second of wall time.
    public var tokensPerSecond: Double { seconds > 0 ? Double(tokens) / seconds : 0 }
}

/// Where a run stands, for a progress bar: reported after every micro-batch.
public struct TrainingProgress: Sendable, Equatable {
    /// Optimizer steps completed (of `totalSteps` in this run's target).
    public var completedSteps: Int
    /// The step count the run aims for.
    public var totalSteps: Int
    /// Micro-batches done in the step under way (0 after a step completes).
    public var microBatch: Int
    /// Micro-batches in each step.
    public var microBatchesPerStep: Int
    /// Seconds since the run began.
    public var elapsedSeconds: Double
    /// Tokens processed since the run began.
    public var tokens: Int
    /// The most recent step, if one has completed in this run.
    public var lastStep: StepReport?
    /// Steps completed in this run (for the rate; `completedSteps` includes resumed ones).
    public var stepsThisRun: Int

    /// Done, 0…1, counting micro-batches of the step under way.
    public var fraction: Double {
        guard totalSteps > 0 else { return 1 }
        let partial = microBatchesPerStep > 0 ? Double(microBatch) / Double(microBatchesPerStep) : 0
        return min(1, (Double(completedSteps) + partial) / Double(totalSteps))
    }

    /// Tokens per second since the run began.
    public var tokensPerSecond: Double { elapsedSeconds > 0 ? Double(tokens) / elapsedSeconds : 0 }

    /// Seconds left at this run's average pace; nil before any progress.
    public var estimatedRemainingSeconds: Double? {
        let partial = microBatchesPerStep > 0 ? Double(microBatch) / Double(microBatchesPerStep) : 0
        let done = Double(stepsThisRun) + partial
        guard done > 0, elapsedSeconds > 0 else { return nil }
        return max(0, Double(totalSteps - completedSteps) - partial) * elapsedSeconds / done
    }

    /// One line for a terminal, e.g. `[######------] 12/100 loss 2.314 lr 2.0e-05 812 tok/s ETA 3m05s`.
    public func line(barWidth: Int = 24) -> String {
        let filled = Int((fraction * Double(barWidth)).rounded(.down))
        var text = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: max(0, barWidth - filled)) + "]"
        text += " \(completedSteps)/\(totalSteps)"
        if let s = lastStep {
            text += " loss " + fixed(s.loss, 3) + " lr " + scientific(s.learningRate) + " |g| " + fixed(s.gradientNorm, 2)
        }
        text += " \(Int(tokensPerSecond.rounded())) tok/s"
        if let eta = estimatedRemainingSeconds { text += " ETA " + duration(eta) }
        return text
    }
}

func fixed(_ x: Double, _ digits: Int) -> String {
    guard x.isFinite else { return "\(x)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let r = (abs(x) * scale).rounded()
    let whole = Int(r / scale)
    var frac = String(Int(r.truncatingRemainder(dividingBy: scale)))
    while frac.count < digits { frac = "0" + frac }
    return (x < 0 ? "-" : "") + "\(whole)" + (digits > 0 ? "." + frac : "")
}

func scientific(_ x: Double) -> String {
    guard x.isFinite, x != 0 else { return "\(x)" }
    var e = 0
    var m = abs(x)
    while m >= 10 { m /= 10; e += 1 }
    while m < 1 { m *= 10; e -= 1 }
    return (x < 0 ? "-" : "") + fixed(m, 1) + "e" + (e < 0 ? "-" : "+") + (abs(e) < 10 ? "0" : "") + "\(abs(e))"
}

func duration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    if s >= 3600 { return "\(s / 3600)h" + (s % 3600 / 60 < 10 ? "0" : "") + "\(s % 3600 / 60)m" }
    if s >= 60 { return "\(s / 60)m" + (s % 60 < 10 ? "0" : "") + "\(s % 60)s" }
    return "\(s)s"
}
