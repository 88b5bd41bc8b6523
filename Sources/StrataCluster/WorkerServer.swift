import Foundation
import NIOCore
import NIOPosix
import StrataKernels
import StrataWire

/// A worker process's listener: accepts coordinators and upstream stages, one compute thread
/// for all of them. Survives a coordinator disconnect and accepts the next one.
public final class WorkerServer: Sendable {
    public let options: WorkerOptions
    private let ioGroup: MultiThreadedEventLoopGroup
    private let computeGroup: MultiThreadedEventLoopGroup
    private let core: WorkerCore
    private let channel: any Channel

    /// The address actually bound (the port is chosen by the OS when 0 was asked for).
    public var boundAddress: PeerAddress {
        PeerAddress(host: options.listen.host, port: channel.localAddress?.port ?? options.listen.port)
    }

    /// Hashes the model file, binds the listener and starts accepting.
    public static func start(_ options: WorkerOptions) async throws -> WorkerServer {
        let hash = try options.modelPath.map { try ModelIdentity.hash(path: $0) }
        let io = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let compute = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let core = WorkerCore(options: options, modelHash: hash, computeLoop: compute.next(), ioGroup: io)
        let hardware = HardwareReport(
            threads: UInt16(clamping: options.threads), numaNodes: UInt16(clamping: NUMATopology.current.nodeCount),
            freeMemoryBytes: UInt64(ProcessInfo.processInfo.physicalMemory), memoryBandwidthMBps: 0)
        let handshake = WorkerHandshake.Configuration(
            capabilities: [.localModelFile, .weightStreaming, .backfill], workerID: UInt64.random(in: 1...UInt64.max), name: options.name,
            hardware: hardware, localModelHash: hash, secret: options.secret, acceptsOtherModels: true)
        let limits = options.limits
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: io)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { child in
                    child.eventLoop.makeCompletedFuture {
                        try child.pipeline.syncOperations.addFrameCodec(limits: limits)
                        try child.pipeline.syncOperations.addHandler(
                            WorkerConnectionHandler(handshake: try WorkerHandshake(configuration: handshake), core: core))
                    }
                }
                .bind(host: options.listen.host, port: options.listen.port).get()
        } catch {
            try? await io.shutdownGracefully()
            try? await compute.shutdownGracefully()
            throw ClusterError.refused(peer: options.listen.description, reason: "cannot listen: \(error)")
        }
        return WorkerServer(options: options, io: io, compute: compute, core: core, channel: channel)
    }

    private init(
        options: WorkerOptions, io: MultiThreadedEventLoopGroup, compute: MultiThreadedEventLoopGroup, core: WorkerCore,
        channel: any Channel
    ) {
        self.options = options
        ioGroup = io
        computeGroup = compute
        self.core = core
        self.channel = channel
    }

    /// Waits until the listener closes.
    public func waitUntilClosed() async throws {
        try await channel.closeFuture.get()
    }

    /// Stops listening and releases the threads.
    public func stop() async {
        try? await channel.close()
        try? await ioGroup.shutdownGracefully()
        try? await computeGroup.shutdownGracefully()
    }
}
