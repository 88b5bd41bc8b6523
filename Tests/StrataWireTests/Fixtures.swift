import NIOCore
import StrataWire

/// The messages of `proto/vectors/*.hex`, built through the public API. The values mirror
/// `proto/vectors/generate.py`.
enum Fixtures {
    /// SHA-256 of the ASCII bytes "strata test model".
    static let modelHash = ModelHash(hex: "1c1c4f6a015373436aea126ceaf7ea890ea865f5d58e045810125e3d9187ee05")!
    static let workerChallenge = Challenge(0x00..<0x20)!
    static let coordinatorChallenge = Challenge(0x20..<0x40)!
    static let secret = SharedSecret(string: "correct horse battery staple")

    static let hardware = HardwareReport(
        threads: 16, numaNodes: 2, freeMemoryBytes: 64 << 30, memoryBandwidthMBps: 81_250)

    static let workerConfiguration = WorkerHandshake.Configuration(
        capabilities: [.f16Activations, .bf16Activations, .localModelFile, .weightStreaming, .backfill],
        workerID: 0x0123_4567_89AB_CDEF, name: "worker-a", hardware: hardware, localModelHash: modelHash,
        secret: secret, acceptsOtherModels: false)

    static let coordinatorConfiguration = CoordinatorHandshake.Configuration(
        modelHash: modelHash, secret: secret, requiresLocalModel: false)

    static var hello: Hello {
        Hello(
            versions: 1...1, capabilities: workerConfiguration.capabilities, workerID: 0x0123_4567_89AB_CDEF,
            name: "worker-a", hardware: hardware, modelHash: modelHash, challenge: workerChallenge)
    }

    static let hiddenValues: [Float] = [0.5, -1.0, 2.0, 0.25, 1.5, -0.125, 3.0, -2.5, 0.0, 1.0, -0.75, 4.0]

    /// File name (without `.hex`) → the frame it holds, for every message kind.
    static func goldenFrames() throws -> [(name: String, frame: Frame)] {
        // The handshake frames come from the state machines, so the vectors also pin the proofs.
        var worker = try WorkerHandshake(configuration: workerConfiguration, challenge: workerChallenge)
        var coordinator = CoordinatorHandshake(configuration: coordinatorConfiguration, challenge: coordinatorChallenge)
        guard case .send(let hello) = worker.start(),
            case .send(let authenticate) = coordinator.receive(hello),
            case .sendAndEstablish(let welcome, _) = worker.receive(authenticate)
        else { throw FixtureError.handshakeFailed }

        return [
            ("hello", Frame(hello)),
            ("authenticate", Frame(authenticate)),
            ("welcome", Frame(welcome)),
            ("goodbye", Frame(.goodbye(Goodbye(.badSecret, message: "the peer's proof does not verify")))),
            (
                "assign-layers",
                Frame(
                    .assignLayers(
                        AssignLayers(
                            layers: 0..<15, totalLayers: 30, activationDType: .bf16, kvCacheDType: .f16,
                            contextLimit: 2048, maxSequences: 8, maxBatchRows: 256,
                            nextHop: NextHop(host: "10.0.0.2", port: 7401), modelHash: modelHash)), requestID: 1)
            ),
            ("layers-ready", Frame(.layersReady(LayersReady(layers: 0..<15, kvCapacityTokens: 16384)), requestID: 1)),
            ("load-from-local-file", Frame(.loadFromLocalFile(LoadFromLocalFile(modelHash: modelHash)), requestID: 2)),
            (
                "weight-chunk",
                Frame(
                    .weightChunk(
                        WeightChunk(
                            tensorName: "blk.0.attn_q.weight", tensorType: 2, dimensions: [576, 576], byteOffset: 4096,
                            totalBytes: 186_624, data: ByteBuffer(bytes: Array(0..<16)), isLast: true)), requestID: 3)
            ),
            (
                "weights-loaded",
                Frame(.weightsLoaded(WeightsLoaded(tensorCount: 272, byteCount: 98_000_000, source: .streamed)), requestID: 3)
            ),
            (
                "forward",
                Frame(
                    .forward(
                        Forward(
                            stepID: 42, fromLayer: 0, exitLayer: 21,
                            rows: [
                                ForwardRow(sequenceID: 7, position: 12), ForwardRow(sequenceID: 7, position: 13),
                                ForwardRow(sequenceID: 9, position: 3, joinLayer: 5, flags: .backfill),
                            ],
                            hidden: WireTensor(values: hiddenValues, rows: 3, columns: 4, dtype: .f32))), requestID: 4)
            ),
            (
                "forward-result",
                Frame(
                    .forwardResult(
                        ForwardResult(
                            stepID: 42, layerReached: 21,
                            rows: [RowID(sequenceID: 7, position: 12), RowID(sequenceID: 7, position: 13)],
                            hidden: WireTensor(values: Array(hiddenValues[0..<8]), rows: 2, columns: 4, dtype: .bf16))),
                    requestID: 4)
            ),
            ("release", Frame(.release(Release(sequenceIDs: [7, 9])))),
            (
                "heartbeat",
                Frame(
                    .heartbeat(
                        Heartbeat(
                            sentAtNanos: 1_000_000_000, echoedNanos: 999_000_000, queueDepth: 2, busyPermyriad: 7500,
                            residentBytes: 123_456_789, kvBytes: 4_194_304, sequencesHeld: 3)))
            ),
            ("drain", Frame(.drain)),
            ("shutdown", Frame(.shutdown)),
            (
                "error",
                Frame(
                    .error(ErrorReport(code: .kvCacheFull, requestID: 4, message: "no room for 3 positions")),
                    requestID: 4)
            ),
        ]
    }

    enum FixtureError: Error { case handshakeFailed }
}
