import Foundation
import NIOSSL
import StrataKernels
import StrataWire

/// How a worker process runs.
public struct WorkerOptions: Sendable {
    public var listen: PeerAddress
    /// The worker's own copy of the model, if it has one; assignments load their layers from
    /// it. Without one, the coordinator streams its model on first contact.
    public var modelPath: String?
    public var threads: Int
    public var placement: Placement
    public var secret: SharedSecret
    public var name: String
    public var limits: WireLimits = .default
    /// TLS for the listener (certificate and key), and for dialling the next stage (trust).
    public var tlsServer: TLSConfiguration?
    public var tlsClient: TLSConfiguration?
    /// Where models streamed from a coordinator are kept, named by their SHA-256.
    public var cacheDirectory: String = FileManager.default.temporaryDirectory.appendingPathComponent("strata-models").path

    public init(
        listen: PeerAddress, modelPath: String?, threads: Int, placement: Placement = .unpinned,
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
