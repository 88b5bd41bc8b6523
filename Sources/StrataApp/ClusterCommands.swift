import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Hummingbird
import HummingbirdTLS
import StrataCluster
import StrataHTTPAPI
import StrataKernels
import StrataModel
import StrataWire

/// Where a distributed command finds its workers.
public enum WorkerSource: Sendable, Equatable {
    /// Workers already running at these addresses.
    case addresses([PeerAddress])
    /// Start this many worker processes on loopback.
    case local(Int)
    /// Workers described by a topology file.
    case topology(ClusterTopology)
}

/// Reads a shared secret file (surrounding whitespace ignored).
public func loadSecret(path: String?) throws -> SharedSecret {
    guard let path else { return .none }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw AppError.invalidArgument("cannot read the secret file \(path)")
    }
    let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard !text.isEmpty else { throw AppError.invalidArgument("the secret file \(path) is empty") }
    return SharedSecret(string: text)
}

/// `strata worker`: listens until killed. `announce` receives the bound address once listening.
public func runWorker(
    listen: String, modelPath: String?, engine: EngineOptions, secretFile: String?, name: String?,
    cacheDirectory: String? = nil, exitWithParent: Bool = false, tls: WorkerTLSFiles? = nil, announce: (PeerAddress) -> Void
) async throws {
    if exitWithParent { watchParent() }
    let address = try PeerAddress(parsing: listen)
    var options = WorkerOptions(
        listen: address, modelPath: modelPath, threads: engine.threadCount, placement: try engine.placement(),
        secret: try loadSecret(path: secretFile), name: name ?? "\(ProcessInfo.processInfo.hostName):\(address.port)")
    if let cacheDirectory { options.cacheDirectory = cacheDirectory }
    if let tls {
        options.tlsServer = try LinkTLS.server(certificate: tls.certificate, key: tls.key)
        options.tlsClient = try LinkTLS.client(trust: tls.trust ?? tls.certificate)
    }
    let server = try await WorkerServer.start(options)
    announce(server.boundAddress)
    try await server.waitUntilClosed()
}

/// A worker's TLS files: its certificate and key, and what it trusts when it dials its next
/// stage (by default its own certificate, as when every worker shares one).
public struct WorkerTLSFiles: Sendable {
    public var certificate: String
    public var key: String
    public var trust: String?

    public init(certificate: String, key: String, trust: String? = nil) {
        self.certificate = certificate
        self.key = key
        self.trust = trust
    }
}

/// A running cluster with the coordinator's model, and whatever must be stopped afterwards.
public struct ClusterSession: Sendable {
    public let generator: ClusterGenerator
    public let local: LocalWorkers?
    let computeGroup: MultiThreadedEventLoopGroup

    public func shutdown() async {
        await generator.cluster.shutdown()
        local?.terminate()
        try? await computeGroup.shutdownGracefully()
    }
}

/// When the coordinator gives up on a worker — silent for `heartbeatTimeout`, or holding a
/// step longer than `stepTimeout` (nil keeps `ClusterOptions`' defaults) — and which idle
/// workers may take over its blocks (with a topology file, its `spares` come after these).
public struct Recovery: Sendable {
    public var heartbeatTimeout: Duration?
    public var stepTimeout: Duration?
    public var spares: [PeerAddress]

    public init(heartbeatTimeout: Duration? = nil, stepTimeout: Duration? = nil, spares: [PeerAddress] = []) {
        self.heartbeatTimeout = heartbeatTimeout
        self.stepTimeout = stepTimeout
        self.spares = spares
    }

    func apply(to options: inout ClusterOptions) {
        if let heartbeatTimeout { options.heartbeatTimeout = heartbeatTimeout }
        if let stepTimeout { options.stepTimeout = stepTimeout }
        options.spares += spares
    }
}

/// Starts (or reaches) the workers, connects, assigns the split and returns a generator.
public func startCluster(
    modelPath: String, workers: WorkerSource, split: [Range<Int>]?, secretFile: String?, engine: EngineOptions,
    contextLimit: Int? = nil, prefillChunk: Int = 64, workerTrust: String? = nil, recovery: Recovery = Recovery(),
    executable: String = LocalWorkers.currentExecutable
) async throws -> ClusterSession {
    // The coordinator holds embeddings, final norm and head: bind no blocks.
    let loaded = try LoadedModel.load(path: modelPath, layers: 0..<0)
    let hash = try ModelIdentity.hash(path: modelPath)
    var local: LocalWorkers?
    var addresses: [PeerAddress]
    var plannedSplit = split
    var spares: [PeerAddress] = []
    var secretPath = secretFile
    switch workers {
    case .addresses(let list):
        addresses = list
    case .local(let count):
        guard count >= 1, count <= loaded.config.layerCount else {
            throw AppError.invalidArgument("--local-workers must be in 1…\(loaded.config.layerCount)")
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let started = try await LocalWorkers.launch(
            count: count, executable: executable, modelPath: modelPath, threadsEach: max(1, cores / count),
            secretFile: secretFile)
        local = started
        addresses = started.addresses
    case .topology(let topology):
        addresses = topology.workers.map { PeerAddress(host: $0.host, port: $0.port) }
        plannedSplit = try plannedSplit ?? topology.split()
        spares = topology.spares?.map { PeerAddress(host: $0.host, port: $0.port) } ?? []
        secretPath = secretPath ?? topology.secretFile
    }
    var options = ClusterOptions(workers: addresses, modelPath: modelPath, split: plannedSplit)
    options.spares = spares
    options.secret = try loadSecret(path: secretPath)
    options.contextLimit = contextLimit
    if let workerTrust { options.tls = try LinkTLS.client(trust: workerTrust) }
    options.kvCacheType = engine.kvCache
    recovery.apply(to: &options)
    // Weights of one block (as the file stores them) with 50% headroom for KV caches.
    let firstBlock = loaded.tensorSummary.filter { $0.name.hasPrefix("blk.0.") || $0.name.hasPrefix("model.layers.0.") }
    options.blockBytes = firstBlock.reduce(0) { $0 + $1.bytes } * 3 / 2
    let computeGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    do {
        let cluster = try await Cluster.connect(options, config: loaded.config, modelHash: hash)
        let pool = try await computeGroup.next().submit { ComputePool(threadCount: engine.threadCount) }.get()
        let model = LlamaModel(model: loaded, pool: pool)
        return ClusterSession(
            generator: ClusterGenerator(cluster: cluster, model: model, computeGroup: computeGroup, prefillChunk: prefillChunk),
            local: local,
            computeGroup: computeGroup)
    } catch {
        local?.terminate()
        try? await computeGroup.shutdownGracefully()
        throw error
    }
}

/// `strata generate --workers … | --local-workers N`: the same output as the single-process
/// command, computed by the cluster.
public func runClusterGenerate(
    _ config: GenerateConfig, workers: WorkerSource, split: [Range<Int>]?, secretFile: String?, workerTrust: String? = nil,
    recovery: Recovery = Recovery(), write output: @escaping @Sendable (String) -> Void
) async throws -> GenerationResult {
    let session = try await startCluster(
        modelPath: config.modelPath, workers: workers, split: split, secretFile: secretFile, engine: config.engine,
        contextLimit: config.contextLimit, workerTrust: workerTrust, recovery: recovery)
    do {
        let tokenizer = session.generator.model.model.tokenizer
        let prompt = try promptTokens(for: tokenizer, prompt: config.prompt, chat: config.chat, system: config.system)
        let result = try await session.generator.generate(
            prompt: prompt, options: config.options,
            onText: { piece in
                output(piece)
                return true
            })
        await session.shutdown()
        return result
    } catch {
        await session.shutdown()
        throw error
    }
}

/// How `strata serve` admits requests and picks depths.
public struct ServeSettings: Sendable {
    public var http: PeerAddress
    /// "fixed" (every request at `depth`) or "adaptive" (the latency objective decides).
    public var policy = "fixed"
    /// The fixed policy's exit; the full model when nil.
    public var depth: Int?
    /// The adaptive policy's latency objective for a whole request, in milliseconds.
    public var objectiveMs = 10_000.0
    /// The sorted exits to move among; the model's own (its metadata), else 0.3…1.0 of the depth.
    public var exits: [Int]?
    public var maxRunning = 8
    public var maxQueue = 64
    public var prefillChunk = 64
    public var maxPromptTokens: Int?
    public var maxTokens = 4096
    /// A file of API keys, one per line; nil: no key needed.
    public var apiKeyFile: String?
    public var maxStreamsPerClient: Int?
    /// PEM certificate chain and private key: serve https.
    public var tlsCertificate: String?
    public var tlsKey: String?

    public init(http: PeerAddress) { self.http = http }

    /// The server's TLS settings, or nil for plain HTTP.
    public func serverTLS() throws -> TLSConfiguration? {
        switch (tlsCertificate, tlsKey) {
        case (nil, nil):
            return nil
        case (let certificate?, let key?):
            do { return try LinkTLS.server(certificate: certificate, key: key) } catch {
                throw AppError.invalidArgument("--tls-cert/--tls-key: \(error)")
            }
        default:
            throw AppError.invalidArgument("--tls-cert and --tls-key go together")
        }
    }

    /// The keys in `apiKeyFile` (blank lines and `#` comments skipped).
    public func apiKeys() throws -> Set<String> {
        guard let path = apiKeyFile else { return [] }
        guard let data = FileManager.default.contents(atPath: path) else { throw AppError.invalidArgument("cannot read the API key file \(path)") }
        let keys = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !keys.isEmpty else { throw AppError.invalidArgument("the API key file \(path) holds no key") }
        return Set(keys)
    }

    /// The scheduler's settings for a model of `layers` blocks.
    public func scheduler(layers: Int, modelExits: [Int]?, headBlocks: Double) throws -> SchedulerSettings {
        let exits = exits ?? modelExits ?? defaultSortedExits(layerCount: layers)
        if let bad = exits.first(where: { !(1...layers).contains($0) }) {
            throw AppError.invalidArgument("--exits: \(bad) is not in 1…\(layers)")
        }
        guard maxRunning >= 1, maxQueue >= 0, prefillChunk >= 1 else {
            throw AppError.invalidArgument("--max-running and --prefill-chunk must be at least 1, --max-queue at least 0")
        }
        guard objectiveMs > 0 else { throw AppError.invalidArgument("--latency-objective-ms must be positive") }
        let mode: DepthMode
        switch policy {
        case "fixed":
            let k = depth ?? layers
            guard (1...layers).contains(k) else { throw AppError.invalidArgument("--depth must be in 1…\(layers)") }
            mode = .fixed(k)
        case "adaptive":
            mode = .adaptive
        default:
            throw AppError.invalidArgument("--depth-policy must be fixed or adaptive, not \(policy)")
        }
        var settings = SchedulerSettings(
            layerCount: layers, exits: exits, mode: mode, adaptive: AdaptiveSettings(objective: objectiveMs / 1000),
            headBlocks: headBlocks)
        settings.maxRunning = maxRunning
        settings.maxQueue = maxQueue
        return settings
    }
}

/// `strata serve`: the coordinator with its workers behind the HTTP API, until interrupted.
/// `announce` receives the HTTP address once the server listens.
public func runServe(
    modelPath: String, workers: WorkerSource, split: [Range<Int>]?, secretFile: String?, engine: EngineOptions,
    settings: ServeSettings, workerTrust: String? = nil, recovery: Recovery = Recovery(),
    announce: @escaping @Sendable (String) -> Void
) async throws {
    let session = try await startCluster(
        modelPath: modelPath, workers: workers, split: split, secretFile: secretFile, engine: engine,
        prefillChunk: settings.prefillChunk, workerTrust: workerTrust, recovery: recovery)
    do {
        let name = URL(fileURLWithPath: modelPath).deletingPathExtension().lastPathComponent
        let model = session.generator.model.model
        let scheduler = ServingScheduler(settings: try settings.scheduler(
            layers: model.config.layerCount, modelExits: model.sortedExits, headBlocks: APIServer.headBlocks(model)))
        var api = APIServer(generator: session.generator, modelName: name, scheduler: scheduler)
        if let limit = settings.maxPromptTokens { api.maxPromptTokens = limit }
        api.maxTokensLimit = settings.maxTokens
        api.apiKeys = try settings.apiKeys()
        api.maxStreamsPerClient = settings.maxStreamsPerClient
        let http = settings.http
        let tls = try settings.serverTLS()
        let scheme = tls == nil ? "http" : "https"
        let app = Application(
            router: api.router(), server: try tls.map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1(),
            configuration: .init(address: .hostname(http.host, port: http.port)),
            onServerRunning: { channel in
                announce("\(scheme)://\(http.host):\(channel.localAddress?.port ?? http.port)")
            })
        try await app.runService()
    } catch {
        await session.shutdown()
        throw error
    }
    await session.shutdown()
}

/// Ends this process when the process that started it is gone (a local worker must not outlive
/// its coordinator, however that ended). Checks once a second on a thread of its own.
func watchParent() {
    let parent = getppid()
    let thread = Thread {
        while true {
            Thread.sleep(forTimeInterval: 1)
            if getppid() != parent { exit(0) }
        }
    }
    thread.start()
}
