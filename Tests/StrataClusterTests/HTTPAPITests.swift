import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import StrataApp
import StrataCluster
import StrataHTTPAPI
import StrataModel
import Synchronization
import StrataTestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The HTTP API against a running coordinator and workers, through a real HTTP client.
@Suite(.serialized, .timeLimit(.minutes(3))) struct HTTPAPITests {
    /// Runs `body` with the API listening on a free port, backed by two in-process workers.
    /// `configure` adjusts the scheduler (full depth, 8 running, 64 waiting by default).
    func withServer(
        configure: (inout SchedulerSettings) -> Void = { _ in }, api configureAPI: (inout APIServer) -> Void = { _ in },
        server: HTTPServerBuilder = .http1(), _ body: @Sendable (URL) async throws -> Void
    ) async throws {
        guard let model = ModelFixture.path() else { return }
        let servers = try await ClusterHarness.inProcessWorkers(2, model: model)
        let session = try await startCluster(
            modelPath: model, workers: .addresses(servers.map(\.boundAddress)), split: [0..<15, 15..<30], secretFile: nil,
            engine: EngineOptions(threads: 1),
            // These tests are about the API, not liveness: generous deadlines keep a slow, busy
            // machine (the whole suite runs in parallel) from marking a live worker lost.
            recovery: Recovery(heartbeatTimeout: .seconds(30), stepTimeout: .seconds(120)))
        var settings = SchedulerSettings(
            layerCount: 30, exits: [9, 12, 15, 21, 30], mode: .fixed(30), adaptive: AdaptiveSettings(objective: 10),
            headBlocks: APIServer.headBlocks(session.generator.model.model))
        configure(&settings)
        var api = APIServer(generator: session.generator, modelName: "smollm2", scheduler: ServingScheduler(settings: settings))
        configureAPI(&api)
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: api.router(), server: server, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            try await body(URL(string: "http://127.0.0.1:\(port)")!)
            group.cancelAll()
        }
        await session.shutdown()
        for s in servers { await s.stop() }
    }

    static func post(_ url: URL, _ path: String, _ json: String, key: String? = nil) async throws -> (Int, [String: String], String) {
        var request = URLRequest(url: url.appendingPathComponent(path))
        request.httpMethod = "POST"
        request.httpBody = Data(json.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse  // an http:// URL always answers with HTTPURLResponse
        var headers: [String: String] = [:]
        for (k, v) in http.allHeaderFields { headers["\(k)".lowercased()] = "\(v)" }
        return (http.statusCode, headers, String(decoding: data, as: UTF8.self))
    }

    @Test func completionsAnswerWithTheDepthTheyUsed() async throws {
        try await withServer { url in
            let (status, headers, body) = try await Self.post(
                url, "v1/completions", #"{"prompt":"The capital of France is","max_tokens":8,"strata":{"depth":21}}"#)
            #expect(status == 200)
            #expect(headers["x-strata-depth"] == "21")
            let response = try JSONDecoder().decode(CompletionResponse.self, from: Data(body.utf8))
            #expect(response.strata.depth == 21 && response.object == "text_completion")
            #expect(response.usage?.prompt_tokens == 5 && (response.usage?.completion_tokens ?? 0) <= 8)
        }
    }

    @Test func chatStreamsChunksEachMarkedWithDepthAndEndsWithDone() async throws {
        try await withServer { url in
            let (status, headers, body) = try await Self.post(
                url, "v1/chat/completions",
                #"{"messages":[{"role":"user","content":"Say hello."}],"max_tokens":6,"stream":true}"#)
            #expect(status == 200)
            #expect(headers["content-type"]?.hasPrefix("text/event-stream") == true)
            let events = body.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: ") }
            #expect(events.last == "data: [DONE]")
            for event in events.dropLast() {
                let chunk = try JSONDecoder().decode(ChatCompletionResponse.self, from: Data(event.dropFirst(6).utf8))
                #expect(chunk.strata.depth == 30 && chunk.object == "chat.completion.chunk")
            }
        }
    }

    @Test func stopSequencesCutTheText() async throws {
        try await withServer { url in
            let (_, _, body) = try await Self.post(
                url, "v1/completions", #"{"prompt":"The capital of France is","max_tokens":24,"stop":["."]}"#)
            let response = try JSONDecoder().decode(CompletionResponse.self, from: Data(body.utf8))
            #expect(!response.choices[0].text.contains("."))
            #expect(response.choices[0].finish_reason == "stop")
        }
    }

    @Test func badRequestsGetA400WithAMessage() async throws {
        try await withServer { url in
            for json in [
                "{not json", #"{"prompt": 5}"#, #"{"max_tokens": 3}"#, #"{"prompt":"x","strata":{"depth":31}}"#,
                #"{"prompt":"x","max_tokens":0}"#, #"{"prompt":"x","temperature":-1}"#,
            ] {
                let (status, _, body) = try await Self.post(url, "v1/completions", json)
                #expect(status == 400, "\(json) → \(status)")
                #expect(body.contains("message"), "\(body)")
            }
            let long = String(repeating: "word ", count: 6000)
            let (status, _, body) = try await Self.post(url, "v1/completions", #"{"prompt":"\#(long)"}"#)
            #expect(status == 400 && body.contains("limit"))
        }
    }

    static func get(_ url: URL, _ path: String) async throws -> (Int, String) {
        let (data, response) = try await URLSession.shared.data(from: url.appendingPathComponent(path))
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test func metricsReportQueueLatencyDepthAndWorkerLoad() async throws {
        try await withServer { url in
            _ = try await Self.post(url, "v1/completions", #"{"prompt":"Hello","max_tokens":4,"strata":{"depth":21}}"#)
            let (status, text) = try await Self.get(url, "metrics")
            #expect(status == 200)
            for name in [
                "strata_queue_length_requests 0", "strata_running_requests", "strata_generated_tokens_per_second",
                "strata_time_to_first_token_seconds_bucket", "strata_token_latency_seconds_bucket",
                "strata_request_latency_seconds_count 1", "strata_depth_served_bucket{le=\"21.0\"} 1",
                "strata_depth_served_bucket{le=\"20.0\"} 0", #"strata_requests_total{outcome="ok"} 1"#, "strata_step_timeouts 0",
            ] {
                #expect(text.contains(name), "missing \(name)")
            }
            // Both workers computed rows; the second only for exits past its first block.
            let rows = text.split(separator: "\n").filter { $0.hasPrefix("strata_worker_rows_total{") }
            #expect(rows.count == 2)
            #expect(text.split(separator: "\n").filter { $0.hasPrefix("strata_worker_up{") && $0.split(separator: " ").last.flatMap { Double($0) } == 1 }.count == 2)
            #expect(rows.allSatisfy { ($0.split(separator: " ").last.flatMap { Int($0) } ?? 0) > 0 }, "\(rows)")
        }
    }

    @Test func operatorCapLowersDepthAndAutoOrFullRestoresIt() async throws {
        try await withServer { url in
            let base = url.absoluteString
            var status = try await runDepth(url: base, set: "12")
            #expect(status.mode == "admin 12" && status.depth == 12)
            let (_, headers, body) = try await Self.post(url, "v1/completions", #"{"prompt":"Hi","max_tokens":2}"#)
            #expect(headers["x-strata-depth"] == "12")
            #expect(try JSONDecoder().decode(CompletionResponse.self, from: Data(body.utf8)).strata.policy == "admin 12")
            // An explicit deeper request is capped too; a min_depth above the cap is refused.
            let (_, capped, _) = try await Self.post(url, "v1/completions", #"{"prompt":"Hi","max_tokens":2,"strata":{"depth":30}}"#)
            #expect(capped["x-strata-depth"] == "12")
            let (refused, _, message) = try await Self.post(url, "v1/completions", #"{"prompt":"Hi","max_tokens":2,"min_depth":21}"#)
            #expect(refused == 503 && message.contains("cap"))
            status = try await runDepth(url: base, set: "auto")
            #expect(status.mode == "adaptive")
            status = try await runDepth(url: base, set: "full")
            #expect(status.mode == "fixed 30" && status.depth == 30)
            status = try await runDepth(url: base, set: nil)
            #expect(status.layers == 30 && status.exits == [9, 12, 15, 21, 30] && status.reachableDepth == 30)
            await #expect(throws: AppError.self) { try await runDepth(url: base, set: "31") }
            await #expect(throws: AppError.self) { try await runDepth(url: base, set: "deep") }
        }
    }

    /// Waits until `/health` satisfies `condition` (polling every 20 ms, at most 10 s).
    static func waitForHealth(_ url: URL, _ condition: @escaping (HealthState) -> Bool) async throws {
        for _ in 0..<500 {
            let (_, text) = try await get(url, "health")
            if let state = try? JSONDecoder().decode(HealthState.self, from: Data(text.utf8)), condition(state) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("the server never reached the awaited state")
    }

    struct HealthState: Decodable {
        var status: String
        var running: Int
        var queued: Int
    }

    /// A prompt the model continues for long (counting), so a request is still running while
    /// the test acts.
    static let longRequest = #"{"prompt":"1, 2, 3, 4, 5, 6, 7, 8,","max_tokens":160}"#

    @Test func aFullQueueAnswers429AtOnceAndNothingHangs() async throws {
        try await withServer(configure: { $0.maxRunning = 1; $0.maxQueue = 1 }) { url in
            async let first = Self.post(url, "v1/completions", Self.longRequest)
            try await Self.waitForHealth(url) { $0.running == 1 }
            async let second = Self.post(url, "v1/completions", Self.longRequest)
            try await Self.waitForHealth(url) { $0.queued == 1 }
            let (status, headers, body) = try await Self.post(url, "v1/completions", Self.longRequest)
            #expect(status == 429 && headers["retry-after"] == "1" && body.contains("capacity"), "\(status) \(body)")
            let (a, b) = try await (first, second)
            #expect(a.0 == 200 && b.0 == 200)
            let waited = try JSONDecoder().decode(CompletionResponse.self, from: Data(b.2.utf8)).strata.queued_ms ?? 0
            #expect(waited > 50, "the second waited for the first")
        }
    }

    @Test func drainFinishesAdmittedWorkRefusesNewAndResumes() async throws {
        try await withServer { url in
            let base = url.absoluteString
            async let running = Self.post(url, "v1/completions", Self.longRequest)
            try await Self.waitForHealth(url) { $0.running == 1 }
            async let drained = runDrain(url: base, resume: false)
            try await Self.waitForHealth(url) { $0.status == "draining" }
            let (refused, _, message) = try await Self.post(url, "v1/completions", #"{"prompt":"Hi","max_tokens":2}"#)
            #expect(refused == 503 && message.contains("draining"))
            let (status, _, _) = try await running
            #expect(status == 200)
            let report = try await drained
            #expect(report.contains("1 requests finished while draining, 1 refused"), "\(report)")
            _ = try await runDrain(url: base, resume: true)
            let (again, _, _) = try await Self.post(url, "v1/completions", #"{"prompt":"Hi","max_tokens":2}"#)
            #expect(again == 200)
        }
    }

    @Test func submitPrintsTheSameAnswerStreamedOrNot() async throws {
        try await withServer { url in
            var request = SubmitRequest(prompt: "What is the capital of France?")
            request.chat = true
            request.maxTokens = 12
            request.depth = 21
            let whole = try await runSubmit(url: url.absoluteString, request) { _ in }
            request.stream = true
            let pieces = Mutex<[String]>([])
            let streamed = try await runSubmit(url: url.absoluteString, request) { piece in pieces.withLock { $0.append(piece) } }
            #expect(whole.text == streamed.text && !whole.text.isEmpty)
            #expect(pieces.withLock { $0.joined() } == streamed.text && pieces.withLock { $0.count } > 1)
            #expect(whole.depth == 21 && streamed.depth == 21)
            #expect(whole.completionTokens == streamed.completionTokens)
            await #expect(throws: AppError.self) { try await runSubmit(url: "ftp://x", request) { _ in } }
        }
    }

    @Test func requestControlsAreCheckedAndObeyed() async throws {
        try await withServer { url in
            for json in [
                #"{"prompt":"x","strata":{"min_depth":0}}"#, #"{"prompt":"x","min_depth":31}"#,
                #"{"prompt":"x","strata":{"depth":9,"min_depth":12}}"#, #"{"prompt":"x","strata":{"max_latency_ms":-5}}"#,
                #"{"prompt":"x","strata":{"max_latency_ms":"soon"}}"#,
            ] {
                let (status, _, body) = try await Self.post(url, "v1/completions", json)
                #expect(status == 400 && body.contains("message"), "\(json) → \(status) \(body)")
            }
            // Under the fixed full-depth policy: an explicit exit is kept, a generous budget keeps full depth.
            let (_, headers, _) = try await Self.post(url, "v1/completions", #"{"prompt":"x","max_tokens":2,"strata":{"depth":9,"min_depth":9}}"#)
            #expect(headers["x-strata-depth"] == "9")
            let (_, budget, _) = try await Self.post(url, "v1/completions", #"{"prompt":"x","max_tokens":2,"max_latency_ms":600000}"#)
            #expect(budget["x-strata-depth"] == "30")
        }
    }

    @Test func loadTestReportsAndPlots() async throws {
        try await withServer { url in
            var config = LoadTestConfig(url: url.absoluteString, rate: 4, duration: 2)
            config.maxTokens = 4
            let report = try await runLoadTest(config) { _ in }
            #expect(report.sent >= 2 && report.completed == report.sent && report.failed == 0)
            #expect(report.latency.p50 != nil && report.timeToFirstToken.p99 != nil && report.meanDepth == 30)
            #expect(report.depthMix == ["30": report.completed])
            #expect(report.records.allSatisfy { ($0.timeToFirstToken ?? 1e9) <= ($0.latency ?? 0) })
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("strata-loadtest-\(UUID()).png").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try writeLoadTestPlot(report, to: path)
            let png = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) && png.count > 5000)
            #expect(!describe(report).isEmpty)
        }
    }

    @Test func apiKeysAreRequiredWhereConfiguredAndLimitStreamsPerClient() async throws {
        try await withServer(api: { $0.apiKeys = ["alpha", "beta"]; $0.maxStreamsPerClient = 1 }) { url in
            let hi = #"{"prompt":"Hi","max_tokens":2}"#
            let (missing, headers, message) = try await Self.post(url, "v1/completions", hi)
            #expect(missing == 401 && headers["www-authenticate"] == "Bearer" && message.contains("API key"))
            let (wrong, _, _) = try await Self.post(url, "v1/completions", hi, key: "gamma")
            #expect(wrong == 401)
            let (right, _, _) = try await Self.post(url, "v1/completions", hi, key: "alpha")
            #expect(right == 200)
            let (admin, _, _) = try await Self.post(url, "admin/drain", "{}")
            #expect(admin == 401, "admin routes need a key too")
            let (health, _) = try await Self.get(url, "health")
            #expect(health == 200, "probes need none")
            // One request in flight per key: a second from the same key is refused, another key's is not.
            async let long = Self.post(url, "v1/completions", Self.longRequest, key: "alpha")
            try await Self.waitForHealth(url) { $0.running == 1 }
            let (busy, _, why) = try await Self.post(url, "v1/completions", hi, key: "alpha")
            #expect(busy == 429 && why.contains("in flight"), "\(busy) \(why)")
            let (other, _, _) = try await Self.post(url, "v1/completions", hi, key: "beta")
            #expect(other == 200)
            #expect(try await long.0 == 200)
            let (after, _, _) = try await Self.post(url, "v1/completions", hi, key: "alpha")
            #expect(after == 200, "the place is given back")
        }
    }

    @Test func servesHTTPSToAClientThatTrustsItsCertificate() async throws {
        guard let (cert, key, folder) = try ClusterHarness.selfSignedCertificate() else { return }
        defer { try? FileManager.default.removeItem(at: folder) }
        var settings = ServeSettings(http: PeerAddress(host: "127.0.0.1", port: 0))
        settings.tlsCertificate = cert
        settings.tlsKey = key
        let tls = try #require(try settings.serverTLS())
        try await withServer(server: try .tls(.http1(), tlsConfiguration: tls)) { url in
            let secure = "https://127.0.0.1:\(url.port ?? 0)"
            var options = ClientOptions()
            options.caFile = cert
            var request = SubmitRequest(prompt: "The capital of France is")
            request.maxTokens = 4
            let answer = try await runSubmit(url: secure, request, options: options) { _ in }
            #expect(answer.depth == 30 && (answer.completionTokens ?? 0) > 0)
            // Without the certificate trusted, the client refuses the server.
            await #expect(throws: (any Error).self) { try await runSubmit(url: secure, request, options: ClientOptions()) { _ in } }
        }
        settings.tlsKey = nil
        #expect(throws: AppError.self) { try settings.serverTLS() }
    }
}
