import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StrataCluster
import StrataModel
import StrataTokenizer

/// The OpenAI-style HTTP API over a cluster: `/v1/completions`, `/v1/chat/completions` (with SSE
/// streaming), `/v1/models` and `/health`. Every answer states the depth it was served at, in the
/// body (`"strata": {"depth": k}`, every streamed chunk too) and in the `x-strata-depth` header.
public struct APIServer: Sendable {
    public let generator: ClusterGenerator
    public let modelName: String
    /// Longest prompt accepted, in tokens.
    public var maxPromptTokens: Int
    /// Largest `max_tokens` accepted.
    public var maxTokensLimit = 4096

    public init(generator: ClusterGenerator, modelName: String) {
        self.generator = generator
        self.modelName = modelName
        maxPromptTokens = generator.model.config.contextLength / 2
    }

    static let depthHeader = HTTPField.Name("x-strata-depth")!  // a valid token, fixed at compile time

    /// The routes, for `Application(router:)` and for tests.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        let api = self
        router.get("health") { _, _ -> Response in
            api.json(["status": "ok", "layers": "\(api.generator.model.config.layerCount)"])
        }
        router.get("v1/models") { _, _ -> Response in
            api.json(ModelList(data: [.init(id: api.modelName, object: "model", owned_by: "strata")], object: "list"))
        }
        router.post("v1/completions") { request, context -> Response in
            let body = try await api.decode(CompletionRequest.self, request, context)
            let prompt = api.generator.model.model.tokenizer.encode(body.prompt, addSpecial: true, parseSpecial: true)
            return try await api.serve(prompt: prompt, sampling: body.sampling, chat: false)
        }
        router.post("v1/chat/completions") { request, context -> Response in
            let body = try await api.decode(ChatCompletionRequest.self, request, context)
            guard !body.messages.isEmpty else { throw HTTPError(.badRequest, message: "messages is empty") }
            let tokenizer = api.generator.model.model.tokenizer
            let template: ChatTemplate
            do { template = try ChatTemplate.detect(tokenizer.spec.chatTemplate) } catch {
                throw HTTPError(.badRequest, message: "\(error)")
            }
            let bos = tokenizer.spec.bosID.flatMap { tokenizer.spec.tokens.indices.contains($0) ? tokenizer.spec.tokens[$0] : nil }
            let text = template.render(body.messages, addGenerationPrompt: true, bosToken: bos)
            let prompt = tokenizer.encode(text, addSpecial: false, parseSpecial: true)
            return try await api.serve(prompt: prompt, sampling: body.sampling, chat: true)
        }
        return router
    }

    // MARK: - Handling

    private func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: BasicRequestContext) async throws -> T {
        let buffer = try await request.body.collect(upTo: 4 << 20)
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw HTTPError(.badRequest, message: "invalid request body: \(describe(error))")
        }
    }

    private func serve(prompt: [Int], sampling: SamplingFields, chat: Bool) async throws -> Response {
        let config = generator.model.config
        let depth = sampling.strata?.depth ?? config.layerCount
        guard (1...config.layerCount).contains(depth) else {
            throw HTTPError(.badRequest, message: "strata.depth must be in 1…\(config.layerCount), got \(depth)")
        }
        let maxTokens = sampling.maxTokens ?? 256
        guard (1...maxTokensLimit).contains(maxTokens) else {
            throw HTTPError(.badRequest, message: "max_tokens must be in 1…\(maxTokensLimit), got \(maxTokens)")
        }
        guard !prompt.isEmpty else { throw HTTPError(.badRequest, message: "the prompt is empty") }
        guard prompt.count <= maxPromptTokens else {
            throw HTTPError(.badRequest, message: "the prompt has \(prompt.count) tokens; the limit is \(maxPromptTokens)")
        }
        var options = GenerationOptions(maxTokens: maxTokens, exit: depth)
        options.sampling = SamplingOptions(temperature: sampling.temperature ?? 0, topP: sampling.topP ?? 1, seed: sampling.seed)
        do { try options.sampling.validate() } catch { throw HTTPError(.badRequest, message: "\(error)") }
        let stops = sampling.stop?.values.filter { !$0.isEmpty } ?? []
        let id = (chat ? "chatcmpl-" : "cmpl-") + UUID().uuidString.lowercased()
        let info = StrataResponseInfo(depth: depth, layers: config.layerCount)
        var headers = HTTPFields()
        headers[Self.depthHeader] = String(depth)
        if sampling.stream == true {
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            let body = streamBody(prompt: prompt, options: options, stops: stops, chat: chat, id: id, info: info)
            return Response(status: .ok, headers: headers, body: body)
        }
        let collector = StopCollector(stops: stops)
        let result: GenerationResult
        do {
            result = try await generator.generate(prompt: prompt, options: options, onText: { collector.append($0).go })
        } catch let error as ModelError {
            throw HTTPError(.badRequest, message: "\(error)")
        } catch {
            throw HTTPError(.serviceUnavailable, message: "\(error)")
        }
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

    /// Server-sent events: one chunk per piece of text, then a final chunk with the finish
    /// reason, then `data: [DONE]`. Generation stops when the client goes away.
    private func streamBody(
        prompt: [Int], options: GenerationOptions, stops: [String], chat: Bool, id: String, info: StrataResponseInfo
    ) -> ResponseBody {
        let generator = self.generator
        let model = modelName
        let created = Int(Date().timeIntervalSince1970)
        return ResponseBody { writer in
            let (pieces, continuation) = AsyncStream<String>.makeStream()
            let collector = StopCollector(stops: stops)
            let task = Task {
                let result = try? await generator.generate(
                    prompt: prompt, options: options,
                    onText: { piece in
                        let (go, fresh) = collector.append(piece)
                        if !fresh.isEmpty { continuation.yield(fresh) }
                        return go
                    })
                continuation.finish()
                return result
            }
            func chunk(_ text: String?, finish: String?) throws -> ByteBuffer {
                let body: ByteBuffer
                if chat {
                    body = try encodeJSON(ChatCompletionResponse(
                        id: id, object: "chat.completion.chunk", created: created, model: model,
                        choices: [ChatChoice(index: 0, message: nil, delta: ChatDelta(role: nil, content: text), finish_reason: finish)],
                        usage: nil, strata: info))
                } else {
                    body = try encodeJSON(CompletionResponse(
                        id: id, object: "text_completion", created: created, model: model,
                        choices: [CompletionChoice(index: 0, text: text ?? "", finish_reason: finish)], usage: nil, strata: info))
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
            let finish = collector.stopped || result?.finishReason == .endOfGeneration ? "stop" : "length"
            try await writer.write(chunk(nil, finish: finish))
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
