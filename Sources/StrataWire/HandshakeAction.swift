/// What a handshake state machine asks its connection handler to do next.
public enum HandshakeAction<Peer: Equatable & Sendable>: Equatable, Sendable {
    /// Send the message, then wait for the peer's next one.
    case send(Message)
    /// Send the message; the handshake is complete and `Peer` describes the other side.
    case sendAndEstablish(Message, Peer)
    /// The handshake is complete and `Peer` describes the other side.
    case establish(Peer)
    /// Refuse the peer: send this `Goodbye`, then close.
    case sendAndClose(Goodbye)
    /// Close without sending: the peer said goodbye (given), or the handshake had already ended (nil).
    case close(peerSaid: Goodbye?)
}
