/// Where a data loader stands: the epoch, and how many examples of that epoch's order it has
/// handed out. Together with the seed it fixes every later batch, so a checkpoint that stores it
/// resumes the exact data order.
public struct DataCursor: Sendable, Equatable, Codable {
    /// Completed passes over the data.
    public var epoch: Int
    /// Examples of this epoch's order already handed out.
    public var position: Int

    /// A cursor; the default is the very beginning.
    public init(epoch: Int = 0, position: Int = 0) {
        self.epoch = epoch
        self.position = position
    }
}

/// Hands out micro-batches of examples in a seeded order that is reshuffled every epoch.
///
/// A micro-batch takes the next examples in order while their tokens fit `tokenBudget` (always
/// at least one), packed as separate sequences of one `TokenBatch`. The order of epoch e is a
/// Fisher–Yates shuffle driven by SplitMix64 seeded from (seed, e), so it depends on nothing but
/// those two numbers.
public struct DataLoader: Sendable {
    /// The data, in file order.
    public let examples: [TrainingExample]
    /// The seed of every epoch's order.
    public let seed: UInt64
    /// Most tokens per micro-batch (unless one example is longer).
    public let tokenBudget: Int
    /// Whether each epoch is shuffled (otherwise file order).
    public let shuffle: Bool
    /// The position of the next example.
    public private(set) var cursor: DataCursor
    /// A hash of every example's tokens and mask, to check a resumed run reads the same data.
    public let fingerprint: UInt64
    /// The order of `cursor.epoch`.
    private var order: [Int]

    /// - Throws: ``TrainError/invalidConfig(_:)`` for no examples, a budget below 1 or a cursor
    ///   outside the data.
    public init(
        examples: [TrainingExample], tokenBudget: Int, seed: UInt64, shuffle: Bool = true,
        cursor: DataCursor = DataCursor()
    ) throws(TrainError) {
        guard !examples.isEmpty else { throw .invalidConfig("no training examples") }
        guard tokenBudget >= 1 else { throw .invalidConfig("micro-batch token budget \(tokenBudget) is below 1") }
        guard cursor.epoch >= 0, cursor.position >= 0, cursor.position <= examples.count else {
            throw .invalidConfig("data cursor \(cursor) is outside \(examples.count) examples")
        }
        self.examples = examples
        self.tokenBudget = tokenBudget
        self.seed = seed
        self.shuffle = shuffle
        self.cursor = cursor
        fingerprint = Self.fingerprint(examples)
        order = Self.order(count: examples.count, seed: seed, epoch: cursor.epoch, shuffle: shuffle)
    }

    /// The next micro-batch; crosses into the next epoch (reshuffled) when this one runs out.
    /// Holds at most as many examples as the data set has.
    public mutating func next() -> TokenBatch {
        var batch = TokenBatch()
        var taken = 0
        // At most one epoch's worth of examples, however large the budget.
        while taken < examples.count {
            if cursor.position == examples.count {
                cursor = DataCursor(epoch: cursor.epoch + 1, position: 0)
                order = Self.order(count: examples.count, seed: seed, epoch: cursor.epoch, shuffle: shuffle)
            }
            let example = examples[order[cursor.position]]
            if batch.count > 0, batch.count + example.tokens.count > tokenBudget { break }
            batch.append(example)
            cursor.position += 1
            taken += 1
        }
        return batch
    }

    /// Epochs completed, as a fraction.
    public var epochProgress: Double {
        Double(cursor.epoch) + Double(cursor.position) / Double(examples.count)
    }

    /// The example order of one epoch: a permutation of 0..<count (the identity without shuffle).
    public static func order(count: Int, seed: UInt64, epoch: Int, shuffle: Bool = true) -> [Int] {
        var order = Array(0..<count)
        guard shuffle, count > 1 else { return order }
        var rng = SplitMix(seed: seed ^ (UInt64(truncatingIfNeeded: epoch) &* 0xD1B5_4A32_D192_ED03))
        for i in stride(from: count - 1, to: 0, by: -1) {
            order.swapAt(i, rng.next(below: i + 1))
        }
        return order
    }

    /// FNV-1a over the examples' lengths, tokens and masks.
    static func fingerprint(_ examples: [TrainingExample]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ v: UInt64) {
            h = (h ^ v) &* 0x0000_0100_0000_01B3
        }
        for e in examples {
            mix(UInt64(e.tokens.count))
            for (t, m) in zip(e.tokens, e.targetMask) { mix(UInt64(UInt32(bitPattern: t)) << 1 | (m ? 1 : 0)) }
        }
        return h
    }
}
