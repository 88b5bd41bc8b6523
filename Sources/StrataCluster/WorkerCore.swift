import Foundation
import NIOCore
import StrataKernels
import StrataModel
import StrataWire
import Synchronization

/// A worker's state and logic. Everything mutable lives on `computeLoop`, a dedicated thread
/// with no sockets: frames hop there, blocks run there, and replies are written from there.
/// Heartbeats are the exception: they are answered on the connection's I/O thread from
/// `stats`, so a long queue of steps never delays them (a step that never returns is caught by
/// the coordinator's step deadline instead).
///
/// SAFETY (`@unchecked Sendable`): every `var` is read and written only on `computeLoop`
/// (each entry point hops there first); the immutable parts are Sendable.
final class WorkerCore: @unchecked Sendable {
    let options: WorkerOptions
    /// The model this worker holds: its own file, or one streamed from a coordinator.
    private var modelHash: ModelHash?
    private var modelPath: String?
    /// The model the connected coordinator serves (from its handshake).
    private var servedHash: ModelHash?
    private var download: ModelDownload?
    /// The hash new connections are told (updated when a streamed model is verified).
    let advertisedHash: Mutex<ModelHash?>
    let computeLoop: any EventLoop
    let ioGroup: any EventLoopGroup

    private var pool: ComputePool?
    private var stage: PipelineStage?
    private var assignment: AssignLayers?
    private var coordinator: (any Channel)?
    private var nextHop: PeerLink?
    private var draining = false
    /// What heartbeats report, written by the compute thread and read by the I/O threads.
    let stats = WorkerStats()

    init(options: WorkerOptions, modelHash: ModelHash?, computeLoop: any EventLoop, ioGroup: any EventLoopGroup) {
        self.options = options
        self.modelHash = modelHash
        advertisedHash = Mutex(modelHash)
        modelPath = options.modelPath
        self.computeLoop = computeLoop
        self.ioGroup = ioGroup
    }

    func log(_ line: String) {
        FileHandle.standardError.write(Data("strata worker \(options.name): \(line)\n".utf8))
    }

    // MARK: - Connections

    func connected(_ channel: any Channel, role: PeerRole, modelHash served: ModelHash) {
        computeLoop.execute {
            guard role == .coordinator else { return }
            self.servedHash = served
            if let old = self.coordinator, old !== channel {
                self.log("a new coordinator connected; closing the previous one")
                old.sayGoodbye(Goodbye(.shuttingDown, message: "replaced by a new coordinator"))
            }
            self.coordinator = channel
            self.draining = false
            self.log("coordinator connected from \(channel.remoteAddress.map { "\($0)" } ?? "?")")
        }
    }

    func disconnected(_ channel: any Channel) {
        computeLoop.execute {
            guard let current = self.coordinator, current === channel else { return }
            // Keep the loaded layers: a returning coordinator can reuse them. Caches belong to
            // the old coordinator's sequences, so they go.
            self.coordinator = nil
            if let stage = self.stage {
                stage.release(stage.sequenceIDs)
                self.stats.cachesChanged(in: stage)
            }
            self.log("coordinator disconnected; waiting for the next one")
        }
    }

    // MARK: - Messages

    /// Called on the connection's I/O thread. Heartbeats are answered right here, from `stats`,
    /// never behind the compute thread's queue of steps; everything else hops to `computeLoop`.
    func receive(_ frame: Frame, from channel: any Channel, role: PeerRole) {
        switch frame.message {
        case .heartbeat(let beat):
            channel.send(.heartbeat(stats.heartbeat(echo: beat.sentAtNanos)))
            return
        case .forward:
            stats.queued.add(1, ordering: .relaxed)
        default:
            break
        }
        computeLoop.execute { self.handle(frame, from: channel, role: role) }
    }

    private func handle(_ frame: Frame, from channel: any Channel, role: PeerRole) {
        let id = frame.requestID
        switch (frame.message, role) {
        case (.forward(let forward), _):
            stats.queued.subtract(1, ordering: .relaxed)
            forwardStep(forward, requestID: id, from: channel)
        case (.goodbye(let goodbye), _):
            log("peer said goodbye: \(goodbye.reason) \(goodbye.message)")
            channel.close(promise: nil)
        case (.assignLayers(let assign), .coordinator):
            assignLayers(assign, requestID: id, from: channel)
        case (.loadFromLocalFile(let load), .coordinator):
            loadLocal(load, requestID: id, from: channel)
        case (.weightChunk(let chunk), .coordinator):
            receiveChunk(chunk, requestID: id, from: channel)
        case (.release(let release), .coordinator):
            if let stage {
                stage.release(release.sequenceIDs)
                stats.cachesChanged(in: stage)
            }
        case (.drain, .coordinator):
            draining = true
            log("draining")
        case (.shutdown, .coordinator):
            log("shutting down at the coordinator's request")
            channel.sayGoodbye(Goodbye(.shuttingDown, message: "shutdown requested"))
            _ = ioGroup.next().scheduleTask(in: .milliseconds(100)) { exit(0) }
        default:
            channel.send(
                .error(ErrorReport(code: .unexpectedMessage, requestID: id, message: "\(frame.message.kind) is not expected here")),
                requestID: id)
        }
    }

    private func assignLayers(_ assign: AssignLayers, requestID: UInt64, from channel: any Channel) {
        @Sendable func refuse(_ code: ErrorCode, _ message: String) {
            log("refused assignment: \(message)")
            channel.send(.error(ErrorReport(code: code, requestID: requestID, message: message)), requestID: requestID)
        }
        guard assign.modelHash == modelHash, let modelPath else {
            return refuse(.modelMismatch, "this worker holds model \(modelHash.map { "\($0)" } ?? "none"), not \(assign.modelHash)")
        }
        let layers = Int(assign.layers.lowerBound)..<Int(assign.layers.upperBound)
        let kvCache: KVCacheType
        switch assign.kvCacheDType {
        case .f32: kvCache = .f32
        case .f16: kvCache = .f16
        default: return refuse(.invalidAssignment, "a KV cache of \(assign.kvCacheDType) is not supported (f32 or f16)")
        }
        do {
            if stage?.layers != layers || stage?.contextLimit != Int(assign.contextLimit) || stage?.model.kvCacheType != kvCache {
                let loaded = try LoadedModel.load(path: modelPath, layers: layers)
                guard loaded.config.layerCount == Int(assign.totalLayers), layers.upperBound <= loaded.config.layerCount else {
                    return refuse(.invalidAssignment, "layers \(layers) of \(assign.totalLayers) do not fit this model")
                }
                if pool == nil {
                    options.placement.pinCurrentThread()
                    pool = ComputePool(threadCount: options.threads, placement: options.placement)
                }
                guard let pool else { return }
                let model = LlamaModel(model: loaded, pool: pool, placement: options.placement, kvCacheType: kvCache)
                stage = PipelineStage(model: model, layers: layers, contextLimit: Int(assign.contextLimit))
                stats.holds(stage)
                log("holding blocks \(layers.lowerBound)..<\(layers.upperBound) of \(loaded.config.layerCount), \(kvCache) KV cache")
            }
        } catch {
            return refuse(.invalidAssignment, "\(error)")
        }
        assignment = assign
        let ready = LayersReady(layers: assign.layers, kvCapacityTokens: UInt64(assign.contextLimit) * UInt64(assign.maxSequences))
        nextHop?.channel.close(promise: nil)
        nextHop = nil
        guard let hop = assign.nextHop else {
            channel.send(.layersReady(ready), requestID: requestID)
            return
        }
        let address = PeerAddress(host: hop.host, port: Int(hop.port))
        let config = CoordinatorHandshake.Configuration(
            role: .upstreamStage, modelHash: assign.modelHash, secret: options.secret, requiresLocalModel: true)
        let limits = options.limits
        let tls = options.tlsClient
        let io = ioGroup
        let core = self
        let promise = computeLoop.makePromise(of: PeerLink.self)
        promise.completeWithTask {
            try await PeerLink.connect(
                to: address, group: io, handshake: config, limits: limits, tls: tls,
                onFrame: { frame in
                    if case .goodbye(let g) = frame.message { core.log("next stage said goodbye: \(g.reason) \(g.message)") }
                },
                onClose: { core.computeLoop.execute { core.nextHopClosed(address) } })
        }
        promise.futureResult.whenComplete { result in
            switch result {
            case .success(let link):
                self.nextHop = link
                self.log("linked to the next stage at \(address)")
                channel.send(.layersReady(ready), requestID: requestID)
            case .failure(let error):
                refuse(.nextHopUnreachable, "cannot reach the next stage at \(address): \(error)")
            }
        }
    }

    private func nextHopClosed(_ address: PeerAddress) {
        guard let hop = nextHop, hop.address == address else { return }
        nextHop = nil
        log("lost the next stage at \(address)")
    }

    /// The coordinator streams its model file when this worker lacks it: chunks of the reserved
    /// tensor name `model.file` at increasing offsets (each CRC-32C checked by the parser). The
    /// file is kept in the worker's cache under its hash, checked by SHA-256, and used from then on.
    private func receiveChunk(_ chunk: WeightChunk, requestID: UInt64, from channel: any Channel) {
        func fail(_ message: String) {
            download?.abandon()
            download = nil
            log("weight stream refused: \(message)")
            channel.send(.error(ErrorReport(code: .weightsIncomplete, requestID: requestID, message: message)), requestID: requestID)
        }
        guard chunk.tensorName == ModelDownload.fileTensorName else {
            return fail("only whole-file streaming (\(ModelDownload.fileTensorName)) is supported, got \(chunk.tensorName)")
        }
        guard let served = servedHash else { return fail("no coordinator model to stream") }
        do {
            if download == nil || chunk.byteOffset == 0 {
                download?.abandon()
                download = try ModelDownload(hash: served, totalBytes: chunk.totalBytes, directory: options.cacheDirectory)
                log("receiving the model from the coordinator (\(chunk.totalBytes) bytes)")
            }
            guard let current = download else { return }
            try current.write(chunk)
            guard chunk.isLast else { return }
            let path = try current.finish()
            download = nil
            modelPath = path
            modelHash = served
            advertisedHash.withLock { $0 = served }
            stage = nil
            stats.holds(nil)
            log("model received and verified: \(path)")
            channel.send(.weightsLoaded(WeightsLoaded(tensorCount: 1, byteCount: chunk.totalBytes, source: .streamed)), requestID: requestID)
        } catch {
            fail("\(error)")
        }
    }

    private func loadLocal(_ load: LoadFromLocalFile, requestID: UInt64, from channel: any Channel) {
        guard load.modelHash == modelHash, let assignment else {
            channel.send(
                .error(ErrorReport(code: .modelMismatch, requestID: requestID, message: "no assignment for model \(load.modelHash)")),
                requestID: requestID)
            return
        }
        let loaded = WeightsLoaded(
            tensorCount: UInt32((stage?.layers.count ?? 0) * 9), byteCount: UInt64(stage?.weightBytes ?? 0), source: .localFile)
        _ = assignment
        channel.send(.weightsLoaded(loaded), requestID: requestID)
    }

    private func forwardStep(_ forward: Forward, requestID: UInt64, from channel: any Channel) {
        guard let stage, let assignment else {
            return channel.send(
                .error(ErrorReport(code: .invalidAssignment, requestID: requestID, message: "no layers assigned")),
                requestID: requestID)
        }
        let begin = DispatchTime.now().uptimeNanoseconds
        var rows = forward.rows.map {
            PipelineStage.Row(sequence: $0.sequenceID, position: Int($0.position), joinLayer: Int($0.joinLayer))
        }
        var hidden = forward.hidden.floatRows
        let exit = Int(forward.exitLayer)
        let reached: Int
        do {
            reached = try hidden.withUnsafeMutableBufferPointer { buffer in
                guard let base = buffer.baseAddress else { throw ModelError.emptyPrompt }
                return try stage.run(rows: &rows, hidden: base, exit: exit)
            }
        } catch {
            coordinator?.send(
                .error(ErrorReport(code: .internalError, requestID: requestID, message: "step \(forward.stepID): \(error)")),
                requestID: requestID)
            return
        }
        stats.stepFinished(busyNanos: DispatchTime.now().uptimeNanoseconds - begin, stage: stage)
        let tensor = WireTensor(
            values: hidden, rows: rows.count, columns: forward.hidden.columns, dtype: assignment.activationDType)
        if reached < exit {
            guard let nextHop else {
                coordinator?.send(
                    .error(ErrorReport(code: .nextHopUnreachable, requestID: requestID, message: "no next stage after block \(reached)")),
                    requestID: requestID)
                return
            }
            let wireRows = zip(forward.rows, rows).map { original, row in
                ForwardRow(sequenceID: original.sequenceID, position: original.position, joinLayer: UInt32(row.joinLayer), flags: original.flags)
            }
            nextHop.send(
                .forward(Forward(stepID: forward.stepID, fromLayer: UInt32(reached), exitLayer: forward.exitLayer, rows: wireRows, hidden: tensor)),
                requestID: requestID)
        } else {
            let ids = forward.rows.map { RowID(sequenceID: $0.sequenceID, position: $0.position) }
            coordinator?.send(
                .forwardResult(ForwardResult(stepID: forward.stepID, layerReached: UInt32(reached), rows: ids, hidden: tensor)),
                requestID: requestID)
        }
    }
}

/// Counters a worker's heartbeats report, shared between the compute thread (which writes them)
/// and the I/O threads (which answer heartbeats from them).
final class WorkerStats: Sendable {
    /// Micro-batches received and not yet started.
    let queued = Atomic<Int>(0)
    private let busyNanos = Atomic<UInt64>(0)
    private let kvBytes = Atomic<Int>(0)
    private let sequences = Atomic<Int>(0)
    private let weightBytes = Atomic<Int>(0)
    private let started = DispatchTime.now().uptimeNanoseconds

    /// Called on the compute thread after each step.
    func stepFinished(busyNanos spent: UInt64, stage: PipelineStage) {
        busyNanos.add(spent, ordering: .relaxed)
        cachesChanged(in: stage)
    }

    /// Records a new stage (or none): its weights and its caches.
    func holds(_ stage: PipelineStage?) {
        weightBytes.store(stage?.weightBytes ?? 0, ordering: .relaxed)
        kvBytes.store(stage?.cacheBytes ?? 0, ordering: .relaxed)
        sequences.store(stage?.sequenceCount ?? 0, ordering: .relaxed)
    }

    /// Records the caches `stage` holds now (after a step or a release).
    func cachesChanged(in stage: PipelineStage) {
        kvBytes.store(stage.cacheBytes, ordering: .relaxed)
        sequences.store(stage.sequenceCount, ordering: .relaxed)
    }

    /// A heartbeat answering one sent at `echo`; safe on any thread.
    func heartbeat(echo: UInt64) -> Heartbeat {
        let now = DispatchTime.now().uptimeNanoseconds
        let elapsed = max(now - started, 1)
        let busy = busyNanos.load(ordering: .relaxed)
        let kv = kvBytes.load(ordering: .relaxed)
        return Heartbeat(
            sentAtNanos: now, echoedNanos: echo, queueDepth: UInt32(clamping: max(queued.load(ordering: .relaxed), 0)),
            busyPermyriad: UInt16(min(10_000, Double(busy) / Double(elapsed) * 10_000)),
            residentBytes: UInt64(weightBytes.load(ordering: .relaxed) + kv), kvBytes: UInt64(kv),
            sequencesHeld: UInt32(clamping: sequences.load(ordering: .relaxed)))
    }
}
