/// Either direction: a request failed, or something went wrong that does not end the connection.
public struct ErrorReport: Equatable, Sendable {
    /// Largest payload: 2 + (1 + 8) + 2 + 1024.
    public static let maxPayloadSize = 1037
    /// Most UTF-8 bytes in `message`.
    public static let maxMessageBytes = 1024

    public var code: ErrorCode
    /// The request id of the frame this answers, or nil when it answers none. The frame header carries the same
    /// id (0 when nil).
    public var requestID: UInt64?
    /// Detail for logs; at most 1024 UTF-8 bytes.
    public var message: String

    public init(code: ErrorCode, requestID: UInt64?, message: String) {
        self.code = code
        self.requestID = requestID
        self.message = message
    }
}

/// A machine-readable error class. Unknown codes are kept, so a newer peer can send codes this build lacks.
public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The message is not valid in the receiver's state (e.g. `Forward` before weights are loaded).
    public static let unexpectedMessage = ErrorCode(rawValue: 1)
    /// The layer assignment is impossible for this worker (range, dtype, context limit).
    public static let invalidAssignment = ErrorCode(rawValue: 2)
    /// The worker's model does not have the requested hash.
    public static let modelMismatch = ErrorCode(rawValue: 3)
    /// The weight stream ended with tensors missing or incomplete.
    public static let weightsIncomplete = ErrorCode(rawValue: 4)
    /// Not enough memory for the assignment, the weights or the batch.
    public static let outOfMemory = ErrorCode(rawValue: 5)
    /// No room in the KV cache for the batch's positions.
    public static let kvCacheFull = ErrorCode(rawValue: 6)
    /// A row names a sequence or position the worker cannot continue (a gap in its KV cache).
    public static let unknownSequence = ErrorCode(rawValue: 7)
    /// The next hop could not be reached.
    public static let nextHopUnreachable = ErrorCode(rawValue: 8)
    /// The worker is draining and admits no new sequences.
    public static let draining = ErrorCode(rawValue: 9)
    /// A bug or an unexpected failure inside the sender.
    public static let internalError = ErrorCode(rawValue: 10)

    public var description: String {
        switch self {
        case .unexpectedMessage: return "unexpectedMessage"
        case .invalidAssignment: return "invalidAssignment"
        case .modelMismatch: return "modelMismatch"
        case .weightsIncomplete: return "weightsIncomplete"
        case .outOfMemory: return "outOfMemory"
        case .kvCacheFull: return "kvCacheFull"
        case .unknownSequence: return "unknownSequence"
        case .nextHopUnreachable: return "nextHopUnreachable"
        case .draining: return "draining"
        case .internalError: return "internalError"
        default: return "code(\(rawValue))"
        }
    }
}

extension ErrorReport: PayloadCodable {
    static let kind = MessageKind.error

    init(from r: inout PayloadReader) throws(WireError) {
        code = ErrorCode(rawValue: try r.integer("code"))
        requestID = try r.isPresent("requestID") ? try r.integer("requestID", as: UInt64.self) : nil
        message = try r.string("message", maxBytes: Self.maxMessageBytes)
    }

    func encode(to w: inout PayloadWriter) throws(WireError) {
        w.integer(code.rawValue)
        w.bool(requestID != nil)
        if let requestID { w.integer(requestID) }
        try w.string(message, field: "message", maxBytes: Self.maxMessageBytes)
    }
}
