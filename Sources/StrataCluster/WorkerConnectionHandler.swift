import NIOCore
import StrataWire

/// One inbound connection to a worker: runs the worker side of the handshake, then hands
/// frames to the worker's core with the peer's role (coordinator or upstream stage).
final class WorkerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = Frame

    private var handshake: WorkerHandshake
    private var role: PeerRole?
    private let core: WorkerCore

    init(handshake: WorkerHandshake, core: WorkerCore) {
        self.handshake = handshake
        self.core = core
    }

    func channelActive(context: ChannelHandlerContext) {
        perform(handshake.start(), context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if let role {
            core.receive(frame, from: context.channel, role: role)
        } else {
            perform(handshake.receive(frame.message), context: context)
        }
    }

    private func perform(_ action: HandshakeAction<WorkerHandshake.Peer>, context: ChannelHandlerContext) {
        switch action {
        case .send(let message):
            context.writeAndFlush(wrapOutboundOut(Frame(message)), promise: nil)
        case .sendAndEstablish(let message, let peer):
            context.writeAndFlush(wrapOutboundOut(Frame(message)), promise: nil)
            established(peer, context: context)
        case .establish(let peer):
            established(peer, context: context)
        case .sendAndClose(let goodbye):
            core.log("refused \(context.remoteAddress.map { "\($0)" } ?? "a peer"): \(goodbye.reason) \(goodbye.message)")
            context.channel.sayGoodbye(goodbye)
        case .close:
            context.close(promise: nil)
        }
    }

    private func established(_ peer: WorkerHandshake.Peer, context: ChannelHandlerContext) {
        role = peer.role
        core.connected(context.channel, role: peer.role, modelHash: peer.modelHash)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if role != nil { core.disconnected(context.channel) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let wire = error as? WireError {
            core.log("protocol error from \(context.remoteAddress.map { "\($0)" } ?? "a peer"): \(wire)")
            context.channel.sayGoodbye(Goodbye(.protocolError, message: "\(wire)"))
        } else {
            context.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension WorkerConnectionHandler: Sendable {}
