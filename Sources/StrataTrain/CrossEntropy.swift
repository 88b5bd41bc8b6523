/// Softmax cross-entropy, per row and as the Sorted Fine-Tuning objective over several exits.
public enum CrossEntropy {
    /// For each row r: lossᵣ = logsumexp(zᵣ) − zᵣ[targetᵣ]; zᵣ is replaced by its gradient
    /// `gradientScale · (softmax(zᵣ) − onehot(targetᵣ))`, or by unnormalised exponentials when
    /// `gradientScale` is nil (the logits are scratch either way).
    /// - Parameters:
    ///   - logits: (rows, vocabulary), overwritten.
    ///   - targets: (rows,) ids in 0..<vocabulary (checked by the caller).
    ///   - losses: (rows,) receives each row's loss.
    @inlinable
    public static func forwardBackward<S: TrainScalar>(
        logits: UnsafeMutablePointer<S>, targets: UnsafePointer<Int32>, rows: Int, vocabulary: Int,
        gradientScale: S?, losses: UnsafeMutablePointer<S>
    ) {
        // Rows are independent: split them over the training threads.
        let shared = Shared((logits, targets, losses))
        Parallel.chunks(rows, minimumChunk: 16) { _, range in
            let (logits, targets, losses) = shared.value
            rowsForwardBackward(
                logits: logits, targets: targets, range: range, vocabulary: vocabulary, gradientScale: gradientScale,
                losses: losses)
        }
    }

    @inlinable
    static func rowsForwardBackward<S: TrainScalar>(
        logits: UnsafeMutablePointer<S>, targets: UnsafePointer<Int32>, range: Range<Int>, vocabulary: Int,
        gradientScale: S?, losses: UnsafeMutablePointer<S>
    ) {
        for r in range {
            let z = logits + r * vocabulary
            let target = Int(targets[r])
            let targetLogit = z[target]
            var m = z[0]
            for j in 1..<vocabulary where z[j] > m { m = z[j] }
            // One exponential per logit, kept for the gradient.
            var sum: S = 0
            for j in 0..<vocabulary {
                let e = underflowSafeExponential(z[j] - m)
                z[j] = e
                sum += e
            }
            losses[r] = m + S.logarithm(sum) - targetLogit
            guard let scale = gradientScale else { continue }
            let inv = scale / sum
            for j in 0..<vocabulary { z[j] *= inv }
            z[target] -= scale
        }
    }

    /// The Sorted Fine-Tuning loss over full logits: for each exit e, the mean cross-entropy over
    /// positions whose mask is set; then the equal-weight mean over exits. (The model computes the
    /// same quantity on the masked rows only; this form states the definition and is what the
    /// gradient checks hold the model to.)
    /// - Parameters:
    ///   - logits: (exits, T, vocabulary); position t predicts `targets[t]`.
    ///   - targets: (T,); mask: (T,) true where position t counts.
    /// - Returns: the loss, each exit's mean, and d loss / d logits, (exits, T, vocabulary).
    public static func sortedLoss<S: TrainScalar>(
        logits: [S], targets: [Int32], mask: [Bool], exits: Int, vocabulary: Int
    ) -> (loss: S, perExit: [S], gradient: [S]) {
        let T = targets.count
        precondition(logits.count == exits * T * vocabulary && mask.count == T, "sortedLoss: shapes disagree")
        let counted = mask.filter { $0 }.count
        var gradient = [S](repeating: 0, count: logits.count)
        var perExit = [S](repeating: 0, count: exits)
        guard counted > 0, exits > 0 else { return (0, perExit, gradient) }
        let scale = 1 / S(counted * exits)
        var row = [S](repeating: 0, count: vocabulary)
        var loss: S = 0
        row.withUnsafeMutableBufferPointer { rowBuffer in
            guard let z = rowBuffer.baseAddress else { return }
            for e in 0..<exits {
                for t in 0..<T where mask[t] {
                    let offset = (e * T + t) * vocabulary
                    for j in 0..<vocabulary { z[j] = logits[offset + j] }
                    var target = targets[t]
                    var rowLoss: S = 0
                    forwardBackward(
                        logits: z, targets: &target, rows: 1, vocabulary: vocabulary, gradientScale: scale,
                        losses: &rowLoss)
                    perExit[e] += rowLoss / S(counted)
                    loss += rowLoss * scale
                    for j in 0..<vocabulary { gradient[offset + j] = z[j] }
                }
            }
        }
        return (loss, perExit, gradient)
    }
}
