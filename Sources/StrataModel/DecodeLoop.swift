import Foundation
import StrataTokenizer

/// The per-token half of generation that every engine shares: choose the next token, stop at
/// end of generation, at `maxTokens` or at the context limit, turn tokens into text without
/// splitting a character, and hand the text on. The engine supplies the logits.
public struct DecodeLoop {
    public let options: GenerationOptions
    public let promptTokens: Int
    private let tokenizer: Tokenizer
    private let limit: Int
    private var sampler: Sampler
    private var detokenizer: StreamingDetokenizer
    private var history: [Int]
    public private(set) var generated: [Int] = []
    public private(set) var text = ""
    public private(set) var finish = GenerationResult.FinishReason.length

    /// Checks the options and the prompt against `limit` (positions the sequence may use).
    public init(prompt: [Int], options: GenerationOptions, tokenizer: Tokenizer, limit: Int) throws {
        try options.sampling.validate()
        guard !prompt.isEmpty else { throw ModelError.emptyPrompt }
        guard prompt.count < limit else {
            throw ModelError.contextOverflow(needed: prompt.count + options.maxTokens, limit: limit)
        }
        self.options = options
        self.tokenizer = tokenizer
        self.limit = limit
        promptTokens = prompt.count
        sampler = Sampler(options: options.sampling)
        detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        history = prompt
    }

    /// Takes the logits after the last token and returns the token to feed next, or nil when
    /// generation has ended (its reason is in `finish`).
    public mutating func next(_ logits: [Float], onText: (String) -> Bool) throws -> Int? {
        guard generated.count < options.maxTokens else { return nil }
        let token = logits.withUnsafeBufferPointer { sampler.sample($0, history: history) }
        if options.stopAtEndOfGeneration && tokenizer.isEndOfGeneration(token) {
            finish = .endOfGeneration
            return nil
        }
        generated.append(token)
        history.append(token)
        let piece = try detokenizer.append(token)
        text += piece
        if !piece.isEmpty && !onText(piece) {
            finish = .cancelled
            return nil
        }
        // The last token needs no forward pass: nothing will read its logits.
        if generated.count == options.maxTokens || history.count + 1 >= limit { return nil }
        return token
    }

    /// Flushes any incomplete character and returns the result.
    public mutating func finish(
        onText: (String) -> Bool, exit: Int, layerCount: Int, prefillSeconds: Double, decodeSeconds: Double
    ) -> GenerationResult {
        let tail = detokenizer.finish()
        if !tail.isEmpty {
            text += tail
            _ = onText(tail)
        }
        return GenerationResult(
            tokens: generated, text: text, promptTokens: promptTokens, exit: exit, layerCount: layerCount,
            prefillSeconds: prefillSeconds, decodeSeconds: decodeSeconds, finishReason: finish)
    }
}
