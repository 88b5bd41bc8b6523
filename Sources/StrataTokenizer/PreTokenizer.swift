/// Splits text into the pieces that byte-level BPE encodes independently, by hand-written
/// matchers equivalent to the split regexes (no regex engine).
enum PreTokenizer: Sendable, Equatable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// Every `\p{N}` scalar is its own piece; each stretch between them is split with ``gpt2``.
    case digitsThenGPT2
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    case llama3
    /// As ``llama3`` with `\p{N}` in place of `\p{N}{1,3}`.
    case qwen2

    /// Maps a GGUF `tokenizer.ggml.pre` name.
    ///
    /// "default" maps to the GPT-2 pattern, which is what Hugging Face's plain `ByteLevel`
    /// pre-tokenizer does (llama.cpp instead applies a legacy multi-pattern split for that name).
    /// - Throws: ``TokenizerError/unsupportedPreTokenizer(_:)`` for any other name.
    init(name: String) throws(TokenizerError) {
        switch name {
        case "default", "gpt2", "gpt-2", "mpt", "olmo", "jais": self = .gpt2
        case "smollm", "starcoder", "refact", "codeshell": self = .digitsThenGPT2
        case "llama3", "llama-v3", "llama-bpe", "falcon3": self = .llama3
        case "qwen2", "stablelm2": self = .qwen2
        default: throw .unsupportedPreTokenizer(name)
        }
    }

    /// Whether a piece that is itself a vocabulary entry is emitted without merging (llama.cpp and
    /// Hugging Face set `ignore_merges` for the LLaMA 3 family).
    var usesWholePieceLookup: Bool { self == .llama3 }

    /// Appends the end offset (in scalars) of every piece of `text[range]` to `ends`.
    /// - Parameters:
    ///   - text: Scalars and classes of the run being split.
    ///   - range: The scalar range to split.
    ///   - ends: Receives piece ends, ascending; the last equals `range.upperBound`.
    func split(_ text: ScalarBuffer, _ range: Range<Int>, into ends: inout [Int]) {
        switch self {
        case .gpt2:
            Self.splitGPT2(text, range, into: &ends)
        case .digitsThenGPT2:
            var start = range.lowerBound
            while start < range.upperBound {
                if text.classes[start] == ScalarClass.number {
                    start += 1
                    ends.append(start)
                    continue
                }
                var end = start + 1
                while end < range.upperBound, text.classes[end] != ScalarClass.number { end += 1 }
                Self.splitGPT2(text, start..<end, into: &ends)
                start = end
            }
        case .llama3:
            Self.splitLlama3(text, range, maxDigits: 3, into: &ends)
        case .qwen2:
            Self.splitLlama3(text, range, maxDigits: 1, into: &ends)
        }
    }
}

// MARK: - Matchers

extension PreTokenizer {
    private static let apostrophe: UInt32 = 0x27
    private static let spaceScalar: UInt32 = 0x20

    /// Length of a contraction (`'s`, `'t`, `'m`, `'d`, `'re`, `'ve`, `'ll`) starting at `pos`,
    /// or 0. The caller has checked that `values[pos]` is an apostrophe.
    @inline(__always)
    private static func contractionLength(
        _ values: [UInt32], _ pos: Int, _ end: Int, caseInsensitive: Bool
    ) -> Int {
        guard pos + 1 < end else { return 0 }
        func fold(_ v: UInt32) -> UInt32 {
            caseInsensitive && v >= 0x41 && v <= 0x5A ? v + 0x20 : v
        }
        let next = fold(values[pos + 1])
        if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 { return 2 }  // s t m d
        guard pos + 2 < end else { return 0 }
        let after = fold(values[pos + 2])
        if (next == 0x72 && after == 0x65) || (next == 0x76 && after == 0x65)  // re ve
            || (next == 0x6C && after == 0x6C)  // ll
        {
            return 3
        }
        return 0
    }

    /// The GPT-2 pattern over `range`.
    static func splitGPT2(_ text: ScalarBuffer, _ range: Range<Int>, into ends: inout [Int]) {
        let values = text.values
        let classes = text.classes
        let end = range.upperBound
        func classAt(_ i: Int) -> UInt8 { i < end ? classes[i] : 0 }
        var pos = range.lowerBound
        while pos < end {
            let value = values[pos]
            if value == apostrophe {
                let length = contractionLength(values, pos, end, caseInsensitive: false)
                if length > 0 {
                    pos += length
                    ends.append(pos)
                    continue
                }
            }
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional leading space, then a run
            // of one class.
            let isSpace = value == spaceScalar
            let runClass = isSpace ? classAt(pos + 1) : classes[pos]
            if runClass == ScalarClass.letter || runClass == ScalarClass.number
                || runClass == ScalarClass.other
            {
                pos += isSpace ? 2 : 1
                while pos < end, classes[pos] == runClass { pos += 1 }
                ends.append(pos)
                continue
            }
            pos = endOfWhitespace(classes, pos, end)
            ends.append(pos)
        }
    }

    /// `\s+(?!\S)|\s+` at `pos`: a run of white space followed by non-space gives all but its last
    /// scalar (which then leads the next piece); a run reaching the end is taken whole; a single
    /// white-space scalar before non-space is taken alone.
    @inline(__always)
    private static func endOfWhitespace(_ classes: [UInt8], _ pos: Int, _ end: Int) -> Int {
        var runEnd = pos
        while runEnd < end, classes[runEnd] == ScalarClass.space { runEnd += 1 }
        if runEnd == pos { return pos + 1 }  // unreachable: every class is handled above
        if runEnd - pos > 1, runEnd < end { return runEnd - 1 }
        return runEnd
    }

    /// The LLaMA 3 pattern (or Qwen 2's, with `maxDigits` 1) over `range`.
    static func splitLlama3(
        _ text: ScalarBuffer, _ range: Range<Int>, maxDigits: Int, into ends: inout [Int]
    ) {
        let values = text.values
        let classes = text.classes
        let end = range.upperBound
        func isNewline(_ v: UInt32) -> Bool { v == 0x0A || v == 0x0D }
        var pos = range.lowerBound
        while pos < end {
            let value = values[pos]
            let cls = classes[pos]
            if value == apostrophe {
                let length = contractionLength(values, pos, end, caseInsensitive: true)
                if length > 0 {
                    pos += length
                    ends.append(pos)
                    continue
                }
            }
            // `[^\r\n\p{L}\p{N}]?\p{L}+`
            if !isNewline(value), cls != ScalarClass.number,
                cls == ScalarClass.letter || (pos + 1 < end && classes[pos + 1] == ScalarClass.letter)
            {
                pos += 1
                while pos < end, classes[pos] == ScalarClass.letter { pos += 1 }
                ends.append(pos)
                continue
            }
            // `\p{N}{1,3}`
            if cls == ScalarClass.number {
                let start = pos
                while pos < end, pos - start < maxDigits, classes[pos] == ScalarClass.number { pos += 1 }
                ends.append(pos)
                continue
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            let runStart = value == spaceScalar ? pos + 1 : pos
            if runStart < end, classes[runStart] == ScalarClass.other {
                pos = runStart + 1
                while pos < end, classes[pos] == ScalarClass.other { pos += 1 }
                while pos < end, isNewline(values[pos]) { pos += 1 }
                ends.append(pos)
                continue
            }
            // `\s*[\r\n]+`: through the last newline of the white-space run, if it has one.
            var runEnd = pos
            var afterLastNewline = -1
            while runEnd < end, classes[runEnd] == ScalarClass.space {
                if isNewline(values[runEnd]) { afterLastNewline = runEnd + 1 }
                runEnd += 1
            }
            if afterLastNewline > 0 {
                pos = afterLastNewline
            } else {
                pos = endOfWhitespace(classes, pos, end)
            }
            ends.append(pos)
        }
    }
}
