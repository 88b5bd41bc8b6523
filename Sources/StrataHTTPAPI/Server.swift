import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StrataCluster
import StrataModel
import StrataTokenizer
import Synchronization

/// The OpenAI-style HTTP API over a cluster: `/v1/completions`, `/v1/chat/completions` (with SSE
/// streaming), `/v1/models`, `/health`, Prometheus `/metrics`, and the operator's `/admin/…`
/// routes (depth policy, drain). Every answer states the depth it was served at, in the body
/// (`"strata": {"depth": k}`, every streamed chunk too) and in the `x-strata-depth` header.
public struct APIServer: Sendable {
    public let generator: ClusterGenerator
    public let modelName: String
    public let scheduler: ServingScheduler
    public let metrics: ServingMetrics
    /// Longest prompt accepted, in tokens.
    public var maxPromptTokens: Int
    /// Largest `max_tokens` accepted.
    public var maxTokensLimit = 4096
    /// Keys a client must present (`Authorization: Bearer KEY`) on `/v1/…` and `/admin/…`;
    /// empty: no check. `/health` and `/metrics` stay open for probes and scrapers.
    public var apiKeys: Set<String> = []
    /// Generation requests one client (one API key) may have running or waiting at once.
    public var maxStreamsPerClient: Int?
    let clients = ClientStreams()

    /// - Parameter scheduler: admission and depth policy; by default full depth, 8 running and
    ///   64 waiting requests.
    public init(generator: ClusterGenerator, modelName: String, scheduler: ServingScheduler? = nil) {
        self.generator = generator
        self.modelName = modelName
        let config = generator.model.config
        self.scheduler = scheduler ?? ServingScheduler(settings: SchedulerSettings(
            layerCount: config.layerCount, exits: defaultSortedExits(layerCount: config.layerCount),
            mode: .fixed(config.layerCount), adaptive: AdaptiveSettings(objective: 10),
            headBlocks: Self.headBlocks(generator.model.model)))
        metrics = ServingMetrics(layerCount: config.layerCount)
        maxPromptTokens = config.contextLength / 2
    }

    /// The LM head's bytes over one block's: what a token's trip through the head costs, in blocks.
    public static func headBlocks(_ model: LoadedModel) -> Double {
        let summary = model.tensorSummary
        let block = summary.filter { $0.name.hasPrefix("blk.0.") || $0.name.hasPrefix("model.layers.0.") }.reduce(0) { $0 + $1.bytes }
        let head = summary.first { ["output.weight", "lm_head.weight"].contains($0.name) }
            ?? summary.first { ["token_embd.weight", "model.embed_tokens.weight"].contains($0.name) }
        guard block > 0, let head else { return 1 }
        return Double(head.bytes) / Double(block)
    }

    static let depthHeader = HTTPField.Name("x-strata-depth")!  // a valid token, fixed at compile time

    /// The routes, for `Application(router:)` and for tests.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        let api = self
        router.get("health") { _, _ -> Response in
            let status = api.scheduler.status()
            let cluster = api.generator.cluster
            let reachable = cluster.reachableDepth
            let state = status.draining ? "draining" : (reachable == 0 ? "unavailable" : (reachable < status.layers ? "degraded" : "ok"))
            return api.json(HealthBody(
                status: state, layers: status.layers, depth: min(status.depth, reachable), running: status.running,
                queued: status.queued, reachable_depth: reachable, lost_workers: cluster.lostWorkers,
                spare_workers: cluster.spareWorkers))
        }
        router.get("metrics") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            let cluster = api.generator.cluster
            let text = api.metrics.exposition(
                status: api.scheduler.status(), load: cluster.load(), stepTimeouts: cluster.stepTimeoutCount)
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("v1/models") { request, _ -> Response in
            _ = try api.authorize(request)
            return api.json(ModelList(data: [.init(id: api.modelName, object: "model", owned_by: "strata")], object: "list"))
        }
        router.post("v1/completions") { request, context -> Response in
            let client = try api.authorize(request)
            let body = try await api.decode(CompletionRequest.self, request, context)
            let prompt = api.generator.model.model.tokenizer.encode(body.prompt, addSpecial: true, parseSpecial: true)
            return try await api.serve(prompt: prompt, sampling: body.sampling, chat: false, client: client)
        }
        router.post("v1/chat/completions") { request, context -> Response in
            let client = try api.authorize(request)
            let body = try await api.decode(ChatCompletionRequest.self, request, context)
            guard !body.messages.isEmpty else { throw api.rejected(.badRequest, "messages is empty") }
            let tokenizer = api.generator.model.model.tokenizer
            let template: ChatTemplate
            do { template = try ChatTemplate.detect(tokenizer.spec.chatTemplate) } catch {
                throw api.rejected(.badRequest, "\(error)")
            }
            let bos = tokenizer.spec.bosID.flatMap { tokenizer.spec.tokens.indices.contains($0) ? tokenizer.spec.tokens[$0] : nil }
            let text = template.render(body.messages, addGenerationPrompt: true, bosToken: bos)
            let prompt = tokenizer.encode(text, addSpecial: false, parseSpecial: true)
            return try await api.serve(prompt: prompt, sampling: body.sampling, chat: true, client: client)
        }
        router.get("admin/depth") { request, _ -> Response in
            _ = try api.authorize(request)
            return api.json(api.status())
        }
        router.post("admin/depth") { request, context -> Response in
            _ = try api.authorize(request)
            let body = try await api.decode(DepthCommand.self, request, context)
            try api.apply(body)
            return api.json(api.status())
        }
        router.post("admin/drain") { request, _ -> Response in
            _ = try api.authorize(request)
            return api.json(await api.scheduler.drain())
        }
        router.post("admin/resume") { request, _ -> Response in
            _ = try api.authorize(request)
            api.scheduler.resume()
            return api.json(api.status())
        }
        return router
    }

    /// The scheduler's status with the cluster's reachable depth.
    func status() -> SchedulerStatus {
        var status = scheduler.status()
        status.reachableDepth = generator.cluster.reachableDepth
        return status
    }

    /// `{"depth": K}` caps every request at exit K; `{"depth": "auto"}` hands depth to the
    /// adaptive policy; `{"depth": "fixed"}` serves every request at full depth.
    func apply(_ command: DepthCommand) throws {
        let layers = generator.model.config.layerCount
        switch command.depth {
        case .exit(let k):
            guard (1...layers).contains(k) else { throw rejected(.badRequest, "depth must be in 1…\(layers), got \(k)") }
            scheduler.setMode(.admin(k))
        case .auto:
            scheduler.setMode(.adaptive)
        case .full:
            scheduler.setMode(.fixed(layers))
        }
    }

    // MARK: - Handling

    /// Checks the API key when keys are configured; returns the client it names ("" when open).
    func authorize(_ request: Request) throws -> String {
        guard !apiKeys.isEmpty else { return "" }
        let header = request.headers[.authorization] ?? ""
        let key = header.hasPrefix("Bearer ") ? String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces) : ""
        guard apiKeys.contains(key) else {
            var headers = HTTPFields()
            headers[.wwwAuthenticate] = "Bearer"
            throw rejected(.unauthorized, header.isEmpty ? "an API key is required: Authorization: Bearer KEY" : "the API key is not valid", headers: headers)
        }
        return key
    }

    /// An error answer, counted by outcome in the metrics.
    func rejected(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) -> HTTPError {
        let outcome = switch status {
        case .tooManyRequests: "rejected_queue_full"
        case .serviceUnavailable: "unavailable"
        case .badRequest: "bad_request"
        default: "error"
        }
        metrics.count(outcome: outcome)
        return HTTPError(status, headers: headers, message: message)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: BasicRequestContext) async throws -> T {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: 4 << 20) } catch let error as HTTPError where error.status == .contentTooLarge {
            throw rejected(.contentTooLarge, "the request body is larger than 4 MiB")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw rejected(.badRequest, "invalid request body: \(describe(error))")
        }
    }

    /// Checks the request, waits for a place (429 when the queue is full, 503 while draining),
    /// then generates at the depth the scheduler gave it.
    private func serve(prompt: [Int], sampling: SamplingFields, chat: Bool, client: String) async throws -> Response {
        // One client's requests in flight, counted until its answer has been written.
        if let limit = maxStreamsPerClient {
            guard clients.open(client, limit: limit) else {
                throw rejected(.tooManyRequests, "this client already has \(limit) requests in flight; the limit is \(limit)")
            }
        }
        let release = ClientRelease(clients: maxStreamsPerClient == nil ? nil : clients, client: client)
        do {
            return try await serveAdmitted(prompt: prompt, sampling: sampling, chat: chat, release: release)
        } catch {
            release.run()
            throw error
        }
    }

    private func serveAdmitted(prompt: [Int], sampling: SamplingFields, chat: Bool, release: ClientRelease) async throws -> Response {
        let config = generator.model.config
        let layers = config.layerCount
        let controls = sampling.strata ?? StrataRequestOptions()
        if let depth = controls.depth, !(1...layers).contains(depth) {
            throw rejected(.badRequest, "strata.depth must be in 1…\(layers), got \(depth)")
        }
        if let floor = controls.min_depth {
            guard (1...layers).contains(floor) else { throw rejected(.badRequest, "min_depth must be in 1…\(layers), got \(floor)") }
            if let depth = controls.depth, depth < floor {
                throw rejected(.badRequest, "strata.depth \(depth) is below min_depth \(floor)")
            }
        }
        if let budget = controls.max_latency_ms, !(budget > 0 && budget.isFinite) {
            throw rejected(.badRequest, "max_latency_ms must be a positive number of milliseconds, got \(budget)")
        }
        let maxTokens = sampling.maxTokens ?? 256
        guard (1...maxTokensLimit).contains(maxTokens) else {
            throw rejected(.badRequest, "max_tokens must be in 1…\(maxTokensLimit), got \(maxTokens)")
        }
        guard !prompt.isEmpty else { throw rejected(.badRequest, "the prompt is empty") }
        guard prompt.count <= maxPromptTokens else {
            throw rejected(.badRequest, "the prompt has \(prompt.count) tokens; the limit is \(maxPromptTokens)")
        }
        var options = GenerationOptions(maxTokens: maxTokens, exit: layers)
        options.sampling = SamplingOptions(temperature: sampling.temperature ?? 0, topP: sampling.topP ?? 1, seed: sampling.seed)
        do { try options.sampling.validate() } catch { throw rejected(.badRequest, "\(error)") }
        let stops = sampling.stop?.values.filter { !$0.isEmpty } ?? []

        let ticket: Ticket
        do {
            ticket = try await scheduler.admit(DepthRequest(
                depth: controls.depth, minDepth: controls.min_depth, maxLatency: controls.max_latency_ms.map { $0 / 1000 },
                promptTokens: prompt.count, maxTokens: maxTokens))
        } catch let error as AdmissionError {
            switch error {
            case .queueFull:
                var headers = HTTPFields()
                headers[.retryAfter] = "1"
                throw rejected(.tooManyRequests, "\(error)", headers: headers)
            case .overloaded:
                var headers = HTTPFields()
                headers[.retryAfter] = "2"
                throw rejected(.serviceUnavailable, "\(error)", headers: headers)
            case .draining, .belowMinimum:
                throw rejected(.serviceUnavailable, "\(error)")
            }
        }
        // A lost stage caps every request at the deepest exit still reachable.
        let reachable = generator.cluster.reachableDepth
        guard reachable >= 1 else {
            scheduler.finish(ticket)
            throw rejected(.serviceUnavailable, "no exit is reachable: the worker holding the first blocks (\(generator.cluster.lostWorkers.joined(separator: ", "))) is gone")
        }
        options.exit = min(ticket.depth, reachable)
        let served = options.exit ?? ticket.depth
        let policy = scheduler.mode.description
        metrics.served(depth: ticket.depth, promptTokens: prompt.count)
        let id = (chat ? "chatcmpl-" : "cmpl-") + UUID().uuidString.lowercased()
        var info = StrataResponseInfo(
            depth: served, layers: layers, policy: policy, queued_ms: (ticket.admitted - ticket.arrived) * 1000)
        var headers = HTTPFields()
        headers[Self.depthHeader] = String(served)
        let run = Run(api: self, ticket: ticket, prompt: prompt, options: options)
        if sampling.stream == true {
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            let body = streamBody(run, stops: stops, chat: chat, id: id, info: info, release: release)
            return Response(status: .ok, headers: headers, body: body)
        }
        defer { release.run() }
        let collector = StopCollector(stops: stops)
        let result: GenerationResult
        do {
            result = try await run.generate(onText: { collector.append($0).go })
        } catch let error as ModelError {
            throw rejected(.badRequest, "\(error)")
        } catch {
            throw rejected(.serviceUnavailable, "\(error)")
        }
        // The depth it actually got: shallower than planned if a stage was lost on the way.
        info.depth = result.depths.min() ?? served
        headers[Self.depthHeader] = String(info.depth)
        let finish = collector.stopped ? "stop" : (result.finishReason == .endOfGeneration ? "stop" : "length")
        let usage = Usage(prompt_tokens: prompt.count, completion_tokens: result.tokens.count, total_tokens: prompt.count + result.tokens.count)
        let created = Int(Date().timeIntervalSince1970)
        headers[.contentType] = "application/json"
        if chat {
            let response = ChatCompletionResponse(
                id: id, object: "chat.completion", created: created, model: modelName,
                choices: [ChatChoice(index: 0, message: ChatMessage(role: "assistant", content: collector.text), delta: nil, finish_reason: finish)],
                usage: usage, strata: info)
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: try encode(response)))
        }
        let response = CompletionResponse(
            id: id, object: "text_completion", created: created, model: modelName,
            choices: [CompletionChoice(index: 0, text: collector.text, finish_reason: finish)], usage: usage, strata: info)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: try encode(response)))
    }

    /// One admitted request's generation: reports progress to the scheduler and the metrics,
    /// and gives its place back however it ends.
    struct Run: Sendable {
        let api: APIServer
        let ticket: Ticket
        let prompt: [Int]
        let options: GenerationOptions

        func generate(
            onDepth: @escaping @Sendable (Int) -> Void = { _ in }, onText: @escaping @Sendable (String) -> Bool
        ) async throws -> GenerationResult {
            let scheduler = api.scheduler
            let metrics = api.metrics
            let ticket = ticket
            let lastToken = LastTokenTime()
            defer {
                scheduler.finish(ticket)
                let now = scheduler.clock.now()
                metrics.finished(after: now - ticket.arrived)
            }
            do {
                let result = try await api.generator.generate(
                    prompt: prompt, options: options,
                    onProgress: { event in
                        switch event {
                        case .prefilled:
                            scheduler.prefilled(ticket)
                        case .token:
                            scheduler.generated(ticket)
                            let now = scheduler.clock.now()
                            let previous = lastToken.swap(now)
                            if previous == nil { metrics.firstToken(after: now - ticket.arrived) }
                            metrics.token(gap: previous.map { now - $0 })
                        case .depth(let k):
                            onDepth(k)
                        }
                    },
                    onText: onText)
                metrics.count(outcome: "ok")
                return result
            } catch {
                metrics.count(outcome: error is CancellationError ? "cancelled" : "error")
                throw error
            }
        }
    }

    /// Server-sent events: one chunk per piece of text, then a final chunk with the finish
    /// reason, then `data: [DONE]`. Generation stops when the client goes away.
    private func streamBody(_ run: Run, stops: [String], chat: Bool, id: String, info: StrataResponseInfo, release: ClientRelease) -> ResponseBody {
        let model = modelName
        let created = Int(Date().timeIntervalSince1970)
        return ResponseBody { writer in
            defer { release.run() }
            let (pieces, continuation) = AsyncStream<String>.makeStream()
            let collector = StopCollector(stops: stops)
            let depth = ServedDepth(info.depth)
            let task = Task {
                let result = try? await run.generate(onDepth: { depth.lower(to: $0) }, onText: { piece in
                    let (go, fresh) = collector.append(piece)
                    if !fresh.isEmpty { continuation.yield(fresh) }
                    return go
                })
                continuation.finish()
                return result
            }
            func chunk(_ text: String?, finish: String?, usage: Usage? = nil) throws -> ByteBuffer {
                var info = info
                info.depth = depth.value
                let body: ByteBuffer
                if chat {
                    body = try encodeJSON(ChatCompletionResponse(
                        id: id, object: "chat.completion.chunk", created: created, model: model,
                        choices: [ChatChoice(index: 0, message: nil, delta: ChatDelta(role: nil, content: text), finish_reason: finish)],
                        usage: usage, strata: info))
                } else {
                    body = try encodeJSON(CompletionResponse(
                        id: id, object: "text_completion", created: created, model: model,
                        choices: [CompletionChoice(index: 0, text: text ?? "", finish_reason: finish)], usage: usage, strata: info))
                }
                var out = ByteBuffer(string: "data: ")
                var copy = body
                out.writeBuffer(&copy)
                out.writeString("\n\n")
                return out
            }
            do {
                for await piece in pieces { try await writer.write(chunk(piece, finish: nil)) }
            } catch {
                task.cancel()
                throw error
            }
            let result = await task.value
            let finish = collector.stopped || result?.finishReason == .endOfGeneration ? "stop" : (result == nil ? "error" : "length")
            // The last chunk carries the usage counts too.
            let generated = result?.tokens.count ?? 0
            let usage = Usage(prompt_tokens: run.prompt.count, completion_tokens: generated, total_tokens: run.prompt.count + generated)
            try await writer.write(chunk(nil, finish: finish, usage: usage))
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.finish(nil)
        }
    }

    private func encode<T: Encodable>(_ value: T) throws -> ByteBuffer { try encodeJSON(value) }

    private func json<T: Encodable>(_ value: T) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: (try? encodeJSON(value)) ?? ByteBuffer()))
    }
}

/// When the previous token of a request came (for the per-token latency).
final class LastTokenTime: Sendable {
    private let time = Mutex<Double?>(nil)
    /// Stores `now` and returns the previous time.
    func swap(_ now: Double) -> Double? {
        time.withLock { t in
            defer { t = now }
            return t
        }
    }
}

/// Requests in flight per client (API key).
final class ClientStreams: Sendable {
    private let inFlight = Mutex([String: Int]())

    /// Counts one more for `client`, unless it already has `limit`.
    func open(_ client: String, limit: Int) -> Bool {
        inFlight.withLock { counts in
            guard counts[client, default: 0] < limit else { return false }
            counts[client, default: 0] += 1
            return true
        }
    }

    func close(_ client: String) {
        inFlight.withLock { counts in
            counts[client, default: 1] -= 1
            if counts[client] == 0 { counts.removeValue(forKey: client) }
        }
    }
}

/// Gives a client's place back exactly once, however its request ends.
final class ClientRelease: Sendable {
    private let clients: ClientStreams?
    private let client: String
    private let done = Atomic<Bool>(false)

    init(clients: ClientStreams?, client: String) {
        self.clients = clients
        self.client = client
    }

    func run() {
        guard !done.exchange(true, ordering: .relaxed) else { return }
        clients?.close(client)
    }
}

/// The shallowest depth a streamed answer has been served at so far.
final class ServedDepth: Sendable {
    private let depth: Mutex<Int>
    init(_ depth: Int) { self.depth = Mutex(depth) }
    var value: Int { depth.withLock { $0 } }
    func lower(to k: Int) { depth.withLock { $0 = min($0, k) } }
}

struct HealthBody: Codable, Sendable {
    var status: String
    var layers: Int
    var depth: Int
    var running: Int
    var queued: Int
    /// The deepest exit the chain reaches now, and the workers that are gone.
    var reachable_depth: Int
    var lost_workers: [String]
    /// Idle workers that may take over a lost stage.
    var spare_workers: [String]
}

/// The body of `POST /admin/depth`: `{"depth": 21}`, `{"depth": "auto"}` or `{"depth": "full"}`.
public struct DepthCommand: Codable, Sendable, Equatable {
    public enum Setting: Sendable, Equatable {
        case exit(Int)
        case auto
        case full
    }
    public var depth: Setting

    public init(depth: Setting) { self.depth = depth }
}

extension DepthCommand.Setting: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let k = try? container.decode(Int.self) {
            self = .exit(k)
            return
        }
        switch try container.decode(String.self) {
        case "auto", "adaptive": self = .auto
        case "full", "fixed": self = .full
        case let other:
            if let k = Int(other) {
                self = .exit(k)
            } else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "depth must be an exit number, \"auto\" or \"full\", not \"\(other)\"")
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .exit(let k): try container.encode(k)
        case .auto: try container.encode("auto")
        case .full: try container.encode("full")
        }
    }
}

struct ModelList: Codable, Sendable {
    struct Entry: Codable, Sendable {
        var id: String
        var object: String
        var owned_by: String
    }
    var data: [Entry]
    var object: String
}

func encodeJSON<T: Encodable>(_ value: T) throws -> ByteBuffer {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return ByteBuffer(bytes: try encoder.encode(value))
}

/// Accumulates generated text and stops at the first stop sequence, keeping the text before it.
final class StopCollector: @unchecked Sendable {
    // SAFETY: appended to by one generation at a time (its onText callback), read after it ends
    // or from that same callback.
    private(set) var text = ""
    private(set) var stopped = false
    let stops: [String]

    private let longestStop: Int

    init(stops: [String]) {
        self.stops = stops
        longestStop = stops.map(\.count).max() ?? 0
    }

    /// Adds a piece. Returns whether generation should go on (false once a stop sequence has
    /// appeared) and the text this piece adds to the answer (cut where the stop begins). Only the
    /// last few characters plus the piece are searched, so long answers stay linear.
    func append(_ piece: String) -> (go: Bool, fresh: String) {
        guard !stopped else { return (false, "") }
        let carry = String(text.suffix(max(longestStop - 1, 0)))
        let window = carry + piece
        guard let cut = stops.compactMap({ window.range(of: $0)?.lowerBound }).min() else {
            text += piece
            return (true, piece)
        }
        stopped = true
        let kept = window.distance(from: window.startIndex, to: cut)
        if kept < carry.count {
            // The stop began in text already added: take that part back out of the answer.
            text.removeLast(carry.count - kept)
            return (false, "")
        }
        let fresh = String(window[window.index(window.startIndex, offsetBy: carry.count)..<cut])
        text += fresh
        return (false, fresh)
    }
}

private func describe(_ error: DecodingError) -> String {
    switch error {
    case .keyNotFound(let key, _): "missing \"\(key.stringValue)\""
    case .typeMismatch(_, let c), .valueNotFound(_, let c):
        "wrong type at \(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
    case .dataCorrupted(let c): "not valid JSON: \(c.debugDescription)"
    @unknown default: "\(error)"
    }
}
