import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import StrataKernels
import StrataWire
import Synchronization

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
            freeMemoryBytes: availableMemoryBytes(), memoryBandwidthMBps: UInt32(clamping: measureReadBandwidthMBps()))
        let workerID = UInt64.random(in: 1...UInt64.max)
        let limits = options.limits
        let channel: any Channel
        let tls = try options.tlsServer.map { try NIOSSLContext(configuration: $0) }
        do {
            channel = try await ServerBootstrap(group: io)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { child in
                    child.eventLoop.makeCompletedFuture {
                        if let tls { try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                        try child.pipeline.syncOperations.addFrameCodec(limits: limits)
                        try child.pipeline.syncOperations.addHandler(
                            WorkerConnectionHandler(
                                handshake: try WorkerHandshake(
                                    configuration: WorkerHandshake.Configuration(
                                        capabilities: [.localModelFile, .weightStreaming, .backfill], workerID: workerID,
                                        name: options.name, hardware: hardware,
                                        localModelHash: core.advertisedHash.withLock { $0 }, secret: options.secret,
                                        acceptsOtherModels: true)),
                                core: core))
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

/// Memory the system could give this process now (MemAvailable), or all physical memory when
/// /proc/meminfo cannot be read.
func availableMemoryBytes() -> UInt64 {
    if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kib = UInt64(fields[1]) { return kib * 1024 }
        }
    }
    return UInt64(ProcessInfo.processInfo.physicalMemory)
}

/// A quick single-thread read-bandwidth probe (sums 64 MiB of non-zero data a few times; best
/// of three), reported in the Hello so the coordinator can weigh workers by speed.
func measureReadBandwidthMBps() -> Int {
    let count = 16 << 20  // floats: 64 MiB
    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
    defer { buffer.deallocate() }
    for i in 0..<count { buffer[i] = Float(i & 1023) }
    var best = 0.0
    var sink: Float = 0
    for _ in 0..<3 {
        let start = DispatchTime.now().uptimeNanoseconds
        var a: Float = 0, b: Float = 0, c: Float = 0, d: Float = 0
        var i = 0
        while i < count {
            a += buffer[i]
            b += buffer[i + 1]
            c += buffer[i + 2]
            d += buffer[i + 3]
            i += 16  // one float per quarter cache line still pulls every line
        }
        sink += a + b + c + d
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        best = max(best, Double(count * 4) / seconds / 1e6)
    }
    return sink.isNaN ? 0 : Int(best)
}
