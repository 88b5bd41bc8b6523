/// Turns ids into text one at a time, as they are generated, without ever emitting part of a
/// multi-byte UTF-8 character: bytes that may still become a character wait for the next id.
///
/// The concatenation of everything `append` and `finish` return equals
/// ``Tokenizer/decode(_:skipSpecial:)`` of the same ids (unless `continuingText` is set).
public struct StreamingDetokenizer: Sendable {
    private let tokenizer: Tokenizer
    private let skipSpecial: Bool
    private var state = PieceTable.DecodeState()
    private var buffer = UTF8StreamBuffer()

    /// Creates a detokenizer.
    /// - Parameters:
    ///   - tokenizer: The tokenizer whose ids will be appended.
    ///   - skipSpecial: Leave out control, unknown and unused tokens.
    ///   - continuingText: The ids continue text shown before (a generated reply after its
    ///     prompt), so a SentencePiece space prefix on the first piece is real and kept. When
    ///     false the ids start a text, as in `decode`, and that prefix space is dropped.
    public init(tokenizer: Tokenizer, skipSpecial: Bool = false, continuingText: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecial = skipSpecial
        state.atRunStart = !continuingText
    }

    /// Adds one id.
    /// - Parameter id: The next token id.
    /// - Returns: The text that is complete so far and not returned before (often empty while a
    ///   character is split across tokens).
    /// - Throws: ``TokenizerError/tokenIDOutOfRange(_:)``; the detokenizer is unchanged then.
    public mutating func append(_ id: Int) throws(TokenizerError) -> String {
        var bytes: [UInt8] = []
        try tokenizer.pieces.appendDecoded(id, skipSpecial: skipSpecial, state: &state, to: &bytes)
        return buffer.append(bytes)
    }

    /// Flushes what is left; bytes that never became a character come out as U+FFFD.
    /// - Returns: The remaining text.
    public mutating func finish() -> String {
        buffer.finish()
    }
}
