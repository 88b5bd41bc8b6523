/// A bounds-checked little-endian reader over raw bytes. Every read checks the remaining length
/// first and throws `.truncated` rather than reading past the end.
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int

    init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }

    mutating func skip(_ n: Int, what: String) throws(GGUFError) {
        guard n >= 0, n <= remaining else { throw .truncated(what: what, offset: UInt64(offset)) }
        offset += n
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, what: String) throws(GGUFError) -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else { throw .truncated(what: what, offset: UInt64(offset)) }
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += size
        return T(littleEndian: value)
    }

    mutating func readFloat(what: String) throws(GGUFError) -> Float {
        Float(bitPattern: try read(UInt32.self, what: what))
    }

    mutating func readDouble(what: String) throws(GGUFError) -> Double {
        Double(bitPattern: try read(UInt64.self, what: what))
    }

    /// A GGUF string: u64 length, then that many UTF-8 bytes (not NUL-terminated).
    mutating func readString(what: String, limit: Int) throws(GGUFError) -> String {
        let length = try read(UInt64.self, what: what)
        guard length <= UInt64(remaining) else {
            throw .truncated(what: what, offset: UInt64(offset))
        }
        guard length <= UInt64(limit) else {
            throw .countTooLarge(what: "\(what) length", count: length, limit: UInt64(limit))
        }
        let n = Int(length)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
        offset += n
        return String(decoding: slice, as: UTF8.self)
    }
}
