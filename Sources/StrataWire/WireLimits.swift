/// The payload caps and counts a peer accepts. Both ends of a connection should use the same limits; the encoder
/// checks them too, so a sender learns of an oversized frame before the receiver refuses it.
public struct WireLimits: Hashable, Sendable {
    /// Largest `Forward` or `ForwardResult` payload, hidden tensor included.
    public var maxTensorPayloadBytes: UInt32
    /// Most rows in one `Forward` or `ForwardResult`.
    public var maxRowsPerBatch: UInt32
    /// Most data bytes in one `WeightChunk`.
    public var maxWeightChunkBytes: UInt32
    /// Most sequence ids in one `Release`.
    public var maxReleaseCount: UInt32

    /// - Parameters:
    ///   - maxTensorPayloadBytes: cap on `Forward`/`ForwardResult` payloads (default 64 MiB).
    ///   - maxRowsPerBatch: cap on rows per micro-batch (default 65 536).
    ///   - maxWeightChunkBytes: cap on one chunk's data (default 16 MiB).
    ///   - maxReleaseCount: cap on ids per `Release` (default 65 536).
    public init(
        maxTensorPayloadBytes: UInt32 = 64 << 20,
        maxRowsPerBatch: UInt32 = 65_536,
        maxWeightChunkBytes: UInt32 = 16 << 20,
        maxReleaseCount: UInt32 = 65_536
    ) {
        self.maxTensorPayloadBytes = maxTensorPayloadBytes
        self.maxRowsPerBatch = maxRowsPerBatch
        self.maxWeightChunkBytes = maxWeightChunkBytes
        self.maxReleaseCount = maxReleaseCount
    }

    /// The limits every peer uses unless configured otherwise.
    public static let `default` = WireLimits()

    /// The largest payload a frame of `kind` may declare; checked right after the header, before buffering.
    /// - Parameter kind: the frame's kind.
    /// - Returns: the cap in bytes, never above what the u32 length field can state.
    public func payloadCap(for kind: MessageKind) -> UInt64 {
        min(uncappedPayloadCap(for: kind), UInt64(UInt32.max))
    }

    private func uncappedPayloadCap(for kind: MessageKind) -> UInt64 {
        switch kind {
        case .hello: return UInt64(Hello.maxPayloadSize)
        case .authenticate: return UInt64(Authenticate.payloadSize)
        case .welcome: return UInt64(Welcome.payloadSize)
        case .goodbye: return UInt64(Goodbye.maxPayloadSize)
        case .assignLayers: return UInt64(AssignLayers.maxPayloadSize)
        case .layersReady: return UInt64(LayersReady.payloadSize)
        case .loadFromLocalFile: return UInt64(LoadFromLocalFile.payloadSize)
        case .weightChunk: return UInt64(WeightChunk.maxFixedPayloadSize) + UInt64(maxWeightChunkBytes)
        case .weightsLoaded: return UInt64(WeightsLoaded.payloadSize)
        case .forward, .forwardResult: return UInt64(maxTensorPayloadBytes)
        case .release: return 4 + 8 * UInt64(maxReleaseCount)
        case .heartbeat: return UInt64(Heartbeat.payloadSize)
        case .drain, .shutdown: return 0
        case .error: return UInt64(ErrorReport.maxPayloadSize)
        }
    }
}
