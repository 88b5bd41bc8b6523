import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import StrataKernels
import StrataModel
import StrataWire
import Synchronization

/// The coordinator's view of a running chain of workers: it plans and assigns the split,
/// sends steps to the first stage, and matches the exit stage's results to the waiting step.
///
/// When a worker is lost (its connection closes, or it stops answering heartbeats), the chain
/// keeps serving every exit the stages before it still reach: steps that needed the lost stage
/// fail with `ClusterError.stageLost` and the caller retries shallower. The coordinator keeps
/// dialling the lost address, then each idle spare (`ClusterOptions.spares`); the first worker
/// that answers is assigned the same blocks (receiving the model if it lacks it), its upstream
/// stage is re-linked to it, and the full depth is back. A spare that takes over leaves the lost
/// address in the spares, for when a worker returns there.
///
/// SAFETY (`@unchecked Sendable`): the links, queue, micro-batches in flight, lost stages and
/// request ids are guarded by `state`; the split and assignment settings are immutable.
public final class Cluster: @unchecked Sendable {
    public let options: ClusterOptions
    public let split: [Range<Int>]
    public let layerCount: Int
    public let hiddenSize: Int
    private let group: MultiThreadedEventLoopGroup
    private let state: Mutex<State>
    private let config: LlamaConfig
    private let modelHash: ModelHash
    private let handshake: CoordinatorHandshake.Configuration
    private let box: ClusterBox

    private struct State {
        var nextRequest: UInt64 = 1
        /// Steps waiting for a micro-batch, in arrival order.
        var queue: [QueuedStep] = []
        /// Micro-batches in the chain: batch id → the steps it carries and when it left.
        var inFlight: [UInt64: InFlight] = [:]
        var links: [PeerLink]
        /// Stages whose worker is gone, by its address.
        var lostStages: [Int: String] = [:]
        /// Idle workers that may take over a lost stage, in the order they are tried.
        var spares: [PeerAddress]
        /// When each link last delivered a frame (monotonic seconds).
        var lastHeard: [Double]
        /// Which connection to each stage is current: a closing older one is not a loss.
        var generations: [Int]
        var shutDown = false
        /// The first block of every stage lost so far, in order (its count is the loss epoch).
        var losses: [Int] = []
        /// Rows sent through each stage, and micro-batches in the chain that reach it.
        var stageRows: [Int]
        var stageInFlight: [Int]

        /// The first block of the earliest lost stage, or `layerCount` when none is lost.
        func reachable(_ split: [Range<Int>], layerCount: Int) -> Int {
            lostStages.keys.map { split[$0].lowerBound }.min() ?? layerCount
        }

        /// Counts a micro-batch stopping at `exit` into (`by` 1) or out of (-1) every stage it crosses.
        mutating func track(exit: Int, rows: Int, by delta: Int, _ split: [Range<Int>]) {
            for (i, range) in split.enumerated() where range.lowerBound < exit && i < stageInFlight.count {
                stageInFlight[i] += delta
                if delta > 0 { stageRows[i] += rows }
            }
        }
    }

    /// A micro-batch in the chain.
    private struct InFlight {
        var steps: [QueuedStep]
        /// When it was sent (monotonic seconds), for the step deadline.
        var sentAt: Double
        var exit: Int { steps.first?.exit ?? 0 }
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
    private var maxInFlight: Int { split.count + 1 }

    private init(
        options: ClusterOptions, split: [Range<Int>], config: LlamaConfig, modelHash: ModelHash, links: [PeerLink],
        group: MultiThreadedEventLoopGroup, handshake: CoordinatorHandshake.Configuration, box: ClusterBox
    ) {
        self.options = options
        self.split = split
        self.config = config
        self.modelHash = modelHash
        layerCount = config.layerCount
        hiddenSize = config.hiddenSize
        self.group = group
        self.handshake = handshake
        self.box = box
        let now = monotonicSeconds()
        state = Mutex(State(
            links: links, spares: options.spares, lastHeard: Array(repeating: now, count: links.count), generations: Array(repeating: 0, count: links.count),
            stageRows: Array(repeating: 0, count: links.count), stageInFlight: Array(repeating: 0, count: links.count)))
    }

    /// A snapshot of the links.
    private var links: [PeerLink] { state.withLock { $0.links } }

    /// The deepest exit every stage up to it can serve now: the full depth, or the first block
    /// of the earliest lost stage (0 when the first stage is lost).
    public var reachableDepth: Int {
        state.withLock { $0.reachable(split, layerCount: layerCount) }
    }

    /// Losses since `epoch` (a count from an earlier call): the new epoch, and the first block
    /// of the shallowest stage lost since, whose caches — and the caches of every later stage a
    /// sequence went through — cannot be trusted.
    public func losses(since epoch: Int) -> (epoch: Int, shallowest: Int?) {
        state.withLock { s in (s.losses.count, epoch < s.losses.count ? s.losses[max(epoch, 0)...].min() : nil) }
    }

    /// Workers lost and not yet back, by address.
    public var lostWorkers: [String] { state.withLock { s in s.lostStages.keys.sorted().compactMap { s.lostStages[$0] } } }

    /// Idle spares, by address, in the order a lost stage tries them.
    public var spareWorkers: [String] { state.withLock { $0.spares.map(\.description) } }

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
            for (i, address) in options.workers.enumerated() {
                links.append(
                    try await Self.dial(
                        address, stage: i, generation: 0, group: group, handshake: handshake, limits: options.limits, tls: options.tls,
                        box: box))
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
        let cluster = Cluster(
            options: options, split: split, config: config, modelHash: modelHash, links: links, group: group,
            handshake: handshake, box: box)
        box.cluster = cluster
        do {
            // Assign from the last stage back, so each next hop is ready when its upstream links to it.
            for i in links.indices.reversed() { try await cluster.assignStage(i) }
        } catch {
            await cluster.shutdown()
            throw error
        }
        cluster.startHeartbeats()
        return cluster
    }

    /// Opens and authenticates the link to stage `stage`'s worker.
    private static func dial(
        _ address: PeerAddress, stage: Int, generation: Int, group: MultiThreadedEventLoopGroup,
        handshake: CoordinatorHandshake.Configuration, limits: WireLimits, tls: TLSConfiguration?, box: ClusterBox
    ) async throws -> PeerLink {
        try await PeerLink.connect(
            to: address, group: group, handshake: handshake, limits: limits, tls: tls,
            onFrame: { frame in box.cluster?.receive(frame, from: stage) },
            onClose: { box.cluster?.lost(stage: stage, generation: generation, address: address) })
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

    /// Gives stage `i` its blocks and next hop, streams the model if the worker lacks it, and
    /// waits until the blocks are loaded.
    private func assignStage(_ i: Int) async throws {
        let context = min(options.contextLimit ?? config.contextLength, config.contextLength)
        let links = self.links
        let next = i + 1 < links.count ? NextHop(host: links[i + 1].address.host, port: UInt16(links[i + 1].address.port)) : nil
        let assign = AssignLayers(
            layers: UInt32(split[i].lowerBound)..<UInt32(split[i].upperBound), totalLayers: UInt32(config.layerCount),
            activationDType: options.activationDType, kvCacheDType: options.kvCacheType == .f16 ? .f16 : .f32,
            contextLimit: UInt32(context),
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

    /// Sends this coordinator's model file to worker `index`, which lacks it, in CRC-checked
    /// chunks, and waits until the worker has verified it.
    private func streamModel(to index: Int) async throws {
        let path = options.modelPath
        let links = self.links
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

    /// Control requests waiting for their answer, with the stage each went to.
    private let controlReplies = Mutex([UInt64: (continuation: CheckedContinuation<Message, any Error>, stage: Int)]())

    /// Sends a control request and waits for the frame answering it.
    private func request(_ message: Message, to index: Int, expecting: String) async throws -> Message {
        let id = state.withLock { s in
            defer { s.nextRequest += 1 }
            return s.nextRequest
        }
        let link = links[index]
        let reply = try await withCheckedThrowingContinuation { (c: CheckedContinuation<Message, any Error>) in
            controlReplies.withLock { $0[id] = (c, index) }
            link.send(message, requestID: id)
        }
        if case .error(let report) = reply {
            throw ClusterError.remote(peer: link.address.description, message: report.message)
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
            let failure: ClusterError? = state.withLock { s in
                if s.shutDown { return .notReady("the cluster has shut down") }
                let reachable = s.reachable(split, layerCount: layerCount)
                if exit > reachable {
                    return .stageLost(peer: s.lostStages.values.sorted().joined(separator: ", "), reachableDepth: reachable)
                }
                s.queue.append(QueuedStep(rows: wireRows, hidden: hidden, exit: exit, continuation: c))
                return nil
            }
            if let failure {
                c.resume(throwing: failure)
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
                    if step.exit == first.exit && (taken.isEmpty || rows + step.rows.count <= options.limits.maxRowsPerBatch) {
                        taken.append(step)
                        rows += step.rows.count
                    } else {
                        rest.append(step)
                    }
                }
                s.queue = rest
                let id = s.nextRequest
                s.nextRequest += 1
                s.inFlight[id] = InFlight(steps: taken, sentAt: monotonicSeconds())
                s.track(exit: first.exit, rows: rows, by: 1, split)
                let tensor = WireTensor(
                    values: taken.flatMap(\.hidden), rows: rows, columns: hiddenSize, dtype: options.activationDType)
                return (id, Forward(stepID: id, fromLayer: 0, exitLayer: UInt32(first.exit), rows: taken.flatMap(\.rows), hidden: tensor))
            }
            guard let batch else { return }
            links.first?.send(.forward(batch.forward), requestID: batch.id)
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
            guard let batch = s.inFlight.removeValue(forKey: id) else { return nil }
            s.track(exit: batch.exit, rows: 0, by: -1, split)
            return batch.steps
        }
    }

    /// What each worker has been given: rows computed so far and micro-batches in flight.
    public func load() -> [StageLoad] {
        state.withLock { s in
            s.links.indices.map { i in
                StageLoad(
                    worker: s.links[i].address.description, layers: split[i],
                    rows: i < s.stageRows.count ? s.stageRows[i] : 0, inFlight: i < s.stageInFlight.count ? s.stageInFlight[i] : 0,
                    up: s.lostStages[i] == nil)
            }
        }
    }

    /// Drops the sequence's KV caches on every worker.
    public func release(_ sequence: UInt64) {
        for link in links { link.send(.release(Release(sequenceIDs: [sequence]))) }
    }

    /// Closes every link and stops reconnecting.
    public func shutdown() async {
        let links = state.withLock { s in
            s.shutDown = true
            return s.links
        }
        heartbeatTask.withLock { $0?.cancel() }
        for link in links { try? await link.channel.close() }
        try? await group.shutdownGracefully()
    }

    // MARK: - Inbound

    fileprivate func receive(_ frame: Frame, from stage: Int) {
        let now = monotonicSeconds()
        state.withLock { s in if stage < s.lastHeard.count { s.lastHeard[stage] = now } }
        switch frame.message {
        case .forwardResult(let result):
            complete(result)
        case .error(let report):
            let id = report.requestID ?? frame.requestID
            if let c = controlReplies.withLock({ $0.removeValue(forKey: id) }) {
                c.continuation.resume(returning: frame.message)
            } else if let steps = takeInFlight(id) {
                let peer = links.indices.contains(stage) ? links[stage].address.description : "stage \(stage)"
                for step in steps {
                    step.continuation.resume(throwing: ClusterError.remote(peer: peer, message: report.message))
                }
                dispatch()
            }
        case .heartbeat, .goodbye:
            break
        default:
            if let c = controlReplies.withLock({ $0.removeValue(forKey: frame.requestID) }) {
                c.continuation.resume(returning: frame.message)
            }
        }
    }

    /// Stage `stage`'s connection closed. Steps that needed it fail with `stageLost` (their
    /// callers retry at a reachable exit); steps that stop before it go on. Then the coordinator
    /// starts dialling the worker's address again.
    fileprivate func lost(stage: Int, generation: Int, address: PeerAddress) {
        let (failed, alreadyLost, shutDown) = state.withLock { s -> ([QueuedStep], Bool, Bool) in
            guard stage < s.links.count, s.generations[stage] == generation, !s.shutDown else { return ([], true, s.shutDown) }
            let known = s.lostStages[stage] != nil
            s.lostStages[stage] = address.description
            if !known { s.losses.append(split[stage].lowerBound) }
            let reachable = s.reachable(split, layerCount: layerCount)
            var failed: [QueuedStep] = []
            for (id, batch) in s.inFlight where batch.exit > reachable {
                failed += batch.steps
                s.inFlight.removeValue(forKey: id)
                s.track(exit: batch.exit, rows: 0, by: -1, split)
            }
            failed += s.queue.filter { $0.exit > reachable }
            s.queue.removeAll { $0.exit > reachable }
            return (failed, known, false)
        }
        guard !shutDown else { return }
        let reachable = reachableDepth
        for step in failed {
            step.continuation.resume(throwing: ClusterError.stageLost(peer: address.description, reachableDepth: reachable))
        }
        let control = controlReplies.withLock { r in
            let mine = r.filter { $0.value.stage == stage }
            for key in mine.keys { r.removeValue(forKey: key) }
            return mine.values.map(\.continuation)
        }
        for c in control { c.resume(throwing: ClusterError.connectionLost(peer: address.description)) }
        dispatch()
        if !alreadyLost { reconnect(stage: stage, address: address) }
    }

    // MARK: - Liveness and recovery

    private let heartbeatTask = Mutex<Task<Void, Never>?>(nil)
    private let stepTimeouts = Atomic<Int>(0)

    /// Links closed so far because a micro-batch outlived `stepTimeout`.
    public var stepTimeoutCount: Int { stepTimeouts.load(ordering: .relaxed) }

    /// Every `heartbeatInterval` each live link gets a heartbeat; a link silent for
    /// `heartbeatTimeout` (no frame at all, answers included) is closed and handled as lost.
    ///
    /// A worker can answer heartbeats while a step never comes back — a link between two stages
    /// that stopped carrying data, a frame dropped on the way. So a micro-batch out longer than
    /// `stepTimeout` closes the link to the stage holding its exit, which is then handled like
    /// any lost stage: its steps are replayed at a reachable exit, and re-adding the stage makes
    /// the stage before it dial a fresh link. (If the fault lies further up the route, the
    /// shallower replay meets it and the next deadline closes the stage before, one at a time.)
    private func startHeartbeats() {
        let interval = options.heartbeatInterval
        let task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self else { return }
                self.beat()
            }
        }
        heartbeatTask.withLock { $0 = task }
    }

    private func beat() {
        let now = monotonicSeconds()
        let timeout = options.heartbeatTimeout.seconds
        let deadline = options.stepTimeout.seconds
        let (links, silent, stalled) = state.withLock { s -> ([(Int, PeerLink)], [PeerLink], [PeerLink]) in
            guard !s.shutDown else { return ([], [], []) }
            let live = s.links.indices.filter { s.lostStages[$0] == nil }.map { ($0, s.links[$0]) }
            let overdue = Set(s.inFlight.values.filter { now - $0.sentAt > deadline }.compactMap { batch in
                split.firstIndex { $0.contains(batch.exit - 1) }
            })
            return (
                live, live.filter { now - s.lastHeard[$0.0] > timeout }.map(\.1),
                live.filter { overdue.contains($0.0) }.map(\.1)
            )
        }
        let beat = Heartbeat(
            sentAtNanos: DispatchTime.now().uptimeNanoseconds, echoedNanos: 0, queueDepth: 0, busyPermyriad: 0,
            residentBytes: 0, kvBytes: 0, sequencesHeld: 0)
        for (_, link) in links { link.send(.heartbeat(beat)) }
        for link in silent + stalled {
            // Closing fires the link's close handler, which marks the stage lost.
            link.channel.close(promise: nil)
        }
        if !stalled.isEmpty { stepTimeouts.add(stalled.count, ordering: .relaxed) }
    }

    /// Dials `address`, then each idle spare, until a worker answers, then gives it stage
    /// `stage`'s blocks, re-links the stage before it, and marks the stage live again.
    private func reconnect(stage: Int, address: PeerAddress) {
        let interval = options.reconnectInterval
        Task { [weak self] in
            while true {
                try? await Task.sleep(for: interval)
                guard let self, !self.state.withLock({ $0.shutDown }) else { return }
                if await self.takeOver(stage: stage, at: address) { return }
                // A spare is taken out of the list while it is tried, so no two stages dial the
                // same one at once (a worker keeps only its newest coordinator).
                while let spare = self.state.withLock({ $0.spares.isEmpty ? nil : $0.spares.removeFirst() }) {
                    if await self.takeOver(stage: stage, at: spare) {
                        self.state.withLock { $0.spares.append(address) }
                        return
                    }
                    self.state.withLock { $0.spares.append(spare) }
                }
            }
        }
    }

    /// One attempt to give stage `stage` to the worker at `address`.
    /// - Returns: whether the stage is live again.
    private func takeOver(stage: Int, at address: PeerAddress) async -> Bool {
        let generation = state.withLock { s in
            s.generations[stage] += 1
            return s.generations[stage]
        }
        guard
            let link = try? await Self.dial(
                address, stage: stage, generation: generation, group: group, handshake: handshake, limits: options.limits,
                tls: options.tls, box: box)
        else { return false }
        state.withLock { s in
            s.links[stage] = link
            s.lastHeard[stage] = monotonicSeconds()
        }
        do {
            try await assignStage(stage)
            if stage > 0 { try await assignStage(stage - 1) }
            state.withLock { s in
                s.lostStages.removeValue(forKey: stage)
                s.spares.removeAll { $0 == address }
            }
            return true
        } catch {
            try? await link.channel.close()
            return false
        }
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
    /// False while the worker is lost (closed, silent, or holding a step past the deadline).
    public var up: Bool
}

/// Lets the links' callbacks reach the cluster created after them.
final class ClusterBox: @unchecked Sendable {
    // SAFETY: written once, before any frame other than the handshake can arrive.
    nonisolated(unsafe) weak var cluster: Cluster?
}

func monotonicSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

