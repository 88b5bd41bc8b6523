import Foundation

/// The chat formats this module renders natively, recognised from a model's Jinja template by
/// their markers (no Jinja interpreter).
public enum ChatTemplate: Sendable, Equatable {
    /// `<|im_start|>role\ncontent<|im_end|>\n` per message (SmolLM2, Qwen). When the template
    /// inserts a system message if the conversation has none, `defaultSystem` is its text.
    case chatML(defaultSystem: String?)
    /// LLaMA 2 chat: `<s>[INST] <<SYS>>\n…\n<</SYS>>\n\nuser [/INST] assistant </s>`.
    case llama2
    /// LLaMA 3: `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>` per message.
    case llama3

    /// Recognises a template by its markers.
    /// - Parameter template: The Jinja template text, as found in `tokenizer.chat_template`.
    /// - Returns: The matching format.
    /// - Throws: ``TokenizerError/unrecognizedChatTemplate(_:)`` when there is no template or no
    ///   known marker in it.
    public static func detect(_ template: String?) throws(TokenizerError) -> ChatTemplate {
        guard let template, !template.isEmpty else {
            throw .unrecognizedChatTemplate("the model has no chat template")
        }
        if template.contains("<|im_start|>") {
            return .chatML(defaultSystem: defaultSystemMessage(inChatML: template))
        }
        if template.contains("<|start_header_id|>") { return .llama3 }
        if template.contains("[INST]") { return .llama2 }
        let excerpt = template.count > 80 ? String(template.prefix(80)) + "…" : template
        throw .unrecognizedChatTemplate(
            "no ChatML (<|im_start|>), LLaMA 3 (<|start_header_id|>) or LLaMA 2 ([INST]) markers in \"\(excerpt)\"")
    }

    /// The text of the system message a ChatML template inserts when the conversation has none:
    /// the first fixed string literal that follows `<|im_start|>system` and a newline and runs to
    /// `<|im_end|>`, provided the template tests for the system role at all.
    static func defaultSystemMessage(inChatML template: String) -> String? {
        guard template.contains("'system'") || template.contains("\"system\"") else { return nil }
        var searchFrom = template.startIndex
        while let marker = template.range(of: "<|im_start|>system", range: searchFrom..<template.endIndex) {
            searchFrom = marker.upperBound
            var rest = template[marker.upperBound...]
            if rest.hasPrefix("\n") {
                rest = rest.dropFirst()
            } else if rest.hasPrefix("\\n") {
                rest = rest.dropFirst(2)
            } else {
                continue
            }
            guard let end = rest.range(of: "<|im_end|>") else { continue }
            let text = rest[..<end.lowerBound]
            // Template code (a tag, or a quote that closes the literal) means the text is not fixed.
            if text.isEmpty || text.contains("{{") || text.contains("{%") || text.contains("'")
                || text.contains("\"")
            {
                continue
            }
            return String(text)
        }
        return nil
    }

    /// Renders a conversation as the model's template would.
    /// - Parameters:
    ///   - messages: The conversation so far.
    ///   - addGenerationPrompt: End with the header of an assistant turn.
    ///   - bosToken: The BOS text that LLaMA 2 and 3 templates put first ("<s>",
    ///     "<|begin_of_text|>"); nil leaves it out (when the tokenizer adds BOS itself).
    /// - Returns: The prompt text, with special-token text to be parsed by `encode`.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String?) -> String {
        render(messages, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken, eosToken: "</s>")
    }

    /// Renders a conversation, naming the EOS text that closes LLaMA 2 assistant turns.
    /// - Parameters:
    ///   - messages: The conversation so far.
    ///   - addGenerationPrompt: End with the header of an assistant turn.
    ///   - bosToken: The BOS text LLaMA 2 and 3 put first; nil leaves it out.
    ///   - eosToken: The EOS text after each LLaMA 2 assistant turn.
    /// - Returns: The prompt text.
    public func render(
        _ messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String?, eosToken: String
    ) -> String {
        switch self {
        case .chatML(let defaultSystem):
            return Self.renderChatML(messages, addGenerationPrompt, defaultSystem)
        case .llama2:
            return Self.renderLlama2(messages, bosToken ?? "", eosToken)
        case .llama3:
            return Self.renderLlama3(messages, addGenerationPrompt, bosToken ?? "")
        }
    }

    private static func renderChatML(_ messages: [ChatMessage], _ addGenerationPrompt: Bool, _ defaultSystem: String?) -> String {
        var out = ""
        if let defaultSystem, let first = messages.first, first.role != "system" {
            out += "<|im_start|>system\n\(defaultSystem)<|im_end|>\n"
        }
        for message in messages {
            out += "<|im_start|>\(message.role)\n\(message.content)<|im_end|>\n"
        }
        if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        return out
    }

    // reference: the chat template of meta-llama/Llama-2-7b-chat-hf. Turns after a system message
    // alternate user/assistant; the system text is folded into the first user turn. LLaMA 2 has no
    // generation prompt: the prompt already ends with "[/INST]".
    private static func renderLlama2(_ messages: [ChatMessage], _ bos: String, _ eos: String) -> String {
        var turns = messages[...]
        var system: String?
        if let first = turns.first, first.role == "system" {
            system = first.content
            turns = turns.dropFirst()
        }
        var out = ""
        for (index, message) in turns.enumerated() {
            var content = message.content
            if index == 0, let system {
                content = "<<SYS>>\n\(system)\n<</SYS>>\n\n\(content)"
            }
            let trimmed = content.trimmingWhitespace()
            switch message.role {
            case "user": out += "\(bos)[INST] \(trimmed) [/INST]"
            case "assistant": out += " \(trimmed) \(eos)"
            default: continue
            }
        }
        return out
    }

    // reference: the chat template of meta-llama/Meta-Llama-3-8B-Instruct.
    private static func renderLlama3(_ messages: [ChatMessage], _ addGenerationPrompt: Bool, _ bos: String) -> String {
        var out = bos
        for message in messages {
            out += "<|start_header_id|>\(message.role)<|end_header_id|>\n\n\(message.content.trimmingWhitespace())<|eot_id|>"
        }
        if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        return out
    }
}
