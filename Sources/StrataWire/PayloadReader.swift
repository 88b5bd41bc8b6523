import NIOCore

/// Reads one payload field by field; every read is bounds-checked and names its field in the error.
struct PayloadReader {
    private(set) var buffer: ByteBuffer
    let kind: MessageKind
    let limits: WireLimits

    init(_ buffer: ByteBuffer, kind: MessageKind, limits: WireLimits) {
        self.buffer = buffer
        self.kind = kind
        self.limits = limits
    }

    var remaining: Int { buffer.readableBytes }

    mutating func integer<T: FixedWidthInteger>(_ field: String, as type: T.Type = T.self) throws(WireError) -> T {
        guard let value = buffer.readInteger(endianness: .big, as: T.self) else {
            throw .truncatedPayload(kind: kind, field: field)
        }
        return value
    }

    /// A u8 that must be 0 or 1.
    mutating func bool(_ field: String) throws(WireError) -> Bool {
        let tag = try integer(field, as: UInt8.self)
        guard tag <= 1 else { throw .invalidValue(kind: kind, field: field, value: UInt64(tag)) }
        return tag == 1
    }

    /// The presence tag of an `opt<T>`: 0 absent, 1 present.
    mutating func isPresent(_ field: String) throws(WireError) -> Bool {
        try bool(field)
    }

    mutating func bytes32(_ field: String) throws(WireError) -> Bytes32 {
        guard let bytes = buffer.readBytes(length: 32) else { throw .truncatedPayload(kind: kind, field: field) }
        return Bytes32(unchecked: bytes)
    }

    /// `string<max>`: u16 byte length, then that many bytes of UTF-8.
    mutating func string(_ field: String, maxBytes: Int) throws(WireError) -> String {
        let length = try integer(field, as: UInt16.self)
        guard Int(length) <= maxBytes else {
            throw .countTooLarge(kind: kind, field: field, count: UInt64(length), limit: UInt64(maxBytes))
        }
        guard let slice = buffer.readSlice(length: Int(length)) else {
            throw .truncatedPayload(kind: kind, field: field)
        }
        guard let string = String(validating: slice.readableBytesView, as: UTF8.self) else {
            throw .invalidUTF8(kind: kind, field: field)
        }
        return string
    }

    /// A u32 element count, bounded by `limit` and by the bytes left (`elementSize` each) before anything is
    /// allocated.
    mutating func count(_ field: String, limit: UInt32, elementSize: Int) throws(WireError) -> Int {
        let count = try integer(field, as: UInt32.self)
        let fits = UInt64(remaining / elementSize)
        let bound = min(UInt64(limit), fits)
        guard UInt64(count) <= bound else {
            throw .countTooLarge(kind: kind, field: field, count: UInt64(count), limit: bound)
        }
        return Int(count)
    }

    mutating func slice(_ field: String, length: Int) throws(WireError) -> ByteBuffer {
        guard let slice = buffer.readSlice(length: length) else { throw .truncatedPayload(kind: kind, field: field) }
        return slice
    }

    /// Ends the payload: any byte left over is an error.
    func finish() throws(WireError) {
        guard remaining == 0 else { throw .trailingBytes(kind: kind, count: remaining) }
    }
}
