/// Coordinator → worker: drop the KV cache (and any kept hidden states) of these sequences.
public struct Release: Equatable, Sendable {
    public var sequenceIDs: [UInt64]

    public init(sequenceIDs: [UInt64]) { self.sequenceIDs = sequenceIDs }
}

extension Release: PayloadCodable {
    static let kind = MessageKind.release

    init(from r: inout PayloadReader) throws(WireError) {
        let count = try r.count("count", limit: r.limits.maxReleaseCount, elementSize: 8)
        var ids = [UInt64]()
        ids.reserveCapacity(count)  // bounded by the bytes left, checked by `count`
        for _ in 0..<count { ids.append(try r.integer("sequenceIDs")) }
        sequenceIDs = ids
    }

    func encode(to w: inout PayloadWriter) throws(WireError) {
        try w.count(sequenceIDs.count, field: "count", limit: w.limits.maxReleaseCount)
        for id in sequenceIDs { w.integer(id) }
    }
}

/// Either direction, periodically: liveness, a round-trip clock, and load.
///
/// The receiver copies `sentAtNanos` into the `echoedNanos` of its next heartbeat, so the sender measures the
/// round trip on its own clock, with no clock synchronisation.
public struct Heartbeat: Equatable, Sendable {
    /// Payload size: 8 + 8 + 4 + 2 + 8 + 8 + 4.
    public static let payloadSize = 42

    /// The sender's monotonic clock, in nanoseconds.
    public var sentAtNanos: UInt64
    /// The latest `sentAtNanos` received from the peer, or 0 when none yet.
    public var echoedNanos: UInt64
    /// Micro-batches waiting for the sender's compute.
    public var queueDepth: UInt32
    /// Fraction of the last interval the sender's compute was busy, in units of 1/10000 (0 to 10000).
    public var busyPermyriad: UInt16
    /// Bytes of weights and scratch resident in memory.
    public var residentBytes: UInt64
    /// Bytes the KV cache holds.
    public var kvBytes: UInt64
    /// Sequences with KV cache held.
    public var sequencesHeld: UInt32

    public init(
        sentAtNanos: UInt64, echoedNanos: UInt64, queueDepth: UInt32, busyPermyriad: UInt16, residentBytes: UInt64,
        kvBytes: UInt64, sequencesHeld: UInt32
    ) {
        self.sentAtNanos = sentAtNanos
        self.echoedNanos = echoedNanos
        self.queueDepth = queueDepth
        self.busyPermyriad = busyPermyriad
        self.residentBytes = residentBytes
        self.kvBytes = kvBytes
        self.sequencesHeld = sequencesHeld
    }

    /// `busyPermyriad` as a fraction in [0, 1].
    public var busyFraction: Double { Double(busyPermyriad) / 10_000 }
}

extension Heartbeat: PayloadCodable {
    static let kind = MessageKind.heartbeat

    init(from r: inout PayloadReader) throws(WireError) {
        sentAtNanos = try r.integer("sentAtNanos")
        echoedNanos = try r.integer("echoedNanos")
        queueDepth = try r.integer("queueDepth")
        busyPermyriad = try r.integer("busyPermyriad")
        guard busyPermyriad <= 10_000 else {
            throw .invalidValue(kind: .heartbeat, field: "busyPermyriad", value: UInt64(busyPermyriad))
        }
        residentBytes = try r.integer("residentBytes")
        kvBytes = try r.integer("kvBytes")
        sequencesHeld = try r.integer("sequencesHeld")
    }

    func encode(to w: inout PayloadWriter) throws(WireError) {
        guard busyPermyriad <= 10_000 else {
            throw .invalidValue(kind: .heartbeat, field: "busyPermyriad", value: UInt64(busyPermyriad))
        }
        w.integer(sentAtNanos)
        w.integer(echoedNanos)
        w.integer(queueDepth)
        w.integer(busyPermyriad)
        w.integer(residentBytes)
        w.integer(kvBytes)
        w.integer(sequencesHeld)
    }
}
