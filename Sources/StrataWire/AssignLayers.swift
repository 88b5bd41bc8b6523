/// Coordinator → worker: the layers this worker runs and how, answered by `LayersReady` or `Error`.
public struct AssignLayers: Equatable, Sendable {
    /// Largest payload: 4 + 4 + 4 + 1 + 1 + 4 + 4 + 4 + (1 + 2 + 255 + 2) + 32.
    public static let maxPayloadSize = 318
    /// Most UTF-8 bytes in a next-hop host.
    public static let maxHostBytes = 255

    /// Transformer blocks this worker runs, 0-based, half-open (lower u32, upper u32 on the wire);
    /// lower < upper ≤ `totalLayers`.
    public var layers: Range<UInt32>
    /// Blocks in the whole model.
    public var totalLayers: UInt32
    /// Element type of hidden states in `Forward`/`ForwardResult`.
    public var activationDType: TensorDType
    /// Element type the worker stores keys and values in.
    public var kvCacheDType: TensorDType
    /// Most positions per sequence.
    public var contextLimit: UInt32
    /// Most sequences whose KV cache the worker holds at once.
    public var maxSequences: UInt32
    /// Most rows in one `Forward`, so the worker can size its scratch once.
    public var maxBatchRows: UInt32
    /// Where to send `Forward` after the last assigned layer, or nil: this is the last stage and always returns
    /// `ForwardResult` to the coordinator.
    public var nextHop: NextHop?
    /// The model whose layers these are.
    public var modelHash: ModelHash

    public init(
        layers: Range<UInt32>, totalLayers: UInt32, activationDType: TensorDType, kvCacheDType: TensorDType,
        contextLimit: UInt32, maxSequences: UInt32, maxBatchRows: UInt32, nextHop: NextHop?, modelHash: ModelHash
    ) {
        self.layers = layers
        self.totalLayers = totalLayers
        self.activationDType = activationDType
        self.kvCacheDType = kvCacheDType
        self.contextLimit = contextLimit
        self.maxSequences = maxSequences
        self.maxBatchRows = maxBatchRows
        self.nextHop = nextHop
        self.modelHash = modelHash
    }
}

/// A TCP endpoint: a host name or address literal, and a port.
public struct NextHop: Hashable, Sendable {
    /// Host name, IPv4 or IPv6 literal; 1 to 255 UTF-8 bytes.
    public var host: String
    /// TCP port, 1 to 65535.
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }
}

extension AssignLayers: PayloadCodable {
    static let kind = MessageKind.assignLayers

    init(from r: inout PayloadReader) throws(WireError) {
        let lower = try r.integer("layerLower", as: UInt32.self)
        let upper = try r.integer("layerUpper", as: UInt32.self)
        totalLayers = try r.integer("totalLayers")
        guard lower < upper else { throw .invalidValue(kind: .assignLayers, field: "layerUpper", value: UInt64(upper)) }
        guard upper <= totalLayers else {
            throw .invalidValue(kind: .assignLayers, field: "totalLayers", value: UInt64(totalLayers))
        }
        layers = lower..<upper
        activationDType = try r.dtype("activationDType")
        kvCacheDType = try r.dtype("kvCacheDType")
        contextLimit = try r.positive("contextLimit")
        maxSequences = try r.positive("maxSequences")
        maxBatchRows = try r.positive("maxBatchRows")
        if try r.isPresent("nextHop") {
            let host = try r.string("nextHop.host", maxBytes: Self.maxHostBytes)
            guard !host.isEmpty else { throw .invalidValue(kind: .assignLayers, field: "nextHop.host", value: 0) }
            let port: UInt16 = try r.positive("nextHop.port")
            nextHop = NextHop(host: host, port: port)
        } else {
            nextHop = nil
        }
        modelHash = try r.bytes32("modelHash")
    }

    func encode(to w: inout PayloadWriter) throws(WireError) {
        guard !layers.isEmpty else {
            throw .invalidValue(kind: .assignLayers, field: "layerUpper", value: UInt64(layers.upperBound))
        }
        guard layers.upperBound <= totalLayers else {
            throw .invalidValue(kind: .assignLayers, field: "totalLayers", value: UInt64(totalLayers))
        }
        w.integer(layers.lowerBound)
        w.integer(layers.upperBound)
        w.integer(totalLayers)
        w.integer(activationDType.rawValue)
        w.integer(kvCacheDType.rawValue)
        try w.positive(contextLimit, field: "contextLimit")
        try w.positive(maxSequences, field: "maxSequences")
        try w.positive(maxBatchRows, field: "maxBatchRows")
        w.bool(nextHop != nil)
        if let nextHop {
            guard !nextHop.host.isEmpty else {
                throw .invalidValue(kind: .assignLayers, field: "nextHop.host", value: 0)
            }
            try w.string(nextHop.host, field: "nextHop.host", maxBytes: Self.maxHostBytes)
            try w.positive(nextHop.port, field: "nextHop.port")
        }
        w.bytes32(modelHash)
    }
}

/// Worker → coordinator, answering `AssignLayers`: the assignment is accepted, memory reserved and the next hop
/// connected. Weights follow.
public struct LayersReady: Equatable, Sendable {
    /// Payload size: 4 + 4 + 8.
    public static let payloadSize = 16

    /// The assigned range, echoed.
    public var layers: Range<UInt32>
    /// Positions, summed over all sequences, that the reserved KV cache holds; the scheduler admits against it.
    public var kvCapacityTokens: UInt64

    public init(layers: Range<UInt32>, kvCapacityTokens: UInt64) {
        self.layers = layers
        self.kvCapacityTokens = kvCapacityTokens
    }
}

extension LayersReady: PayloadCodable {
    static let kind = MessageKind.layersReady

    init(from r: inout PayloadReader) throws(WireError) {
        let lower = try r.integer("layerLower", as: UInt32.self)
        let upper = try r.integer("layerUpper", as: UInt32.self)
        guard lower < upper else { throw .invalidValue(kind: .layersReady, field: "layerUpper", value: UInt64(upper)) }
        layers = lower..<upper
        kvCapacityTokens = try r.integer("kvCapacityTokens")
    }

    func encode(to w: inout PayloadWriter) throws(WireError) {
        guard !layers.isEmpty else {
            throw .invalidValue(kind: .layersReady, field: "layerUpper", value: UInt64(layers.upperBound))
        }
        w.integer(layers.lowerBound)
        w.integer(layers.upperBound)
        w.integer(kvCapacityTokens)
    }
}

// MARK: - Shared field helpers

extension PayloadReader {
    mutating func dtype(_ field: String) throws(WireError) -> TensorDType {
        let raw = try integer(field, as: UInt8.self)
        guard let dtype = TensorDType(rawValue: raw) else { throw .invalidDType(raw) }
        return dtype
    }

    /// An unsigned integer that must not be zero.
    mutating func positive<T: FixedWidthInteger & UnsignedInteger>(_ field: String) throws(WireError) -> T {
        let value = try integer(field, as: T.self)
        guard value != 0 else { throw .invalidValue(kind: kind, field: field, value: 0) }
        return value
    }
}

extension PayloadWriter {
    mutating func positive<T: FixedWidthInteger & UnsignedInteger>(_ value: T, field: String) throws(WireError) {
        guard value != 0 else { throw .invalidValue(kind: kind, field: field, value: 0) }
        integer(value)
    }
}
