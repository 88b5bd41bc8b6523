import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import StrataHTTPAPI
import StrataTokenizer

/// How a client reaches the server beyond its URL.
public struct ClientOptions: Sendable {
    /// Sent as `Authorization: Bearer KEY`; by default `$STRATA_API_KEY`.
    public var apiKey: String? = ProcessInfo.processInfo.environment["STRATA_API_KEY"]
    /// A PEM file of certificates to trust for https:// (a private CA or a self-signed server).
    public var caFile: String?

    public init() {}

    /// Reads the first non-empty line of `path` as the key.
    public mutating func readKey(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw AppError.invalidArgument("cannot read the API key file \(path)") }
        guard let key = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map({ $0.trimmingCharacters(in: .whitespaces) }).first(where: { !$0.isEmpty && !$0.hasPrefix("#") })
        else { throw AppError.invalidArgument("the API key file \(path) holds no key") }
        apiKey = key
    }
}

/// A client of a running `strata serve`: what `strata submit`, `depth`, `drain` and `loadtest` use.
public struct ServingClient: Sendable {
    public let base: String
    let client: HTTPClient
    /// Whether `client` is this value's own (then `close` shuts it down).
    private let ownsClient: Bool
    public var apiKey: String?

    /// - Parameter url: the server, e.g. http://127.0.0.1:8080 (a trailing slash is fine).
    public init(url: String, client: HTTPClient = .shared, options: ClientOptions = ClientOptions()) throws {
        base = try Self.checked(url)
        self.client = client
        ownsClient = false
        apiKey = options.apiKey
    }

    /// A client with its own connection pool: trusting `options.caFile` when given, and holding
    /// up to `connections` connections to the server. Call `close` when done.
    public init(url: String, options: ClientOptions, connections: Int) throws {
        base = try Self.checked(url)
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(connections, 1))
        if let ca = options.caFile {
            guard FileManager.default.isReadableFile(atPath: ca) else { throw AppError.invalidArgument("cannot read the CA file \(ca)") }
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(ca)
            configuration.tlsConfiguration = tls
        }
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        ownsClient = true
        apiKey = options.apiKey
    }

    private static func checked(_ url: String) throws -> String {
        guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil else {
            throw AppError.invalidArgument("--url must be an http:// or https:// address, not \(url)")
        }
        return url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    /// Shuts down the connection pool when it is this client's own.
    public func close() async {
        if ownsClient { try? await client.shutdown() }
    }

    /// Runs `body` with a client for `url`, closed afterwards however `body` ends.
    static func with<T: Sendable>(url: String, options: ClientOptions, _ body: (ServingClient) async throws -> T) async throws -> T {
        let client = try ServingClient(url: url, options: options, connections: 4)
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }

    /// A response read whole.
    public struct Reply: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: String
    }

    func request(_ method: HTTPMethod, _ path: String, json: String? = nil) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let apiKey, !apiKey.isEmpty { request.headers.add(name: "authorization", value: "Bearer \(apiKey)") }
        if let json {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        return request
    }

    /// Sends a request and reads the whole answer (bodies up to 16 MiB).
    public func send(_ method: HTTPMethod, _ path: String, json: String? = nil, timeout: TimeAmount = .seconds(600)) async throws -> Reply {
        let response = try await client.execute(request(method, path, json: json), timeout: timeout)
        let body = try await response.body.collect(upTo: 16 << 20)
        var headers: [String: String] = [:]
        for header in response.headers { headers[header.name.lowercased()] = header.value }
        return Reply(status: Int(response.status.code), headers: headers, body: String(buffer: body))
    }

    /// Sends a request and decodes a 200 answer as `T`; any other status becomes an error
    /// carrying the server's message.
    public func call<T: Decodable>(_ method: HTTPMethod, _ path: String, json: String? = nil, as type: T.Type) async throws -> T {
        let reply = try await send(method, path, json: json)
        guard reply.status == 200 else { throw AppError.server(status: reply.status, message: Self.message(reply.body)) }
        do {
            return try JSONDecoder().decode(T.self, from: Data(reply.body.utf8))
        } catch {
            throw AppError.server(status: reply.status, message: "unexpected answer: \(reply.body.prefix(200))")
        }
    }

    /// The message of an error body (`{"error": {"message": …}}`), or the body itself.
    static func message(_ body: String) -> String {
        struct Wrapped: Decodable {
            struct Inner: Decodable { var message: String }
            var error: Inner
        }
        return (try? JSONDecoder().decode(Wrapped.self, from: Data(body.utf8)).error.message) ?? body
    }

    // MARK: - Streaming

    /// What one streamed request saw.
    public struct StreamOutcome: Sendable {
        public var status: Int
        public var depth: Int?
        public var text = ""
        public var pieces = 0
        public var completionTokens: Int?
        public var finishReason: String?
        public var error: String?
        /// Seconds from sending to the headers, to the first piece of text, and to the end.
        public var headersAfter: Double?
        public var firstTokenAfter: Double?
        public var totalSeconds = 0.0
    }

    /// Posts `body` with `"stream": true` to `path` and reads the server-sent events, handing
    /// each piece of text to `onText` as it comes.
    public func stream(
        path: String, body: String, timeout: TimeAmount = .seconds(600), onText: @Sendable (String) -> Void = { _ in }
    ) async throws -> StreamOutcome {
        let start = DispatchTime.now()
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 }
        let response = try await client.execute(request(.POST, path, json: body), timeout: timeout)
        var outcome = StreamOutcome(status: Int(response.status.code))
        outcome.headersAfter = elapsed()
        outcome.depth = response.headers.first(name: "x-strata-depth").flatMap { Int($0) }
        guard response.status == .ok else {
            let text = try await response.body.collect(upTo: 1 << 20)
            outcome.error = Self.message(String(buffer: text))
            outcome.totalSeconds = elapsed()
            return outcome
        }
        var pending = ""
        for try await chunk in response.body {
            pending += String(buffer: chunk)
            while let end = pending.range(of: "\n\n") {
                let event = String(pending[..<end.lowerBound])
                pending.removeSubrange(..<end.upperBound)
                guard event.hasPrefix("data: ") else { continue }
                let data = event.dropFirst(6)
                if data == "[DONE]" { continue }
                guard let parsed = try? JSONDecoder().decode(StreamChunk.self, from: Data(data.utf8)) else {
                    outcome.error = "unreadable event: \(data.prefix(120))"
                    continue
                }
                if let piece = parsed.choices.first?.text ?? parsed.choices.first?.delta?.content, !piece.isEmpty {
                    if outcome.firstTokenAfter == nil { outcome.firstTokenAfter = elapsed() }
                    outcome.text += piece
                    outcome.pieces += 1
                    onText(piece)
                }
                if let reason = parsed.choices.first?.finish_reason { outcome.finishReason = reason }
                if let usage = parsed.usage { outcome.completionTokens = usage.completion_tokens }
                if let depth = parsed.strata?.depth { outcome.depth = depth }
            }
        }
        outcome.totalSeconds = elapsed()
        return outcome
    }

    /// The fields of either endpoint's streamed chunk that a client needs.
    struct StreamChunk: Decodable {
        struct Choice: Decodable {
            var text: String?
            var delta: ChatDelta?
            var finish_reason: String?
        }
        var choices: [Choice]
        var usage: Usage?
        var strata: StrataResponseInfo?
    }
}

/// `strata submit`: one request, printed as it comes (streaming) or when done.
public struct SubmitRequest: Sendable {
    public var prompt: String
    public var chat = false
    public var system: String?
    public var depth: Int?
    public var minDepth: Int?
    public var maxLatencyMs: Double?
    public var maxTokens = 256
    public var temperature: Float = 0
    public var seed: UInt64?
    public var stream = false

    public init(prompt: String) { self.prompt = prompt }

    /// The JSON body for the endpoint this request goes to.
    func body(stream: Bool) throws -> (path: String, json: String) {
        var object: [String: Any] = ["max_tokens": maxTokens, "temperature": Double(temperature), "stream": stream]
        if let seed { object["seed"] = seed }
        var strata: [String: Any] = [:]
        if let depth { strata["depth"] = depth }
        if let minDepth { strata["min_depth"] = minDepth }
        if let maxLatencyMs { strata["max_latency_ms"] = maxLatencyMs }
        if !strata.isEmpty { object["strata"] = strata }
        let path: String
        if chat {
            var messages: [[String: String]] = []
            if let system { messages.append(["role": "system", "content": system]) }
            messages.append(["role": "user", "content": prompt])
            object["messages"] = messages
            path = "/v1/chat/completions"
        } else {
            object["prompt"] = prompt
            path = "/v1/completions"
        }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return (path, String(decoding: data, as: UTF8.self))
    }
}

/// What `strata submit` learned about its answer.
public struct SubmitOutcome: Sendable {
    public var text: String
    public var depth: Int?
    public var completionTokens: Int?
    public var finishReason: String?
    public var seconds: Double
}

public func runSubmit(
    url: String, _ request: SubmitRequest, options: ClientOptions = ClientOptions(), write: @escaping @Sendable (String) -> Void
) async throws -> SubmitOutcome {
    try await ServingClient.with(url: url, options: options) { client in try await submit(client, request, write: write) }
}

private func submit(_ client: ServingClient, _ request: SubmitRequest, write: @escaping @Sendable (String) -> Void) async throws -> SubmitOutcome {
    let (path, json) = try request.body(stream: request.stream)
    if request.stream {
        let outcome = try await client.stream(path: path, body: json, onText: write)
        guard outcome.status == 200, outcome.error == nil else {
            throw AppError.server(status: outcome.status, message: outcome.error ?? "the stream ended badly")
        }
        return SubmitOutcome(
            text: outcome.text, depth: outcome.depth, completionTokens: outcome.completionTokens,
            finishReason: outcome.finishReason, seconds: outcome.totalSeconds)
    }
    let start = DispatchTime.now()
    let reply = try await client.send(.POST, path, json: json)
    guard reply.status == 200 else { throw AppError.server(status: reply.status, message: ServingClient.message(reply.body)) }
    let text: String
    let usage: Usage?
    let info: StrataResponseInfo
    let finish: String?
    do {
        if request.chat {
            let response = try JSONDecoder().decode(ChatCompletionResponse.self, from: Data(reply.body.utf8))
            text = response.choices.first?.message?.content ?? ""
            (usage, info, finish) = (response.usage, response.strata, response.choices.first?.finish_reason)
        } else {
            let response = try JSONDecoder().decode(CompletionResponse.self, from: Data(reply.body.utf8))
            text = response.choices.first?.text ?? ""
            (usage, info, finish) = (response.usage, response.strata, response.choices.first?.finish_reason)
        }
    } catch {
        throw AppError.server(status: reply.status, message: "unexpected answer: \(reply.body.prefix(200))")
    }
    write(text)
    return SubmitOutcome(
        text: text, depth: info.depth, completionTokens: usage?.completion_tokens, finishReason: finish,
        seconds: Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9)
}

/// `strata depth --url URL set K|auto|full` and `status`.
public func runDepth(url: String, set setting: String?, options: ClientOptions = ClientOptions()) async throws -> SchedulerStatus {
    try await ServingClient.with(url: url, options: options) { client in try await depth(client, set: setting) }
}

private func depth(_ client: ServingClient, set setting: String?) async throws -> SchedulerStatus {
    guard let setting else { return try await client.call(.GET, "/admin/depth", as: SchedulerStatus.self) }
    let command: DepthCommand
    switch setting {
    case "auto", "adaptive": command = DepthCommand(depth: .auto)
    case "full", "fixed": command = DepthCommand(depth: .full)
    default:
        guard let k = Int(setting) else { throw AppError.invalidArgument("depth set takes an exit number, auto or full, not \(setting)") }
        command = DepthCommand(depth: .exit(k))
    }
    let json = String(decoding: try JSONEncoder().encode(command), as: UTF8.self)
    return try await client.call(.POST, "/admin/depth", json: json, as: SchedulerStatus.self)
}

/// `strata drain --url URL [--resume]`.
public func runDrain(url: String, resume: Bool, options: ClientOptions = ClientOptions()) async throws -> String {
    try await ServingClient.with(url: url, options: options) { client in try await drain(client, resume: resume) }
}

private func drain(_ client: ServingClient, resume: Bool) async throws -> String {
    if resume {
        let status = try await client.call(.POST, "/admin/resume", as: SchedulerStatus.self)
        return "admitting again (depth \(status.depth), \(status.mode))"
    }
    let report = try await client.call(.POST, "/admin/drain", as: DrainReport.self)
    return String(
        format: "drained in %.1f s: %d requests finished while draining, %d refused; %d completed since start",
        report.seconds, report.finishedWhileDraining, report.rejectedWhileDraining, report.completed)
}

/// A human-readable depth status.
public func describe(_ status: SchedulerStatus) -> String {
    var lines = [
        "policy      \(status.mode)\(status.draining ? " (draining)" : "")"
            + (status.reachableDepth.map { $0 < status.layers ? ", a worker is lost: exits up to \($0) reachable" : "" } ?? ""),
        "depth       \(status.depth) of \(status.layers) (exits \(status.exits.map(String.init).joined(separator: ",")))",
        "requests    \(status.running) running (max \(status.maxRunning)), \(status.queued) queued (max \(status.maxQueue))",
        String(format: "throughput  %.1f tokens/s, work rate %@", status.tokensPerSecond, status.workRate.map { String(format: "%.0f block-tokens/s", $0) } ?? "not measured yet"),
        String(format: "objective   %.0f ms; %d completed, %d refused, %d depth changes", status.objectiveMs, status.completed, status.rejected, status.depthChanges),
    ]
    if !status.predictedLatencyMs.isEmpty {
        let predicted = status.exits.compactMap { k in status.predictedLatencyMs[String(k)].map { String(format: "%d:%.0fms", k, $0) } }
        lines.append("predicted   " + predicted.joined(separator: " "))
    }
    return lines.joined(separator: "\n")
}
