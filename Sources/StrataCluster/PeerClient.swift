import NIOCore
import NIOPosix
import NIOSSL
import StrataWire

/// A connection this process opened to a worker, after a successful handshake: the
/// coordinator's link to each worker, and a stage's link to the next stage.
public struct PeerLink: Sendable {
    public let channel: any Channel
    public let address: PeerAddress
    public let hello: Hello

    /// Connects, runs the handshake in `role`, and from then on hands every inbound frame to
    /// `onFrame` (on the connection's event loop) and reports the close through `onClose`.
    /// - Parameter tls: wraps the link in TLS (see `LinkTLS.client`); nil for plain TCP.
    public static func connect(
        to address: PeerAddress, group: any EventLoopGroup, handshake: CoordinatorHandshake.Configuration,
        limits: WireLimits, timeout: TimeAmount = .seconds(10), tls: TLSConfiguration? = nil,
        onFrame: @escaping @Sendable (Frame) -> Void, onClose: @escaping @Sendable () -> Void
    ) async throws -> PeerLink {
        let established = group.next().makePromise(of: CoordinatorHandshake.Peer.self)
        let channel: any Channel
        let context = try tls.map { try NIOSSLContext(configuration: $0) }
        do {
            channel = try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let context {
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: context, serverHostname: LinkTLS.serverHostname(address.host)))
                        }
                        try channel.pipeline.syncOperations.addFrameCodec(limits: limits)
                        try channel.pipeline.syncOperations.addHandler(
                            PeerClientHandler(
                                handshake: CoordinatorHandshake(configuration: handshake), address: address,
                                established: established, onFrame: onFrame, onClose: onClose))
                    }
                }
                .connect(host: address.host, port: address.port).get()
        } catch {
            established.fail(ClusterError.connectionLost(peer: address.description))
            throw ClusterError.refused(peer: address.description, reason: "\(error)")
        }
        let timer = channel.eventLoop.scheduleTask(in: timeout) {
            established.fail(ClusterError.timedOut(peer: address.description, what: "the handshake"))
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        let peer = try await established.futureResult.get()
        return PeerLink(channel: channel, address: address, hello: peer.hello)
    }

    public func send(_ message: Message, requestID: UInt64 = 0) {
        channel.send(message, requestID: requestID)
    }
}

/// Drives the connecting side's handshake, then passes frames on.
final class PeerClientHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = Frame

    private var handshake: CoordinatorHandshake
    private var isEstablished = false
    private let address: PeerAddress
    private let established: EventLoopPromise<CoordinatorHandshake.Peer>
    private let onFrame: @Sendable (Frame) -> Void
    private let onClose: @Sendable () -> Void

    init(
        handshake: CoordinatorHandshake, address: PeerAddress, established: EventLoopPromise<CoordinatorHandshake.Peer>,
        onFrame: @escaping @Sendable (Frame) -> Void, onClose: @escaping @Sendable () -> Void
    ) {
        self.handshake = handshake
        self.address = address
        self.established = established
        self.onFrame = onFrame
        self.onClose = onClose
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard !isEstablished else {
            onFrame(frame)
            return
        }
        switch handshake.receive(frame.message) {
        case .send(let message):
            context.writeAndFlush(wrapOutboundOut(Frame(message)), promise: nil)
        case .sendAndEstablish(let message, let peer):
            context.writeAndFlush(wrapOutboundOut(Frame(message)), promise: nil)
            isEstablished = true
            established.succeed(peer)
        case .establish(let peer):
            isEstablished = true
            established.succeed(peer)
        case .sendAndClose(let goodbye):
            established.fail(ClusterError.refused(peer: address.description, reason: "\(goodbye.reason): \(goodbye.message)"))
            context.channel.sayGoodbye(goodbye)
        case .close(let said):
            let reason = said.map { "\($0.reason): \($0.message)" } ?? "closed during the handshake"
            established.fail(ClusterError.refused(peer: address.description, reason: reason))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        established.fail(ClusterError.connectionLost(peer: address.description))
        onClose()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let wire = error as? WireError {
            context.channel.sayGoodbye(Goodbye(.protocolError, message: "\(wire)"))
        } else {
            context.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension PeerClientHandler: Sendable {}
