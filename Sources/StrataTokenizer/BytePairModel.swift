/// Byte-level BPE over token ids: a piece starts as one symbol per byte and the adjacent pair
/// with the lowest merge rank is joined until no pair has a merge (ties go to the leftmost pair).
struct BytePairModel: Sendable {
    /// The id of the token for each single byte, or −1 − byte when the vocabulary lacks it (such
    /// a symbol never merges and is dropped); (256,)
    let byteSymbols: [Int32]
    let merges: MergeTable
    /// Whole-piece lookup for pre-tokenizers that skip merging known pieces (LLaMA 3).
    let wholePieces: ByteStringTable?

    /// Pieces with at most this many bytes use the quadratic scan; longer ones use the heap.
    static let scanLimit = 48

    /// Builds the model from a vocabulary in the byte alphabet.
    /// - Parameters:
    ///   - tokens: Token texts by id.
    ///   - merges: "left right" pairs, highest priority first.
    ///   - wholePieces: Raw-byte lookup of every token, for pre-tokenizers that use it.
    /// - Throws: ``TokenizerError/badMerge(index:_:)`` for a merge that is not two known tokens
    ///   whose join is a known token.
    init(tokens: [String], merges: [String], wholePieces: ByteStringTable?) throws(TokenizerError) {
        var ids = [String: Int32](minimumCapacity: tokens.count)
        for (id, text) in tokens.enumerated() { ids[text] = Int32(id) }
        byteSymbols = (0..<256).map { byte in
            ids[ByteLevelAlphabet.text(forByte: UInt8(byte))] ?? (-1 - Int32(byte))
        }
        var table = MergeTable(minimumCapacity: merges.count)
        for (rank, merge) in merges.enumerated() {
            let parts = merge.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw .badMerge(index: rank, "expected two tokens separated by one space in \"\(merge)\"")
            }
            guard let left = ids[String(parts[0])], let right = ids[String(parts[1])] else {
                throw .badMerge(index: rank, "\"\(merge)\" names a token not in the vocabulary")
            }
            guard let merged = ids[String(parts[0]) + String(parts[1])] else {
                throw .badMerge(index: rank, "the join of \"\(merge)\" is not in the vocabulary")
            }
            table.insert(left: left, right: right, rank: UInt32(rank), merged: merged)
        }
        self.merges = table
        self.wholePieces = wholePieces
    }

    /// Encodes one pre-tokenized piece and appends its ids to `output`.
    /// - Parameters:
    ///   - piece: The piece's raw bytes.
    ///   - scratch: Reusable buffers.
    ///   - output: Receives the ids.
    func encode(_ piece: UnsafeBufferPointer<UInt8>, scratch: inout BytePairScratch, into output: inout [Int]) {
        if piece.isEmpty { return }
        if let wholePieces, let id = wholePieces.lookup(piece) {
            output.append(Int(id))
            return
        }
        if piece.count == 1 {
            emit(byteSymbols[Int(piece[0])], into: &output)
            return
        }
        if piece.count <= Self.scanLimit {
            encodeByScanning(piece, scratch: &scratch, into: &output)
        } else {
            encodeWithHeap(piece, scratch: &scratch, into: &output)
        }
    }

    /// Appends a final symbol. A byte the vocabulary has no token for is dropped, as llama.cpp
    /// does (SmolLM2 lacks 21 byte values, among them 0xF1 and 0xF2); emitting the unknown id
    /// instead would put `<|endoftext|>` into SmolLM2 prompts.
    @inline(__always)
    private func emit(_ symbol: Int32, into output: inout [Int]) {
        if symbol >= 0 { output.append(Int(symbol)) }
    }

    /// O(n²) in the piece length but with tiny constants: ranks of adjacent pairs are kept in an
    /// array, and after each merge only the two neighbouring ranks are looked up again.
    func encodeByScanning(_ piece: UnsafeBufferPointer<UInt8>, scratch: inout BytePairScratch, into output: inout [Int]) {
        // Swapped out (not copied) so that the buffers stay uniquely referenced.
        var symbols: [Int32] = []
        var ranks: [UInt32] = []
        var joined: [Int32] = []
        swap(&symbols, &scratch.symbols)
        swap(&ranks, &scratch.ranks)
        swap(&joined, &scratch.joined)
        defer {
            swap(&symbols, &scratch.symbols)
            swap(&ranks, &scratch.ranks)
            swap(&joined, &scratch.joined)
        }
        symbols.removeAll(keepingCapacity: true)
        ranks.removeAll(keepingCapacity: true)
        joined.removeAll(keepingCapacity: true)
        for byte in piece { symbols.append(byteSymbols[Int(byte)]) }
        for i in 0..<(symbols.count - 1) {
            let (rank, merged) = merges.lookup(symbols[i], symbols[i + 1])
            ranks.append(rank)
            joined.append(merged)
        }
        while !ranks.isEmpty {
            var best = 0
            for i in 1..<ranks.count where ranks[i] < ranks[best] { best = i }
            if ranks[best] == UInt32.max { break }
            symbols[best] = joined[best]
            symbols.remove(at: best + 1)
            ranks.remove(at: best)
            joined.remove(at: best)
            if best > 0 {
                (ranks[best - 1], joined[best - 1]) = merges.lookup(symbols[best - 1], symbols[best])
            }
            if best < ranks.count {
                (ranks[best], joined[best]) = merges.lookup(symbols[best], symbols[best + 1])
            }
        }
        for symbol in symbols { emit(symbol, into: &output) }
    }

    /// O(n log n): symbols form a linked list over byte positions and candidate pairs sit in a
    /// min-heap keyed by (rank, left position); stale entries are skipped when popped.
    func encodeWithHeap(_ piece: UnsafeBufferPointer<UInt8>, scratch: inout BytePairScratch, into output: inout [Int]) {
        let n = piece.count
        var symbols = [Int32](unsafeUninitializedCapacity: n) { buffer, count in
            for i in 0..<n { buffer[i] = byteSymbols[Int(piece[i])] }
            count = n
        }
        // next[i] / prev[i]: neighbours of the symbol starting at position i; −1 at the ends.
        var next = (0..<n).map { $0 + 1 < n ? $0 + 1 : -1 }
        var prev = (0..<n).map { $0 - 1 }
        var heapStorage: [UInt64] = []
        swap(&heapStorage, &scratch.heap)
        var heap = MinHeap(reusing: heapStorage)
        defer { scratch.heap = heap.takeStorage() }
        func push(_ left: Int) {
            guard left >= 0 else { return }
            let right = next[left]
            guard right >= 0 else { return }
            let rank = merges.lookup(symbols[left], symbols[right]).rank
            if rank != UInt32.max { heap.push(UInt64(rank) << 32 | UInt64(left)) }
        }
        for i in 0..<(n - 1) { push(i) }
        while let top = heap.pop() {
            let left = Int(top & 0xFFFF_FFFF)
            let rank = UInt32(top >> 32)
            let right = next[left]
            // A removed symbol has symbols[left] == Int32.min; a changed pair has another rank.
            guard symbols[left] != Int32.min, right >= 0 else { continue }
            let (current, merged) = merges.lookup(symbols[left], symbols[right])
            guard current == rank else { continue }
            symbols[left] = merged
            symbols[right] = Int32.min
            next[left] = next[right]
            if next[right] >= 0 { prev[next[right]] = left }
            push(prev[left])
            push(left)
        }
        var i = 0
        while i >= 0 {
            emit(symbols[i], into: &output)
            i = next[i]
        }
    }
}

/// Buffers reused across the pieces of one encode call.
struct BytePairScratch {
    var symbols: [Int32] = []
    var ranks: [UInt32] = []
    var joined: [Int32] = []
    var heap: [UInt64] = []
}
