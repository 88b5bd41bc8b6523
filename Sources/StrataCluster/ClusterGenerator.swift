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

    /// - Parameter model: the coordinator's model: embeddings, final norm and head (no blocks needed).
    public init(cluster: Cluster, model: LlamaModel, computeGroup: MultiThreadedEventLoopGroup) {
        self.cluster = cluster
        self.model = model
        self.computeGroup = computeGroup
        workspace = Workspace(config: model.config)
    }

    private var computeLoop: any EventLoop { computeGroup.next() }

    /// Generates a continuation of `prompt`; `depth(step)` gives each step's exit (step 0 is the prompt).
    public func generate(
        prompt: [Int], options: GenerationOptions, depth: (@Sendable (Int) -> Int)? = nil,
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
        var logits = try await runStep(prompt, depth: depths[0], record: record)
        let prefillSeconds = seconds(since: prefillStart)
        let decodeStart = DispatchTime.now()
        while let next = try loop.next(logits, onText: onText) {
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
    /// the exit head, batched with other sequences' heads. Returns the last new token's logits.
    private func runStep(_ tokens: [Int], depth: Int, record: PipelineSequence) async throws -> [Float] {
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
        return try await head(Array(hidden[((step.rows.count - 1) * d)...]))
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

/// Carries a non-Sendable value into a job on the compute loop.
/// SAFETY: the value is used by one job at a time; the caller awaits each job before the next.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
