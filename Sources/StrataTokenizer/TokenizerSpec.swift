/// What a model file says about its tokenizer: the `tokenizer.ggml.*` keys of a GGUF file, or
/// the contents of a Hugging Face `tokenizer.json` plus `tokenizer_config.json`.
///
/// A spec is plain data; ``Tokenizer/init(spec:)`` validates it and builds the lookup tables.
public struct TokenizerSpec: Sendable, Equatable {
    /// The tokenization algorithm, spelled as GGUF's `tokenizer.ggml.model` spells it.
    public enum Model: String, Sendable {
        /// Byte-level BPE with ranked merges (GPT-2, LLaMA 3, SmolLM, Qwen).
        case bytePair = "gpt2"
        /// SentencePiece-style BPE driven by piece scores, with `<0xXX>` byte fallback (LLaMA 1/2).
        case sentencePiece = "llama"
    }

    /// GGUF `tokenizer.ggml.token_type` values.
    public enum TokenType: Int32, Sendable {
        /// Ordinary text.
        case normal = 1
        /// The unknown-text token (`<unk>`).
        case unknown = 2
        /// Control tokens (`<s>`, `<|im_start|>`): matched in text only with special parsing.
        case control = 3
        /// Added tokens that are always matched in text and always shown.
        case userDefined = 4
        /// Reserved slots.
        case unused = 5
        /// SentencePiece `<0xXX>` byte tokens.
        case byte = 6
    }

    /// The tokenization algorithm.
    public var model: Model
    /// GGUF `tokenizer.ggml.pre`: "default", "gpt2", "smollm", "llama3", "llama-bpe", "qwen2", …
    public var preTokenizer: String
    /// Token texts, indexed by id. Byte-level BPE texts use the GPT-2 byte alphabet; SentencePiece
    /// texts use U+2581 for spaces.
    public var tokens: [String]
    /// SentencePiece piece scores (higher merges first), indexed by id.
    public var scores: [Float]?
    /// ``TokenType`` raw values indexed by id; nil means every token is normal.
    public var tokenTypes: [Int32]?
    /// Byte-level BPE merges, highest priority first, each "left right".
    public var merges: [String]
    /// Beginning-of-sequence id.
    public var bosID: Int?
    /// End-of-sequence id.
    public var eosID: Int?
    /// The id SentencePiece falls back to when neither a piece nor a byte token covers a byte.
    public var unknownID: Int?
    /// Padding id.
    public var paddingID: Int?
    /// Whether encoding with `addSpecial` prepends BOS.
    public var addBOS: Bool
    /// Whether encoding with `addSpecial` appends EOS.
    public var addEOS: Bool
    /// SentencePiece only: prefix each run of text with a space before encoding.
    public var addSpacePrefix: Bool
    /// Ids that end generation (EOS, end-of-turn markers and the like).
    public var endOfGenerationIDs: Set<Int>
    /// The Jinja chat template text, if the model carries one.
    public var chatTemplate: String?

    /// Creates a spec.
    /// - Parameters:
    ///   - model: The tokenization algorithm.
    ///   - preTokenizer: The GGUF pre-tokenizer name (byte-level BPE only).
    ///   - tokens: Token texts by id.
    ///   - scores: SentencePiece scores by id.
    ///   - tokenTypes: GGUF token types by id; nil means all normal.
    ///   - merges: Byte-level BPE merges "left right", highest priority first.
    ///   - bosID: Beginning-of-sequence id.
    ///   - eosID: End-of-sequence id.
    ///   - unknownID: Id used for text that no token covers.
    ///   - paddingID: Padding id.
    ///   - addBOS: Whether ``Tokenizer/encode(_:addSpecial:parseSpecial:)`` prepends BOS.
    ///   - addEOS: Whether it appends EOS.
    ///   - addSpacePrefix: SentencePiece only: prefix text with a space.
    ///   - endOfGenerationIDs: Ids that end generation; nil infers them with
    ///     ``inferredEndOfGenerationIDs(tokens:eosID:)``.
    ///   - chatTemplate: The Jinja chat template text.
    public init(
        model: Model,
        preTokenizer: String = "default",
        tokens: [String],
        scores: [Float]? = nil,
        tokenTypes: [Int32]? = nil,
        merges: [String] = [],
        bosID: Int? = nil,
        eosID: Int? = nil,
        unknownID: Int? = nil,
        paddingID: Int? = nil,
        addBOS: Bool = false,
        addEOS: Bool = false,
        addSpacePrefix: Bool = false,
        endOfGenerationIDs: Set<Int>? = nil,
        chatTemplate: String? = nil
    ) {
        self.model = model
        self.preTokenizer = preTokenizer
        self.tokens = tokens
        self.scores = scores
        self.tokenTypes = tokenTypes
        self.merges = merges
        self.bosID = bosID
        self.eosID = eosID
        self.unknownID = unknownID
        self.paddingID = paddingID
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix
        self.endOfGenerationIDs =
            endOfGenerationIDs ?? Self.inferredEndOfGenerationIDs(tokens: tokens, eosID: eosID)
        self.chatTemplate = chatTemplate
    }

    /// Token texts that end a turn or a document in common chat models. GGUF files do not list
    /// end-of-generation ids, so they are recognised by text, as llama.cpp does.
    public static let endOfGenerationTexts: Set<String> = [
        "<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|end|>",
        "<end_of_turn>", "<EOT>", "_<EOT>", "<|fim_pad|>", "<|file_sep|>", "<|fim_repo|>",
        "<|repo_name|>", "<reponame>",
    ]

    /// The end-of-generation set for a vocabulary: the EOS id plus every token whose text is in
    /// ``endOfGenerationTexts``.
    /// - Parameters:
    ///   - tokens: Token texts by id.
    ///   - eosID: The EOS id, if any.
    /// - Returns: The ids that end generation.
    public static func inferredEndOfGenerationIDs(tokens: [String], eosID: Int?) -> Set<Int> {
        var ids = Set<Int>()
        if let eosID { ids.insert(eosID) }
        for (id, text) in tokens.enumerated() where endOfGenerationTexts.contains(text) {
            ids.insert(id)
        }
        return ids
    }

    /// The type of token `id`, or `.normal` when the spec has no types or the value is unknown.
    func tokenType(_ id: Int) -> TokenType {
        guard let tokenTypes, id >= 0, id < tokenTypes.count else { return .normal }
        return TokenType(rawValue: tokenTypes[id]) ?? .normal
    }
}
