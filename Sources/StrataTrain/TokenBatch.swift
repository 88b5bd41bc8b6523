/// One tokenized training example: the tokens and which of them are trained on.
public struct TrainingExample: Sendable, Equatable {
    /// (n,) token ids.
    public var tokens: [Int32]
    /// (n,) true where token t is a target, predicted from position t − 1 (response tokens and
    /// the end-of-turn token). Entry 0 is never a target (nothing precedes it).
    public var targetMask: [Bool]

    /// An example; the two arrays must have equal length.
    public init(tokens: [Int32], targetMask: [Bool]) {
        precondition(tokens.count == targetMask.count, "one mask entry per token")
        self.tokens = tokens
        self.targetMask = targetMask
    }

    /// Positions that predict a target.
    public var targetCount: Int { targetMask.dropFirst().reduce(0) { $0 + ($1 ? 1 : 0) } }
}

/// Several sequences packed into one micro-batch: their tokens concatenated, positions restarting
/// at 0 in each, and attention confined to each sequence (block-diagonal causal mask), so packing
/// wastes no compute on padding and changes no result.
public struct TokenBatch: Sendable, Equatable {
    /// (T,) token ids of every sequence, concatenated.
    public private(set) var tokens: [Int32] = []
    /// (T,) position of each token within its sequence.
    public private(set) var positions: [Int32] = []
    /// Row ranges of the sequences; they partition 0..<T.
    public private(set) var sequences: [Range<Int>] = []
    /// (M,) rows whose next token is a target, ascending.
    public private(set) var targetRows: [Int32] = []
    /// (M,) the token each of those rows must predict.
    public private(set) var targetTokens: [Int32] = []

    /// An empty batch.
    public init() {}

    /// A batch of the given examples, in order.
    public init(_ examples: [TrainingExample]) {
        for e in examples { append(e) }
    }

    /// Rows T.
    public var count: Int { tokens.count }
    /// Target rows M.
    public var targetCount: Int { targetRows.count }

    /// Appends one example as a new sequence.
    public mutating func append(_ example: TrainingExample) {
        let start = tokens.count
        let n = example.tokens.count
        guard n > 0 else { return }
        tokens += example.tokens
        positions += (0..<n).map { Int32($0) }
        sequences.append(start..<start + n)
        for t in 1..<max(n, 1) where example.targetMask[t] {
            targetRows.append(Int32(start + t - 1))
            targetTokens.append(example.tokens[t])
        }
    }

    /// Checks every id against the vocabulary.
    /// - Throws: ``TrainError/invalidBatch(_:)`` naming the first bad token.
    public func validate(vocabularySize: Int) throws(TrainError) {
        if let bad = tokens.firstIndex(where: { $0 < 0 || Int($0) >= vocabularySize }) {
            throw .invalidBatch("token \(tokens[bad]) at row \(bad) is outside the vocabulary of \(vocabularySize)")
        }
        guard sequences.reduce(0, { $0 + $1.count }) == tokens.count else {
            throw .invalidBatch("sequences do not cover the batch")
        }
    }
}
