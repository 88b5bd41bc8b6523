/// Exactly 32 bytes: a SHA-256 content hash, a handshake challenge or an HMAC-SHA256 code.
public struct Bytes32: Hashable, Sendable, CustomStringConvertible {
    /// The 32 bytes, in wire order.
    public let bytes: [UInt8]

    /// - Parameter bytes: exactly 32 bytes.
    /// - Returns: nil unless `bytes` holds exactly 32 bytes.
    public init?(_ bytes: some Sequence<UInt8>) {
        let array = Array(bytes)
        guard array.count == 32 else { return nil }
        self.bytes = array
    }

    init(unchecked bytes: [UInt8]) {
        assert(bytes.count == 32, "Bytes32 needs exactly 32 bytes")
        self.bytes = bytes
    }

    /// Parses 64 hexadecimal digits (either case).
    /// - Parameter hex: the digits, with no prefix or separators.
    /// - Returns: nil unless `hex` is exactly 64 hex digits.
    public init?(hex: String) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 64 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(32)
        for i in stride(from: 0, to: 64, by: 2) {
            guard let high = Self.nibble(utf8[i]), let low = Self.nibble(utf8[i + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        self.bytes = out
    }

    /// Thirty-two zero bytes.
    public static let zero = Bytes32(unchecked: [UInt8](repeating: 0, count: 32))

    /// Lower-case hexadecimal.
    public var description: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// The SHA-256 of a model file's bytes, which identifies the model both ends serve.
public typealias ModelHash = Bytes32
/// 32 random bytes one side of the handshake asks the other to authenticate.
public typealias Challenge = Bytes32
/// An HMAC-SHA256 code.
public typealias AuthenticationCode = Bytes32
