import NIOCore
import StrataWire
import Testing

/// One hand-written bad frame and the exact error `parse` must throw for it.
struct MalformedCase: Sendable, CustomTestStringConvertible {
    let name: String
    let hex: String
    let error: WireError
    var testDescription: String { name }
}

private let forwardHeader = "5354 01 20 0000 0000 0000000000000001"
private let weightChunkHeader = "5354 01 13 0001 0000 0000000000000003"

/// A valid Forward payload of one row and one f32 column, before any edit: 54 bytes.
private func forward(
    length: String = "00000036", layers: String = "00000000 00000001", rowCount: String = "00000001",
    joinLayer: String = "00000000", rowFlags: String = "00", tensor: String = "00 00000001 00000001 00000004",
    data: String = "0000803f"
) -> String {
    "\(forwardHeader) \(length) 0000000000000001 \(layers) \(rowCount) 0000000000000007 00000000 \(joinLayer) \(rowFlags)"
        + " \(tensor) \(data)"
}

/// A valid WeightChunk payload (name "w", one dimension of 4, data 01 02 03 04), before any edit: 44 bytes.
private func weightChunk(
    length: String = "0000002c", dimensions: String = "01 0000000000000004", offset: String = "0000000000000000",
    checksum: String = "29308cf4", dataLength: String = "00000004"
) -> String {
    "\(weightChunkHeader) \(length) 0001 77 00000002 \(dimensions) \(offset) 0000000000000004 \(checksum) \(dataLength) 01020304"
}

let malformedCases: [MalformedCase] = [
    // header
    MalformedCase(name: "HTTP request", hex: "47 45 54 20 2f 20 48 54 54 50", error: .badMagic(0x4745)),
    MalformedCase(name: "zero magic, two bytes only", hex: "0000", error: .badMagic(0)),
    MalformedCase(name: "byte-swapped magic", hex: "5453 01 31", error: .badMagic(0x5453)),
    MalformedCase(name: "version 0", hex: "5354 00", error: .unsupportedVersion(0)),
    MalformedCase(name: "version 2", hex: "5354 02 01 0000 0000", error: .unsupportedVersion(2)),
    MalformedCase(name: "kind 0x00", hex: "5354 01 00", error: .unknownKind(0)),
    MalformedCase(name: "kind 0x05", hex: "5354 01 05 0000", error: .unknownKind(5)),
    MalformedCase(name: "kind 0xff", hex: "5354 01 ff", error: .unknownKind(0xFF)),
    MalformedCase(name: "flag on Forward", hex: "5354 01 20 0001", error: .unknownFlags(kind: .forward, flags: 1)),
    MalformedCase(
        name: "undefined flag on WeightChunk", hex: "5354 01 13 0003",
        error: .unknownFlags(kind: .weightChunk, flags: 3)),
    MalformedCase(name: "reserved set", hex: "5354 01 31 0000 8000", error: .reservedNotZero(0x8000)),
    // payload caps, checked before the payload arrives
    MalformedCase(
        name: "Drain with a payload", hex: "5354 01 31 0000 0000 0000000000000000 00000001",
        error: .payloadTooLarge(kind: .drain, length: 1, limit: 0)),
    MalformedCase(
        name: "Hello one byte over its cap", hex: "5354 01 01 0000 0000 0000000000000000 00000165",
        error: .payloadTooLarge(kind: .hello, length: 357, limit: 356)),
    MalformedCase(
        name: "Welcome of 33 bytes", hex: "5354 01 03 0000 0000 0000000000000000 00000021",
        error: .payloadTooLarge(kind: .welcome, length: 33, limit: 32)),
    MalformedCase(
        name: "Forward of 4 GiB", hex: "5354 01 20 0000 0000 0000000000000000 ffffffff",
        error: .payloadTooLarge(kind: .forward, length: 0xFFFF_FFFF, limit: 64 << 20)),
    MalformedCase(
        name: "WeightChunk past the chunk cap", hex: "5354 01 13 0000 0000 0000000000000000 01000140",
        error: .payloadTooLarge(kind: .weightChunk, length: 0x0100_0140, limit: 0x0100_013F)),
    // truncation inside a complete frame
    MalformedCase(
        name: "empty Hello", hex: "5354 01 01 0000 0000 0000000000000000 00000000",
        error: .truncatedPayload(kind: .hello, field: "minVersion")),
    MalformedCase(
        name: "short Welcome", hex: "5354 01 03 0000 0000 0000000000000000 00000004 01020304",
        error: .truncatedPayload(kind: .welcome, field: "proof")),
    MalformedCase(
        name: "Heartbeat cut after 10 bytes",
        hex: "5354 01 30 0000 0000 0000000000000000 0000000a 0000000000000001 0000",
        error: .truncatedPayload(kind: .heartbeat, field: "echoedNanos")),
    MalformedCase(
        name: "Goodbye string longer than the payload",
        hex: "5354 01 04 0000 0000 0000000000000000 00000004 00 0005 41",
        error: .truncatedPayload(kind: .goodbye, field: "message")),
    MalformedCase(
        name: "Forward data cut short", hex: forward(length: "00000035", data: "000080"),
        error: .truncatedPayload(kind: .forward, field: "hidden.data")),
    // counts and strings
    MalformedCase(
        name: "Goodbye message of 1025 bytes", hex: "5354 01 04 0000 0000 0000000000000000 00000003 00 0401",
        error: .countTooLarge(kind: .goodbye, field: "message", count: 1025, limit: 1024)),
    MalformedCase(
        name: "Release count beyond the bytes", hex: "5354 01 22 0000 0000 0000000000000000 0000000c 00000002 0000000000000007",
        error: .countTooLarge(kind: .release, field: "count", count: 2, limit: 1)),
    MalformedCase(
        name: "Forward row count of 2^32-1", hex: forward(rowCount: "ffffffff"),
        error: .countTooLarge(kind: .forward, field: "rowCount", count: 0xFFFF_FFFF, limit: 2)),
    MalformedCase(
        name: "WeightChunk with 5 dimensions", hex: weightChunk(dimensions: "05 0000000000000004"),
        error: .countTooLarge(kind: .weightChunk, field: "dimensionCount", count: 5, limit: 4)),
    MalformedCase(
        name: "WeightChunk data length beyond the payload", hex: weightChunk(dataLength: "00000005"),
        error: .countTooLarge(kind: .weightChunk, field: "dataLength", count: 5, limit: 4)),
    // tensors
    MalformedCase(
        name: "dtype 3", hex: forward(tensor: "03 00000001 00000001 00000004"), error: .invalidDType(3)),
    MalformedCase(
        name: "AssignLayers activation dtype 7",
        hex: "5354 01 10 0000 0000 0000000000000000 0000000d 00000000 00000001 00000001 07",
        error: .invalidDType(7)),
    MalformedCase(
        name: "tensor byte count disagrees with its shape", hex: forward(tensor: "00 00000001 00000001 00000008"),
        error: .tensorSizeMismatch(kind: .forward, expected: 4, actual: 8)),
    MalformedCase(
        name: "tensor rows disagree with row count",
        hex: forward(length: "0000003a", tensor: "00 00000002 00000001 00000008", data: "0000803f 0000803f"),
        error: .rowCountMismatch(kind: .forward, rows: 1, tensorRows: 2)),
    MalformedCase(
        name: "tensor of zero columns", hex: forward(length: "00000032", tensor: "00 00000001 00000000 00000000", data: ""),
        error: .invalidValue(kind: .forward, field: "hidden.columns", value: 0)),
    // values
    MalformedCase(
        name: "Goodbye not UTF-8", hex: "5354 01 04 0000 0000 0000000000000000 00000005 00 0002 c328",
        error: .invalidUTF8(kind: .goodbye, field: "message")),
    MalformedCase(
        name: "Goodbye reason 9", hex: "5354 01 04 0000 0000 0000000000000000 00000003 09 0000",
        error: .invalidValue(kind: .goodbye, field: "reason", value: 9)),
    MalformedCase(
        name: "Hello version range inverted", hex: "5354 01 01 0000 0000 0000000000000000 00000002 02 01",
        error: .invalidValue(kind: .hello, field: "maxVersion", value: 1)),
    MalformedCase(
        name: "Authenticate role 2", hex: "5354 01 02 0000 0000 0000000000000000 00000002 01 02",
        error: .invalidValue(kind: .authenticate, field: "role", value: 2)),
    MalformedCase(
        name: "Error with optional tag 2", hex: "5354 01 3f 0000 0000 0000000000000000 00000005 0001 02 0000",
        error: .invalidValue(kind: .error, field: "requestID", value: 2)),
    MalformedCase(
        name: "Forward exit at its start layer", hex: forward(layers: "00000003 00000003"),
        error: .invalidValue(kind: .forward, field: "exitLayer", value: 3)),
    MalformedCase(
        name: "Forward with no rows", hex: "\(forwardHeader) 00000014 0000000000000001 00000000 00000001 00000000",
        error: .invalidValue(kind: .forward, field: "rowCount", value: 0)),
    MalformedCase(
        name: "Forward row joining past the exit", hex: forward(joinLayer: "00000002"),
        error: .invalidValue(kind: .forward, field: "rows.joinLayer", value: 2)),
    MalformedCase(
        name: "Forward row joining before the step's start", hex: forward(layers: "00000003 00000009"),
        error: .invalidValue(kind: .forward, field: "rows.joinLayer", value: 0)),
    MalformedCase(
        name: "Forward row flag 0x02", hex: forward(rowFlags: "02"),
        error: .invalidValue(kind: .forward, field: "rows.flags", value: 2)),
    MalformedCase(
        name: "AssignLayers empty range",
        hex: "5354 01 10 0000 0000 0000000000000000 0000000c 00000004 00000004 0000001e",
        error: .invalidValue(kind: .assignLayers, field: "layerUpper", value: 4)),
    MalformedCase(
        name: "AssignLayers beyond the model",
        hex: "5354 01 10 0000 0000 0000000000000000 0000000c 00000000 00000020 0000001e",
        error: .invalidValue(kind: .assignLayers, field: "totalLayers", value: 30)),
    MalformedCase(
        name: "Heartbeat busier than 100 %",
        hex: "5354 01 30 0000 0000 0000000000000000 0000002a 0000000000000000 0000000000000000 00000000 2711"
            + " 0000000000000000 0000000000000000 00000000",
        error: .invalidValue(kind: .heartbeat, field: "busyPermyriad", value: 10_001)),
    MalformedCase(
        name: "WeightChunk past the tensor's end", hex: weightChunk(offset: "0000000000000001"),
        error: .invalidValue(kind: .weightChunk, field: "byteOffset", value: 1)),
    MalformedCase(
        name: "WeightChunk with a wrong CRC", hex: weightChunk(checksum: "29308cf5"),
        error: .checksumMismatch(kind: .weightChunk, expected: 0x2930_8CF5, actual: 0x2930_8CF4)),
    // trailing bytes
    MalformedCase(
        name: "Goodbye with a trailing byte", hex: "5354 01 04 0000 0000 0000000000000000 00000004 00 0000 ff",
        error: .trailingBytes(kind: .goodbye, count: 1)),
    MalformedCase(
        name: "Release with a trailing byte",
        hex: "5354 01 22 0000 0000 0000000000000000 0000000d 00000001 0000000000000007 00",
        error: .trailingBytes(kind: .release, count: 1)),
]

@Suite("Malformed frames")
struct MalformedFrameTests {
    @Test("each malformed frame throws its exact error and consumes nothing", arguments: malformedCases)
    func malformedFrameIsRejected(_ testCase: MalformedCase) {
        var buffer = hexBuffer(testCase.hex)
        let before = buffer
        #expect(throws: testCase.error) { try Frame.parse(&buffer) }
        #expect(buffer == before)
    }

    @Test func theBaseFramesOfTheTableAreValid() throws {
        var forwardFrame = hexBuffer(forward())
        let parsed = try #require(try Frame.parse(&forwardFrame))
        guard case .forward(let message) = parsed.message else {
            Issue.record("expected a Forward")
            return
        }
        #expect(message.hidden.floats() == [1.0])
        var chunk = hexBuffer(weightChunk())
        let chunkFrame = try #require(try Frame.parse(&chunk))
        guard case .weightChunk(let weights) = chunkFrame.message else {
            Issue.record("expected a WeightChunk")
            return
        }
        #expect(weights.isLast)
        #expect(weights.checksum == 0x2930_8CF4)
    }

    @Test func capsMatchTheLargestMessages() throws {
        // Each fixed cap is exactly the size of the largest message of its kind.
        let longName = String(repeating: "n", count: Hello.maxNameBytes)
        var hello = Fixtures.hello
        hello.name = longName
        #expect(try Frame(.hello(hello)).encoded().readableBytes == WireFormat.headerSize + Hello.maxPayloadSize)
        let goodbye = Goodbye(.normal, message: String(repeating: "m", count: Goodbye.maxMessageBytes))
        #expect(try Frame(.goodbye(goodbye)).encoded().readableBytes == WireFormat.headerSize + Goodbye.maxPayloadSize)
        let error = ErrorReport(code: .internalError, requestID: 1, message: String(repeating: "e", count: 1024))
        #expect(try Frame(.error(error)).encoded().readableBytes == WireFormat.headerSize + ErrorReport.maxPayloadSize)
        let assign = AssignLayers(
            layers: 0..<1, totalLayers: 1, activationDType: .f32, kvCacheDType: .f32, contextLimit: 1,
            maxSequences: 1, maxBatchRows: 1, nextHop: NextHop(host: String(repeating: "h", count: 255), port: 1),
            modelHash: .zero)
        #expect(
            try Frame(.assignLayers(assign)).encoded().readableBytes
                == WireFormat.headerSize + AssignLayers.maxPayloadSize)
        let chunk = WeightChunk(
            tensorName: String(repeating: "t", count: 256), tensorType: 0, dimensions: [1, 1, 1, 1], byteOffset: 0,
            totalBytes: 0, data: ByteBuffer(), isLast: false)
        #expect(
            try Frame(.weightChunk(chunk)).encoded().readableBytes
                == WireFormat.headerSize + WeightChunk.maxFixedPayloadSize)
    }

    @Test func encoderRefusesWhatTheParserWouldRefuse() {
        var hello = Fixtures.hello
        hello.name = String(repeating: "é", count: 128)  // 256 bytes
        var buffer = ByteBuffer(bytes: [1, 2, 3])
        #expect(throws: WireError.countTooLarge(kind: .hello, field: "name", count: 256, limit: 255)) {
            try Frame(.hello(hello)).encode(into: &buffer)
        }
        #expect(buffer == ByteBuffer(bytes: [1, 2, 3]), "a failed encode leaves the buffer as it was")

        let small = WireLimits(maxRowsPerBatch: 2)
        let rows = (0..<3).map { ForwardRow(sequenceID: 1, position: UInt32($0)) }
        let forward = Forward(
            stepID: 1, fromLayer: 0, exitLayer: 1, rows: rows,
            hidden: WireTensor(values: [1, 2, 3], rows: 3, columns: 1, dtype: .f32))
        #expect(throws: WireError.countTooLarge(kind: .forward, field: "rowCount", count: 3, limit: 2)) {
            try Frame(.forward(forward)).encode(into: &buffer, limits: small)
        }
        let mismatched = Forward(
            stepID: 1, fromLayer: 0, exitLayer: 1, rows: Array(rows[0..<2]),
            hidden: WireTensor(values: [1, 2, 3], rows: 3, columns: 1, dtype: .f32))
        #expect(throws: WireError.rowCountMismatch(kind: .forward, rows: 2, tensorRows: 3)) {
            try Frame(.forward(mismatched)).encode(into: &buffer)
        }
        let heartbeat = Heartbeat(
            sentAtNanos: 0, echoedNanos: 0, queueDepth: 0, busyPermyriad: 10_001, residentBytes: 0, kvBytes: 0,
            sequencesHeld: 0)
        #expect(throws: WireError.invalidValue(kind: .heartbeat, field: "busyPermyriad", value: 10_001)) {
            try Frame(.heartbeat(heartbeat)).encode(into: &buffer)
        }
        let tinyTensors = WireLimits(maxTensorPayloadBytes: 40)
        let oneRow = Forward(
            stepID: 1, fromLayer: 0, exitLayer: 1, rows: [rows[0]],
            hidden: WireTensor(values: [1], rows: 1, columns: 1, dtype: .f32))
        #expect(throws: WireError.payloadTooLarge(kind: .forward, length: 54, limit: 40)) {
            try Frame(.forward(oneRow)).encode(into: &buffer, limits: tinyTensors)
        }
        #expect(buffer == ByteBuffer(bytes: [1, 2, 3]))
    }
}
