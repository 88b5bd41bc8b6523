/// Worker → coordinator, first frame on an accepted connection: who the worker is, what it can do, and a
/// challenge the coordinator must answer.
public struct Hello: Equatable, Sendable {
    /// Largest payload: 2 + 8 + 8 + (2 + 255) + 2 + 2 + 8 + 4 + (1 + 32) + 32.
    public static let maxPayloadSize = 356
    /// Most UTF-8 bytes in `name`.
    public static let maxNameBytes = 255

    /// Protocol versions the worker speaks (min u8, max u8 on the wire).
    public var versions: ClosedRange<UInt8>
    public var capabilities: Capabilities
    /// A random id the worker picks at start, so a restarted worker is told apart from the old one.
    public var workerID: UInt64
    /// A human-readable name (host name, or what the operator configured); at most 255 UTF-8 bytes.
    public var name: String
    public var hardware: HardwareReport
    /// SHA-256 of the model file the worker holds locally, or nil.
    public var modelHash: ModelHash?
    /// 32 fresh random bytes the coordinator's proof must cover.
    public var challenge: Challenge

    public init(
        versions: ClosedRange<UInt8>, capabilities: Capabilities, workerID: UInt64, name: String,
        hardware: HardwareReport, modelHash: ModelHash?, challenge: Challenge
    ) {
        self.versions = versions
        self.capabilities = capabilities
        self.workerID = workerID
        self.name = name
        self.hardware = hardware
        self.modelHash = modelHash
        self.challenge = challenge
    }
}

/// What a worker offers. Unknown bits are kept and ignored, so a newer worker can advertise more.
public struct Capabilities: OptionSet, Hashable, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Accepts and returns f16 hidden states.
    public static let f16Activations = Capabilities(rawValue: 1 << 0)
    /// Accepts and returns bf16 hidden states.
    public static let bf16Activations = Capabilities(rawValue: 1 << 1)
    /// Can serve `LoadFromLocalFile` from its own copy of the model.
    public static let localModelFile = Capabilities(rawValue: 1 << 2)
    /// Accepts weights streamed as `WeightChunk`s.
    public static let weightStreaming = Capabilities(rawValue: 1 << 3)
    /// Handles backfill rows (`RowFlags.backfill`) in `Forward`.
    public static let backfill = Capabilities(rawValue: 1 << 4)
}

/// The worker's machine, as the coordinator needs it to plan the layer split.
public struct HardwareReport: Hashable, Sendable {
    /// Compute threads the worker will use.
    public var threads: UInt16
    /// NUMA nodes on the machine (1 when it has none).
    public var numaNodes: UInt16
    /// Memory available for weights and KV cache, in bytes.
    public var freeMemoryBytes: UInt64
    /// Measured memory bandwidth in MB/s (10^6 bytes per second), or 0 when not measured.
    public var memoryBandwidthMBps: UInt32

    public init(threads: UInt16, numaNodes: UInt16, freeMemoryBytes: UInt64, memoryBandwidthMBps: UInt32) {
        self.threads = threads
        self.numaNodes = numaNodes
        self.freeMemoryBytes = freeMemoryBytes
        self.memoryBandwidthMBps = memoryBandwidthMBps
    }
}

extension Hello: PayloadCodable {
    static let kind = MessageKind.hello

    init(from r: inout PayloadReader) throws(WireError) {
        let minVersion = try r.integer("minVersion", as: UInt8.self)
        let maxVersion = try r.integer("maxVersion", as: UInt8.self)
        guard minVersion <= maxVersion else {
            throw .invalidValue(kind: .hello, field: "maxVersion", value: UInt64(maxVersion))
        }
        versions = minVersion...maxVersion
        capabilities = Capabilities(rawValue: try r.integer("capabilities"))
        workerID = try r.integer("workerID")
        name = try r.string("name", maxBytes: Self.maxNameBytes)
        hardware = HardwareReport(
            threads: try r.integer("threads"), numaNodes: try r.integer("numaNodes"),
            freeMemoryBytes: try r.integer("freeMemoryBytes"), memoryBandwidthMBps: try r.integer("memoryBandwidthMBps"))
        modelHash = try r.isPresent("modelHash") ? try r.bytes32("modelHash") : nil
        challenge = try r.bytes32("challenge")
    }

    func encode(to w: inout PayloadWriter) throws(WireError) {
        w.integer(versions.lowerBound)
        w.integer(versions.upperBound)
        w.integer(capabilities.rawValue)
        w.integer(workerID)
        try w.string(name, field: "name", maxBytes: Self.maxNameBytes)
        w.integer(hardware.threads)
        w.integer(hardware.numaNodes)
        w.integer(hardware.freeMemoryBytes)
        w.integer(hardware.memoryBandwidthMBps)
        w.bool(modelHash != nil)
        if let modelHash { w.bytes32(modelHash) }
        w.bytes32(challenge)
    }
}
