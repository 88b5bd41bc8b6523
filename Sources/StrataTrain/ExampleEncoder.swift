import StrataTokenizer

/// Turns instruction records into training examples with the model's own chat template and
/// tokenizer: the prompt (any system turn, the user turn, the assistant header) is context, and
/// the response through the end-of-turn token is what the loss trains.
///
/// The prompt is tokenized exactly as `strata generate --chat` tokenizes a prompt, and the
/// response separately, so training sees the token boundary inference will see.
public struct ExampleEncoder: Sendable {
    /// The model's tokenizer.
    public let tokenizer: Tokenizer
    /// The chat format detected from the tokenizer's template.
    public let template: ChatTemplate
    /// Examples are cut to this many tokens (prompt included).
    public let sequenceLength: Int
    /// A system turn to put first, if any (ChatML templates may add their own default).
    public let systemPrompt: String?

    /// - Throws: ``TrainError/chatTemplate(_:)`` when the model has no template Strata renders,
    ///   ``TrainError/invalidConfig(_:)`` for a sequence length below 2.
    public init(tokenizer: Tokenizer, sequenceLength: Int, systemPrompt: String? = nil) throws(TrainError) {
        guard sequenceLength >= 2 else { throw .invalidConfig("sequence length \(sequenceLength) is below 2") }
        do {
            template = try ChatTemplate.detect(tokenizer.spec.chatTemplate)
        } catch {
            throw .chatTemplate("\(error)")
        }
        self.tokenizer = tokenizer
        self.sequenceLength = sequenceLength
        self.systemPrompt = systemPrompt
    }

    /// One example, or nil when no response token fits within the sequence length.
    /// - Throws: ``TrainError/chatTemplate(_:)`` if the rendered conversation does not start with
    ///   the rendered prompt (a template this encoder cannot split).
    public func encode(_ record: InstructionRecord) throws(TrainError) -> TrainingExample? {
        var messages: [ChatMessage] = []
        if let systemPrompt { messages.append(ChatMessage(role: "system", content: systemPrompt)) }
        messages.append(ChatMessage(role: "user", content: record.userContent))
        let spec = tokenizer.spec
        let bos = spec.bosID.flatMap { spec.tokens.indices.contains($0) ? spec.tokens[$0] : nil }
        let eos = spec.eosID.flatMap { spec.tokens.indices.contains($0) ? spec.tokens[$0] : nil } ?? "</s>"
        let prompt = template.render(messages, addGenerationPrompt: true, bosToken: bos, eosToken: eos)
        messages.append(ChatMessage(role: "assistant", content: record.output))
        let full = template.render(messages, addGenerationPrompt: false, bosToken: bos, eosToken: eos)
        guard full.hasPrefix(prompt) else {
            throw .chatTemplate("the conversation with its answer does not begin with the prompt alone")
        }
        let promptTokens = tokenizer.encode(prompt, addSpecial: false, parseSpecial: true)
        var response = tokenizer.encode(String(full.dropFirst(prompt.count)), addSpecial: false, parseSpecial: true)
        // Train through the end-of-turn token; what the template writes after it is not part of the answer.
        if let end = response.firstIndex(where: { tokenizer.isEndOfGeneration($0) }) {
            response.removeSubrange((end + 1)...)
        }
        var tokens = (promptTokens + response).map { Int32(truncatingIfNeeded: $0) }
        var mask = [Bool](repeating: false, count: promptTokens.count) + [Bool](repeating: true, count: response.count)
        if tokens.count > sequenceLength {
            tokens.removeSubrange(sequenceLength...)
            mask.removeSubrange(sequenceLength...)
        }
        let example = TrainingExample(tokens: tokens, targetMask: mask)
        return example.targetCount > 0 ? example : nil
    }

    /// Every record that keeps at least one response token, in order.
    /// - Parameter progress: called with (records done, total) every 1000 records.
    /// - Returns: the examples and how many records were skipped.
    public func encode(
        _ records: [InstructionRecord], progress: ((Int, Int) -> Void)? = nil
    ) throws(TrainError) -> (examples: [TrainingExample], skipped: Int) {
        var examples: [TrainingExample] = []
        examples.reserveCapacity(records.count)
        var skipped = 0
        for (i, record) in records.enumerated() {
            if let example = try encode(record) { examples.append(example) } else { skipped += 1 }
            if (i + 1) % 1000 == 0 { progress?(i + 1, records.count) }
        }
        progress?(records.count, records.count)
        return (examples, skipped)
    }
}
