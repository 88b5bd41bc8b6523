import StrataModel
/// The forward and backward passes.
///
/// ```
/// x = embed(tokens)                                        (T, d)
/// for block l < deepest exit:
///     n1 = RMSNorm(x); q, k, v = n1·Wqᵀ, n1·Wkᵀ, n1·Wvᵀ; RoPE(q), RoPE(k)
///     x += CausalGQA(q, k, v)·Woᵀ                           per packed sequence
///     n2 = RMSNorm(x); x += (silu(n2·Wgᵀ) ⊙ n2·Wuᵀ)·Wdᵀ
///     if l + 1 is an exit: gather x at the M target rows      → exit rows (E·M, d)
/// loss = mean over exits e of (1/M) Σ CE(head(RMSNorm_final(exit rows of e)), targets)
/// ```
/// The head runs once over the stacked rows of every exit (in chunks of `headChunkRows`), in
/// the forward and in the backward pass; the backward pass then runs the blocks top-down, adding
/// each exit's gradient into the residual stream where it was read.
///
/// The public entry points carry `@_specialize(exported: true, where S == Float)`: a generic
/// class's methods called from another module would otherwise run unspecialised, with every
/// scalar operation of the elementwise loops going through the protocol witness table (measured
/// about 2.5× slower per step on SmolLM2-135M). Double callers (the gradient checks) get the
/// generic code, which is fine at their sizes.
extension TrainableLlama {
    /// Forward and backward over one batch, adding d(lossScale · Σ CE)/dθ into `gradients`, where
    /// the sum runs over every exit and every target of the batch.
    ///
    /// For the SoFT objective (per-exit mean over targets, equal-weight mean over exits) over a
    /// step of several micro-batches, pass lossScale = 1 / (E · targets in the whole step).
    /// - Parameters:
    ///   - batch: the micro-batch.
    ///   - exits: 1-based exit layers, ascending and unique.
    ///   - lossScale: the factor on each row's cross-entropy.
    /// - Returns: per exit (in `exits` order), the sum of cross-entropy over the batch's targets.
    /// - Throws: ``TrainError`` for an invalid batch or exit list.
    @discardableResult
    @_specialize(exported: true, where S == Float)
    public func accumulateGradients(_ batch: TokenBatch, exits: [Int], lossScale: S) throws(TrainError) -> [Double] {
        try run(batch, exits: exits, lossScales: exits.map { _ in lossScale })
    }

    /// Forward and backward over one batch with a factor of its own per exit: adds
    /// d(Σₑ lossScalesₑ · Σ CEₑ)/dθ into `gradients`.
    ///
    /// For a weighted objective Σₑ wₑ · meanₑ (Σ wₑ = 1) over a step, pass
    /// lossScalesₑ = wₑ / (targets in the whole step).
    /// - Parameter lossScales: one factor per exit, in `exits` order.
    /// - Returns: per exit, the sum of cross-entropy over the batch's targets.
    /// - Throws: ``TrainError`` for an invalid batch or exit list, or a scale count that is not the
    ///   exit count.
    @discardableResult
    @_specialize(exported: true, where S == Float)
    public func accumulateGradients(_ batch: TokenBatch, exits: [Int], lossScales: [S]) throws(TrainError) -> [Double] {
        guard lossScales.count == exits.count else {
            throw .invalidConfig("\(lossScales.count) loss scales for \(exits.count) exits")
        }
        return try run(batch, exits: exits, lossScales: lossScales)
    }

    /// Per exit, the sum of cross-entropy over the batch's targets (no gradients).
    @_specialize(exported: true, where S == Float)
    public func lossSums(_ batch: TokenBatch, exits: [Int]) throws(TrainError) -> [Double] {
        try run(batch, exits: exits, lossScales: nil)
    }

    /// The SoFT loss of one batch: each exit's mean over targets, and their mean.
    @_specialize(exported: true, where S == Float)
    public func loss(_ batch: TokenBatch, exits: [Int]) throws(TrainError) -> (loss: Double, perExit: [Double]) {
        let sums = try lossSums(batch, exits: exits)
        let m = Double(max(batch.targetCount, 1))
        let perExit = sums.map { $0 / m }
        return (perExit.reduce(0, +) / Double(max(perExit.count, 1)), perExit)
    }

    /// Logits of every row after block `exit` (1-based), through the final norm and the head:
    /// (T, vocabulary) row-major.
    @_specialize(exported: true, where S == Float)
    public func logits(_ batch: TokenBatch, exit: Int) throws(TrainError) -> [S] {
        try check(batch, exits: [exit])
        let T = batch.count, d = shape.hiddenSize, V = shape.vocabularySize
        let rows = (0..<T).map { Int32($0) }
        forward(batch, exits: [exit], gatherRows: rows)
        let ws = workspace
        let norm = ws.exitNorm.ensure(T * d)
        RMSNorm.forward(
            ws.exitHidden.pointer, weight: parameterBase + layout.outputNorm, into: norm,
            inverseRMS: ws.exitInverseRMS.ensure(T), rows: T, n: d, epsilon: S(shape.rmsNormEpsilon))
        var out = [S](repeating: 0, count: T * V)
        out.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            MatMul.forward(norm, weight: parameterBase + layout.output, into: base, rows: T, inputs: d, outputs: V)
        }
        return out
    }

    // MARK: - Internals

    func check(_ batch: TokenBatch, exits: [Int]) throws(TrainError) {
        guard !exits.isEmpty else { throw .invalidConfig("no exits") }
        for (i, e) in exits.enumerated() {
            guard e >= 1 && e <= shape.layerCount else {
                throw .invalidConfig("exit \(e) is not a layer of this model (1…\(shape.layerCount))")
            }
            if i > 0, exits[i - 1] >= e { throw .invalidConfig("exits must be ascending and unique: \(exits)") }
        }
        guard batch.count > 0 else { throw .invalidBatch("the batch is empty") }
        try batch.validate(vocabularySize: shape.vocabularySize)
        if let bad = batch.targetTokens.first(where: { $0 < 0 || Int($0) >= shape.vocabularySize }) {
            throw .invalidBatch("target \(bad) is outside the vocabulary of \(shape.vocabularySize)")
        }
    }

    /// One pass; gradients only when `lossScales` (one per exit) is set.
    private func run(_ batch: TokenBatch, exits: [Int], lossScales: [S]?) throws(TrainError) -> [Double] {
        try check(batch, exits: exits)
        let M = batch.targetCount
        guard M > 0 else { return exits.map { _ in 0 } }
        let clock = ContinuousClock()
        var timings = PassTimings()
        let start = clock.now
        forward(batch, exits: exits, gatherRows: batch.targetRows)
        let forwardDone = clock.now
        let sums = head(batch, exitCount: exits.count, lossScales: lossScales, crossEntropyTime: &timings.crossEntropy)
        let headDone = clock.now
        if lossScales != nil { backward(batch, exits: exits) }
        timings.forward = (forwardDone - start).seconds
        timings.head = (headDone - forwardDone).seconds
        timings.backward = (clock.now - headDone).seconds
        lastTimings = timings
        return sums
    }

    /// Runs blocks up to the deepest exit, saving activations, and gathers `gatherRows` of the
    /// residual stream after each exit into `workspace.exitHidden` (exit-major).
    func forward(_ batch: TokenBatch, exits: [Int], gatherRows: [Int32]) {
        let s = shape
        let T = batch.count, d = s.hiddenSize, qd = s.queryDimension, kvd = s.kvDimension, ff = s.intermediateSize
        let M = gatherRows.count
        let eps = S(s.rmsNormEpsilon)
        let P = parameterBase
        let ws = workspace
        let deepest = exits.last ?? 0
        let table = RopeTable<S>(inverseFrequencies: s.ropeInverseFrequencies, positions: batch.positions)
        let probabilityCount = CausalAttention.probabilityCount(sequences: batch.sequences, heads: s.headCount)
        let x = ws.residual.ensure(T * d)  // (T, d)
        let exitHidden = ws.exitHidden.ensure(exits.count * M * d)  // (E·M, d)
        batch.tokens.withUnsafeBufferPointer { tokens in
            guard let tokens = tokens.baseAddress else { return }
            Embedding.forward(table: P + layout.embedding, tokens: tokens, into: x, count: T, n: d)
        }
        var exitIndex = 0
        for l in 0..<deepest {
            let b = layout.blocks[l]
            let a = ws.layer(l)
            let input = a.input.ensure(T * d)
            input.update(from: x, count: T * d)
            // attention
            let n1 = a.norm1.ensure(T * d)
            RMSNorm.forward(x, weight: P + b.attentionNorm, into: n1, inverseRMS: a.inverseRMS1.ensure(T), rows: T, n: d, epsilon: eps)
            let q = a.query.ensure(T * qd), k = a.key.ensure(T * kvd), v = a.value.ensure(T * kvd)
            MatMul.forward(n1, weight: P + b.query, into: q, rows: T, inputs: d, outputs: qd)
            MatMul.forward(n1, weight: P + b.key, into: k, rows: T, inputs: d, outputs: kvd)
            MatMul.forward(n1, weight: P + b.value, into: v, rows: T, inputs: d, outputs: kvd)
            RotaryEmbedding.forward(q, rows: T, heads: s.headCount, headDim: s.headDimension, layout: s.ropeLayout, table: table)
            RotaryEmbedding.forward(k, rows: T, heads: s.kvHeadCount, headDim: s.headDimension, layout: s.ropeLayout, table: table)
            let attention = a.attention.ensure(T * qd)
            CausalAttention.forward(
                q: q, k: k, v: v, into: attention, probabilities: a.probabilities.ensure(probabilityCount),
                sequences: batch.sequences, geometry: s.attention)
            MatMul.forward(attention, weight: P + b.attentionOutput, into: x, rows: T, inputs: qd, outputs: d, accumulate: true)
            a.middle.ensure(T * d).update(from: x, count: T * d)
            // feed-forward
            let n2 = a.norm2.ensure(T * d)
            RMSNorm.forward(x, weight: P + b.ffnNorm, into: n2, inverseRMS: a.inverseRMS2.ensure(T), rows: T, n: d, epsilon: eps)
            let gate = a.gate.ensure(T * ff), up = a.up.ensure(T * ff), hidden = a.hidden.ensure(T * ff)
            MatMul.forward(n2, weight: P + b.gate, into: gate, rows: T, inputs: d, outputs: ff)
            MatMul.forward(n2, weight: P + b.up, into: up, rows: T, inputs: d, outputs: ff)
            SwiGLU.forward(gate: gate, up: up, into: hidden, count: T * ff)
            MatMul.forward(hidden, weight: P + b.down, into: x, rows: T, inputs: ff, outputs: d, accumulate: true)
            // exit: gather the rows the loss reads
            if exitIndex < exits.count, exits[exitIndex] == l + 1 {
                let dst = exitHidden + exitIndex * M * d
                for (i, row) in gatherRows.enumerated() { (dst + i * d).update(from: x + Int(row) * d, count: d) }
                exitIndex += 1
            }
        }
    }

    /// The head over the stacked exit rows: final RMSNorm, one product with the head per chunk,
    /// cross-entropy; with `lossScales`, also the head's backward pass, leaving d loss / d exit
    /// rows in `workspace.exitHiddenGradient`. A chunk may straddle exits: the cross-entropy then
    /// runs once per exit's share of it, each with that exit's scale.
    private func head(_ batch: TokenBatch, exitCount: Int, lossScales: [S]?, crossEntropyTime: inout Double) -> [Double] {
        let clock = ContinuousClock()
        let d = shape.hiddenSize, V = shape.vocabularySize
        let M = batch.targetCount
        let R = exitCount * M
        let P = parameterBase, G = gradientBase
        let ws = workspace
        let hidden = ws.exitHidden.pointer
        let norm = ws.exitNorm.ensure(R * d)
        let inverseRMS = ws.exitInverseRMS.ensure(R)
        RMSNorm.forward(hidden, weight: P + layout.outputNorm, into: norm, inverseRMS: inverseRMS, rows: R, n: d, epsilon: S(shape.rmsNormEpsilon))
        let normGradient = ws.exitNormGradient.ensure(R * d)
        let chunk = max(1, min(headChunkRows, R))
        let logits = ws.logits.ensure(chunk * V)
        let rowLosses = ws.rowLosses.ensure(chunk)
        let targets = [Int32]((0..<exitCount).map { _ in batch.targetTokens }.joined())  // (R,)
        var sums = [Double](repeating: 0, count: exitCount)
        targets.withUnsafeBufferPointer { targetBuffer in
            guard let targetBase = targetBuffer.baseAddress else { return }
            for start in stride(from: 0, to: R, by: chunk) {
                let rows = min(chunk, R - start)
                // logits (rows, V) = norm rows · headᵀ
                MatMul.forward(norm + start * d, weight: P + layout.output, into: logits, rows: rows, inputs: d, outputs: V)
                let crossEntropyStart = clock.now
                var segment = start
                while segment < start + rows {
                    let exit = segment / M
                    let end = min(start + rows, (exit + 1) * M)
                    CrossEntropy.forwardBackward(
                        logits: logits + (segment - start) * V, targets: targetBase + segment, rows: end - segment,
                        vocabulary: V, gradientScale: lossScales?[exit], losses: rowLosses + (segment - start))
                    segment = end
                }
                crossEntropyTime += (clock.now - crossEntropyStart).seconds
                for i in 0..<rows { sums[(start + i) / M] += Double(rowLosses[i]) }
                guard lossScales != nil else { continue }
                MatMul.backward(
                    outputGradient: logits, input: norm + start * d, weight: P + layout.output,
                    inputGradient: normGradient + start * d, weightGradient: G + layout.output, rows: rows, inputs: d,
                    outputs: V)
            }
        }
        if lossScales != nil {
            RMSNorm.backward(
                outputGradient: normGradient, input: hidden, weight: P + layout.outputNorm, inverseRMS: inverseRMS,
                inputGradient: ws.exitHiddenGradient.ensure(R * d), weightGradient: G + layout.outputNorm, rows: R, n: d,
                accumulate: false)
        }
        return sums
    }

    /// The blocks' backward pass, top-down, from the exit gradients the head left.
    private func backward(_ batch: TokenBatch, exits: [Int]) {
        let s = shape
        let T = batch.count, d = s.hiddenSize, qd = s.queryDimension, kvd = s.kvDimension, ff = s.intermediateSize
        let M = batch.targetCount
        let P = parameterBase, G = gradientBase
        let ws = workspace
        let table = RopeTable<S>(inverseFrequencies: s.ropeInverseFrequencies, positions: batch.positions)
        let longest = batch.sequences.map(\.count).max() ?? 0
        let dx = ws.residualGradient.zeroed(T * d)  // (T, d) d loss / d residual stream
        let dn = ws.normGradient.ensure(T * d)
        let da = ws.attentionGradient.ensure(T * qd)
        let dq = ws.queryGradient.ensure(T * qd), dk = ws.keyGradient.ensure(T * kvd), dv = ws.valueGradient.ensure(T * kvd)
        let dh = ws.hiddenGradient.ensure(T * ff), dg = ws.gateGradient.ensure(T * ff)
        let scratch = ws.attentionScratch.ensure(longest * longest)
        let exitGradient = ws.exitHiddenGradient.pointer
        var exitIndex = exits.count - 1
        for l in (0..<(exits.last ?? 0)).reversed() {
            if exitIndex >= 0, exits[exitIndex] == l + 1 {
                let src = exitGradient + exitIndex * M * d
                for (i, row) in batch.targetRows.enumerated() {
                    let dst = dx + Int(row) * d
                    for j in 0..<d { dst[j] += src[i * d + j] }
                }
                exitIndex -= 1
            }
            let b = layout.blocks[l]
            let a = ws.layer(l)
            // feed-forward: x_out = middle + hidden·Wdᵀ
            MatMul.backward(
                outputGradient: dx, input: a.hidden.pointer, weight: P + b.down, inputGradient: dh,
                weightGradient: G + b.down, rows: T, inputs: ff, outputs: d)
            SwiGLU.backward(outputGradient: dh, gate: a.gate.pointer, up: a.up.pointer, gateGradient: dg, upGradient: dh, count: T * ff)
            MatMul.backward(
                outputGradient: dg, input: a.norm2.pointer, weight: P + b.gate, inputGradient: dn,
                weightGradient: G + b.gate, rows: T, inputs: d, outputs: ff)
            MatMul.backward(
                outputGradient: dh, input: a.norm2.pointer, weight: P + b.up, inputGradient: dn,
                weightGradient: G + b.up, rows: T, inputs: d, outputs: ff, accumulateInput: true)
            RMSNorm.backward(
                outputGradient: dn, input: a.middle.pointer, weight: P + b.ffnNorm, inverseRMS: a.inverseRMS2.pointer,
                inputGradient: dx, weightGradient: G + b.ffnNorm, rows: T, n: d, accumulate: true)
            // attention: middle = input + attention·Woᵀ
            MatMul.backward(
                outputGradient: dx, input: a.attention.pointer, weight: P + b.attentionOutput, inputGradient: da,
                weightGradient: G + b.attentionOutput, rows: T, inputs: qd, outputs: d)
            CausalAttention.backward(
                outputGradient: da, q: a.query.pointer, k: a.key.pointer, v: a.value.pointer,
                probabilities: a.probabilities.pointer, queryGradient: dq, keyGradient: dk, valueGradient: dv,
                scratch: scratch, sequences: batch.sequences, geometry: s.attention)
            RotaryEmbedding.backward(dq, rows: T, heads: s.headCount, headDim: s.headDimension, layout: s.ropeLayout, table: table)
            RotaryEmbedding.backward(dk, rows: T, heads: s.kvHeadCount, headDim: s.headDimension, layout: s.ropeLayout, table: table)
            MatMul.backward(
                outputGradient: dq, input: a.norm1.pointer, weight: P + b.query, inputGradient: dn,
                weightGradient: G + b.query, rows: T, inputs: d, outputs: qd)
            MatMul.backward(
                outputGradient: dk, input: a.norm1.pointer, weight: P + b.key, inputGradient: dn,
                weightGradient: G + b.key, rows: T, inputs: d, outputs: kvd, accumulateInput: true)
            MatMul.backward(
                outputGradient: dv, input: a.norm1.pointer, weight: P + b.value, inputGradient: dn,
                weightGradient: G + b.value, rows: T, inputs: d, outputs: kvd, accumulateInput: true)
            RMSNorm.backward(
                outputGradient: dn, input: a.input.pointer, weight: P + b.attentionNorm, inverseRMS: a.inverseRMS1.pointer,
                inputGradient: dx, weightGradient: G + b.attentionNorm, rows: T, n: d, accumulate: true)
        }
        batch.tokens.withUnsafeBufferPointer { tokens in
            guard let tokens = tokens.baseAddress else { return }
            Embedding.backward(outputGradient: dx, tokens: tokens, tableGradient: G + layout.embedding, count: T, n: d)
        }
    }
}

/// Where the last pass spent its time, in seconds.
public struct PassTimings: Sendable, Equatable {
    /// Embedding and blocks, forward.
    public var forward = 0.0
    /// The exits' final norm, head products and cross-entropy, forward and backward.
    public var head = 0.0
    /// Of `head`, the softmax cross-entropy.
    public var crossEntropy = 0.0
    /// Blocks and embedding, backward.
    public var backward = 0.0

    /// All zero.
    public init() {}
}
