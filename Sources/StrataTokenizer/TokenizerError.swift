/// Everything that can go wrong while building a tokenizer, decoding ids or choosing a chat template.
///
/// Cases carry enough context to find the offending entry in a model file without a debugger.
public enum TokenizerError: Error, Equatable, Sendable {
    /// The tokenizer model (`tokenizer.ggml.model` or `model.type`) is not one this module implements.
    case unsupportedModel(String)
    /// The pre-tokenizer name or description is not one this module implements.
    case unsupportedPreTokenizer(String)
    /// The vocabulary or its companion arrays are inconsistent (counts, special ids, duplicates).
    case invalidVocabulary(String)
    /// Merge number `index` (zero-based, in file order) is malformed or names unknown tokens.
    case badMerge(index: Int, String)
    /// A token id outside `0..<vocabularySize` was passed in.
    case tokenIDOutOfRange(Int)
    /// A `tokenizer.json` or `tokenizer_config.json` document could not be read.
    case invalidJSON(String)
    /// No supported chat format was recognised in the template text (or there was no template).
    case unrecognizedChatTemplate(String)
}

extension TokenizerError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .unsupportedModel(let what): "unsupported tokenizer model: \(what)"
        case .unsupportedPreTokenizer(let what): "unsupported pre-tokenizer: \(what)"
        case .invalidVocabulary(let what): "invalid vocabulary: \(what)"
        case .badMerge(let index, let what): "bad merge #\(index): \(what)"
        case .tokenIDOutOfRange(let id): "token id \(id) is out of range"
        case .invalidJSON(let what): "invalid tokenizer JSON: \(what)"
        case .unrecognizedChatTemplate(let what): "unrecognized chat template: \(what)"
        }
    }
}
