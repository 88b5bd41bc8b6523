import Foundation
import Hummingbird
import StrataApp
import StrataCluster
import StrataHTTPAPI
import StrataModel
import StrataTestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The HTTP API against a running coordinator and workers, through a real HTTP client.
@Suite(.serialized, .timeLimit(.minutes(3))) struct HTTPAPITests {
    /// Runs `body` with the API listening on a free port, backed by two in-process workers.
    func withServer(_ body: @Sendable (URL) async throws -> Void) async throws {
        guard let model = ModelFixture.path() else { return }
        let servers = try await ClusterHarness.inProcessWorkers(2, model: model)
        let session = try await startCluster(
            modelPath: model, workers: .addresses(servers.map(\.boundAddress)), split: [0..<15, 15..<30], secretFile: nil,
            engine: EngineOptions(threads: 1))
        let api = APIServer(generator: session.generator, modelName: "smollm2")
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: api.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
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

    static func post(_ url: URL, _ path: String, _ json: String) async throws -> (Int, [String: String], String) {
        var request = URLRequest(url: url.appendingPathComponent(path))
        request.httpMethod = "POST"
        request.httpBody = Data(json.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
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
}
