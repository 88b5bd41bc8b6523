import NIOCore
import StrataWire

extension ChannelPipeline.SynchronousOperations {
    /// Adds the frame codec: bytes ⇄ `Frame`, with the given limits.
    func addFrameCodec(limits: WireLimits) throws {
        try addHandler(ByteToMessageHandler(FrameDecoder(limits: limits)))
        try addHandler(MessageToByteHandler(FrameEncoder(limits: limits)))
    }
}

extension Channel {
    /// Writes and flushes one frame; failures surface through the channel's close.
    func send(_ message: Message, requestID: UInt64 = 0) {
        writeAndFlush(Frame(message, requestID: requestID), promise: nil)
    }

    /// Says why, then closes.
    func sayGoodbye(_ goodbye: Goodbye) {
        writeAndFlush(Frame(.goodbye(goodbye))).whenComplete { _ in self.close(promise: nil) }
    }
}

extension WireTensor {
    /// f32 rows for the compute thread, whatever the wire dtype.
    var floatRows: [Float] { floats() }
}
