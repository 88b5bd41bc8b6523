/// An open-addressing hash map from a pair of token ids to the merge that joins them: its rank
/// (lower merges first) and the id of the joined token.
///
/// Lookups happen a few times per input byte, so this avoids `Dictionary`'s SipHash and
/// boxing: keys and values are packed `UInt64`s in two flat arrays.
struct MergeTable: Sendable {
    /// Packed (left << 32 | right), or `emptyKey`; (capacity,)
    private var keys: [UInt64]
    /// Packed (rank << 32 | merged id); (capacity,)
    private var values: [UInt64]
    private let mask: Int
    private(set) var count = 0

    private static let emptyKey = UInt64.max

    /// - Parameter minimumCapacity: The number of merges to be inserted.
    init(minimumCapacity: Int) {
        var capacity = 16
        while capacity < minimumCapacity * 2 { capacity <<= 1 }
        keys = [UInt64](repeating: Self.emptyKey, count: capacity)
        values = [UInt64](repeating: 0, count: capacity)
        mask = capacity - 1
    }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always)
    private func slot(for key: UInt64) -> Int {
        // Fibonacci hashing spreads the sequential ids over the table.
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 20) & mask
    }

    /// Inserts a merge unless the pair already has one (the first, highest-priority merge wins).
    /// - Returns: Whether the merge was inserted.
    @discardableResult
    mutating func insert(left: Int32, right: Int32, rank: UInt32, merged: Int32) -> Bool {
        let key = Self.key(left, right)
        var i = slot(for: key)
        while keys[i] != Self.emptyKey {
            if keys[i] == key { return false }
            i = (i + 1) & mask
        }
        precondition(count * 2 < keys.count, "merge table sized for fewer merges than inserted")
        keys[i] = key
        values[i] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: merged))
        count += 1
        return true
    }

    /// The merge for (left, right) as (rank, merged id), or rank `UInt32.max` when there is none.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> (rank: UInt32, merged: Int32) {
        let key = Self.key(left, right)
        var i = slot(for: key)
        while true {
            let found = keys[i]
            // Empty is tested first: a pair of two negative placeholder ids packs to `emptyKey`.
            if found == Self.emptyKey { return (UInt32.max, -1) }
            if found == key {
                let value = values[i]
                return (UInt32(truncatingIfNeeded: value >> 32), Int32(truncatingIfNeeded: value))
            }
            i = (i + 1) & mask
        }
    }
}
