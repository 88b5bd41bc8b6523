import Foundation
import NIOCore
import NIOPosix
import StrataKernels
import StrataModel
import StrataTokenizer
import Synchronization

/// Generation across a cluster: the coordinator embeds tokens and applies the exit head, the
/// workers run the blocks. Depth may differ per step; backfill keeps the answer exact.
///
/// SAFETY (`@unchecked Sendable`): `model` and `workspace` are used only inside jobs on
/// `computeLoop`, one at a time; `nextSequence` is atomic.
public final class ClusterGenerator: @unchecked Sendable {
    public let cluster: Cluster
    public let model: LlamaModel
    private let computeGroup: MultiThreadedEventLoopGroup
    private let workspace: Workspace
    private let nextID = Atomic<UInt64>(1)
    /// Prompt tokens per step: a long prompt travels in chunks of this many, so the steps of
    /// running sequences interleave with it instead of waiting for the whole prompt.
    public let prefillChunk: Int

    /// - Parameter model: the coordinator's model: embeddings, final norm and head (no blocks needed).
    public init(cluster: Cluster, model: LlamaModel, computeGroup: MultiThreadedEventLoopGroup, prefillChunk: Int = 64) {
        self.cluster = cluster
        self.model = model
        self.computeGroup = computeGroup
        self.prefillChunk = max(prefillChunk, 1)
        workspace = Workspace(config: model.config)
    }

    private var computeLoop: any EventLoop { computeGroup.next() }

    /// A sequence id no worker has seen.
    private func freshID() -> UInt64 { nextID.wrappingAdd(1, ordering: .relaxed).oldValue }

    /// Generates a continuation of `prompt`; `depth(step)` gives each step's exit (step 0 is the
    /// prompt). `onProgress` hears when the prompt is done and each time a token is generated.
    public func generate(
        prompt: [Int], options: GenerationOptions, depth: (@Sendable (Int) -> Int)? = nil,
        onProgress: (@Sendable (GenerationProgress) -> Void)? = nil,
        onText: @Sendable (String) -> Bool = { _ in true }
    ) async throws -> GenerationResult {
        let config = model.config
        let fixed = options.exit ?? config.layerCount
        try config.checkExit(fixed)
        let limit = min(cluster.options.contextLimit ?? config.contextLength, config.contextLength)
        var loop = try DecodeLoop(prompt: prompt, options: options, tokenizer: model.model.tokenizer, limit: limit)
        let sequence = SequenceHandle(id: freshID(), config: config)
        sequence.epoch = cluster.losses(since: Int.max).epoch
        defer { cluster.release(sequence.record.id) }
        var depths: [Int] = []

        let prefillStart = DispatchTime.now()
        let first = depth?(0) ?? fixed
        var logits = try await advance(prompt, depth: first, sequence: sequence, onProgress: onProgress)
        depths.append(sequence.lastDepth)
        onProgress?(.prefilled)
        let prefillSeconds = seconds(since: prefillStart)
        let decodeStart = DispatchTime.now()
        while true {
            let before = loop.generated.count
            let next = try loop.next(logits, onText: onText)
            if loop.generated.count > before { onProgress?(.token) }
            guard let next else { break }
            try Task.checkCancellation()
            let k = depth?(loop.generated.count) ?? fixed
            logits = try await advance([next], depth: k, sequence: sequence, onProgress: onProgress)
            depths.append(sequence.lastDepth)
        }
        var result = loop.finish(
            onText: onText, exit: depths.min() ?? fixed, layerCount: config.layerCount, prefillSeconds: prefillSeconds,
            decodeSeconds: seconds(since: decodeStart))
        result.depths = depths
        return result
    }

    /// Feeds `tokens` (in prompt chunks) at exit `depth`, or at the deepest exit the chain still
    /// reaches. When a stage is lost under a step, the sequence starts over under a fresh id
    /// from the tokens the coordinator keeps (its caches on the surviving workers may hold part
    /// of the failed step) at the reachable depth. Returns the last token's logits.
    private func advance(
        _ tokens: [Int], depth: Int, sequence: SequenceHandle, onProgress: (@Sendable (GenerationProgress) -> Void)?
    ) async throws -> [Float] {
        var attempt = 0
        // A stage this sequence went through was lost since its last step: its keys there are
        // gone (even if a worker has taken the stage back since), so it starts over.
        let (epoch, shallowest) = cluster.losses(since: sequence.epoch)
        sequence.epoch = epoch
        if let shallowest, sequence.maxDepth > shallowest, !sequence.fed.isEmpty {
            attempt = 1
            cluster.release(sequence.record.id)
            sequence.restart(id: freshID())
        }
        while true {
            let reachable = cluster.reachableDepth
            guard reachable >= 1 else {
                throw ClusterError.stageLost(peer: cluster.lostWorkers.joined(separator: ", "), reachableDepth: 0)
            }
            let k = min(depth, reachable)
            if k != sequence.lastDepth, !sequence.fed.isEmpty || attempt > 0 { onProgress?(.depth(k)) }
            let replay = attempt == 0 ? tokens : sequence.fed + tokens
            do {
                var start = 0
                while replay.count - start > prefillChunk {
                    try await runStep(Array(replay[start..<(start + prefillChunk)]), depth: k, record: sequence.record, head: false)
                    start += prefillChunk
                }
                let logits = try await runStep(Array(replay[start...]), depth: k, record: sequence.record)
                if attempt > 0 { sequence.fed = [] }
                sequence.fed += replay
                sequence.lastDepth = k
                sequence.maxDepth = max(sequence.maxDepth, k)
                return logits
            } catch ClusterError.stageLost {
                attempt += 1
                guard attempt <= 3 else { throw ClusterError.stageLost(peer: cluster.lostWorkers.joined(separator: ", "), reachableDepth: cluster.reachableDepth) }
                cluster.release(sequence.record.id)
                sequence.restart(id: freshID())
            }
        }
    }

    /// One step: embed (and gather backfill rows) on the compute thread, run the chain, then
    /// the exit head, batched with other sequences' heads. Returns the last new token's logits
    /// (nothing when `head` is false: a prompt chunk before the last).
    @discardableResult
    private func runStep(_ tokens: [Int], depth: Int, record: PipelineSequence, head: Bool = true) async throws -> [Float] {
        let model = self.model
        let box = UncheckedBox(record)
        let step = try await computeLoop.submit { try box.value.prepareStep(tokens, depth: depth, model: model) }.get()
        let hidden = try await cluster.step(rows: step.rows, hidden: step.hidden, exit: depth)
        let d = model.config.hiddenSize
        try await computeLoop.submit {
            try hidden.withUnsafeBufferPointer { h in
                guard let base = h.baseAddress else { throw ModelError.emptyPrompt }
                box.value.finishStep(step, newTokens: tokens, hidden: base)
            }
        }.get()
        guard head else { return [] }
        return try await self.head(Array(hidden[((step.rows.count - 1) * d)...]))
    }

    // MARK: - Batched exit head

    private struct HeadRequest {
        var hidden: [Float]
        var continuation: CheckedContinuation<[Float], any Error>
    }
    private let headQueue = Mutex<(waiting: [HeadRequest], running: Bool)>(([], false))

    /// logits = head(norm(hidden)) for one row; rows waiting together share one pass over the
    /// LM head (a third of this model's bytes), so concurrent sequences do not each pay for it.
    private func head(_ hidden: [Float]) async throws -> [Float] {
        try await withCheckedThrowingContinuation { c in
            let start = headQueue.withLock { q in
                q.waiting.append(HeadRequest(hidden: hidden, continuation: c))
                defer { q.running = true }
                return !q.running
            }
            if start { computeLoop.execute { self.drainHeads() } }
        }
    }

    /// Runs on the compute loop until no head request waits.
    private func drainHeads() {
        while true {
            let batch = headQueue.withLock { q -> [HeadRequest] in
                defer { q.waiting.removeAll() }
                if q.waiting.isEmpty { q.running = false }
                return q.waiting
            }
            guard !batch.isEmpty else { return }
            let vocab = model.config.vocabularySize
            let rows = batch.flatMap(\.hidden)
            var logits = [Float](repeating: 0, count: batch.count * vocab)
            rows.withUnsafeBufferPointer { h in
                guard let base = h.baseAddress else { return }
                model.head(base, rows: batch.count, into: &logits, workspace: workspace)
            }
            for (i, request) in batch.enumerated() {
                request.continuation.resume(returning: Array(logits[(i * vocab)..<((i + 1) * vocab)]))
            }
        }
    }
}

/// What a generation reports as it goes.
public enum GenerationProgress: Sendable {
    /// The whole prompt has been processed.
    case prefilled
    /// One more token was generated.
    case token
    /// Steps from now on run at this exit: a stage the requested depth needs was lost (or is back).
    case depth(Int)
}

/// A sequence's record on the coordinator and the tokens fed so far (to replay after a loss).
/// SAFETY (`@unchecked Sendable`): used by one generation at a time, between its awaits.
final class SequenceHandle: @unchecked Sendable {
    private(set) var record: PipelineSequence
    let config: LlamaConfig
    var fed: [Int] = []
    var lastDepth = 0
    /// The deepest step since the record was (re)started.
    var maxDepth = 0
    /// The cluster's loss count when this sequence last checked.
    var epoch = 0

    init(id: UInt64, config: LlamaConfig) {
        self.config = config
        record = PipelineSequence(id: id, config: config)
    }

    /// A fresh record under a new id: nothing computed yet.
    func restart(id: UInt64) {
        record = PipelineSequence(id: id, config: config)
        maxDepth = 0
    }
}

/// Carries a non-Sendable value into a job on the compute loop.
/// SAFETY: the value is used by one job at a time; the caller awaits each job before the next.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
