/// Every message of protocol version 1. `proto/wire.md` lists each payload's fields in order.
public enum Message: Equatable, Sendable {
    // handshake
    case hello(Hello)
    case authenticate(Authenticate)
    case welcome(Welcome)
    case goodbye(Goodbye)
    // assignment and weights
    case assignLayers(AssignLayers)
    case layersReady(LayersReady)
    case loadFromLocalFile(LoadFromLocalFile)
    case weightChunk(WeightChunk)
    case weightsLoaded(WeightsLoaded)
    // compute
    case forward(Forward)
    case forwardResult(ForwardResult)
    case release(Release)
    // control
    case heartbeat(Heartbeat)
    /// Coordinator → worker: admit no new sequences, finish the ones held; progress shows in heartbeats.
    case drain
    /// Coordinator → worker: stop; the worker answers `Goodbye(.shuttingDown)` and closes.
    case shutdown
    case error(ErrorReport)

    /// The header kind of this message.
    public var kind: MessageKind {
        switch self {
        case .hello: return .hello
        case .authenticate: return .authenticate
        case .welcome: return .welcome
        case .goodbye: return .goodbye
        case .assignLayers: return .assignLayers
        case .layersReady: return .layersReady
        case .loadFromLocalFile: return .loadFromLocalFile
        case .weightChunk: return .weightChunk
        case .weightsLoaded: return .weightsLoaded
        case .forward: return .forward
        case .forwardResult: return .forwardResult
        case .release: return .release
        case .heartbeat: return .heartbeat
        case .drain: return .drain
        case .shutdown: return .shutdown
        case .error: return .error
        }
    }

    /// The header flags this message sets.
    var flags: FrameFlags {
        if case .weightChunk(let chunk) = self, chunk.isLast { return .lastChunk }
        return []
    }

    static func parse(kind: MessageKind, flags: FrameFlags, from r: inout PayloadReader) throws(WireError) -> Message {
        switch kind {
        case .hello: return .hello(try Hello(from: &r))
        case .authenticate: return .authenticate(try Authenticate(from: &r))
        case .welcome: return .welcome(try Welcome(from: &r))
        case .goodbye: return .goodbye(try Goodbye(from: &r))
        case .assignLayers: return .assignLayers(try AssignLayers(from: &r))
        case .layersReady: return .layersReady(try LayersReady(from: &r))
        case .loadFromLocalFile: return .loadFromLocalFile(try LoadFromLocalFile(from: &r))
        case .weightChunk: return .weightChunk(try WeightChunk(from: &r).withLast(flags.contains(.lastChunk)))
        case .weightsLoaded: return .weightsLoaded(try WeightsLoaded(from: &r))
        case .forward: return .forward(try Forward(from: &r))
        case .forwardResult: return .forwardResult(try ForwardResult(from: &r))
        case .release: return .release(try Release(from: &r))
        case .heartbeat: return .heartbeat(try Heartbeat(from: &r))
        case .drain: return .drain
        case .shutdown: return .shutdown
        case .error: return .error(try ErrorReport(from: &r))
        }
    }

    func encodePayload(to w: inout PayloadWriter) throws(WireError) {
        switch self {
        case .hello(let m): try m.encode(to: &w)
        case .authenticate(let m): try m.encode(to: &w)
        case .welcome(let m): try m.encode(to: &w)
        case .goodbye(let m): try m.encode(to: &w)
        case .assignLayers(let m): try m.encode(to: &w)
        case .layersReady(let m): try m.encode(to: &w)
        case .loadFromLocalFile(let m): try m.encode(to: &w)
        case .weightChunk(let m): try m.encode(to: &w)
        case .weightsLoaded(let m): try m.encode(to: &w)
        case .forward(let m): try m.encode(to: &w)
        case .forwardResult(let m): try m.encode(to: &w)
        case .release(let m): try m.encode(to: &w)
        case .heartbeat(let m): try m.encode(to: &w)
        case .drain, .shutdown: break
        case .error(let m): try m.encode(to: &w)
        }
    }
}
