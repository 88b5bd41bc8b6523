/// SentencePiece-style BPE (LLaMA 1/2): text is split into UTF-8 characters and, repeatedly, the
/// adjacent pair whose join is a vocabulary piece with the highest score is joined (ties go to
/// the leftmost pair). Characters left without a piece fall back to `<0xXX>` byte tokens.
// reference: SentencePiece bpe_model.cc, and llama.cpp's llm_tokenizer_spm for the fallback
struct SentencePieceModel: Sendable {
    /// Token text (UTF-8) to id, over every token whatever its type.
    let pieces: ByteStringTable
    /// Score by id; (vocabulary size,)
    let scores: [Float]
    /// Id of the `<0xXX>` token for each byte, or −1; (256,)
    let byteTokens: [Int32]
    let unknownID: Int?

    /// U+2581 LOWER ONE EIGHTH BLOCK, which stands for a space inside pieces.
    static let spaceMarker: [UInt8] = [0xE2, 0x96, 0x81]

    init(tokens: [String], scores: [Float], tokenTypes: [Int32]?, unknownID: Int?) {
        var table = ByteStringTable(minimumCapacity: tokens.count)
        var byteTokens = [Int32](repeating: -1, count: 256)
        for (id, text) in tokens.enumerated() {
            table.insert(Array(text.utf8), id: Int32(id))
            let type = tokenTypes.map { id < $0.count ? $0[id] : 1 }
            if type == nil || type == TokenizerSpec.TokenType.byte.rawValue,
                let byte = Self.byteValue(ofPiece: text), byteTokens[Int(byte)] < 0
            {
                byteTokens[Int(byte)] = Int32(id)
            }
        }
        self.pieces = table
        self.scores = scores
        self.byteTokens = byteTokens
        self.unknownID = unknownID
    }

    /// The byte a `<0xXX>` piece stands for, or nil for any other text.
    static func byteValue(ofPiece text: String) -> UInt8? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 6, utf8[0] == 0x3C, utf8[1] == 0x30, utf8[2] == 0x78, utf8[5] == 0x3E
        else { return nil }
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x41...0x46: c - 0x41 + 10
            case 0x61...0x66: c - 0x61 + 10
            default: nil
            }
        }
        guard let high = hex(utf8[3]), let low = hex(utf8[4]) else { return nil }
        return high << 4 | low
    }

    /// Replaces every space with U+2581, optionally prefixing one.
    static func escape(_ bytes: UnsafeBufferPointer<UInt8>, prefixSpace: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 8)
        if prefixSpace { out.append(contentsOf: spaceMarker) }
        for byte in bytes {
            if byte == 0x20 { out.append(contentsOf: spaceMarker) } else { out.append(byte) }
        }
        return out
    }

    /// Order-preserving map of a score to an unsigned key where higher scores come first.
    private static func descendingKey(_ score: Float) -> UInt32 {
        let bits = score.bitPattern
        let ascending = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
        return ~ascending
    }

    /// Encodes already-escaped text and appends its ids to `output`.
    func encode(_ text: [UInt8], into output: inout [Int]) {
        text.withUnsafeBufferPointer { encode($0, into: &output) }
    }

    private func encode(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int]) {
        // Symbols are byte ranges [start[i], start[i] + length[i]) linked by next/prev; a
        // joined-away symbol has length 0.
        var start: [Int] = []
        var length: [Int] = []
        var i = 0
        while i < text.count {
            let lead = text[i]
            let charLength = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
            start.append(i)
            length.append(min(charLength, text.count - i))
            i += charLength
        }
        let n = start.count
        if n == 0 { return }
        var next = (0..<n).map { $0 + 1 < n ? $0 + 1 : -1 }
        var prev = (0..<n).map { $0 - 1 }
        var heap = MinHeap(reusing: [])

        func joinedID(_ left: Int, _ right: Int) -> Int32? {
            let slice = UnsafeBufferPointer(rebasing: text[start[left]..<(start[right] + length[right])])
            return pieces.lookup(slice)
        }
        func push(_ left: Int) {
            guard left >= 0 else { return }
            let right = next[left]
            guard right >= 0, let id = joinedID(left, right) else { return }
            heap.push(UInt64(Self.descendingKey(scores[Int(id)])) << 32 | UInt64(left))
        }

        for k in 0..<(n - 1) { push(k) }
        while let top = heap.pop() {
            let left = Int(top & 0xFFFF_FFFF)
            let right = next[left]
            guard length[left] > 0, right >= 0, let id = joinedID(left, right),
                UInt32(top >> 32) == Self.descendingKey(scores[Int(id)])
            else { continue }
            length[left] += length[right]
            length[right] = 0
            next[left] = next[right]
            if next[right] >= 0 { prev[next[right]] = left }
            push(prev[left])
            push(left)
        }

        var k = 0
        while k >= 0 {
            let slice = UnsafeBufferPointer(rebasing: text[start[k]..<(start[k] + length[k])])
            if let id = pieces.lookup(slice) {
                output.append(Int(id))
            } else {
                for byte in slice {
                    let id = byteTokens[Int(byte)]
                    if id >= 0 {
                        output.append(Int(id))
                    } else if let unknownID {
                        output.append(unknownID)
                    }
                }
            }
            k = next[k]
        }
    }
}
