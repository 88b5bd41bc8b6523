import NIOSSL
import StrataKernels
import StrataWire

/// How the coordinator reaches and uses its workers.
public struct ClusterOptions: Sendable {
    public var workers: [PeerAddress]
    /// Idle workers that may take over a lost stage's blocks (dialled only when needed).
    public var spares: [PeerAddress] = []
    /// The coordinator's copy of the model: embeddings, final norm and LM head (and the hash
    /// every worker's copy must match).
    public var modelPath: String
    /// Explicit half-open block ranges, one per worker in chain order; nil plans by threads.
    public var split: [Range<Int>]?
    public var secret: SharedSecret = .none
    public var contextLimit: Int?
    public var maxSequences = 64
    public var activationDType: TensorDType = .f32
    /// How the workers' KV caches store keys and values.
    public var kvCacheType: KVCacheType = .f32
    /// Compute threads for the coordinator's embedding and head.
    public var threads = 1
    public var placement: Placement = .unpinned
    /// How long a micro-batch may be out before the link to its exit stage is closed and the
    /// stage handled as lost (see `Cluster`): it catches workers that answer heartbeats while a
    /// step never returns.
    public var stepTimeout: Duration = .seconds(20)
    /// How often each worker gets a heartbeat, and how long a silent one may stay silent before
    /// it counts as lost.
    public var heartbeatInterval: Duration = .seconds(1)
    public var heartbeatTimeout: Duration = .seconds(5)
    /// How often a lost worker's address is dialled again.
    public var reconnectInterval: Duration = .milliseconds(500)
    /// Bytes one block needs on a worker (weights, plus headroom for its KV caches); with it the
    /// planned split never gives a worker more blocks than its reported memory holds.
    public var blockBytes: Int?
    public var limits: WireLimits = .default
    /// TLS for the links to the workers (see `LinkTLS.client`); nil for plain TCP.
    public var tls: TLSConfiguration?

    public init(workers: [PeerAddress], modelPath: String, split: [Range<Int>]? = nil) {
        self.workers = workers
        self.modelPath = modelPath
        self.split = split
    }
}

/// Splits `layerCount` blocks over workers in proportion to their weights (measured bandwidth,
/// or threads), every worker getting at least one block and none more than its capacity.
/// - Parameter capacities: the most blocks each worker's memory holds; nil for no limit.
/// - Returns: contiguous ranges in worker order, or nil when the workers cannot hold the model.
public func planSplit(layerCount: Int, weights: [Double], capacities: [Int]? = nil) -> [Range<Int>]? {
    let n = weights.count
    guard n > 0, layerCount >= n else { return nil }
    let caps = capacities ?? Array(repeating: layerCount, count: n)
    guard caps.count == n, caps.allSatisfy({ $0 >= 1 }), caps.reduce(0, +) >= layerCount else { return nil }
    // Workers whose proportional share passes their memory are fixed at capacity, and the rest
    // of the blocks are shared again among the others, until everyone fits.
    var fixed: [Int: Int] = [:]
    var counts: [Int] = []
    while true {
        let free = (0..<n).filter { fixed[$0] == nil }
        let remaining = layerCount - fixed.values.reduce(0, +)
        guard !free.isEmpty, remaining >= free.count else { return nil }
        let total = free.reduce(0.0) { $0 + weights[$1] }
        let share = Dictionary(uniqueKeysWithValues: free.map { ($0, total > 0 ? weights[$0] / total : 1 / Double(free.count)) })
        counts = (0..<n).map { i in fixed[i] ?? max(1, Int(((share[i] ?? 0) * Double(remaining)).rounded(.down))) }
        // Largest remainders take the blocks rounding left over; trim from the largest if over.
        func want(_ i: Int) -> Double { (share[i] ?? 0) * Double(remaining) - Double(counts[i]) }
        while free.reduce(0, { $0 + counts[$1] }) < remaining, let i = free.max(by: { want($0) < want($1) }) { counts[i] += 1 }
        while free.reduce(0, { $0 + counts[$1] }) > remaining, let i = free.filter({ counts[$0] > 1 }).max(by: { counts[$0] < counts[$1] }) {
            counts[i] -= 1
        }
        let over = free.filter { counts[$0] > caps[$0] }
        if over.isEmpty { break }
        for i in over { fixed[i] = caps[i] }
    }
    var start = 0
    return counts.map { c in
        defer { start += c }
        return start..<(start + c)
    }
}
