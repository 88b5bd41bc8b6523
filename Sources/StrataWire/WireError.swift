/// Everything that can be wrong with bytes on the wire, or with a message that is about to be encoded.
///
/// Parsing checks a frame in a fixed order (see `proto/wire.md`, "Validation order"), so a given input always
/// produces the same error. Field names are the ones `proto/wire.md` uses.
public enum WireError: Error, Equatable, Sendable {
    /// The first two bytes are not `WireFormat.magic`.
    case badMagic(UInt16)
    /// The header's version is not one this build speaks.
    case unsupportedVersion(UInt8)
    /// The header's kind byte names no message.
    case unknownKind(UInt8)
    /// The header sets flag bits that the kind does not define.
    case unknownFlags(kind: MessageKind, flags: UInt16)
    /// The header's reserved field is not zero.
    case reservedNotZero(UInt16)
    /// The declared payload length exceeds the kind's cap; nothing of the payload was buffered.
    case payloadTooLarge(kind: MessageKind, length: UInt64, limit: UInt64)
    /// The payload ended inside `field`.
    case truncatedPayload(kind: MessageKind, field: String)
    /// A count or length exceeds its limit, or the bytes left in the payload (`limit` is the smaller of the two).
    case countTooLarge(kind: MessageKind, field: String, count: UInt64, limit: UInt64)
    /// A tensor's dtype byte names no element type.
    case invalidDType(UInt8)
    /// A tensor's byte count disagrees with rows × columns × element size.
    case tensorSizeMismatch(kind: MessageKind, expected: UInt64, actual: UInt64)
    /// A tensor's row count disagrees with the number of row descriptors.
    case rowCountMismatch(kind: MessageKind, rows: UInt64, tensorRows: UInt64)
    /// A string field is not valid UTF-8.
    case invalidUTF8(kind: MessageKind, field: String)
    /// A field holds a value outside its domain (an enum byte, an optional tag, an inverted range, …).
    case invalidValue(kind: MessageKind, field: String, value: UInt64)
    /// A weight chunk's CRC32C does not match its bytes.
    case checksumMismatch(kind: MessageKind, expected: UInt32, actual: UInt32)
    /// The payload holds bytes after its last field.
    case trailingBytes(kind: MessageKind, count: Int)
}
