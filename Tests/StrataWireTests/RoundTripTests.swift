import NIOCore
import StrataTestSupport
import StrataWire
import Testing

@Suite("Encode and parse")
struct RoundTripTests {
    @Test("random frames of every kind survive encode → parse unchanged", arguments: MessageKind.allCases)
    func randomFramesRoundTrip(kind: MessageKind) throws {
        var generator = MessageGenerator(seed: 0x5EED_0000 + UInt64(kind.rawValue))
        for _ in 0..<400 {
            let frame = Frame(generator.message(kind), requestID: generator.integer())
            var buffer = try frame.encoded()
            let bytes = Array(buffer.readableBytesView)
            let parsed = try #require(try Frame.parse(&buffer))
            #expect(parsed == frame)
            #expect(buffer.readableBytes == 0)
            // The encoding is canonical: re-encoding what was parsed gives the same bytes.
            #expect(Array(try parsed.encoded().readableBytesView) == bytes)
        }
    }

    @Test func manyFramesParseFromOneBuffer() throws {
        var generator = MessageGenerator(seed: 7)
        let frames = (0..<500).map { _ in generator.frame() }
        var buffer = ByteBuffer()
        for frame in frames { try frame.encode(into: &buffer) }
        var parsed: [Frame] = []
        while let frame = try Frame.parse(&buffer) { parsed.append(frame) }
        #expect(parsed == frames)
        #expect(buffer.readableBytes == 0)
    }

    @Test func everyPrefixOfAFrameNeedsMoreBytes() throws {
        for (name, frame) in try Fixtures.goldenFrames() {
            let bytes = Array(try frame.encoded().readableBytesView)
            for length in 0..<bytes.count {
                var prefix = ByteBuffer(bytes: bytes[0..<length])
                let result = try Frame.parse(&prefix)
                #expect(result == nil, "\(name): prefix of \(length) bytes")
                #expect(prefix.readableBytes == length, "\(name): a partial frame must not be consumed")
            }
        }
    }

    @Test func parseLeavesTheFollowingFrameInPlace() throws {
        let frames = try Fixtures.goldenFrames().map(\.frame)
        var buffer = try frames[0].encoded()
        try frames[1].encode(into: &buffer)
        buffer.writeBytes([0x53])  // the start of a third frame
        #expect(try Frame.parse(&buffer) == frames[0])
        let secondLength = try frames[1].encoded().readableBytes
        #expect(buffer.readableBytes == secondLength + 1)
        #expect(try Frame.parse(&buffer) == frames[1])
        #expect(try Frame.parse(&buffer) == nil)
        #expect(buffer.readableBytes == 1)
    }

    @Test func tensorValuesRoundTripThroughEveryDType() throws {
        let exact: [Float] = [0, -0.0, 1, -2, 0.5, 3.75, -1024, 65504, 0.0078125]
        for dtype in TensorDType.allCases {
            let tensor = WireTensor(values: exact, rows: 3, columns: 3, dtype: dtype)
            #expect(tensor.data.readableBytes == 9 * dtype.byteSize)
            let back = tensor.floats()
            for (a, b) in zip(exact, back) where !(dtype == .bf16 && a == 65504) {
                #expect(a.bitPattern == b.bitPattern, "\(dtype): \(a) came back as \(b)")
            }
        }
    }
}
