/// Activation buffers for one forward call over `rows` positions, reused between calls.
///
/// Owned by one sequence runner; buffers grow only when a call needs more rows than before.
public final class Workspace {
    private(set) var rows = 0
    private let config: LlamaConfig
    /// hidden: (rows, d); norm: (rows, d); q: (rows, qdim); attention: (rows, qdim);
    /// projection: (rows, d); gate, up: (rows, ff); logits: (rows, vocab)
    private(set) var hidden: UnsafeMutablePointer<Float>
    private(set) var norm: UnsafeMutablePointer<Float>
    private(set) var query: UnsafeMutablePointer<Float>
    private(set) var attention: UnsafeMutablePointer<Float>
    private(set) var projection: UnsafeMutablePointer<Float>
    private(set) var gate: UnsafeMutablePointer<Float>
    private(set) var up: UnsafeMutablePointer<Float>

    public init(config: LlamaConfig) {
        self.config = config
        hidden = .allocate(capacity: 1)
        norm = .allocate(capacity: 1)
        query = .allocate(capacity: 1)
        attention = .allocate(capacity: 1)
        projection = .allocate(capacity: 1)
        gate = .allocate(capacity: 1)
        up = .allocate(capacity: 1)
    }

    deinit {
        for p in [hidden, norm, query, attention, projection, gate, up] { p.deallocate() }
    }

    /// Ensures room for `count` rows.
    func prepare(rows count: Int) {
        guard count > rows else { return }
        let c = config
        for p in [hidden, norm, query, attention, projection, gate, up] { p.deallocate() }
        hidden = .allocate(capacity: count * c.hiddenSize)
        norm = .allocate(capacity: count * c.hiddenSize)
        query = .allocate(capacity: count * c.queryDimension)
        attention = .allocate(capacity: count * c.queryDimension)
        projection = .allocate(capacity: count * c.hiddenSize)
        gate = .allocate(capacity: count * c.intermediateSize)
        up = .allocate(capacity: count * c.intermediateSize)
        rows = count
    }
}
