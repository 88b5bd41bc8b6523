import StrataKernels

/// Keys and values of one sequence for a range of layers: per layer (capacity, kvHeads·hd) f32
/// or f16 (`type`), position-major, growing by doubling up to the context limit.
///
/// Each position records its depth: the layers `layers.lowerBound ..< depth` hold its K/V. A
/// position's layers always fill in order, so a depth says everything. Positions that exited
/// early have smaller depths until a deeper step backfills them.
///
/// Owned by one sequence and used by one thread at a time (not `Sendable`).
public final class KVCache {
    public let layers: Range<Int>
    public let kvDimension: Int
    public let limit: Int
    public let type: KVCacheType
    public private(set) var capacity: Int
    /// Per position: layers `layers.lowerBound ..< depth[p]` hold its keys and values.
    public private(set) var depths: [Int] = []
    /// Positions not yet filled through the last layer of the range: the only ones a step's
    /// completeness check has to look at (at full depth, just the step's own new positions).
    public private(set) var incomplete = Set<Int>()
    private var keys: [UnsafeMutableRawPointer]
    private var values: [UnsafeMutableRawPointer]

    /// - Parameters:
    ///   - layers: the blocks this cache serves (a whole model, or one pipeline stage).
    ///   - limit: the most positions it may hold (the model's or the user's context limit).
    public init(layers: Range<Int>, kvDimension: Int, limit: Int, initialCapacity: Int = 256, type: KVCacheType = .f32) {
        self.layers = layers
        self.kvDimension = kvDimension
        self.limit = limit
        self.type = type
        let start = min(max(initialCapacity, 1), limit)
        capacity = start
        let bytes = start * kvDimension * type.bytes
        keys = layers.map { _ in .allocate(byteCount: bytes, alignment: 64) }
        values = layers.map { _ in .allocate(byteCount: bytes, alignment: 64) }
    }

    deinit {
        for p in keys { p.deallocate() }
        for p in values { p.deallocate() }
    }

    /// Positions the sequence has reached (at any depth).
    public var length: Int { depths.count }

    /// Layers filled for `position` (`layers.lowerBound` when none, or when not yet seen).
    public func depth(of position: Int) -> Int {
        position < depths.count ? depths[position] : layers.lowerBound
    }

    /// Whether `layer` holds K/V for `position`.
    public func holds(layer: Int, position: Int) -> Bool { depth(of: position) > layer }

    /// Makes room for positions `0..<positions`, or throws when that passes the limit.
    public func reserve(_ positions: Int) throws(ModelError) {
        guard positions <= limit else { throw .contextOverflow(needed: positions, limit: limit) }
        if positions > depths.count {
            if !layers.isEmpty { incomplete.formUnion(depths.count..<positions) }
            depths.append(contentsOf: repeatElement(layers.lowerBound, count: positions - depths.count))
        }
        guard positions > capacity else { return }
        let newCapacity = min(max(positions, capacity * 2), limit)
        for i in keys.indices {
            keys[i] = grow(keys[i], to: newCapacity)
            values[i] = grow(values[i], to: newCapacity)
        }
        capacity = newCapacity
    }

    private func grow(_ old: UnsafeMutableRawPointer, to newCapacity: Int) -> UnsafeMutableRawPointer {
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: newCapacity * kvDimension * type.bytes, alignment: 64)
        fresh.copyMemory(from: old, byteCount: capacity * kvDimension * type.bytes)
        old.deallocate()
        return fresh
    }

    /// Key rows of `layer`: (capacity, kvDimension) of `type`.
    public func keys(layer: Int) -> UnsafeMutableRawPointer { keys[layer - layers.lowerBound] }
    /// Value rows of `layer`: (capacity, kvDimension) of `type`.
    public func values(layer: Int) -> UnsafeMutableRawPointer { values[layer - layers.lowerBound] }

    /// Writes one position's keys and values (kvDimension floats each) for `layer`.
    func store(layer: Int, position: Int, keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>) {
        let offset = position * kvDimension * type.bytes
        type.store(k, count: kvDimension, to: keys(layer: layer) + offset)
        type.store(v, count: kvDimension, to: values(layer: layer) + offset)
    }

    /// Records that `layer` now holds `position` (its layers fill in order).
    func markFilled(layer: Int, position: Int) {
        assert(depths[position] == layer, "layers of a position fill in order")
        depths[position] = layer + 1
        if layer + 1 == layers.upperBound { incomplete.remove(position) }
    }

    /// Forgets positions from `count` on (e.g. to rerun from a shared prefix).
    public func truncate(to count: Int) {
        if count < depths.count {
            depths.removeLast(depths.count - count)
            incomplete = incomplete.filter { $0 < count }
        }
    }

    /// Bytes held.
    public var byteCount: Int { 2 * layers.count * capacity * kvDimension * type.bytes }
}
