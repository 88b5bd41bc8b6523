/// The bytes every token decodes to, stored back to back, with how each kind of token decodes.
struct PieceTable: Sendable {
    enum Kind: UInt8, Sendable {
        /// Ordinary text.
        case normal
        /// A `<0xXX>` byte token.
        case byte
        /// Control, unknown and unused tokens: shown as their text unless skipped.
        case special
        /// User-defined tokens: always shown as their text.
        case userDefined
    }

    /// Token i decodes to storage[starts[i]..<starts[i + 1]]; (total bytes,)
    private let storage: [UInt8]
    /// (vocabulary size + 1,)
    private let starts: [Int]
    /// (vocabulary size,)
    let kinds: [Kind]
    /// SentencePiece with a space prefix: drop the first space after the start or a special token.
    let dropsPrefixSpace: Bool

    init(spec: TokenizerSpec) {
        var storage: [UInt8] = []
        var starts = [0]
        var kinds: [Kind] = []
        storage.reserveCapacity(spec.tokens.count * 6)
        starts.reserveCapacity(spec.tokens.count + 1)
        kinds.reserveCapacity(spec.tokens.count)
        for (id, text) in spec.tokens.enumerated() {
            let kind: Kind
            switch spec.tokenType(id) {
            case .normal: kind = .normal
            case .byte: kind = .byte
            case .control, .unknown, .unused: kind = .special
            case .userDefined: kind = .userDefined
            }
            switch (kind, spec.model) {
            case (.normal, .bytePair):
                storage.append(contentsOf: ByteLevelAlphabet.decode(text))
            case (.normal, .sentencePiece):
                Self.appendUnescaped(text, to: &storage)
            case (.byte, _):
                if let byte = SentencePieceModel.byteValue(ofPiece: text) {
                    storage.append(byte)
                } else {
                    storage.append(contentsOf: text.utf8)
                }
            case (.special, _), (.userDefined, _):
                storage.append(contentsOf: text.utf8)
            }
            starts.append(storage.count)
            kinds.append(kind)
        }
        self.storage = storage
        self.starts = starts
        self.kinds = kinds
        dropsPrefixSpace = spec.model == .sentencePiece && spec.addSpacePrefix
    }

    /// Appends `text` with every U+2581 replaced by a space.
    private static func appendUnescaped(_ text: String, to storage: inout [UInt8]) {
        let utf8 = Array(text.utf8)
        var i = 0
        while i < utf8.count {
            if i + 2 < utf8.count, utf8[i] == 0xE2, utf8[i + 1] == 0x96, utf8[i + 2] == 0x81 {
                storage.append(0x20)
                i += 3
            } else {
                storage.append(utf8[i])
                i += 1
            }
        }
    }

    /// The decoded bytes of token `id`, which the caller has bounds-checked.
    func bytes(of id: Int) -> [UInt8] {
        Array(storage[starts[id]..<starts[id + 1]])
    }

    /// What decoding has seen so far that affects the next piece.
    struct DecodeState: Sendable {
        /// The next ordinary token starts a run of text, so its prefix space (if any) is dropped.
        var atRunStart = true
    }

    /// Appends the decoded bytes of `id` to `bytes`.
    /// - Throws: ``TokenizerError/tokenIDOutOfRange(_:)``.
    func appendDecoded(
        _ id: Int, skipSpecial: Bool, state: inout DecodeState, to bytes: inout [UInt8]
    ) throws(TokenizerError) {
        guard id >= 0, id < kinds.count else { throw .tokenIDOutOfRange(id) }
        var start = starts[id]
        let end = starts[id + 1]
        switch kinds[id] {
        case .special:
            state.atRunStart = true
            if skipSpecial { return }
        case .userDefined:
            state.atRunStart = true
        case .byte:
            state.atRunStart = false
        case .normal:
            if dropsPrefixSpace, state.atRunStart, start < end, storage[start] == 0x20 { start += 1 }
            state.atRunStart = false
        }
        bytes.append(contentsOf: storage[start..<end])
    }
}
