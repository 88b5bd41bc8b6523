import NIOCore
import StrataTestSupport
import StrataWire

/// Random, valid messages for property tests, from a seeded `SplitMix64`. Integers favour edge values (0, 1,
/// max) an eighth of the time; strings mix ASCII with 2-, 3- and 4-byte UTF-8 and sometimes fill their limit.
struct MessageGenerator {
    var rng: SplitMix64

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func below(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
    mutating func chance(_ oneIn: Int) -> Bool { below(oneIn) == 0 }

    mutating func integer<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type = T.self) -> T {
        switch below(16) {
        case 0: return 0
        case 1: return 1
        case 2: return T.max
        default: return T(truncatingIfNeeded: rng.next())
        }
    }

    mutating func nonZero<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type = T.self) -> T {
        let v: T = integer()
        return v == 0 ? 1 : v
    }

    mutating func string(maxBytes: Int) -> String {
        let pieces = ["a", "Z", "0", " ", "-", ".", "é", "ß", "中", "語", "😀", "\u{301}", "\u{0}"]
        if chance(8) { return String(repeating: "x", count: maxBytes) }
        let target = below(min(maxBytes, 40) + 1)
        var s = ""
        while true {
            let piece = pieces[below(pieces.count)]
            if s.utf8.count + piece.utf8.count > target { break }
            s += piece
        }
        return s
    }

    mutating func bytes32() -> Bytes32 { Bytes32.random(using: &rng) }

    mutating func optional<T>(_ make: (inout MessageGenerator) -> T) -> T? {
        chance(2) ? nil : make(&self)
    }

    mutating func dtype() -> TensorDType { TensorDType.allCases[below(3)] }

    mutating func buffer(count: Int) -> ByteBuffer {
        ByteBuffer(bytes: (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
    }

    mutating func tensor(rows: Int) -> WireTensor {
        let dtype = dtype()
        let columns = 1 + below(8)
        // Any bytes are a valid tensor: the wire does not interpret elements.
        return WireTensor(dtype: dtype, rows: rows, columns: columns, data: buffer(count: rows * columns * dtype.byteSize))!
    }

    mutating func layerRange(total: UInt32) -> Range<UInt32> {
        let a = UInt32(truncatingIfNeeded: rng.next() % UInt64(total))
        let b = a + 1 + UInt32(truncatingIfNeeded: rng.next() % UInt64(total - a))
        return a..<b
    }

    mutating func message(_ kind: MessageKind) -> Message {
        switch kind {
        case .hello:
            let low: UInt8 = integer()
            let high = low + UInt8(truncatingIfNeeded: below(Int(UInt8.max - low) + 1))
            return .hello(
                Hello(
                    versions: low...high, capabilities: Capabilities(rawValue: integer()), workerID: integer(),
                    name: string(maxBytes: Hello.maxNameBytes),
                    hardware: HardwareReport(
                        threads: integer(), numaNodes: integer(), freeMemoryBytes: integer(),
                        memoryBandwidthMBps: integer()),
                    modelHash: optional { $0.bytes32() }, challenge: bytes32()))
        case .authenticate:
            return .authenticate(
                Authenticate(
                    version: integer(), role: PeerRole.allCases[below(2)], challenge: bytes32(), proof: bytes32(),
                    modelHash: bytes32()))
        case .welcome:
            return .welcome(Welcome(proof: bytes32()))
        case .goodbye:
            return .goodbye(
                Goodbye(
                    GoodbyeReason.allCases[below(GoodbyeReason.allCases.count)],
                    message: string(maxBytes: Goodbye.maxMessageBytes)))
        case .assignLayers:
            let total = chance(8) ? UInt32.max : UInt32(1 + below(200))
            return .assignLayers(
                AssignLayers(
                    layers: layerRange(total: total), totalLayers: total, activationDType: dtype(),
                    kvCacheDType: dtype(), contextLimit: nonZero(), maxSequences: nonZero(), maxBatchRows: nonZero(),
                    nextHop: optional { g in
                        var host = g.string(maxBytes: AssignLayers.maxHostBytes)
                        if host.isEmpty { host = "h" }
                        return NextHop(host: host, port: g.nonZero())
                    }, modelHash: bytes32()))
        case .layersReady:
            return .layersReady(LayersReady(layers: layerRange(total: 1 + UInt32(below(100))), kvCapacityTokens: integer()))
        case .loadFromLocalFile:
            return .loadFromLocalFile(LoadFromLocalFile(modelHash: bytes32()))
        case .weightChunk:
            let data = buffer(count: below(64))
            let offset = UInt64(below(1 << 20))
            let total = offset + UInt64(data.readableBytes) + UInt64(below(3) == 0 ? 0 : below(1 << 20))
            return .weightChunk(
                WeightChunk(
                    tensorName: string(maxBytes: WeightChunk.maxNameBytes), tensorType: integer(),
                    dimensions: (0...below(4)).map { _ in integer() }, byteOffset: offset, totalBytes: total,
                    data: data, isLast: chance(2)))
        case .weightsLoaded:
            return .weightsLoaded(
                WeightsLoaded(
                    tensorCount: integer(), byteCount: integer(), source: WeightSource.allCases[below(2)]))
        case .forward:
            let rows = 1 + below(6)
            let from = UInt32(below(40))
            let exit = from + 1 + UInt32(below(40))
            return .forward(
                Forward(
                    stepID: integer(), fromLayer: from, exitLayer: exit,
                    rows: (0..<rows).map { _ in
                        ForwardRow(
                            sequenceID: integer(), position: integer(),
                            joinLayer: from + UInt32(below(Int(exit - from) + 1)), flags: chance(3) ? .backfill : [])
                    }, hidden: tensor(rows: rows)))
        case .forwardResult:
            let rows = below(6)
            return .forwardResult(
                ForwardResult(
                    stepID: integer(), layerReached: nonZero(),
                    rows: (0..<rows).map { _ in RowID(sequenceID: integer(), position: integer()) },
                    hidden: tensor(rows: rows)))
        case .release:
            return .release(Release(sequenceIDs: (0..<below(20)).map { _ in integer() }))
        case .heartbeat:
            return .heartbeat(
                Heartbeat(
                    sentAtNanos: integer(), echoedNanos: integer(), queueDepth: integer(),
                    busyPermyriad: UInt16(below(10_001)), residentBytes: integer(), kvBytes: integer(),
                    sequencesHeld: integer()))
        case .drain:
            return .drain
        case .shutdown:
            return .shutdown
        case .error:
            return .error(
                ErrorReport(
                    code: ErrorCode(rawValue: integer()), requestID: optional { $0.integer() },
                    message: string(maxBytes: ErrorReport.maxMessageBytes)))
        }
    }

    mutating func frame() -> Frame {
        let kind = MessageKind.allCases[below(MessageKind.allCases.count)]
        return Frame(message(kind), requestID: integer())
    }
}
