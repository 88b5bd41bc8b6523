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
    /// Exit layer to answer from (1…L); the full model when absent.
    public var depth: Int?
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

    var sampling: SamplingFields {
        SamplingFields(maxTokens: max_tokens, temperature: temperature, topP: top_p, seed: seed, stop: stop, stream: stream, strata: strata)
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

    var sampling: SamplingFields {
        SamplingFields(maxTokens: max_tokens, temperature: temperature, topP: top_p, seed: seed, stop: stop, stream: stream, strata: strata)
    }
}

/// What every response says about the depth it was served at.
public struct StrataResponseInfo: Codable, Sendable, Equatable {
    public var depth: Int
    public var layers: Int
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
