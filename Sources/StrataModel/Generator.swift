import Foundation
import StrataTokenizer

/// Options for one generation.
public struct GenerationOptions: Sendable {
    public var maxTokens: Int = 128
    /// Exit layer (1-based); nil is the full model.
    public var exit: Int?
    public var sampling = SamplingOptions()
    /// Prompt positions processed per forward call (bounds activation memory).
    public var prefillChunk = 512
    /// Stop at the tokenizer's end-of-generation tokens.
    public var stopAtEndOfGeneration = true

    public init(maxTokens: Int = 128, exit: Int? = nil, sampling: SamplingOptions = SamplingOptions()) {
        self.maxTokens = maxTokens
        self.exit = exit
        self.sampling = sampling
    }
}

/// What a generation produced and how fast.
public struct GenerationResult: Sendable {
    public var tokens: [Int]
    public var text: String
    public var promptTokens: Int
    public var exit: Int
    /// The model's full depth, for reporting exit k of L.
    public var layerCount: Int
    public var prefillSeconds: Double
    public var decodeSeconds: Double
    public var finishReason: FinishReason
    /// The exit each step used, when it varied (step 0 is the prompt).
    public var depths: [Int] = []

    public init(
        tokens: [Int], text: String, promptTokens: Int, exit: Int, layerCount: Int, prefillSeconds: Double,
        decodeSeconds: Double, finishReason: FinishReason
    ) {
        self.tokens = tokens
        self.text = text
        self.promptTokens = promptTokens
        self.exit = exit
        self.layerCount = layerCount
        self.prefillSeconds = prefillSeconds
        self.decodeSeconds = decodeSeconds
        self.finishReason = finishReason
    }

    public enum FinishReason: String, Sendable { case length, endOfGeneration = "stop", cancelled }

    public var prefillTokensPerSecond: Double { prefillSeconds > 0 ? Double(promptTokens) / prefillSeconds : 0 }
    /// Decode rate over the tokens after the first (the first comes from the prefill's logits).
    public var decodeTokensPerSecond: Double {
        decodeSeconds > 0 && tokens.count > 1 ? Double(tokens.count - 1) / decodeSeconds : 0
    }
}

/// Runs prompt processing and token-by-token decoding for one sequence on a `LlamaModel`.
public final class Generator {
    public let model: LlamaModel
    private let workspace: Workspace

    public init(model: LlamaModel) {
        self.model = model
        workspace = Workspace(config: model.config)
    }

    /// Generates a continuation of `prompt` (token ids).
    /// - Parameter onText: receives each piece of completed text as it is decoded; return false
    ///   to stop early.
    public func generate(
        prompt: [Int], options: GenerationOptions, contextLimit: Int? = nil, onText: (String) -> Bool = { _ in true }
    ) throws -> GenerationResult {
        let config = model.config
        let exit = options.exit ?? config.layerCount
        try config.checkExit(exit)
        let limit = min(contextLimit ?? config.contextLength, config.contextLength)
        var loop = try DecodeLoop(prompt: prompt, options: options, tokenizer: model.model.tokenizer, limit: limit)
        let sequence = SequenceState(model: model, limit: limit)

        let prefillStart = DispatchTime.now()
        var logits: [Float] = []
        var offset = 0
        while offset < prompt.count {
            let chunk = Array(prompt[offset..<min(offset + options.prefillChunk, prompt.count)])
            logits = try sequence.step(chunk, depth: exit, model: model, workspace: workspace)
            offset += chunk.count
        }
        let prefillSeconds = seconds(since: prefillStart)

        let decodeStart = DispatchTime.now()
        while let next = try loop.next(logits, onText: onText) {
            logits = try sequence.step([next], depth: exit, model: model, workspace: workspace)
        }
        return loop.finish(
            onText: onText, exit: exit, layerCount: config.layerCount, prefillSeconds: prefillSeconds,
            decodeSeconds: seconds(since: decodeStart))
    }
}

public func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

extension Duration {
    /// The duration in seconds.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
