/// Either direction, the last frame before closing: why the sender is leaving.
public struct Goodbye: Equatable, Sendable {
    /// Largest payload: 1 + 2 + 1024.
    public static let maxPayloadSize = 1027
    /// Most UTF-8 bytes in `message`.
    public static let maxMessageBytes = 1024

    public var reason: GoodbyeReason
    /// Detail for logs; at most 1024 UTF-8 bytes.
    public var message: String

    public init(_ reason: GoodbyeReason, message: String = "") {
        self.reason = reason
        self.message = message
    }
}

/// Why a connection ends.
public enum GoodbyeReason: UInt8, CaseIterable, Hashable, Sendable {
    /// Orderly close with nothing wrong.
    case normal = 0
    /// No protocol version both sides speak.
    case unsupportedVersion = 1
    /// A handshake proof did not verify: the secrets differ.
    case badSecret = 2
    /// The peer serves or holds a different model.
    case modelMismatch = 3
    /// The worker already serves another coordinator.
    case busy = 4
    /// The sender is stopping.
    case shuttingDown = 5
    /// A malformed frame, or a message that is not allowed in the current state.
    case protocolError = 6
    /// The peer did not finish the handshake, or stopped answering, in time.
    case timedOut = 7
}

extension Goodbye: PayloadCodable {
    static let kind = MessageKind.goodbye

    init(from r: inout PayloadReader) throws(WireError) {
        let rawReason = try r.integer("reason", as: UInt8.self)
        guard let reason = GoodbyeReason(rawValue: rawReason) else {
            throw .invalidValue(kind: .goodbye, field: "reason", value: UInt64(rawReason))
        }
        self.reason = reason
        message = try r.string("message", maxBytes: Self.maxMessageBytes)
    }

    func encode(to w: inout PayloadWriter) throws(WireError) {
        w.integer(reason.rawValue)
        try w.string(message, field: "message", maxBytes: Self.maxMessageBytes)
    }
}
