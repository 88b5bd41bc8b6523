import Foundation
import StrataKernels
import StrataModel

/// The base model `scripts/bootstrap.sh` installs: SmolLM2-135M-Instruct as published.
public let baseModelPath = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

/// The default sorted model (Sorted Fine-Tuning of the base with the last exit weighted 0.95,
/// shipped in `sorted/`) that `scripts/bootstrap.sh` installs beside it; the default wherever it
/// is present.
public let sortedModelPath = "models/SmolLM2-135M-Instruct.SoFT-last95.Q8_0.gguf"

/// The sorted model trained on the published objective (every exit weighted equally), also
/// shipped and installed; the default when the weighted one is absent.
public let equalSortedModelPath = "models/SmolLM2-135M-Instruct.SoFT.Q8_0.gguf"

/// Resolves `--model`: an explicit path, else `$STRATA_MODEL`, else the installed sorted
/// models, else the installed base model.
public func resolveModelPath(_ explicit: String?) throws(AppError) -> String {
    if let explicit { return explicit }
    if let env = ProcessInfo.processInfo.environment["STRATA_MODEL"], !env.isEmpty { return env }
    let candidates = [sortedModelPath, equalSortedModelPath, baseModelPath]
    guard let installed = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
        throw .noDefaultModel(baseModelPath)
    }
    return installed
}

/// Compute placement shared by every command that computes.
public struct EngineOptions: Sendable {
    /// Compute threads (the calling thread included); nil uses every online core.
    public var threads: Int?
    /// NUMA node to pin threads and memory to; nil leaves placement to the OS.
    public var numaNode: Int?
    /// How KV caches store keys and values (generation, benchmarks, and a cluster's workers).
    public var kvCache: KVCacheType = .f32

    public init(threads: Int? = nil, numaNode: Int? = nil, kvCache: KVCacheType = .f32) {
        self.threads = threads
        self.numaNode = numaNode
        self.kvCache = kvCache
    }

    public var threadCount: Int { threads ?? ProcessInfo.processInfo.activeProcessorCount }

    /// Builds the compute pool, pinning the calling thread too.
    public func makePool() throws -> ComputePool {
        guard threadCount >= 1 && threadCount <= 1024 else { throw AppError.invalidArgument("--threads must be in 1…1024") }
        let placement = try placement()
        placement.pinCurrentThread()
        return ComputePool(threadCount: threadCount, placement: placement)
    }

    /// The resolved `--numa-node`.
    public func placement() throws -> Placement {
        try Placement.resolve(node: numaNode)
    }

    /// A model ready to compute under these options: threads pinned and, with `--numa-node`,
    /// weights copied to that node's memory.
    public func makeModel(_ loaded: LoadedModel, exact: Bool = false) throws -> LlamaModel {
        LlamaModel(model: loaded, pool: try makePool(), placement: try placement(), exact: exact, kvCacheType: kvCache)
    }

    /// A one-line description for stderr, e.g. "2 threads, NUMA node 0 (1 NUMA node …)".
    public func describe() -> String {
        let where_ = numaNode.map { "pinned to NUMA node \($0)" } ?? "unpinned"
        return "\(threadCount) threads, \(where_); \(NUMATopology.current.summary)"
    }
}

/// Errors at the command level, printed as one line.
public enum AppError: Error, Equatable, Sendable, CustomStringConvertible {
    case noDefaultModel(String)
    case invalidArgument(String)
    /// A server answered with an error status.
    case server(status: Int, message: String)

    public var description: String {
        switch self {
        case .noDefaultModel(let p): "no model at \(p): run scripts/bootstrap.sh, or pass --model PATH"
        case .invalidArgument(let m): m
        case .server(let status, let message): "the server answered \(status): \(message)"
        }
    }
}
