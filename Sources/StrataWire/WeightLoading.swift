import NIOCore

/// Coordinator → worker: load the assigned layers from the worker's own copy of the model, which must have this
/// hash. Answered by `WeightsLoaded`, or `Error` with `ErrorCode.modelMismatch`.
public struct LoadFromLocalFile: Equatable, Sendable {
    /// Payload size: 32.
    public static let payloadSize = 32

    public var modelHash: ModelHash

    public init(modelHash: ModelHash) { self.modelHash = modelHash }
}

extension LoadFromLocalFile: PayloadCodable {
    static let kind = MessageKind.loadFromLocalFile

    init(from r: inout PayloadReader) throws(WireError) {
        modelHash = try r.bytes32("modelHash")
    }

    func encode(to w: inout PayloadWriter) throws(WireError) {
        w.bytes32(modelHash)
    }
}

/// Coordinator → worker: one piece of one tensor's data, streamed when the worker has no local copy.
///
/// Chunks of a tensor arrive in offset order; the frame flag `lastChunk` marks the end of the whole stream.
public struct WeightChunk: Equatable, Sendable {
    /// Payload bytes besides the chunk data, at most: (2 + 256) + 4 + 1 + 4 · 8 + 8 + 8 + 4 + 4.
    public static let maxFixedPayloadSize = 319
    /// Most UTF-8 bytes in a tensor name.
    public static let maxNameBytes = 256
    /// Most dimensions of a tensor.
    public static let maxDimensions = 4

    // Immutable so that `checksum` always describes `data`.

    /// The tensor's name as the model file spells it.
    public let tensorName: String
    /// The tensor's element type id in the model file's own numbering (GGML type for GGUF); opaque here.
    public let tensorType: UInt32
    /// 1 to 4 dimensions, in the model file's order.
    public let dimensions: [UInt64]
    /// Where `data` starts within the tensor's bytes.
    public let byteOffset: UInt64
    /// The tensor's total byte count; byteOffset + data length ≤ totalBytes.
    public let totalBytes: UInt64
    /// CRC-32C of `data`, computed by the initialiser and verified by the parser.
    public let checksum: UInt32
    /// The chunk's bytes.
    public let data: ByteBuffer
    /// Whether this is the final chunk of the stream (frame flag `lastChunk`).
    public let isLast: Bool

    /// - Parameters:
    ///   - tensorName: the tensor's name, at most 256 UTF-8 bytes.
    ///   - tensorType: the model file's type id.
    ///   - dimensions: 1 to 4 dimensions.
    ///   - byteOffset: offset of `data` within the tensor's bytes.
    ///   - totalBytes: the tensor's byte count.
    ///   - data: the chunk; its CRC-32C is computed here.
    ///   - isLast: whether this ends the stream.
    public init(
        tensorName: String, tensorType: UInt32, dimensions: [UInt64], byteOffset: UInt64, totalBytes: UInt64,
        data: ByteBuffer, isLast: Bool
    ) {
        self.init(
            tensorName: tensorName, tensorType: tensorType, dimensions: dimensions, byteOffset: byteOffset,
            totalBytes: totalBytes, checksum: CRC32C.checksum(data), data: data, isLast: isLast)
    }

    init(
        tensorName: String, tensorType: UInt32, dimensions: [UInt64], byteOffset: UInt64, totalBytes: UInt64,
        checksum: UInt32, data: ByteBuffer, isLast: Bool
    ) {
        self.tensorName = tensorName
        self.tensorType = tensorType
        self.dimensions = dimensions
        self.byteOffset = byteOffset
        self.totalBytes = totalBytes
        self.checksum = checksum
        self.data = data
        self.isLast = isLast
    }
}

extension WeightChunk {
    /// A copy with `isLast` set from the frame flags.
    func withLast(_ isLast: Bool) -> WeightChunk {
        WeightChunk(
            tensorName: tensorName, tensorType: tensorType, dimensions: dimensions, byteOffset: byteOffset,
            totalBytes: totalBytes, checksum: checksum, data: data, isLast: isLast)
    }
}

extension WeightChunk: PayloadCodable {
    static let kind = MessageKind.weightChunk

    init(from r: inout PayloadReader) throws(WireError) {
        let name = try r.string("tensorName", maxBytes: Self.maxNameBytes)
        let type = try r.integer("tensorType", as: UInt32.self)
        let dimensionCount = try r.integer("dimensionCount", as: UInt8.self)
        guard dimensionCount >= 1 else { throw .invalidValue(kind: .weightChunk, field: "dimensionCount", value: 0) }
        guard Int(dimensionCount) <= Self.maxDimensions else {
            throw .countTooLarge(
                kind: .weightChunk, field: "dimensionCount", count: UInt64(dimensionCount),
                limit: UInt64(Self.maxDimensions))
        }
        var dimensions = [UInt64]()
        dimensions.reserveCapacity(Int(dimensionCount))  // at most 4, bounded above
        for _ in 0..<dimensionCount { dimensions.append(try r.integer("dimensions")) }
        let offset = try r.integer("byteOffset", as: UInt64.self)
        let total = try r.integer("totalBytes", as: UInt64.self)
        let checksum = try r.integer("checksum", as: UInt32.self)
        let length = try r.count("dataLength", limit: r.limits.maxWeightChunkBytes, elementSize: 1)
        let (end, overflow) = offset.addingReportingOverflow(UInt64(length))
        guard !overflow, end <= total else {
            throw .invalidValue(kind: .weightChunk, field: "byteOffset", value: offset)
        }
        let data = try r.slice("data", length: length)
        let actual = CRC32C.checksum(data)
        guard actual == checksum else { throw .checksumMismatch(kind: .weightChunk, expected: checksum, actual: actual) }
        // `isLast` comes from the header flags; `Message.parse` sets it with `withLast`.
        self.init(
            tensorName: name, tensorType: type, dimensions: dimensions, byteOffset: offset, totalBytes: total,
            checksum: checksum, data: data, isLast: false)
    }

    func encode(to w: inout PayloadWriter) throws(WireError) {
        try w.string(tensorName, field: "tensorName", maxBytes: Self.maxNameBytes)
        w.integer(tensorType)
        guard !dimensions.isEmpty else { throw .invalidValue(kind: .weightChunk, field: "dimensionCount", value: 0) }
        guard dimensions.count <= Self.maxDimensions else {
            throw .countTooLarge(
                kind: .weightChunk, field: "dimensionCount", count: UInt64(dimensions.count),
                limit: UInt64(Self.maxDimensions))
        }
        w.integer(UInt8(dimensions.count))
        for dimension in dimensions { w.integer(dimension) }
        let (end, overflow) = byteOffset.addingReportingOverflow(UInt64(data.readableBytes))
        guard !overflow, end <= totalBytes else {
            throw .invalidValue(kind: .weightChunk, field: "byteOffset", value: byteOffset)
        }
        w.integer(byteOffset)
        w.integer(totalBytes)
        w.integer(checksum)
        try w.count(data.readableBytes, field: "dataLength", limit: w.limits.maxWeightChunkBytes)
        w.bytes(data)
    }
}

/// Worker → coordinator: every assigned tensor is in place, answering `LoadFromLocalFile` or the `lastChunk`.
public struct WeightsLoaded: Equatable, Sendable {
    /// Payload size: 4 + 8 + 1.
    public static let payloadSize = 13

    /// Tensors the worker now holds.
    public var tensorCount: UInt32
    /// Their bytes, summed.
    public var byteCount: UInt64
    /// Where they came from.
    public var source: WeightSource

    public init(tensorCount: UInt32, byteCount: UInt64, source: WeightSource) {
        self.tensorCount = tensorCount
        self.byteCount = byteCount
        self.source = source
    }
}

/// Where a worker's weights came from.
public enum WeightSource: UInt8, CaseIterable, Hashable, Sendable {
    case localFile = 0
    case streamed = 1
}

extension WeightsLoaded: PayloadCodable {
    static let kind = MessageKind.weightsLoaded

    init(from r: inout PayloadReader) throws(WireError) {
        tensorCount = try r.integer("tensorCount")
        byteCount = try r.integer("byteCount")
        let raw = try r.integer("source", as: UInt8.self)
        guard let source = WeightSource(rawValue: raw) else {
            throw .invalidValue(kind: .weightsLoaded, field: "source", value: UInt64(raw))
        }
        self.source = source
    }

    func encode(to w: inout PayloadWriter) throws(WireError) {
        w.integer(tensorCount)
        w.integer(byteCount)
        w.integer(source.rawValue)
    }
}
