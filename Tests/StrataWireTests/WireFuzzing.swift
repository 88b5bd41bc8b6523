import NIOCore
import StrataWire

/// The two fuzz drivers: the libFuzzer harnesses in `FuzzTesting/` run them (this file is linked there), and
/// the tests run them on seeded inputs and on every file in `FuzzTesting/FailCases/`. Each returns the broken
/// invariants it found; an empty list means the input was handled correctly.
public enum WireFuzzing {
    /// Parses frames from `bytes` until nil or an error. Invariants: an error or nil consumes nothing, and every
    /// accepted frame re-encodes to exactly the bytes it was parsed from.
    /// - Returns: the frames accepted and the invariants broken.
    public static func parse(_ bytes: [UInt8], limits: WireLimits = .default) -> (accepted: Int, violations: [String]) {
        var buffer = ByteBuffer(bytes: bytes)
        var accepted = 0
        var violations: [String] = []
        while true {
            let start = buffer.readerIndex
            let frame: Frame?
            do {
                frame = try Frame.parse(&buffer, limits: limits)
            } catch {
                if buffer.readerIndex != start { violations.append("an error consumed bytes") }
                return (accepted, violations)
            }
            guard let frame else {
                if buffer.readerIndex != start { violations.append("needing more bytes consumed bytes") }
                return (accepted, violations)
            }
            accepted += 1
            let consumed = bytes[start..<buffer.readerIndex]
            guard let reencoded = try? frame.encoded(limits: limits) else {
                violations.append("an accepted \(frame.message.kind) does not re-encode")
                continue
            }
            if Array(reencoded.readableBytesView)[...] != consumed {
                violations.append("an accepted \(frame.message.kind) is not in canonical form")
            }
        }
    }

    /// Runs a worker and a connecting side against each other while the input decides, step by step, whether to
    /// deliver the real message, a message parsed from the input, a bit-flipped copy of the real message, or a
    /// timeout. The first byte picks the secrets, versions and model policy.
    ///
    /// Invariants: neither side establishes when the secrets differ, nor twice; the connecting side establishes
    /// only after the worker did; a side that ended answers every later call with `close(peerSaid: nil)`.
    /// - Returns: the invariants broken, and which sides established.
    public static func handshake(_ bytes: [UInt8]) -> HandshakeOutcome {
        guard let setup = bytes.first else { return HandshakeOutcome() }
        var input = ByteBuffer(bytes: bytes.dropFirst())
        let sameSecret = setup & 0x01 == 0
        let otherModel = ModelHash(repeatElement(0x22, count: 32))!
        let model = ModelHash(repeatElement(0x11, count: 32))!
        let worker = WorkerHandshake.Configuration(
            versions: setup & 0x02 == 0 ? 1...1 : 2...3, capabilities: [], workerID: 1, name: "fuzz",
            hardware: HardwareReport(threads: 1, numaNodes: 1, freeMemoryBytes: 0, memoryBandwidthMBps: 0),
            localModelHash: setup & 0x04 == 0 ? model : (setup & 0x08 == 0 ? nil : otherModel),
            secret: SharedSecret(string: "worker secret"), acceptsOtherModels: setup & 0x10 != 0)
        let coordinator = CoordinatorHandshake.Configuration(
            role: setup & 0x20 == 0 ? .coordinator : .upstreamStage, modelHash: model,
            secret: SharedSecret(string: sameSecret ? "worker secret" : "another secret"),
            requiresLocalModel: setup & 0x40 != 0)
        var session = FuzzSession(
            worker: try? WorkerHandshake(configuration: worker, challenge: ModelHash(repeatElement(1, count: 32))!),
            coordinator: CoordinatorHandshake(configuration: coordinator, challenge: ModelHash(repeatElement(2, count: 32))!),
            sameSecret: sameSecret)
        session.start()
        for _ in 0..<16 {
            guard let op = input.readInteger(as: UInt8.self) else { break }
            session.step(op, &input)
        }
        return HandshakeOutcome(
            violations: session.violations, workerEstablished: session.workerEstablished,
            coordinatorEstablished: session.coordinatorEstablished)
    }

    /// What one fuzzed handshake did.
    public struct HandshakeOutcome: Sendable {
        public var violations: [String] = []
        public var workerEstablished = false
        public var coordinatorEstablished = false
    }
}

/// One fuzzed handshake in progress.
private struct FuzzSession {
    var worker: WorkerHandshake?
    var coordinator: CoordinatorHandshake
    let sameSecret: Bool
    var toCoordinator: Message?
    var toWorker: Message?
    var workerEnded = false
    var coordinatorEnded = false
    var workerEstablished = false
    var coordinatorEstablished = false
    var violations: [String] = []

    mutating func start() {
        guard case .send(let hello)? = worker?.start() else {
            violations.append("a worker must start with Hello")
            return
        }
        toCoordinator = hello
    }

    mutating func step(_ op: UInt8, _ input: inout ByteBuffer) {
        let toWorkerSide = op & 0x80 != 0
        switch op & 0x03 {
        case 0:
            // The real message, if there is one.
            if toWorkerSide, let message = toWorker { toWorker = nil; deliverToWorker(message) }
            if !toWorkerSide, let message = toCoordinator { toCoordinator = nil; deliverToCoordinator(message) }
        case 1:
            // A message parsed from the input.
            guard let frame = try? Frame.parse(&input) else { return }
            toWorkerSide ? deliverToWorker(frame.message) : deliverToCoordinator(frame.message)
        case 2:
            // The real message with one bit flipped, if it still parses.
            guard let message = toWorkerSide ? toWorker : toCoordinator,
                var bytes = try? Frame(message).encoded(),
                let position = input.readInteger(as: UInt16.self)
            else { return }
            let index = WireFormat.headerSize + Int(position) % max(1, bytes.readableBytes - WireFormat.headerSize)
            guard index < bytes.writerIndex, let byte = bytes.getInteger(at: index, as: UInt8.self) else { return }
            bytes.setInteger(byte ^ (1 << (position >> 13)), at: index)
            guard let mutated = try? Frame.parse(&bytes) else { return }
            toWorkerSide ? deliverToWorker(mutated.message) : deliverToCoordinator(mutated.message)
        default:
            if toWorkerSide {
                handleWorker(worker?.timedOut())
            } else {
                handleCoordinator(coordinator.timedOut())
            }
        }
    }

    mutating func deliverToWorker(_ message: Message) {
        handleWorker(worker?.receive(message))
    }

    mutating func deliverToCoordinator(_ message: Message) {
        handleCoordinator(coordinator.receive(message))
    }

    mutating func handleWorker(_ action: HandshakeAction<WorkerHandshake.Peer>?) {
        guard let action else { return }
        if workerEnded, action != .close(peerSaid: nil) { violations.append("an ended worker acted: \(action)") }
        switch action {
        case .send(let message):
            if workerEstablished { violations.append("an established worker went on") }
            toCoordinator = message
        case .sendAndEstablish(let message, _):
            if !sameSecret { violations.append("the worker established with a wrong secret") }
            if workerEstablished { violations.append("the worker established twice") }
            workerEstablished = true
            toCoordinator = message
        case .establish: violations.append("the worker established without answering")
        case .sendAndClose, .close: workerEnded = true
        }
    }

    mutating func handleCoordinator(_ action: HandshakeAction<CoordinatorHandshake.Peer>) {
        if coordinatorEnded, action != .close(peerSaid: nil) {
            violations.append("an ended coordinator acted: \(action)")
        }
        switch action {
        case .send(let message):
            if coordinatorEstablished { violations.append("an established coordinator went on") }
            toWorker = message
        case .establish:
            if !sameSecret { violations.append("the coordinator established with a wrong secret") }
            if !workerEstablished { violations.append("the coordinator established before the worker") }
            if coordinatorEstablished { violations.append("the coordinator established twice") }
            coordinatorEstablished = true
        case .sendAndEstablish: violations.append("the coordinator sent a message as it established")
        case .sendAndClose, .close: coordinatorEnded = true
        }
    }
}
