import StrataKernels
import StrataWire

/// How a worker process runs.
public struct WorkerOptions: Sendable {
    public var listen: PeerAddress
    /// The worker's own copy of the model; assignments load their layers from it.
    public var modelPath: String
    public var threads: Int
    public var placement: Placement
    public var secret: SharedSecret
    public var name: String
    public var limits: WireLimits = .default

    public init(
        listen: PeerAddress, modelPath: String, threads: Int, placement: Placement = .unpinned,
        secret: SharedSecret = .none, name: String
    ) {
        self.listen = listen
        self.modelPath = modelPath
        self.threads = threads
        self.placement = placement
        self.secret = secret
        self.name = name
    }
}
