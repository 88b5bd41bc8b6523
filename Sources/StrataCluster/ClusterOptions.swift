import StrataKernels
import StrataWire

/// How the coordinator reaches and uses its workers.
public struct ClusterOptions: Sendable {
    public var workers: [PeerAddress]
    /// The coordinator's copy of the model: embeddings, final norm and LM head (and the hash
    /// every worker's copy must match).
    public var modelPath: String
    /// Explicit half-open block ranges, one per worker in chain order; nil plans by threads.
    public var split: [Range<Int>]?
    public var secret: SharedSecret = .none
    public var contextLimit: Int?
    public var maxSequences = 64
    public var activationDType: TensorDType = .f32
    /// Compute threads for the coordinator's embedding and head.
    public var threads = 1
    public var placement: Placement = .unpinned
    public var stepTimeout: Duration = .seconds(60)
    public var limits: WireLimits = .default

    public init(workers: [PeerAddress], modelPath: String, split: [Range<Int>]? = nil) {
        self.workers = workers
        self.modelPath = modelPath
        self.split = split
    }
}

/// Splits `layerCount` blocks over workers in proportion to their weights (e.g. threads),
/// every worker getting at least one block.
public func planSplit(layerCount: Int, weights: [Double]) -> [Range<Int>] {
    let n = weights.count
    guard n > 0, layerCount >= n else { return [] }
    let total = weights.reduce(0, +)
    var bounds = [0]
    var cumulative = 0.0
    for i in 0..<(n - 1) {
        cumulative += total > 0 ? weights[i] / total : 1 / Double(n)
        let ideal = Int((cumulative * Double(layerCount)).rounded())
        // Leave at least one block for each worker still to come, and take at least one.
        bounds.append(min(max(ideal, bounds[i] + 1), layerCount - (n - 1 - i)))
    }
    bounds.append(layerCount)
    return (0..<n).map { bounds[$0]..<bounds[$0 + 1] }
}
