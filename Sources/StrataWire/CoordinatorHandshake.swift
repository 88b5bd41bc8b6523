/// The connecting side of the handshake (the coordinator, or an upstream stage opening its next hop), as a value
/// that consumes messages and returns actions.
///
///     receive(Hello)    → send Authenticate                  | Goodbye(unsupportedVersion)
///     receive(Welcome)  → established                        | Goodbye(badSecret | modelMismatch)
///     receive(Goodbye)  → close
///     anything else     → Goodbye(protocolError)
///
/// The worker's model is judged only after its proof verifies.
public struct CoordinatorHandshake: Sendable {
    /// What the connecting side serves and requires.
    public struct Configuration: Sendable {
        public var versions: ClosedRange<UInt8>
        public var role: PeerRole
        /// SHA-256 of the model file the cluster serves.
        public var modelHash: ModelHash
        public var secret: SharedSecret
        /// When true, a worker that does not hold the model locally is refused with `modelMismatch` (no weight
        /// streaming).
        public var requiresLocalModel: Bool

        public init(
            versions: ClosedRange<UInt8> = WireFormat.supportedVersions, role: PeerRole = .coordinator,
            modelHash: ModelHash, secret: SharedSecret, requiresLocalModel: Bool
        ) {
            self.versions = versions
            self.role = role
            self.modelHash = modelHash
            self.secret = secret
            self.requiresLocalModel = requiresLocalModel
        }
    }

    /// What the coordinator learns about the worker.
    public struct Peer: Equatable, Sendable {
        /// The version every later frame uses.
        public var version: UInt8
        /// The worker's Hello: identity, capabilities, hardware.
        public var hello: Hello
        /// Whether the worker holds the served model locally.
        public var hasModelLocally: Bool
    }

    private enum State {
        case awaitingHello
        case awaitingWelcome(hello: Hello, version: UInt8, transcript: [UInt8])
        case established
        case closed
    }

    public let configuration: Configuration
    /// The challenge this side sends in `Authenticate`.
    public let challenge: Challenge
    private var state = State.awaitingHello

    /// - Parameters:
    ///   - configuration: model, secret and policy.
    ///   - challenge: fresh random bytes; defaults to the system's secure generator.
    public init(configuration: Configuration, challenge: Challenge = .random()) {
        self.configuration = configuration
        self.challenge = challenge
    }

    /// Feeds the next message from the worker.
    /// - Parameter message: the received message.
    /// - Returns: what to do.
    public mutating func receive(_ message: Message) -> HandshakeAction<Peer> {
        switch (state, message) {
        case (.closed, _):
            return .close(peerSaid: nil)
        case (_, .goodbye(let goodbye)):
            state = .closed
            return .close(peerSaid: goodbye)
        case (.awaitingHello, .hello(let hello)):
            return authenticate(hello)
        case (.awaitingWelcome(let hello, let version, let transcript), .welcome(let welcome)):
            return conclude(welcome, hello: hello, version: version, transcript: transcript)
        case (.awaitingHello, _), (.awaitingWelcome, _), (.established, _):
            return refuse(.protocolError, "unexpected \(message.kind) during the handshake")
        }
    }

    /// The handshake's deadline passed.
    /// - Returns: `Goodbye(.timedOut)` unless the handshake already ended (then `close`, and the
    ///   handshake stays closed).
    public mutating func timedOut() -> HandshakeAction<Peer> {
        switch state {
        case .awaitingHello, .awaitingWelcome: return refuse(.timedOut, "handshake not completed in time")
        case .established, .closed:
            // Over either way: from now on every call answers close, as after a Goodbye.
            state = .closed
            return .close(peerSaid: nil)
        }
    }

    private mutating func authenticate(_ hello: Hello) -> HandshakeAction<Peer> {
        let low = max(hello.versions.lowerBound, configuration.versions.lowerBound)
        let high = min(hello.versions.upperBound, configuration.versions.upperBound)
        guard low <= high else {
            return refuse(
                .unsupportedVersion, "worker speaks \(hello.versions); this side speaks \(configuration.versions)")
        }
        guard
            let transcript = try? HandshakeProof.transcript(
                hello: hello, version: high, role: configuration.role, modelHash: configuration.modelHash)
        else {
            return refuse(.protocolError, "the Hello cannot be encoded")
        }
        let proof = HandshakeProof.coordinatorProof(
            secret: configuration.secret, workerChallenge: hello.challenge, coordinatorChallenge: challenge,
            transcript: transcript)
        state = .awaitingWelcome(hello: hello, version: high, transcript: transcript)
        return .send(
            .authenticate(
                Authenticate(
                    version: high, role: configuration.role, challenge: challenge, proof: proof,
                    modelHash: configuration.modelHash)))
    }

    private mutating func conclude(
        _ welcome: Welcome, hello: Hello, version: UInt8, transcript: [UInt8]
    ) -> HandshakeAction<Peer> {
        guard
            HandshakeProof.verifyWorkerProof(
                welcome.proof, secret: configuration.secret, coordinatorChallenge: challenge,
                workerChallenge: hello.challenge, transcript: transcript)
        else {
            return refuse(.badSecret, "the worker's proof does not verify")
        }
        let hasModel = hello.modelHash == configuration.modelHash
        guard hasModel || !configuration.requiresLocalModel else {
            return refuse(
                .modelMismatch,
                "this side serves \(configuration.modelHash); the worker holds "
                    + (hello.modelHash.map { "\($0)" } ?? "none"))
        }
        state = .established
        return .establish(Peer(version: version, hello: hello, hasModelLocally: hasModel))
    }

    private mutating func refuse(_ reason: GoodbyeReason, _ message: String) -> HandshakeAction<Peer> {
        state = .closed
        return .sendAndClose(Goodbye(reason, message: message))
    }
}
