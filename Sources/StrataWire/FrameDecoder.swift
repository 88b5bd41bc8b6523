import NIOCore

/// A `ByteToMessageDecoder` over `Frame.parse`: one `Frame` per complete frame.
///
/// A parse error is thrown out of the decoder; `ByteToMessageHandler` then reports it through `errorCaught` and
/// stops decoding. The connection handler answers with `Goodbye(.protocolError)` and closes.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Frame

    public let limits: WireLimits

    /// - Parameter limits: caps on payloads and counts.
    public init(limits: WireLimits = .default) {
        self.limits = limits
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try Frame.parse(&buffer, limits: limits) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        // Complete frames still buffered are delivered. A partial frame at end of stream means the peer closed
        // mid-frame: it is consumed and reported, so the connection's error handler can log it.
        let state = try decode(context: context, buffer: &buffer)
        if state == .needMoreData, seenEOF, buffer.readableBytes > 0 {
            let leftover = buffer
            buffer.moveReaderIndex(to: buffer.writerIndex)
            throw ByteToMessageDecoderError.leftoverDataWhenDone(leftover)
        }
        return state
    }
}

/// A `MessageToByteEncoder` over `Frame.encode(into:limits:)`.
public struct FrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = Frame

    public let limits: WireLimits

    /// - Parameter limits: the caps the receiver applies; a frame beyond them fails the write.
    public init(limits: WireLimits = .default) {
        self.limits = limits
    }

    public func encode(data: Frame, out: inout ByteBuffer) throws {
        try data.encode(into: &out, limits: limits)
    }
}
