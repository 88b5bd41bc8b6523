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
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let record = PipelineSequence(id: id, config: config)
        defer { cluster.release(id) }
        var depths = [depth?(0) ?? fixed]

        let prefillStart = DispatchTime.now()
        var start = 0
        while prompt.count - start > prefillChunk {
            try await runStep(Array(prompt[start..<(start + prefillChunk)]), depth: depths[0], record: record, head: false)
            start += prefillChunk
        }
        var logits = try await runStep(Array(prompt[start...]), depth: depths[0], record: record)
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
            depths.append(k)
            logits = try await runStep([next], depth: k, record: record)
        }
        var result = loop.finish(
            onText: onText, exit: depths.min() ?? fixed, layerCount: config.layerCount, prefillSeconds: prefillSeconds,
            decodeSeconds: seconds(since: decodeStart))
        result.depths = depths
        return result
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
}

/// Carries a non-Sendable value into a job on the compute loop.
/// SAFETY: the value is used by one job at a time; the caller awaits each job before the next.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
