import Foundation
import StrataModel
import StrataTokenizer

/// Everything `strata generate` needs.
public struct GenerateConfig: Sendable {
    public var modelPath: String
    public var prompt: String
    public var chat = false
    public var system: String?
    public var options = GenerationOptions()
    public var engine = EngineOptions()
    public var contextLimit: Int?

    public init(modelPath: String, prompt: String) {
        self.modelPath = modelPath
        self.prompt = prompt
    }
}

/// The prompt's token ids: the raw text, or the model's chat template around a user message.
public func promptTokens(for tokenizer: Tokenizer, prompt: String, chat: Bool, system: String?) throws -> [Int] {
    guard chat else { return tokenizer.encode(prompt, addSpecial: true, parseSpecial: true) }
    let template = try ChatTemplate.detect(tokenizer.spec.chatTemplate)
    var messages: [ChatMessage] = []
    if let system { messages.append(ChatMessage(role: "system", content: system)) }
    messages.append(ChatMessage(role: "user", content: prompt))
    let bos = tokenizer.spec.bosID.flatMap { id in tokenizer.spec.tokens.indices.contains(id) ? tokenizer.spec.tokens[id] : nil }
    let text = template.render(messages, addGenerationPrompt: true, bosToken: bos)
    // The template writes BOS itself where the model wants one.
    return tokenizer.encode(text, addSpecial: false, parseSpecial: true)
}

/// `strata generate`: streams the continuation through `write`, returns the result with timings.
public func runGenerate(_ config: GenerateConfig, write: (String) -> Void) throws -> GenerationResult {
    let loaded = try LoadedModel.load(path: config.modelPath)
    let model = try config.engine.makeModel(loaded)
    let prompt = try promptTokens(for: loaded.tokenizer, prompt: config.prompt, chat: config.chat, system: config.system)
    let generator = Generator(model: model)
    return try generator.generate(prompt: prompt, options: config.options, contextLimit: config.contextLimit) { piece in
        write(piece)
        return true
    }
}

/// The stderr summary line for a generation.
public func generationSummary(_ r: GenerationResult) -> String {
    "exit \(r.exit)/\(r.layerCount): prompt \(r.promptTokens) tokens at "
        + String(format: "%.1f", r.prefillTokensPerSecond) + " tok/s; generated \(r.tokens.count) tokens at "
        + String(format: "%.1f", r.decodeTokensPerSecond) + " tok/s (\(r.finishReason.rawValue))"
}
