/// Keys and values of one sequence for a range of layers: per layer (capacity, kvHeads·hd) f32,
/// position-major, growing by doubling up to the context limit.
///
/// Owned by one sequence and used by one thread at a time (not `Sendable`).
public final class KVCache {
    public let layers: Range<Int>
    public let kvDimension: Int
    public let limit: Int
    public private(set) var capacity: Int
    /// Positions whose K/V are present, per layer in `layers` (index 0 is `layers.lowerBound`).
    public private(set) var filled: [Int]
    private var keys: [UnsafeMutablePointer<Float>]
    private var values: [UnsafeMutablePointer<Float>]

    /// - Parameters:
    ///   - layers: the blocks this cache serves (a whole model, or one pipeline stage).
    ///   - limit: the most positions it may hold (the model's or the user's context limit).
    public init(layers: Range<Int>, kvDimension: Int, limit: Int, initialCapacity: Int = 256) {
        self.layers = layers
        self.kvDimension = kvDimension
        self.limit = limit
        capacity = min(max(initialCapacity, 1), limit)
        filled = Array(repeating: 0, count: layers.count)
        keys = layers.map { _ in .allocate(capacity: min(max(initialCapacity, 1), limit) * kvDimension) }
        values = layers.map { _ in .allocate(capacity: min(max(initialCapacity, 1), limit) * kvDimension) }
    }

    deinit {
        for p in keys { p.deallocate() }
        for p in values { p.deallocate() }
    }

    /// Positions the sequence has reached: the most any layer holds. Layers past a shallow exit
    /// hold fewer until a deeper pass backfills them.
    public var length: Int { filled.max() ?? 0 }

    /// Positions present in `layer`.
    public func filled(layer: Int) -> Int { filled[layer - layers.lowerBound] }

    /// Makes room for `positions` positions, or throws when that passes the limit.
    public func reserve(_ positions: Int) throws(ModelError) {
        guard positions <= limit else { throw .contextOverflow(needed: positions, limit: limit) }
        guard positions > capacity else { return }
        let newCapacity = min(max(positions, capacity * 2), limit)
        for i in keys.indices {
            keys[i] = grow(keys[i], filled: filled[i], to: newCapacity)
            values[i] = grow(values[i], filled: filled[i], to: newCapacity)
        }
        capacity = newCapacity
    }

    private func grow(_ old: UnsafeMutablePointer<Float>, filled: Int, to newCapacity: Int) -> UnsafeMutablePointer<Float> {
        let fresh = UnsafeMutablePointer<Float>.allocate(capacity: newCapacity * kvDimension)
        fresh.update(from: old, count: filled * kvDimension)
        old.deallocate()
        return fresh
    }

    /// Key rows of `layer`: (capacity, kvDimension).
    public func keys(layer: Int) -> UnsafeMutablePointer<Float> { keys[layer - layers.lowerBound] }
    /// Value rows of `layer`: (capacity, kvDimension).
    public func values(layer: Int) -> UnsafeMutablePointer<Float> { values[layer - layers.lowerBound] }

    /// Records that `layer` now holds positions `0..<count`.
    public func setFilled(layer: Int, count: Int) {
        filled[layer - layers.lowerBound] = count
    }

    /// Forgets positions from `count` on in every layer (e.g. to rerun from a shared prefix).
    public func truncate(to count: Int) {
        for i in filled.indices { filled[i] = min(filled[i], count) }
    }

    /// Bytes held.
    public var byteCount: Int { 2 * layers.count * capacity * kvDimension * MemoryLayout<Float>.stride }
}
