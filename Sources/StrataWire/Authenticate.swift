/// Coordinator (or upstream stage) → worker, answering `Hello`: proof of the shared secret over the worker's
/// challenge, a challenge of its own, and the model it serves.
public struct Authenticate: Equatable, Sendable {
    /// Payload size: 1 + 1 + 32 + 32 + 32.
    public static let payloadSize = 98

    /// The protocol version chosen from the intersection of both ranges; every later frame carries it.
    public var version: UInt8
    /// Who is connecting: the coordinator, or the stage before this one in the chain.
    public var role: PeerRole
    /// 32 fresh random bytes the worker's proof must cover.
    public var challenge: Challenge
    /// HMAC-SHA256(secret, worker challenge ‖ context); see `HandshakeProof`.
    public var proof: AuthenticationCode
    /// SHA-256 of the model file the cluster serves.
    public var modelHash: ModelHash

    public init(version: UInt8, role: PeerRole, challenge: Challenge, proof: AuthenticationCode, modelHash: ModelHash) {
        self.version = version
        self.role = role
        self.challenge = challenge
        self.proof = proof
        self.modelHash = modelHash
    }
}

/// The side that opened the connection to a worker.
public enum PeerRole: UInt8, CaseIterable, Hashable, Sendable {
    /// The coordinator: sends assignments, weights, `Forward` for the first stage, control messages.
    case coordinator = 0
    /// The previous stage of the chain: sends `Forward` only.
    case upstreamStage = 1
}

extension Authenticate: PayloadCodable {
    static let kind = MessageKind.authenticate

    init(from r: inout PayloadReader) throws(WireError) {
        version = try r.integer("version")
        let rawRole = try r.integer("role", as: UInt8.self)
        guard let role = PeerRole(rawValue: rawRole) else {
            throw .invalidValue(kind: .authenticate, field: "role", value: UInt64(rawRole))
        }
        self.role = role
        challenge = try r.bytes32("challenge")
        proof = try r.bytes32("proof")
        modelHash = try r.bytes32("modelHash")
    }

    func encode(to w: inout PayloadWriter) throws(WireError) {
        w.integer(version)
        w.integer(role.rawValue)
        w.bytes32(challenge)
        w.bytes32(proof)
        w.bytes32(modelHash)
    }
}

/// Worker → coordinator, closing the handshake: proof of the shared secret over the coordinator's challenge.
public struct Welcome: Equatable, Sendable {
    /// Payload size: 32.
    public static let payloadSize = 32

    /// HMAC-SHA256(secret, coordinator challenge ‖ context); see `HandshakeProof`.
    public var proof: AuthenticationCode

    public init(proof: AuthenticationCode) { self.proof = proof }
}

extension Welcome: PayloadCodable {
    static let kind = MessageKind.welcome

    init(from r: inout PayloadReader) throws(WireError) {
        proof = try r.bytes32("proof")
    }

    func encode(to w: inout PayloadWriter) throws(WireError) {
        w.bytes32(proof)
    }
}
