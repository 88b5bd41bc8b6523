import Foundation
import StrataTokenizer

/// `"stop"` may be one string or a list of strings.
public struct StopSequences: Codable, Sendable, Equatable {
    public var values: [String]

    public init(_ values: [String]) { self.values = values }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let one = try? container.decode(String.self) {
            values = [one]
        } else {
            values = try container.decode([String].self)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(values)
    }
}

/// Strata's own per-request controls, in the body's `"strata"` object.
public struct StrataRequestOptions: Codable, Sendable, Equatable {
    /// Exit layer to answer from (1…L); the server's policy decides when absent.
    public var depth: Int?
    /// The shallowest exit this request accepts.
    public var min_depth: Int?
    /// The latency this request wants, in milliseconds: the deepest exit predicted to meet it.
    public var max_latency_ms: Double?

    public init(depth: Int? = nil, min_depth: Int? = nil, max_latency_ms: Double? = nil) {
        self.depth = depth
        self.min_depth = min_depth
        self.max_latency_ms = max_latency_ms
    }
}

/// The sampling fields both endpoints share.
public struct SamplingFields: Sendable, Equatable {
    public var maxTokens: Int?
    public var temperature: Float?
    public var topP: Float?
    public var seed: UInt64?
    public var stop: StopSequences?
    public var stream: Bool?
    public var strata: StrataRequestOptions?
}

/// POST /v1/completions
public struct CompletionRequest: Codable, Sendable {
    public var model: String?
    public var prompt: String
    public var max_tokens: Int?
    public var temperature: Float?
    public var top_p: Float?
    public var seed: UInt64?
    public var stop: StopSequences?
    public var stream: Bool?
    public var strata: StrataRequestOptions?
    /// The same as `strata.min_depth` / `strata.max_latency_ms`, accepted at the top level too.
    public var min_depth: Int?
    public var max_latency_ms: Double?

    var sampling: SamplingFields {
        var controls = strata ?? StrataRequestOptions()
        controls.min_depth = controls.min_depth ?? min_depth
        controls.max_latency_ms = controls.max_latency_ms ?? max_latency_ms
        return SamplingFields(maxTokens: max_tokens, temperature: temperature, topP: top_p, seed: seed, stop: stop, stream: stream, strata: controls)
    }
}

/// POST /v1/chat/completions
public struct ChatCompletionRequest: Codable, Sendable {
    public var model: String?
    public var messages: [ChatMessage]
    public var max_tokens: Int?
    public var temperature: Float?
    public var top_p: Float?
    public var seed: UInt64?
    public var stop: StopSequences?
    public var stream: Bool?
    public var strata: StrataRequestOptions?
    /// The same as `strata.min_depth` / `strata.max_latency_ms`, accepted at the top level too.
    public var min_depth: Int?
    public var max_latency_ms: Double?

    var sampling: SamplingFields {
        var controls = strata ?? StrataRequestOptions()
        controls.min_depth = controls.min_depth ?? min_depth
        controls.max_latency_ms = controls.max_latency_ms ?? max_latency_ms
        return SamplingFields(maxTokens: max_tokens, temperature: temperature, topP: top_p, seed: seed, stop: stop, stream: stream, strata: controls)
    }
}

/// What every response says about the depth it was served at.
public struct StrataResponseInfo: Codable, Sendable, Equatable {
    public var depth: Int
    public var layers: Int
    /// The depth policy in force when the request started ("fixed 30", "admin 21", "adaptive").
    public var policy: String?
    /// Time spent waiting for a place, in milliseconds.
    public var queued_ms: Double?

    public init(depth: Int, layers: Int, policy: String? = nil, queued_ms: Double? = nil) {
        self.depth = depth
        self.layers = layers
        self.policy = policy
        self.queued_ms = queued_ms
    }
}

public struct Usage: Codable, Sendable, Equatable {
    public var prompt_tokens: Int
    public var completion_tokens: Int
    public var total_tokens: Int
}

public struct CompletionChoice: Codable, Sendable {
    public var index: Int
    public var text: String
    public var finish_reason: String?
}

public struct CompletionResponse: Codable, Sendable {
    public var id: String
    public var object: String
    public var created: Int
    public var model: String
    public var choices: [CompletionChoice]
    public var usage: Usage?
    public var strata: StrataResponseInfo
}

public struct ChatChoice: Codable, Sendable {
    public var index: Int
    public var message: ChatMessage?
    public var delta: ChatDelta?
    public var finish_reason: String?
}

public struct ChatDelta: Codable, Sendable {
    public var role: String?
    public var content: String?
}

public struct ChatCompletionResponse: Codable, Sendable {
    public var id: String
    public var object: String
    public var created: Int
    public var model: String
    public var choices: [ChatChoice]
    public var usage: Usage?
    public var strata: StrataResponseInfo
}

/// The body of every error answer, as OpenAI shapes it.
public struct ErrorBody: Codable, Sendable {
    public struct Detail: Codable, Sendable {
        public var message: String
        public var type: String
    }
    public var error: Detail
}
