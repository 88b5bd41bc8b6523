import Crypto

/// The key both ends of a handshake prove they hold. It never crosses the wire.
///
/// An empty secret turns authentication off: both ends still run the challenge–response, keyed with the empty
/// key, which anyone can compute. The handshake then checks versions and models only.
public struct SharedSecret: Sendable {
    /// The secret's bytes. Kept as bytes because `SymmetricKey` is not `Sendable` in swift-crypto 3; `key` makes
    /// one per use (a handshake uses two).
    private let bytes: [UInt8]

    var key: SymmetricKey { SymmetricKey(data: bytes) }

    /// Whether this is the empty key (authentication off).
    public let isEmpty: Bool

    /// - Parameter bytes: the secret; use at least 16 random bytes, since an observer of one handshake can test
    ///   guesses offline.
    public init(bytes: some Sequence<UInt8>) {
        let array = Array(bytes)
        self.bytes = array
        isEmpty = array.isEmpty
    }

    /// - Parameter string: the secret's UTF-8 bytes.
    public init(string: String) {
        self.init(bytes: Array(string.utf8))
    }

    /// No secret: authentication off.
    public static let none = SharedSecret(bytes: [UInt8]())
}

extension Bytes32 {
    /// 32 bytes from the system's cryptographically secure generator (getrandom on Linux).
    /// - Returns: a fresh challenge.
    public static func random() -> Bytes32 {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    /// 32 bytes from `generator`; tests pass a seeded one to make handshakes reproducible.
    /// - Parameter generator: the source of randomness.
    /// - Returns: the bytes.
    public static func random(using generator: inout some RandomNumberGenerator) -> Bytes32 {
        var bytes = [UInt8]()
        bytes.reserveCapacity(32)
        for _ in 0..<4 {
            let word = generator.next()
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: word >> shift)) }
        }
        return Bytes32(unchecked: bytes)
    }
}
