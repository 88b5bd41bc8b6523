/// Accumulates UTF-8 bytes that arrive in arbitrary chunks and returns text as soon as it is
/// complete. Decoding the returned pieces one by one gives the same text as decoding all the
/// bytes at once, U+FFFD replacements included.
struct UTF8StreamBuffer: Sendable {
    /// Bytes not yet returned: at most the first 3 bytes of an unfinished character.
    private(set) var pending: [UInt8] = []

    /// Adds bytes and returns the text they complete.
    mutating func append(_ bytes: [UInt8]) -> String {
        pending.append(contentsOf: bytes)
        let cut = UTF8Boundary.completePrefixLength(pending)
        if cut == 0 { return "" }
        let text = String(decoding: pending[0..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Returns what is left, with U+FFFD for an unfinished character, and empties the buffer.
    mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }
}

/// Where a byte buffer can be cut so that the part before decodes the same on its own as it does
/// within the whole, whatever bytes follow.
enum UTF8Boundary {
    /// The length of the longest prefix of `bytes` that leaves out only a trailing, still
    /// completable start of a character (a lead byte and the valid continuation bytes after it).
    ///
    /// Cutting there is safe: a well-formed prefix cannot swallow a lead byte, so the bytes before
    /// the cut decode (with U+FFFD for ill-formed ones) exactly as in the whole buffer.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let count = bytes.count
        // A completable tail is at most 3 bytes (a 4-byte character minus its last byte).
        var start = count - 1
        while start >= 0, start >= count - 3 {
            let byte = bytes[start]
            if byte & 0xC0 != 0x80 {
                // A lead (or ASCII) byte: the tail from here may be held back.
                return isIncompleteCharacter(bytes, from: start) ? start : count
            }
            start -= 1
        }
        return count
    }

    /// Whether bytes[from...] is a proper prefix of a well-formed UTF-8 sequence
    /// (Unicode Table 3-7), shorter than the sequence it starts.
    private static func isIncompleteCharacter(_ bytes: [UInt8], from: Int) -> Bool {
        let lead = bytes[from]
        let needed: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: needed = 2
        case 0xE0: needed = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: needed = 3
        case 0xED: needed = 3; secondRange = 0x80...0x9F
        case 0xF0: needed = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: needed = 4
        case 0xF4: needed = 4; secondRange = 0x80...0x8F
        default: return false
        }
        let have = bytes.count - from
        guard have < needed else { return false }
        for k in 1..<have {
            let range: ClosedRange<UInt8> = k == 1 ? secondRange : 0x80...0xBF
            if !range.contains(bytes[from + k]) { return false }
        }
        return true
    }
}
