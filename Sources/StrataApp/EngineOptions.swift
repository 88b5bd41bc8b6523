import Foundation
import StrataKernels
import StrataModel

/// Where the default model lives once `scripts/bootstrap.sh` has installed it.
public let defaultModelPath = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

/// Resolves `--model`: an explicit path, else `$STRATA_MODEL`, else the installed default.
public func resolveModelPath(_ explicit: String?) throws(AppError) -> String {
    if let explicit { return explicit }
    if let env = ProcessInfo.processInfo.environment["STRATA_MODEL"], !env.isEmpty { return env }
    guard FileManager.default.fileExists(atPath: defaultModelPath) else {
        throw .noDefaultModel(defaultModelPath)
    }
    return defaultModelPath
}

/// Compute placement shared by every command that computes.
public struct EngineOptions: Sendable {
    /// Compute threads (the calling thread included); nil uses every online core.
    public var threads: Int?
    /// NUMA node to pin threads and memory to; nil leaves placement to the OS.
    public var numaNode: Int?

    public init(threads: Int? = nil, numaNode: Int? = nil) {
        self.threads = threads
        self.numaNode = numaNode
    }

    public var threadCount: Int { threads ?? ProcessInfo.processInfo.activeProcessorCount }

    /// Builds the compute pool, pinning the calling thread too.
    public func makePool() throws -> ComputePool {
        guard threadCount >= 1 && threadCount <= 1024 else { throw AppError.invalidArgument("--threads must be in 1…1024") }
        let placement = try Placement.resolve(node: numaNode)
        placement.pinCurrentThread()
        return ComputePool(threadCount: threadCount, placement: placement)
    }
}

/// Errors at the command level, printed as one line.
public enum AppError: Error, Equatable, Sendable, CustomStringConvertible {
    case noDefaultModel(String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .noDefaultModel(let p): "no model at \(p): run scripts/bootstrap.sh, or pass --model PATH"
        case .invalidArgument(let m): m
        }
    }
}
