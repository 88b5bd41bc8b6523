/// The kind byte of a frame header.
public enum MessageKind: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    // handshake
    case hello = 0x01
    case authenticate = 0x02
    case welcome = 0x03
    case goodbye = 0x04
    // assignment and weights
    case assignLayers = 0x10
    case layersReady = 0x11
    case loadFromLocalFile = 0x12
    case weightChunk = 0x13
    case weightsLoaded = 0x14
    // compute
    case forward = 0x20
    case forwardResult = 0x21
    case release = 0x22
    // control
    case heartbeat = 0x30
    case drain = 0x31
    case shutdown = 0x32
    case error = 0x3F

    /// The header flag bits this kind defines; any other bit is `WireError.unknownFlags`.
    public var definedFlags: FrameFlags {
        switch self {
        case .weightChunk: return .lastChunk
        default: return []
        }
    }

    public var description: String {
        switch self {
        case .hello: return "Hello"
        case .authenticate: return "Authenticate"
        case .welcome: return "Welcome"
        case .goodbye: return "Goodbye"
        case .assignLayers: return "AssignLayers"
        case .layersReady: return "LayersReady"
        case .loadFromLocalFile: return "LoadFromLocalFile"
        case .weightChunk: return "WeightChunk"
        case .weightsLoaded: return "WeightsLoaded"
        case .forward: return "Forward"
        case .forwardResult: return "ForwardResult"
        case .release: return "Release"
        case .heartbeat: return "Heartbeat"
        case .drain: return "Drain"
        case .shutdown: return "Shutdown"
        case .error: return "Error"
        }
    }
}

/// Header flag bits. Each kind defines its own; v1 defines only `lastChunk` on `WeightChunk`.
public struct FrameFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// On `WeightChunk`: the last chunk of the weight stream; the worker checks completeness and answers
    /// `WeightsLoaded` or `Error`.
    public static let lastChunk = FrameFlags(rawValue: 0x0001)
}
