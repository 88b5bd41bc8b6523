import Crypto
import NIOCore

/// The two HMAC-SHA256 proofs of the handshake (`proto/wire.md`, "Handshake").
///
///     transcript       = SHA-256(Hello payload) ‖ version u8 ‖ role u8 ‖ modelHash[32]
///     coordinatorProof = HMAC(secret, workerChallenge ‖ "strata-wire/1 coordinator" ‖ coordinatorChallenge ‖ transcript)
///     workerProof      = HMAC(secret, coordinatorChallenge ‖ "strata-wire/1 worker" ‖ workerChallenge ‖ transcript)
///
/// Distinct labels stop a proof from being reflected back as the other side's; both challenges and the
/// transcript bind each proof to this connection, the negotiated version and the model.
public enum HandshakeProof {
    static let coordinatorLabel = Array("strata-wire/1 coordinator".utf8)
    static let workerLabel = Array("strata-wire/1 worker".utf8)

    /// SHA-256 of the Hello's canonical payload, then the choices `Authenticate` makes.
    /// - Parameters:
    ///   - hello: the worker's Hello.
    ///   - version: the version chosen.
    ///   - role: the connecting side's role.
    ///   - modelHash: the model the connecting side serves.
    /// - Returns: the transcript bytes.
    /// - Throws: `WireError` when the Hello cannot be encoded (a field out of its domain).
    public static func transcript(
        hello: Hello, version: UInt8, role: PeerRole, modelHash: ModelHash
    ) throws(WireError) -> [UInt8] {
        var writer = PayloadWriter(buffer: ByteBuffer(), kind: .hello, limits: .default)
        try hello.encode(to: &writer)
        var out = Array(SHA256.hash(data: Array(writer.buffer.readableBytesView)))
        out.append(version)
        out.append(role.rawValue)
        out += modelHash.bytes
        return out
    }

    /// The coordinator's proof over the worker's challenge.
    public static func coordinatorProof(
        secret: SharedSecret, workerChallenge: Challenge, coordinatorChallenge: Challenge, transcript: [UInt8]
    ) -> AuthenticationCode {
        code(secret, workerChallenge.bytes + coordinatorLabel + coordinatorChallenge.bytes + transcript)
    }

    /// The worker's proof over the coordinator's challenge.
    public static func workerProof(
        secret: SharedSecret, coordinatorChallenge: Challenge, workerChallenge: Challenge, transcript: [UInt8]
    ) -> AuthenticationCode {
        code(secret, coordinatorChallenge.bytes + workerLabel + workerChallenge.bytes + transcript)
    }

    /// Whether `received` is the coordinator's proof; compares in constant time.
    static func verifyCoordinatorProof(
        _ received: AuthenticationCode, secret: SharedSecret, workerChallenge: Challenge,
        coordinatorChallenge: Challenge, transcript: [UInt8]
    ) -> Bool {
        verify(received, secret, workerChallenge.bytes + coordinatorLabel + coordinatorChallenge.bytes + transcript)
    }

    /// Whether `received` is the worker's proof; compares in constant time.
    static func verifyWorkerProof(
        _ received: AuthenticationCode, secret: SharedSecret, coordinatorChallenge: Challenge,
        workerChallenge: Challenge, transcript: [UInt8]
    ) -> Bool {
        verify(received, secret, coordinatorChallenge.bytes + workerLabel + workerChallenge.bytes + transcript)
    }

    private static func code(_ secret: SharedSecret, _ message: [UInt8]) -> AuthenticationCode {
        Bytes32(unchecked: Array(HMAC<SHA256>.authenticationCode(for: message, using: secret.key)))
    }

    private static func verify(_ received: AuthenticationCode, _ secret: SharedSecret, _ message: [UInt8]) -> Bool {
        // swift-crypto compares the codes in constant time.
        HMAC<SHA256>.isValidAuthenticationCode(received.bytes, authenticating: message, using: secret.key)
    }
}
