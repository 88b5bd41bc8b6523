import NIOCore

/// One message with its request id: the unit `parse` produces and the encoder consumes.
///
/// A request (`AssignLayers`, `LoadFromLocalFile`, the last `WeightChunk`, `Forward`) carries an id its sender
/// chose; the answer (`LayersReady`, `WeightsLoaded`, `ForwardResult`, `Error`) carries the same id. A `Forward`
/// keeps its id down the chain. Frames that answer nothing use 0.
public struct Frame: Equatable, Sendable {
    public var requestID: UInt64
    public var message: Message

    /// - Parameters:
    ///   - message: the message.
    ///   - requestID: the request id (0 when the frame neither asks nor answers).
    public init(_ message: Message, requestID: UInt64 = 0) {
        self.message = message
        self.requestID = requestID
    }
}

extension Frame {
    /// Parses one frame from the front of `buffer`.
    ///
    /// Header fields are checked as soon as their bytes are present, in the order magic, version, kind, flags,
    /// reserved, payload length against the kind's cap; so a bad header is refused before its payload arrives. The
    /// payload is parsed only once complete.
    /// - Parameters:
    ///   - buffer: received bytes. On success the frame is consumed; on nil or on error it is left untouched, the
    ///     reader index at the start of the frame.
    ///   - limits: caps on payloads and counts.
    /// - Returns: the frame, or nil when more bytes are needed.
    /// - Throws: `WireError` naming the first problem found.
    public static func parse(_ buffer: inout ByteBuffer, limits: WireLimits = .default) throws(WireError) -> Frame? {
        let start = buffer.readerIndex
        guard let magic = buffer.getInteger(at: start, as: UInt16.self) else { return nil }
        guard magic == WireFormat.magic else { throw .badMagic(magic) }
        guard let version = buffer.getInteger(at: start + 2, as: UInt8.self) else { return nil }
        guard WireFormat.supportedVersions.contains(version) else { throw .unsupportedVersion(version) }
        guard let rawKind = buffer.getInteger(at: start + 3, as: UInt8.self) else { return nil }
        guard let kind = MessageKind(rawValue: rawKind) else { throw .unknownKind(rawKind) }
        guard let rawFlags = buffer.getInteger(at: start + 4, as: UInt16.self) else { return nil }
        let flags = FrameFlags(rawValue: rawFlags)
        guard kind.definedFlags.isSuperset(of: flags) else { throw .unknownFlags(kind: kind, flags: rawFlags) }
        guard let reserved = buffer.getInteger(at: start + 6, as: UInt16.self) else { return nil }
        guard reserved == 0 else { throw .reservedNotZero(reserved) }
        guard let requestID = buffer.getInteger(at: start + 8, as: UInt64.self),
            let length = buffer.getInteger(at: start + 16, as: UInt32.self)
        else { return nil }
        let cap = limits.payloadCap(for: kind)
        guard UInt64(length) <= cap else { throw .payloadTooLarge(kind: kind, length: UInt64(length), limit: cap) }

        guard let payload = buffer.getSlice(at: start + WireFormat.headerSize, length: Int(length)) else {
            return nil
        }
        var reader = PayloadReader(payload, kind: kind, limits: limits)
        let message = try Message.parse(kind: kind, flags: flags, from: &reader)
        try reader.finish()
        buffer.moveReaderIndex(forwardBy: WireFormat.headerSize + Int(length))
        return Frame(message, requestID: requestID)
    }

    /// Appends this frame to `buffer`.
    /// - Parameters:
    ///   - buffer: where the frame is written; unchanged when encoding fails.
    ///   - limits: the caps the receiver will apply.
    /// - Throws: `WireError` when a field is out of its domain or the payload exceeds its cap.
    public func encode(into buffer: inout ByteBuffer, limits: WireLimits = .default) throws(WireError) {
        let kind = message.kind
        let start = buffer.writerIndex
        buffer.writeInteger(WireFormat.magic)
        buffer.writeInteger(WireFormat.version)
        buffer.writeInteger(kind.rawValue)
        buffer.writeInteger(message.flags.rawValue)
        buffer.writeInteger(UInt16(0))  // reserved
        buffer.writeInteger(requestID)
        buffer.writeInteger(UInt32(0))  // payload length, patched below

        // Move the buffer into the writer (leaving an empty one behind) so writes do not trigger a copy-on-write.
        var writer = PayloadWriter(buffer: buffer, kind: kind, limits: limits)
        buffer = ByteBuffer()
        defer { buffer = writer.buffer }
        do {
            try message.encodePayload(to: &writer)
        } catch {
            writer.buffer.moveWriterIndex(to: start)
            throw error
        }
        let length = writer.buffer.writerIndex - start - WireFormat.headerSize
        let cap = limits.payloadCap(for: kind)
        guard UInt64(length) <= cap else {
            writer.buffer.moveWriterIndex(to: start)
            throw .payloadTooLarge(kind: kind, length: UInt64(length), limit: cap)
        }
        writer.buffer.setInteger(UInt32(length), at: start + 16)
    }

    /// This frame as a new buffer.
    /// - Parameters:
    ///   - allocator: allocates the buffer.
    ///   - limits: the caps the receiver will apply.
    /// - Returns: the encoded frame.
    /// - Throws: `WireError` as `encode(into:limits:)` does.
    public func encoded(
        allocator: ByteBufferAllocator = ByteBufferAllocator(), limits: WireLimits = .default
    ) throws(WireError) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: WireFormat.headerSize + 64)
        try encode(into: &buffer, limits: limits)
        return buffer
    }
}
