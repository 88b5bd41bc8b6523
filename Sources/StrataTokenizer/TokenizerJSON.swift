/// The parts of a Hugging Face `tokenizer.json` this module reads. Unknown fields are ignored;
/// the pre-tokenizer, normalizer and model are checked when mapped to a ``TokenizerSpec``.
struct TokenizerJSON: Decodable {
    var model: ModelSection
    var addedTokens: [AddedToken]?
    var normalizer: Component?
    var preTokenizer: Component?
    var postProcessor: Component?

    enum CodingKeys: String, CodingKey {
        case model
        case addedTokens = "added_tokens"
        case normalizer
        case preTokenizer = "pre_tokenizer"
        case postProcessor = "post_processor"
    }

    struct ModelSection: Decodable {
        var type: String?
        var vocab: [String: Int]?
        var merges: [Merge]?
        var byteFallback: Bool?
        var unknownToken: String?
        var ignoreMerges: Bool?

        enum CodingKeys: String, CodingKey {
            case type, vocab, merges
            case byteFallback = "byte_fallback"
            case unknownToken = "unk_token"
            case ignoreMerges = "ignore_merges"
        }
    }

    /// A merge, written either as "left right" or as ["left", "right"].
    enum Merge: Decodable {
        case joined(String)
        case pair(String, String)

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self = .joined(text)
                return
            }
            let parts = try container.decode([String].self)
            guard parts.count == 2 else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "a merge pair has \(parts.count) elements")
            }
            self = .pair(parts[0], parts[1])
        }
    }

    struct AddedToken: Decodable {
        var id: Int
        var content: String
        var special: Bool?
    }

    /// A `{"Regex": …}` or `{"String": …}` pattern.
    struct Pattern: Decodable {
        var regex: String?
        var string: String?

        enum CodingKeys: String, CodingKey {
            case regex = "Regex"
            case string = "String"
        }
    }

    /// A normalizer, pre-tokenizer or post-processor: a type tag plus the options of all kinds
    /// this module understands.
    struct Component: Decodable {
        var type: String?
        var pretokenizers: [Component]?
        var normalizers: [Component]?
        var processors: [Component]?
        var pattern: Pattern?
        var behavior: String?
        var invert: Bool?
        var individualDigits: Bool?
        var addPrefixSpace: Bool?
        var useRegex: Bool?
        var replacement: String?
        var prependScheme: String?
        var prepend: String?
        var content: String?
        var single: [TemplatePiece]?

        enum CodingKeys: String, CodingKey {
            case type, pretokenizers, normalizers, processors, pattern, behavior, invert
            case individualDigits = "individual_digits"
            case addPrefixSpace = "add_prefix_space"
            case useRegex = "use_regex"
            case replacement
            case prependScheme = "prepend_scheme"
            case prepend, content, single
        }
    }

    /// One item of a `TemplateProcessing` post-processor's `single` list.
    struct TemplatePiece: Decodable {
        struct SpecialToken: Decodable { var id: String }
        var specialToken: SpecialToken?

        enum CodingKeys: String, CodingKey {
            case specialToken = "SpecialToken"
        }
    }
}
