/// The worker's side of the handshake, as a value that consumes messages and returns actions.
///
///     start()                → send Hello
///     receive(Authenticate)  → send Welcome, established   | Goodbye(unsupportedVersion | badSecret | modelMismatch)
///     receive(Goodbye)       → close
///     anything else          → Goodbye(protocolError)
///
/// The order of checks on `Authenticate` is version, proof, model: nothing about the model is told to a peer
/// that has not proved the secret.
public struct WorkerHandshake: Sendable {
    /// What the worker says about itself and what it accepts.
    public struct Configuration: Sendable {
        public var versions: ClosedRange<UInt8>
        public var capabilities: Capabilities
        public var workerID: UInt64
        public var name: String
        public var hardware: HardwareReport
        /// SHA-256 of the model file the worker holds, or nil.
        public var localModelHash: ModelHash?
        public var secret: SharedSecret
        /// When false, a coordinator serving any model other than `localModelHash` is refused with
        /// `modelMismatch`; when true, the worker accepts it and expects its weights to be streamed.
        public var acceptsOtherModels: Bool

        public init(
            versions: ClosedRange<UInt8> = WireFormat.supportedVersions, capabilities: Capabilities, workerID: UInt64,
            name: String, hardware: HardwareReport, localModelHash: ModelHash?, secret: SharedSecret,
            acceptsOtherModels: Bool
        ) {
            self.versions = versions
            self.capabilities = capabilities
            self.workerID = workerID
            self.name = name
            self.hardware = hardware
            self.localModelHash = localModelHash
            self.secret = secret
            self.acceptsOtherModels = acceptsOtherModels
        }
    }

    /// What the worker learns about the side that connected.
    public struct Peer: Hashable, Sendable {
        /// The version every later frame uses.
        public var version: UInt8
        public var role: PeerRole
        /// The model the cluster serves.
        public var modelHash: ModelHash
        /// Whether the worker's local file is that model (so `LoadFromLocalFile` can succeed).
        public var hasModelLocally: Bool
    }

    private enum State {
        case idle
        case awaitingAuthenticate
        case established
        case closed
    }

    public let configuration: Configuration
    /// The Hello this worker sends.
    public let hello: Hello
    private var state = State.idle

    /// - Parameters:
    ///   - configuration: identity, hardware, secret and model policy.
    ///   - challenge: fresh random bytes; defaults to the system's secure generator.
    /// - Throws: `WireError` when the Hello could not be encoded (a name over 255 bytes).
    public init(configuration: Configuration, challenge: Challenge = .random()) throws(WireError) {
        self.configuration = configuration
        hello = Hello(
            versions: configuration.versions, capabilities: configuration.capabilities,
            workerID: configuration.workerID, name: configuration.name, hardware: configuration.hardware,
            modelHash: configuration.localModelHash, challenge: challenge)
        // Encoding checks every field once here, so later transcripts cannot fail.
        _ = try HandshakeProof.transcript(hello: hello, version: 0, role: .coordinator, modelHash: .zero)
    }

    /// Starts the handshake on an accepted connection. Call once.
    /// - Returns: `.send(.hello)`.
    public mutating func start() -> HandshakeAction<Peer> {
        precondition(state == .idle, "WorkerHandshake.start() called twice")
        state = .awaitingAuthenticate
        return .send(.hello(hello))
    }

    /// Feeds the next message from the peer.
    /// - Parameter message: the received message.
    /// - Returns: what to do.
    public mutating func receive(_ message: Message) -> HandshakeAction<Peer> {
        switch (state, message) {
        case (.closed, _):
            return .close(peerSaid: nil)
        case (_, .goodbye(let goodbye)):
            state = .closed
            return .close(peerSaid: goodbye)
        case (.awaitingAuthenticate, .authenticate(let authenticate)):
            return answer(authenticate)
        case (.idle, _), (.established, _), (.awaitingAuthenticate, _):
            return refuse(.protocolError, "unexpected \(message.kind) during the handshake")
        }
    }

    /// The handshake's deadline passed.
    /// - Returns: `Goodbye(.timedOut)` unless the handshake already ended (then `close`, and the
    ///   handshake stays closed).
    public mutating func timedOut() -> HandshakeAction<Peer> {
        switch state {
        case .idle, .awaitingAuthenticate: return refuse(.timedOut, "handshake not completed in time")
        case .established, .closed:
            // Over either way: from now on every call answers close, as after a Goodbye.
            state = .closed
            return .close(peerSaid: nil)
        }
    }

    private mutating func answer(_ authenticate: Authenticate) -> HandshakeAction<Peer> {
        guard configuration.versions.contains(authenticate.version) else {
            return refuse(
                .unsupportedVersion,
                "peer chose version \(authenticate.version); this worker speaks \(configuration.versions)")
        }
        // The Hello was checked in init, so the transcript cannot fail; an empty one would fail verification.
        let transcript =
            (try? HandshakeProof.transcript(
                hello: hello, version: authenticate.version, role: authenticate.role,
                modelHash: authenticate.modelHash)) ?? []
        guard
            HandshakeProof.verifyCoordinatorProof(
                authenticate.proof, secret: configuration.secret, workerChallenge: hello.challenge,
                coordinatorChallenge: authenticate.challenge, transcript: transcript)
        else {
            return refuse(.badSecret, "the peer's proof does not verify")
        }
        let hasModel = configuration.localModelHash == authenticate.modelHash
        guard hasModel || configuration.acceptsOtherModels else {
            return refuse(
                .modelMismatch,
                "peer serves model \(authenticate.modelHash); this worker holds "
                    + (configuration.localModelHash.map { "\($0)" } ?? "none"))
        }
        let proof = HandshakeProof.workerProof(
            secret: configuration.secret, coordinatorChallenge: authenticate.challenge,
            workerChallenge: hello.challenge, transcript: transcript)
        state = .established
        let peer = Peer(
            version: authenticate.version, role: authenticate.role, modelHash: authenticate.modelHash,
            hasModelLocally: hasModel)
        return .sendAndEstablish(.welcome(Welcome(proof: proof)), peer)
    }

    private mutating func refuse(_ reason: GoodbyeReason, _ message: String) -> HandshakeAction<Peer> {
        state = .closed
        return .sendAndClose(Goodbye(reason, message: message))
    }
}
