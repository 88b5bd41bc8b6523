import Foundation

extension Tokenizer {
    /// Builds a tokenizer from Hugging Face files.
    ///
    /// Supported: model `BPE` with the byte-level pre-tokenizers GPT-2, SmolLM/StarCoder
    /// (`Digits` + `ByteLevel`), LLaMA 3 and Qwen 2 (`Split` with their regex + `ByteLevel`), and
    /// SentencePiece-style BPE (`byte_fallback` with `Metaspace` or the `Prepend`/`Replace`
    /// normalizers of LLaMA 2).
    /// - Parameters:
    ///   - tokenizerJSON: The contents of `tokenizer.json`.
    ///   - tokenizerConfigJSON: The contents of `tokenizer_config.json`, for the chat template,
    ///     `add_bos_token`/`add_eos_token` and the BOS/EOS/unknown/padding token texts.
    /// - Returns: The tokenizer.
    /// - Throws: ``TokenizerError/invalidJSON(_:)`` for unreadable documents, and the errors of
    ///   ``init(spec:)`` and ``TokenizerSpec/init(tokenizerJSON:config:)``.
    public static func fromTokenizerJSON(_ tokenizerJSON: Data, config tokenizerConfigJSON: Data?) throws(TokenizerError) -> Tokenizer {
        try Tokenizer(spec: TokenizerSpec(tokenizerJSON: tokenizerJSON, config: tokenizerConfigJSON))
    }
}

extension TokenizerSpec {
    /// The LLaMA 3 split regex as `tokenizer.json` spells it.
    static let llama3Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// The Qwen 2 split regex.
    static let qwen2Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// The GPT-2 split regex (what `ByteLevel` with `use_regex` applies).
    static let gpt2Regex = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

    /// Reads a spec from Hugging Face files; see ``Tokenizer/fromTokenizerJSON(_:config:)``.
    /// - Parameters:
    ///   - tokenizerJSON: The contents of `tokenizer.json`.
    ///   - config: The contents of `tokenizer_config.json`, if available.
    /// - Throws: ``TokenizerError/invalidJSON(_:)``, ``TokenizerError/unsupportedModel(_:)``,
    ///   ``TokenizerError/unsupportedPreTokenizer(_:)``, ``TokenizerError/invalidVocabulary(_:)``
    ///   or ``TokenizerError/badMerge(index:_:)``.
    public init(tokenizerJSON: Data, config: Data?) throws(TokenizerError) {
        let (file, settings) = try Self.decodeDocuments(tokenizerJSON, config)
        guard file.model.type == nil || file.model.type == "BPE" else {
            throw .unsupportedModel("tokenizer.json model type \(file.model.type ?? "")")
        }
        guard let vocab = file.model.vocab else { throw .invalidJSON("tokenizer.json: model has no vocab") }
        let (tokens, denseTypes) = try Self.denseVocabulary(vocab, file.addedTokens ?? [])
        var types = denseTypes
        var textToID: [String: Int] = [:]
        for (id, text) in tokens.enumerated() where textToID[text] == nil { textToID[text] = id }
        let merges = try Self.mergeStrings(file.model.merges ?? [])

        let model: Model
        var preTokenizer = "default"
        var scores: [Float]?
        var addSpacePrefix = false
        if let prefix = Self.sentencePieceSpacePrefix(file) {
            model = .sentencePiece
            addSpacePrefix = prefix
            scores = Self.scoresFromMerges(merges, tokens: tokens, textToID: textToID)
            if file.model.byteFallback == true { Self.markByteTokens(tokens, &types) }
        } else {
            model = .bytePair
            preTokenizer = try Self.preTokenizerName(file.preTokenizer)
            try Self.checkByteLevelNormalizer(file.normalizer)
        }

        let idOf = { (text: String?) in text.flatMap { textToID[$0] } }
        let unknownID = idOf(file.model.unknownToken) ?? idOf(settings?.unknownToken)
        // An unknown token listed as a special added token stays a control token, as in GGUF
        // conversions (SmolLM2's unknown token is `<|endoftext|>`).
        if let unknownID, types[unknownID] == TokenType.normal.rawValue { types[unknownID] = TokenType.unknown.rawValue }
        let bosID = idOf(settings?.bosToken)
        let eosID = idOf(settings?.eosToken)
        let addBOS = settings?.addBOSToken ?? Self.postProcessorAddsBOS(file.postProcessor, bos: settings?.bosToken)
        self.init(
            model: model, preTokenizer: preTokenizer, tokens: tokens, scores: scores, tokenTypes: types,
            merges: model == .bytePair ? merges : [], bosID: bosID, eosID: eosID, unknownID: unknownID,
            paddingID: idOf(settings?.paddingToken), addBOS: addBOS && bosID != nil,
            addEOS: (settings?.addEOSToken ?? false) && eosID != nil, addSpacePrefix: addSpacePrefix,
            chatTemplate: settings?.chatTemplate)
    }

    private static func decodeDocuments(
        _ tokenizerJSON: Data, _ config: Data?
    ) throws(TokenizerError) -> (TokenizerJSON, TokenizerConfigJSON?) {
        do {
            let file = try JSONDecoder().decode(TokenizerJSON.self, from: tokenizerJSON)
            do {
                return (file, try config.map { try JSONDecoder().decode(TokenizerConfigJSON.self, from: $0) })
            } catch {
                throw TokenizerError.invalidJSON("tokenizer_config.json: \(error)")
            }
        } catch let error as TokenizerError {
            throw error
        } catch {
            throw .invalidJSON("tokenizer.json: \(error)")
        }
    }

    /// With byte fallback, ordinary `<0xXX>` pieces are byte tokens.
    private static func markByteTokens(_ tokens: [String], _ types: inout [Int32]) {
        for (id, text) in tokens.enumerated()
        where types[id] == TokenType.normal.rawValue && SentencePieceModel.byteValue(ofPiece: text) != nil {
            types[id] = TokenType.byte.rawValue
        }
    }

    /// Tokens by id from `vocab` plus `added_tokens`, with GGUF token types (special added tokens
    /// are control tokens, the others user-defined). Ids missing from both become unused
    /// placeholders.
    private static func denseVocabulary(
        _ vocab: [String: Int], _ added: [TokenizerJSON.AddedToken]
    ) throws(TokenizerError) -> ([String], [Int32]) {
        let maxID = max(vocab.values.max() ?? -1, added.map(\.id).max() ?? -1)
        let limit = 2 * (vocab.count + added.count) + 1024
        guard maxID < limit else {
            throw .invalidVocabulary("id \(maxID) is far beyond the \(vocab.count + added.count) tokens listed")
        }
        var tokens = [String?](repeating: nil, count: maxID + 1)
        var types = [Int32](repeating: TokenType.normal.rawValue, count: maxID + 1)
        for (text, id) in vocab {
            guard id >= 0 else { throw .invalidVocabulary("negative id \(id) for \"\(text)\"") }
            if let other = tokens[id], other != text {
                throw .invalidVocabulary("id \(id) is both \"\(other)\" and \"\(text)\"")
            }
            tokens[id] = text
        }
        for token in added {
            guard token.id >= 0 else { throw .invalidVocabulary("negative added-token id \(token.id)") }
            if let other = tokens[token.id], other != token.content {
                throw .invalidVocabulary("added token \(token.id) \"\(token.content)\" replaces \"\(other)\"")
            }
            tokens[token.id] = token.content
            types[token.id] = token.special == false ? TokenType.userDefined.rawValue : TokenType.control.rawValue
        }
        var dense: [String] = []
        dense.reserveCapacity(tokens.count)
        for (id, text) in tokens.enumerated() {
            if let text {
                dense.append(text)
            } else {
                dense.append("<unused_id_\(id)>")
                types[id] = TokenType.unused.rawValue
            }
        }
        return (dense, types)
    }

    private static func mergeStrings(_ merges: [TokenizerJSON.Merge]) throws(TokenizerError) -> [String] {
        var out: [String] = []
        out.reserveCapacity(merges.count)
        for (index, merge) in merges.enumerated() {
            switch merge {
            case .joined(let text):
                out.append(text)
            case .pair(let left, let right):
                guard !left.contains(" "), !right.contains(" ") else {
                    throw .badMerge(index: index, "[\"\(left)\", \"\(right)\"] has a space inside a token")
                }
                out.append(left + " " + right)
            }
        }
        return out
    }

    /// For a SentencePiece-style file, whether text gets a space prefix; nil for byte-level BPE.
    private static func sentencePieceSpacePrefix(_ file: TokenizerJSON) -> Bool? {
        let pre = flatten(file.preTokenizer, \.pretokenizers)
        if let metaspace = pre.first(where: { $0.type == "Metaspace" }) {
            if let scheme = metaspace.prependScheme { return scheme != "never" }
            return metaspace.addPrefixSpace ?? true
        }
        let normalizers = flatten(file.normalizer, \.normalizers)
        let replacesSpaces = normalizers.contains {
            $0.type == "Replace" && $0.pattern?.string == " " && $0.content == "\u{2581}"
        }
        if replacesSpaces || (file.model.byteFallback == true && !pre.contains { $0.type == "ByteLevel" }) {
            return normalizers.contains { $0.type == "Prepend" && $0.prepend == "\u{2581}" }
        }
        return nil
    }

    private static func flatten(
        _ component: TokenizerJSON.Component?, _ children: KeyPath<TokenizerJSON.Component, [TokenizerJSON.Component]?>
    ) -> [TokenizerJSON.Component] {
        guard let component else { return [] }
        if component.type == "Sequence", let list = component[keyPath: children] {
            return list.flatMap { flatten($0, children) }
        }
        return [component]
    }

    /// Maps a byte-level pre-tokenizer description to a GGUF pre-tokenizer name.
    static func preTokenizerName(_ component: TokenizerJSON.Component?) throws(TokenizerError) -> String {
        let steps = flatten(component, \.pretokenizers)
        let description = steps.map { step in
            [step.type ?? "?", step.pattern?.regex ?? step.pattern?.string].compactMap { $0 }.joined(separator: " ")
        }.joined(separator: ", ")
        func isByteLevel(_ step: TokenizerJSON.Component, regex: Bool) -> Bool {
            step.type == "ByteLevel" && (step.useRegex ?? true) == regex && step.addPrefixSpace != true
        }
        if steps.count == 1, isByteLevel(steps[0], regex: true) { return "gpt2" }
        if steps.count == 2, steps[0].type == "Digits", steps[0].individualDigits == true,
            isByteLevel(steps[1], regex: true)
        {
            return "smollm"
        }
        if steps.count == 2, steps[0].type == "Split", steps[0].invert != true,
            steps[0].behavior == nil || steps[0].behavior == "Isolated",
            let regex = steps[0].pattern?.regex, isByteLevel(steps[1], regex: false)
        {
            switch regex {
            case llama3Regex: return "llama3"
            case qwen2Regex: return "qwen2"
            case gpt2Regex: return "gpt2"
            default: break
            }
        }
        throw .unsupportedPreTokenizer(description.isEmpty ? "none" : description)
    }

    /// Byte-level vocabularies take text as is. NFC (Qwen 2) is accepted and not applied, as in
    /// llama.cpp; any other normalizer would change the text and is refused.
    private static func checkByteLevelNormalizer(_ normalizer: TokenizerJSON.Component?) throws(TokenizerError) {
        for step in flatten(normalizer, \.normalizers) where step.type != "NFC" {
            throw .unsupportedModel("normalizer \(step.type ?? "?") with a byte-level vocabulary")
        }
    }

    /// Scores that make SentencePiece's highest-score-first order follow the merge order: the
    /// token made by merge i scores −i, and tokens no merge makes score far below every merge.
    private static func scoresFromMerges(_ merges: [String], tokens: [String], textToID: [String: Int]) -> [Float] {
        var scores = [Float](repeating: -1e9, count: tokens.count)
        var assigned = [Bool](repeating: false, count: tokens.count)
        for (rank, merge) in merges.enumerated() {
            let joined = merge.replacingOccurrences(of: " ", with: "")
            if let id = textToID[joined], !assigned[id] {
                scores[id] = -Float(rank)
                assigned[id] = true
            }
        }
        return scores
    }

    /// Whether a `TemplateProcessing` post-processor puts the BOS token first.
    private static func postProcessorAddsBOS(_ processor: TokenizerJSON.Component?, bos: String?) -> Bool {
        guard let bos else { return false }
        for step in flatten(processor, \.processors) where step.type == "TemplateProcessing" {
            if step.single?.first?.specialToken?.id == bos { return true }
        }
        return false
    }
}
