import NIOCore
import NIOPosix
import StrataCluster
import StrataWire
import Synchronization

/// A TCP relay on loopback in front of one worker. Until `freeze()` it forwards both ways;
/// from then on every connection it already carries swallows its bytes in both directions
/// without closing — a link that stopped carrying data, which no heartbeat on another link
/// can see. Connections made after the freeze pass normally.
final class FreezingRelay: Sendable {
    let address: PeerAddress
    private let server: any Channel
    private let group: MultiThreadedEventLoopGroup
    private let gates: Gates

    /// Whether each relayed connection still carries data.
    final class Gates: Sendable {
        private let flags = Mutex<[Flag]>([])

        final class Flag: Sendable {
            let frozen = Atomic<Bool>(false)
        }

        func add() -> Flag {
            let flag = Flag()
            flags.withLock { $0.append(flag) }
            return flag
        }

        func freezeAll() {
            flags.withLock { list in for flag in list { flag.frozen.store(true, ordering: .relaxed) } }
        }
    }

    /// Writes what one side reads to the other, unless its pair is frozen.
    private final class Forwarder: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let partner: any Channel
        let flag: Gates.Flag

        init(partner: any Channel, flag: Gates.Flag) {
            self.partner = partner
            self.flag = flag
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !flag.frozen.load(ordering: .relaxed) else { return }
            partner.writeAndFlush(unwrapInboundIn(data), promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            partner.close(promise: nil)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    private init(address: PeerAddress, server: any Channel, group: MultiThreadedEventLoopGroup, gates: Gates) {
        self.address = address
        self.server = server
        self.group = group
        self.gates = gates
    }

    static func start(to target: PeerAddress) async throws -> FreezingRelay {
        // One event loop: both halves of every pair live on it.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let gates = Gates()
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { inbound in
                ClientBootstrap(group: inbound.eventLoop).connect(host: target.host, port: target.port).flatMapThrowing { outbound in
                    let flag = gates.add()
                    try inbound.pipeline.syncOperations.addHandler(Forwarder(partner: outbound, flag: flag))
                    try outbound.pipeline.syncOperations.addHandler(Forwarder(partner: inbound, flag: flag))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = server.localAddress?.port else { throw ClusterError.notReady("the relay has no port") }
        return FreezingRelay(address: PeerAddress(host: "127.0.0.1", port: port), server: server, group: group, gates: gates)
    }

    /// Stops every connection open now from carrying data.
    func freeze() { gates.freezeAll() }

    func stop() async {
        try? await server.close()
        try? await group.shutdownGracefully()
    }
}
