/// An open-addressing hash map from byte strings to token ids, looked up by a slice of a
/// buffer so that no `String` or `Array` is built per lookup.
struct ByteStringTable: Sendable {
    /// All keys back to back; (total key bytes,)
    private var storage: [UInt8] = []
    /// Key i is storage[starts[i]..<starts[i + 1]]; (key count + 1,)
    private var starts: [Int] = [0]
    /// Id stored for key i; (key count,)
    private var ids: [Int32] = []
    /// Key index + 1 per slot, 0 when empty; (capacity,)
    private var slots: [Int32]
    private let mask: Int

    /// - Parameter minimumCapacity: The number of keys to be inserted.
    init(minimumCapacity: Int) {
        var capacity = 16
        while capacity < minimumCapacity * 2 { capacity <<= 1 }
        slots = [Int32](repeating: 0, count: capacity)
        mask = capacity - 1
    }

    @inline(__always)
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a
        for byte in bytes {
            h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    private func keyEquals(_ index: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = starts[index]
        guard starts[index + 1] - start == bytes.count else { return false }
        for k in 0..<bytes.count where storage[start + k] != bytes[k] { return false }
        return true
    }

    /// Maps `key` to `id`, replacing an earlier id for the same key (later tokens win, as in
    /// llama.cpp's text-to-id map).
    mutating func insert(_ key: [UInt8], id: Int32) {
        key.withUnsafeBufferPointer { bytes in
            var i = Self.hash(bytes) & mask
            while slots[i] != 0 {
                let index = Int(slots[i]) - 1
                if keyEquals(index, bytes) {
                    ids[index] = id
                    return
                }
                i = (i + 1) & mask
            }
            precondition(ids.count * 2 < slots.count, "byte-string table sized for fewer keys")
            storage.append(contentsOf: bytes)
            starts.append(storage.count)
            ids.append(id)
            slots[i] = Int32(ids.count)
        }
    }

    /// The id for the byte string `bytes`, or nil.
    func lookup(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32? {
        var i = Self.hash(bytes) & mask
        while slots[i] != 0 {
            let index = Int(slots[i]) - 1
            if keyEquals(index, bytes) { return ids[index] }
            i = (i + 1) & mask
        }
        return nil
    }

    /// The id for `bytes`, or nil.
    func lookup(_ bytes: [UInt8]) -> Int32? {
        bytes.withUnsafeBufferPointer { lookup($0) }
    }
}
