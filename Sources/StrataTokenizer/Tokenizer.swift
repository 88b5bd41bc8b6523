/// Turns text into token ids and back, for byte-level BPE and SentencePiece vocabularies.
///
/// Immutable after construction, so one instance can serve any number of threads.
public final class Tokenizer: Sendable {
    enum Engine: Sendable {
        case bytePair(BytePairModel, PreTokenizer)
        case sentencePiece(SentencePieceModel)
    }

    /// The spec this tokenizer was built from.
    public let spec: TokenizerSpec
    let engine: Engine
    let specials: SpecialTokenMatcher
    let pieces: PieceTable

    /// The number of token ids, `spec.tokens.count`.
    public var vocabularySize: Int { spec.tokens.count }

    /// Validates a spec and builds the lookup tables.
    /// - Parameter spec: The tokenizer description.
    /// - Throws: ``TokenizerError/invalidVocabulary(_:)`` for inconsistent counts or special ids,
    ///   ``TokenizerError/unsupportedPreTokenizer(_:)`` for an unknown pre-tokenizer name, and
    ///   ``TokenizerError/badMerge(index:_:)`` for a malformed merge.
    public init(spec: TokenizerSpec) throws(TokenizerError) {
        try Self.validate(spec)
        self.spec = spec
        let types = { (id: Int) in spec.tokenType(id) }
        specials = SpecialTokenMatcher(tokens: spec.tokens, types: types)
        pieces = PieceTable(spec: spec)
        switch spec.model {
        case .bytePair:
            let preTokenizer = try PreTokenizer(name: spec.preTokenizer)
            var wholePieces: ByteStringTable?
            if preTokenizer.usesWholePieceLookup {
                var table = ByteStringTable(minimumCapacity: spec.tokens.count)
                for id in spec.tokens.indices where types(id) == .normal {
                    table.insert(pieces.bytes(of: id), id: Int32(id))
                }
                wholePieces = table
            }
            let model = try BytePairModel(tokens: spec.tokens, merges: spec.merges, wholePieces: wholePieces)
            engine = .bytePair(model, preTokenizer)
        case .sentencePiece:
            let scores = spec.scores ?? [Float](repeating: 0, count: spec.tokens.count)
            let model = SentencePieceModel(
                tokens: spec.tokens, scores: scores, tokenTypes: spec.tokenTypes,
                unknownID: spec.unknownID)
            engine = .sentencePiece(model)
        }
    }

    private static func validate(_ spec: TokenizerSpec) throws(TokenizerError) {
        let count = spec.tokens.count
        guard count > 0 else { throw .invalidVocabulary("no tokens") }
        guard count < Int(Int32.max) else { throw .invalidVocabulary("\(count) tokens exceed Int32 ids") }
        if let scores = spec.scores, scores.count != count {
            throw .invalidVocabulary("\(scores.count) scores for \(count) tokens")
        }
        if let types = spec.tokenTypes, types.count != count {
            throw .invalidVocabulary("\(types.count) token types for \(count) tokens")
        }
        let named: [(String, Int?)] = [
            ("BOS", spec.bosID), ("EOS", spec.eosID), ("unknown", spec.unknownID), ("padding", spec.paddingID),
        ]
        for (name, id) in named {
            if let id, !(0..<count).contains(id) {
                throw .invalidVocabulary("\(name) id \(id) outside 0..<\(count)")
            }
        }
        for id in spec.endOfGenerationIDs where !(0..<count).contains(id) {
            throw .invalidVocabulary("end-of-generation id \(id) outside 0..<\(count)")
        }
        if spec.addBOS, spec.bosID == nil { throw .invalidVocabulary("addBOS is set but there is no BOS id") }
        if spec.addEOS, spec.eosID == nil { throw .invalidVocabulary("addEOS is set but there is no EOS id") }
    }

    // MARK: - Encoding

    /// Encodes text to token ids.
    /// - Parameters:
    ///   - text: The text.
    ///   - addSpecial: Add BOS and EOS where the spec asks for them.
    ///   - parseSpecial: Map the text of control tokens (such as "<|im_start|>") to their ids
    ///     instead of encoding it as ordinary text. User-defined tokens are always matched.
    /// - Returns: The ids. A byte that a byte-level vocabulary has no token for is left out, as
    ///   llama.cpp does; SentencePiece falls back to `<0xXX>` tokens, then to the unknown id.
    public func encode(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = true) -> [Int] {
        var output: [Int] = []
        output.reserveCapacity(text.utf8.count / 3 + 2)
        if addSpecial, spec.addBOS, let bos = spec.bosID { output.append(bos) }
        var text = text
        text.withUTF8 { bytes in
            let fragments = specials.partition(bytes, parseSpecial: parseSpecial)
            switch engine {
            case .bytePair(let model, let preTokenizer):
                encodeBytePair(bytes, fragments, model, preTokenizer, into: &output)
            case .sentencePiece(let model):
                encodeSentencePiece(bytes, fragments, model, into: &output)
            }
        }
        if addSpecial, spec.addEOS, let eos = spec.eosID { output.append(eos) }
        return output
    }

    private func encodeBytePair(
        _ bytes: UnsafeBufferPointer<UInt8>, _ fragments: [SpecialTokenMatcher.Fragment],
        _ model: BytePairModel, _ preTokenizer: PreTokenizer, into output: inout [Int]
    ) {
        var scalars = ScalarBuffer()
        var ends: [Int] = []
        var scratch = BytePairScratch()
        for fragment in fragments {
            switch fragment {
            case .token(let id):
                output.append(id)
            case .text(let range):
                scalars.load(bytes, range)
                ends.removeAll(keepingCapacity: true)
                preTokenizer.split(scalars, 0..<scalars.count, into: &ends)
                var first = 0
                for end in ends {
                    let piece = scalars.offsets[first]..<scalars.offsets[end]
                    model.encode(UnsafeBufferPointer(rebasing: bytes[piece]), scratch: &scratch, into: &output)
                    first = end
                }
            }
        }
    }

    /// As llama.cpp does, every run of text that starts the input or follows a special token gets
    /// the space prefix, matching Hugging Face's per-segment normalisation.
    private func encodeSentencePiece(
        _ bytes: UnsafeBufferPointer<UInt8>, _ fragments: [SpecialTokenMatcher.Fragment],
        _ model: SentencePieceModel, into output: inout [Int]
    ) {
        var afterSpecial = true
        for fragment in fragments {
            switch fragment {
            case .token(let id):
                output.append(id)
                afterSpecial = true
            case .text(let range):
                let prefix = spec.addSpacePrefix && afterSpecial
                let escaped = SentencePieceModel.escape(UnsafeBufferPointer(rebasing: bytes[range]), prefixSpace: prefix)
                model.encode(escaped, into: &output)
                afterSpecial = false
            }
        }
    }

    // MARK: - Decoding

    /// Decodes token ids to text. Byte sequences that are not valid UTF-8 (a character cut off at
    /// the end, say) become U+FFFD.
    ///
    /// For SentencePiece with a space prefix, the space that encoding adds before the first run of
    /// text, and before each run that follows a special token, is dropped again, so that
    /// `decode(encode(s, addSpecial: false))` is `s`. (llama.cpp drops it only at the very start.)
    /// - Parameters:
    ///   - ids: The ids.
    ///   - skipSpecial: Leave out control, unknown and unused tokens.
    /// - Returns: The text.
    /// - Throws: ``TokenizerError/tokenIDOutOfRange(_:)``.
    public func decode(_ ids: [Int], skipSpecial: Bool = false) throws(TokenizerError) -> String {
        var bytes: [UInt8] = []
        var state = PieceTable.DecodeState()
        for id in ids {
            try pieces.appendDecoded(id, skipSpecial: skipSpecial, state: &state, to: &bytes)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The raw bytes token `id` stands for: the decoded bytes of an ordinary token (spaces for
    /// U+2581 in SentencePiece vocabularies, one byte for `<0xXX>`), the text of any other.
    /// - Parameter id: The token id.
    /// - Returns: The bytes, which need not be valid UTF-8 on their own.
    /// - Throws: ``TokenizerError/tokenIDOutOfRange(_:)``.
    public func tokenBytes(_ id: Int) throws(TokenizerError) -> [UInt8] {
        guard id >= 0, id < vocabularySize else { throw .tokenIDOutOfRange(id) }
        return pieces.bytes(of: id)
    }

    /// Whether generating `id` ends a turn (EOS, `<|im_end|>`, `<|eot_id|>`, …).
    /// - Parameter id: The token id.
    /// - Returns: True for ids in `spec.endOfGenerationIDs`.
    public func isEndOfGeneration(_ id: Int) -> Bool {
        spec.endOfGenerationIDs.contains(id)
    }
}
