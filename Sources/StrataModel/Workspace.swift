/// Activation buffers for one forward call over up to `rows` rows, reused between calls.
///
/// Owned by one runner; buffers grow only when a call needs more rows than before.
public final class Workspace {
    private(set) var rows = 0
    private let config: LlamaConfig
    /// gathered, norm, projection: (rows, d); query, attention: (rows, qdim);
    /// keys, values: (rows, kvdim); gate, up: (rows, ff)
    private(set) var gathered: UnsafeMutablePointer<Float>
    private(set) var norm: UnsafeMutablePointer<Float>
    private(set) var query: UnsafeMutablePointer<Float>
    private(set) var keys: UnsafeMutablePointer<Float>
    private(set) var values: UnsafeMutablePointer<Float>
    private(set) var attention: UnsafeMutablePointer<Float>
    private(set) var projection: UnsafeMutablePointer<Float>
    private(set) var gate: UnsafeMutablePointer<Float>
    private(set) var up: UnsafeMutablePointer<Float>

    public init(config: LlamaConfig) {
        self.config = config
        gathered = .allocate(capacity: 1)
        norm = .allocate(capacity: 1)
        query = .allocate(capacity: 1)
        keys = .allocate(capacity: 1)
        values = .allocate(capacity: 1)
        attention = .allocate(capacity: 1)
        projection = .allocate(capacity: 1)
        gate = .allocate(capacity: 1)
        up = .allocate(capacity: 1)
    }

    deinit {
        for p in [gathered, norm, query, keys, values, attention, projection, gate, up] { p.deallocate() }
    }

    /// Ensures room for `count` rows; contents are not preserved when it grows.
    func prepare(rows count: Int) {
        guard count > rows else { return }
        let c = config
        for p in [gathered, norm, query, keys, values, attention, projection, gate, up] { p.deallocate() }
        gathered = .allocate(capacity: count * c.hiddenSize)
        norm = .allocate(capacity: count * c.hiddenSize)
        query = .allocate(capacity: count * c.queryDimension)
        keys = .allocate(capacity: count * c.kvDimension)
        values = .allocate(capacity: count * c.kvDimension)
        attention = .allocate(capacity: count * c.queryDimension)
        projection = .allocate(capacity: count * c.hiddenSize)
        gate = .allocate(capacity: count * c.intermediateSize)
        up = .allocate(capacity: count * c.intermediateSize)
        rows = count
    }
}
