import NIOCore

/// Writes one payload field by field, refusing values the reader would refuse.
struct PayloadWriter {
    var buffer: ByteBuffer
    let kind: MessageKind
    let limits: WireLimits

    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        buffer.writeInteger(value, endianness: .big)
    }

    mutating func bool(_ value: Bool) {
        buffer.writeInteger(value ? 1 : 0, as: UInt8.self)
    }

    mutating func bytes32(_ value: Bytes32) {
        buffer.writeBytes(value.bytes)
    }

    mutating func string(_ value: String, field: String, maxBytes: Int) throws(WireError) {
        let length = value.utf8.count
        guard length <= maxBytes else {
            throw .countTooLarge(kind: kind, field: field, count: UInt64(length), limit: UInt64(maxBytes))
        }
        buffer.writeInteger(UInt16(length), endianness: .big)
        buffer.writeString(value)
    }

    /// Writes a u32 count after checking it against `limit`.
    mutating func count(_ value: Int, field: String, limit: UInt32) throws(WireError) {
        guard value >= 0, UInt64(value) <= UInt64(limit) else {
            throw .countTooLarge(kind: kind, field: field, count: UInt64(max(value, 0)), limit: UInt64(limit))
        }
        buffer.writeInteger(UInt32(value), endianness: .big)
    }

    mutating func bytes(_ value: ByteBuffer) {
        var copy = value
        buffer.writeBuffer(&copy)
    }
}
