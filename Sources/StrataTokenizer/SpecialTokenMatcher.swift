/// Finds special-token text (control, user-defined and unknown tokens) in raw input before any
/// pre-tokenization, so that "<|im_start|>" becomes one id and is never split.
///
/// Tokens are taken longest first: every occurrence of the longest token is claimed, then the
/// next longest in what is left, and so on (llama.cpp's order; it differs from a leftmost-longest
/// scan only when two special texts overlap).
struct SpecialTokenMatcher: Sendable {
    struct Entry: Sendable {
        let id: Int
        let bytes: [UInt8]
        /// User-defined tokens are matched even when special parsing is off (as in Hugging Face
        /// and llama.cpp); control and unknown tokens only when it is on.
        let alwaysMatched: Bool
    }

    /// A stretch of input: raw text to encode, or one special token.
    enum Fragment: Equatable {
        case text(Range<Int>)
        case token(Int)
    }

    /// Longest first; equal lengths in id order.
    let entries: [Entry]
    /// Whether some entry starts with each byte value; (256,)
    private let firstBytes: [Bool]

    init(tokens: [String], types: (Int) -> TokenizerSpec.TokenType) {
        var entries: [Entry] = []
        for (id, text) in tokens.enumerated() where !text.isEmpty {
            switch types(id) {
            case .control, .unknown:
                entries.append(Entry(id: id, bytes: Array(text.utf8), alwaysMatched: false))
            case .userDefined:
                entries.append(Entry(id: id, bytes: Array(text.utf8), alwaysMatched: true))
            case .normal, .unused, .byte:
                break
            }
        }
        entries.sort { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id }
        var firstBytes = [Bool](repeating: false, count: 256)
        for entry in entries { firstBytes[Int(entry.bytes[0])] = true }
        self.entries = entries
        self.firstBytes = firstBytes
    }

    /// Splits `bytes` into text and special-token fragments, in order.
    /// - Parameters:
    ///   - bytes: The UTF-8 input.
    ///   - parseSpecial: Whether control and unknown token texts are recognised.
    func partition(_ bytes: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Fragment] {
        if bytes.isEmpty { return [] }
        var fragments: [Fragment] = [.text(0..<bytes.count)]
        if entries.isEmpty { return fragments }
        // Skip every token whose first byte never occurs: most text has no '<' at all.
        var present = [Bool](repeating: false, count: 256)
        for byte in bytes where firstBytes[Int(byte)] { present[Int(byte)] = true }
        for entry in entries where (parseSpecial || entry.alwaysMatched) && present[Int(entry.bytes[0])] {
            var split: [Fragment] = []
            split.reserveCapacity(fragments.count)
            for fragment in fragments {
                guard case .text(let range) = fragment else {
                    split.append(fragment)
                    continue
                }
                var from = range.lowerBound
                while let at = Self.find(entry.bytes, in: bytes, from: from, to: range.upperBound) {
                    if at > from { split.append(.text(from..<at)) }
                    split.append(.token(entry.id))
                    from = at + entry.bytes.count
                }
                if from < range.upperBound { split.append(.text(from..<range.upperBound)) }
            }
            fragments = split
        }
        return fragments
    }

    /// The first offset in `from..<to` where `needle` occurs entirely within that range.
    private static func find(
        _ needle: [UInt8], in haystack: UnsafeBufferPointer<UInt8>, from: Int, to: Int
    ) -> Int? {
        let count = needle.count
        guard count > 0, to - from >= count else { return nil }
        let first = needle[0]
        var i = from
        let last = to - count
        while i <= last {
            if haystack[i] == first {
                var k = 1
                while k < count, haystack[i + k] == needle[k] { k += 1 }
                if k == count { return i }
            }
            i += 1
        }
        return nil
    }
}
