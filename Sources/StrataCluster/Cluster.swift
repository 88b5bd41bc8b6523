import Foundation
import NIOCore
import NIOPosix
import StrataKernels
import StrataModel
import StrataWire
import Synchronization

/// The coordinator's view of a running chain of workers: it plans and assigns the split,
/// sends steps to the first stage, and matches the exit stage's results to the waiting step.
///
/// SAFETY (`@unchecked Sendable`): the queue, micro-batches in flight and request ids are guarded by `state`; the
/// links and assignment are immutable after `connect`.
public final class Cluster: @unchecked Sendable {
    public let options: ClusterOptions
    public let split: [Range<Int>]
    public let layerCount: Int
    public let hiddenSize: Int
    private let links: [PeerLink]
    private let group: MultiThreadedEventLoopGroup
    private let state = Mutex(State())

    private struct State {
        var nextRequest: UInt64 = 1
        /// Steps waiting for a micro-batch, in arrival order.
        var queue: [QueuedStep] = []
        /// Micro-batches in the chain: batch id → the steps it carries.
        var inFlight: [UInt64: [QueuedStep]] = [:]
        var lost: String?
        /// Rows sent through each stage, and micro-batches in the chain that reach it.
        var stageRows: [Int] = []
        var stageInFlight: [Int] = []
    }

    /// One sequence's step waiting to travel (rows and hidden as `step` received them).
    private struct QueuedStep {
        var rows: [ForwardRow]
        var hidden: [Float]
        var exit: Int
        var continuation: CheckedContinuation<[Float], any Error>
    }

    /// Micro-batches allowed in the chain at once: one per stage keeps every stage busy, one
    /// more covers the trip back to the coordinator.
    private var maxInFlight: Int { links.count + 1 }

    private init(options: ClusterOptions, split: [Range<Int>], layerCount: Int, hiddenSize: Int, links: [PeerLink], group: MultiThreadedEventLoopGroup) {
        self.options = options
        self.split = split
        self.layerCount = layerCount
        self.hiddenSize = hiddenSize
        self.links = links
        self.group = group
    }

    /// Connects to every worker, checks identities, assigns the split and waits until every
    /// stage is ready.
    public static func connect(_ options: ClusterOptions, config: LlamaConfig, modelHash: ModelHash) async throws -> Cluster {
        guard !options.workers.isEmpty else { throw ClusterError.notReady("no workers") }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let box = ClusterBox()
        let handshake = CoordinatorHandshake.Configuration(
            role: .coordinator, modelHash: modelHash, secret: options.secret, requiresLocalModel: false)
        var links: [PeerLink] = []
        do {
            for address in options.workers {
                let link = try await PeerLink.connect(
                    to: address, group: group, handshake: handshake, limits: options.limits,
                    onFrame: { frame in box.cluster?.receive(frame, from: address) },
                    onClose: { box.cluster?.lost(address) })
                links.append(link)
            }
        } catch {
            for link in links { try? await link.channel.close() }
            try? await group.shutdownGracefully()
            throw error
        }
        let split = try options.split ?? plan(links: links, layerCount: config.layerCount, blockBytes: options.blockBytes)
        guard split.count == links.count, split.first?.lowerBound == 0, split.last?.upperBound == config.layerCount else {
            throw ClusterError.notReady("the split \(split.map { "\($0.lowerBound)-\($0.upperBound)" }) does not cover blocks 0-\(config.layerCount) with one range per worker")
        }
        let cluster = Cluster(options: options, split: split, layerCount: config.layerCount, hiddenSize: config.hiddenSize, links: links, group: group)
        cluster.state.withLock { s in
            s.stageRows = Array(repeating: 0, count: split.count)
            s.stageInFlight = Array(repeating: 0, count: split.count)
        }
        box.cluster = cluster
        try await cluster.assign(config: config, modelHash: modelHash)
        return cluster
    }

    /// The split from what each worker reported: blocks in proportion to measured read bandwidth
    /// (threads when a worker measured none), capped by what its free memory holds.
    private static func plan(links: [PeerLink], layerCount: Int, blockBytes: Int?) throws -> [Range<Int>] {
        let hardware = links.map(\.hello.hardware)
        let weights = hardware.allSatisfy { $0.memoryBandwidthMBps > 0 }
            ? hardware.map { Double($0.memoryBandwidthMBps) } : hardware.map { Double(max($0.threads, 1)) }
        let capacities = blockBytes.map { bytes in
            hardware.map { max(1, Int(min($0.freeMemoryBytes / UInt64(max(bytes, 1)), UInt64(layerCount)))) }
        }
        guard let split = planSplit(layerCount: layerCount, weights: weights, capacities: capacities) else {
            throw ClusterError.notReady("the workers' memory cannot hold \(layerCount) blocks")
        }
        return split
    }

    private func assign(config: LlamaConfig, modelHash: ModelHash) async throws {
        let context = min(options.contextLimit ?? config.contextLength, config.contextLength)
        // Assign from the last stage back, so each next hop is ready when its upstream links to it.
        for i in links.indices.reversed() {
            let next = i + 1 < links.count ? NextHop(host: links[i + 1].address.host, port: UInt16(links[i + 1].address.port)) : nil
            let assign = AssignLayers(
                layers: UInt32(split[i].lowerBound)..<UInt32(split[i].upperBound), totalLayers: UInt32(config.layerCount),
                activationDType: options.activationDType, kvCacheDType: .f32, contextLimit: UInt32(context),
                maxSequences: UInt32(options.maxSequences), maxBatchRows: UInt32(options.limits.maxRowsPerBatch), nextHop: next,
                modelHash: modelHash)
            if links[i].hello.modelHash != modelHash {
                try await streamModel(to: i)
            }
            let reply = try await request(.assignLayers(assign), to: i, expecting: "LayersReady")
            guard case .layersReady = reply else {
                throw ClusterError.protocolViolation(peer: links[i].address.description, what: "answered AssignLayers with \(reply.kind)")
            }
            let loaded = try await request(.loadFromLocalFile(LoadFromLocalFile(modelHash: modelHash)), to: i, expecting: "WeightsLoaded")
            guard case .weightsLoaded = loaded else {
                throw ClusterError.protocolViolation(peer: links[i].address.description, what: "answered LoadFromLocalFile with \(loaded.kind)")
            }
        }
    }

    /// Sends this coordinator's model file to worker `index`, which lacks it, in CRC-checked
    /// chunks, and waits until the worker has verified it.
    private func streamModel(to index: Int) async throws {
        let path = options.modelPath
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ClusterError.modelFile("cannot read \(path)") }
        defer { try? handle.close() }
        let total = UInt64((try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0)
        let chunkSize = min(8 << 20, Int(options.limits.maxWeightChunkBytes))
        var offset: UInt64 = 0
        while offset < total {
            guard let data = try handle.read(upToCount: chunkSize), !data.isEmpty else {
                throw ClusterError.modelFile("\(path) ended at byte \(offset) of \(total)")
            }
            var buffer = ByteBufferAllocator().buffer(capacity: data.count)
            buffer.writeBytes(data)
            let last = offset + UInt64(data.count) >= total
            let chunk = WeightChunk(
                tensorName: "model.file", tensorType: 0, dimensions: [total], byteOffset: offset, totalBytes: total,
                data: buffer, isLast: last)
            if last {
                let reply = try await request(.weightChunk(chunk), to: index, expecting: "WeightsLoaded")
                guard case .weightsLoaded = reply else {
                    throw ClusterError.protocolViolation(peer: links[index].address.description, what: "answered the model stream with \(reply.kind)")
                }
            } else {
                links[index].send(.weightChunk(chunk))
            }
            offset += UInt64(data.count)
        }
    }

    // MARK: - Requests

    private let controlReplies = Mutex([UInt64: CheckedContinuation<Message, any Error>]())

    /// Sends a control request and waits for the frame answering it.
    private func request(_ message: Message, to index: Int, expecting: String) async throws -> Message {
        let id = state.withLock { s in
            defer { s.nextRequest += 1 }
            return s.nextRequest
        }
        let reply = try await withCheckedThrowingContinuation { (c: CheckedContinuation<Message, any Error>) in
            controlReplies.withLock { $0[id] = c }
            links[index].send(message, requestID: id)
        }
        if case .error(let report) = reply {
            throw ClusterError.remote(peer: links[index].address.description, message: report.message)
        }
        return reply
    }

    /// Runs one step through the chain: `hidden` (rows.count, d) enters the first stage and the
    /// stage holding block `exit` returns the rows' states there.
    ///
    /// Steps of different sequences that wait at the same time travel together as one
    /// micro-batch (same exit, up to the row limit), so concurrent sequences share each weight
    /// read; at most one micro-batch per stage (plus one) is in the chain at once.
    /// - Returns: (rows.count, d) hidden states after block `exit`.
    public func step(rows: [PipelineStage.Row], hidden: [Float], exit: Int) async throws -> [Float] {
        guard exit >= 1, exit <= layerCount else { throw ModelError.invalidExit(exit, layerCount: layerCount) }
        guard hidden.count == rows.count * hiddenSize, !rows.isEmpty else {
            throw ModelError.invalidBatch("\(rows.count) rows with \(hidden.count) hidden values")
        }
        let wireRows = rows.map {
            ForwardRow(sequenceID: $0.sequence, position: UInt32($0.position), joinLayer: UInt32($0.joinLayer))
        }
        return try await withCheckedThrowingContinuation { c in
            let failure: String? = state.withLock { s in
                if let lost = s.lost { return lost }
                s.queue.append(QueuedStep(rows: wireRows, hidden: hidden, exit: exit, continuation: c))
                return nil
            }
            if let failure {
                c.resume(throwing: ClusterError.connectionLost(peer: failure))
                return
            }
            dispatch()
        }
    }

    /// Sends queued steps as micro-batches while the chain has room.
    private func dispatch() {
        while true {
            let batch: (id: UInt64, forward: Forward)? = state.withLock { s in
                guard s.inFlight.count < maxInFlight, let first = s.queue.first else { return nil }
                var taken: [QueuedStep] = []
                var rows = 0
                var rest: [QueuedStep] = []
                for step in s.queue {
                    if step.exit == first.exit && rows + step.rows.count <= options.limits.maxRowsPerBatch {
                        taken.append(step)
                        rows += step.rows.count
                    } else {
                        rest.append(step)
                    }
                }
                s.queue = rest
                let id = s.nextRequest
                s.nextRequest += 1
                s.inFlight[id] = taken
                for (i, range) in split.enumerated() where range.lowerBound < first.exit && i < s.stageRows.count {
                    s.stageRows[i] += rows
                    s.stageInFlight[i] += 1
                }
                let tensor = WireTensor(
                    values: taken.flatMap(\.hidden), rows: rows, columns: hiddenSize, dtype: options.activationDType)
                return (id, Forward(stepID: id, fromLayer: 0, exitLayer: UInt32(first.exit), rows: taken.flatMap(\.rows), hidden: tensor))
            }
            guard let batch else { return }
            links[0].send(.forward(batch.forward), requestID: batch.id)
        }
    }

    /// Hands each step its rows of a finished micro-batch.
    private func complete(_ result: ForwardResult) {
        guard let steps = takeInFlight(result.stepID) else { return }
        let total = steps.reduce(0) { $0 + $1.rows.count }
        if result.rows.count != total || result.hidden.columns != hiddenSize
            || steps.contains(where: { Int(result.layerReached) != $0.exit })
        {
            for step in steps {
                step.continuation.resume(
                    throwing: ClusterError.protocolViolation(
                        peer: "the exit stage", what: "returned \(result.rows.count) rows at block \(result.layerReached)"))
            }
        } else {
            let values = result.hidden.floats()
            var offset = 0
            for step in steps {
                let count = step.rows.count * hiddenSize
                step.continuation.resume(returning: Array(values[offset..<(offset + count)]))
                offset += count
            }
        }
        dispatch()
    }

    /// Removes a micro-batch from the chain's books.
    private func takeInFlight(_ id: UInt64) -> [QueuedStep]? {
        state.withLock { s in
            guard let steps = s.inFlight.removeValue(forKey: id) else { return nil }
            if let exit = steps.first?.exit {
                for (i, range) in split.enumerated() where range.lowerBound < exit && i < s.stageInFlight.count {
                    s.stageInFlight[i] -= 1
                }
            }
            return steps
        }
    }

    /// What each worker has been given: rows computed so far and micro-batches in flight.
    public func load() -> [StageLoad] {
        state.withLock { s in
            links.indices.map { i in
                StageLoad(
                    worker: links[i].address.description, layers: split[i],
                    rows: i < s.stageRows.count ? s.stageRows[i] : 0, inFlight: i < s.stageInFlight.count ? s.stageInFlight[i] : 0)
            }
        }
    }

    /// Drops the sequence's KV caches on every worker.
    public func release(_ sequence: UInt64) {
        for link in links { link.send(.release(Release(sequenceIDs: [sequence]))) }
    }

    /// Closes every link.
    public func shutdown() async {
        for link in links { try? await link.channel.close() }
        try? await group.shutdownGracefully()
    }

    // MARK: - Inbound

    fileprivate func receive(_ frame: Frame, from address: PeerAddress) {
        switch frame.message {
        case .forwardResult(let result):
            complete(result)
        case .error(let report):
            let id = report.requestID ?? frame.requestID
            if let c = controlReplies.withLock({ $0.removeValue(forKey: id) }) {
                c.resume(returning: frame.message)
            } else if let steps = takeInFlight(id) {
                for step in steps {
                    step.continuation.resume(throwing: ClusterError.remote(peer: address.description, message: report.message))
                }
                dispatch()
            }
        case .heartbeat, .goodbye:
            break
        default:
            if let c = controlReplies.withLock({ $0.removeValue(forKey: frame.requestID) }) {
                c.resume(returning: frame.message)
            }
        }
    }

    fileprivate func lost(_ address: PeerAddress) {
        let waiting = state.withLock { s in
            s.lost = address.description
            defer {
                s.inFlight.removeAll()
                s.stageInFlight = s.stageInFlight.map { _ in 0 }
                s.queue.removeAll()
            }
            return s.inFlight.values.flatMap { $0 } + s.queue
        }
        for step in waiting { step.continuation.resume(throwing: ClusterError.connectionLost(peer: address.description)) }
        let control = controlReplies.withLock { r in
            defer { r.removeAll() }
            return Array(r.values)
        }
        for c in control { c.resume(throwing: ClusterError.connectionLost(peer: address.description)) }
    }
}

/// One worker's share of the traffic.
public struct StageLoad: Sendable, Equatable {
    public var worker: String
    public var layers: Range<Int>
    /// Rows (token positions) sent through this worker's blocks so far.
    public var rows: Int
    /// Micro-batches in the chain that reach this worker.
    public var inFlight: Int
}

/// Lets the links' callbacks reach the cluster created after them.
private final class ClusterBox: @unchecked Sendable {
    // SAFETY: written once, before any frame other than the handshake can arrive.
    nonisolated(unsafe) weak var cluster: Cluster?
}
