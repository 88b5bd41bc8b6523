import NIOCore
import NIOEmbedded
import NIOTestUtils
import StrataWire
import Testing

@Suite("NIO adapters")
struct ChannelTests {
    @Test func decoderPassesTheVerifier() throws {
        // The verifier feeds each input whole, byte by byte, in random batches and with leftovers.
        var generator = MessageGenerator(seed: 99)
        var pairs: [(ByteBuffer, [Frame])] = []
        for (_, frame) in try Fixtures.goldenFrames() {
            pairs.append((try frame.encoded(), [frame]))
        }
        for _ in 0..<20 {
            let frames = (0..<(1 + generator.below(3))).map { _ in generator.frame() }
            var buffer = ByteBuffer()
            for frame in frames { try frame.encode(into: &buffer) }
            pairs.append((buffer, frames))
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { FrameDecoder() }
    }

    @Test func framesRoundTripThroughEncoderAndDecoder() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([
            ByteToMessageHandler(FrameDecoder()), MessageToByteHandler(FrameEncoder()),
        ])
        let frames = try Fixtures.goldenFrames().map(\.frame)
        for frame in frames { try channel.writeOutbound(frame) }
        // Outbound bytes of one connection are the inbound bytes of its peer.
        var wire = ByteBuffer()
        while var chunk = try channel.readOutbound(as: ByteBuffer.self) { wire.writeBuffer(&chunk) }
        // Deliver in uneven pieces, as TCP may.
        var generator = MessageGenerator(seed: 5)
        while wire.readableBytes > 0 {
            let piece = wire.readSlice(length: min(wire.readableBytes, 1 + generator.below(40)))!
            try channel.writeInbound(piece)
        }
        var received: [Frame] = []
        while let frame = try channel.readInbound(as: Frame.self) { received.append(frame) }
        #expect(received == frames)
        #expect(try channel.finish().isClean)
    }

    @Test func malformedBytesFailThePipelineWithTheWireError() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder()))
        #expect(throws: WireError.badMagic(0x4745)) {
            try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\n"))
        }
        _ = try? channel.finish()
    }

    @Test func oversizedFrameIsRefusedBeforeItsPayloadArrives() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder()))
        // Only the 20 header bytes are sent; the cap check must not wait for the declared 4 GiB.
        #expect(throws: WireError.payloadTooLarge(kind: .forward, length: 0xFFFF_FFFF, limit: 64 << 20)) {
            try channel.writeInbound(hexBuffer("5354 01 20 0000 0000 0000000000000000 ffffffff"))
        }
        _ = try? channel.finish()
    }

    @Test func partialFrameAtEndOfStreamIsReported() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder()))
        var bytes = try Frame(.drain).encoded()
        let partial = bytes.readSlice(length: 7)!
        try channel.writeInbound(partial)
        #expect(try channel.readInbound(as: Frame.self) == nil)
        #expect(throws: ByteToMessageDecoderError.self) {
            channel.pipeline.fireChannelInactive()
            try channel.throwIfErrorCaught()
        }
        _ = try? channel.finish()
    }

    @Test func encoderFailsTheWriteOfAnInvalidMessage() throws {
        let channel = EmbeddedChannel(handler: MessageToByteHandler(FrameEncoder()))
        let bad = Heartbeat(
            sentAtNanos: 0, echoedNanos: 0, queueDepth: 0, busyPermyriad: 20_000, residentBytes: 0, kvBytes: 0,
            sequencesHeld: 0)
        #expect(throws: WireError.invalidValue(kind: .heartbeat, field: "busyPermyriad", value: 20_000)) {
            try channel.writeOutbound(Frame(.heartbeat(bad)))
        }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        _ = try? channel.finish()
    }
}
