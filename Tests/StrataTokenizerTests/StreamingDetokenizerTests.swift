import Foundation
@testable import StrataTokenizer
import StrataTestSupport
import Testing

@Suite("Streaming detokenizer")
struct StreamingDetokenizerTests {
    /// Streams `ids` and returns the pieces, checking that none holds a replacement character
    /// that the whole decoding lacks.
    static func stream(_ tokenizer: Tokenizer, _ ids: [Int]) throws -> [String] {
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        var pieces = try ids.map { try detokenizer.append($0) }
        pieces.append(detokenizer.finish())
        return pieces
    }

    @Test(arguments: [
        "😀", "👨\u{200D}👩\u{200D}👧\u{200D}👦 family", "中文测试 日本語のテキスト", "한국어", "emoji 😀 in text 🎉!",
        "🏳️\u{200D}🌈", "naïve résumé", "<|im_start|>user\n你好<|im_end|>",
    ])
    func concatenationEqualsDecodeAndNoPieceIsBroken(_ text: String) throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        let ids = tokenizer.encode(text)
        let pieces = try Self.stream(tokenizer, ids)
        #expect(sameBytes(pieces.joined(), try tokenizer.decode(ids)))
        #expect(sameBytes(pieces.joined(), text))
        #expect(!pieces.contains { $0.unicodeScalars.contains("\u{FFFD}") })
    }

    @Test func randomTextStreamsLikeDecode() throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        var rng = SplitMix64(seed: 5)
        for _ in 0..<300 {
            let text = RandomText.string(&rng, scalars: Int(rng.next() % 30))
            let ids = tokenizer.encode(text, addSpecial: false)
            let pieces = try Self.stream(tokenizer, ids)
            let decoded = try tokenizer.decode(ids)
            #expect(sameBytes(pieces.joined(), decoded))
            if !decoded.unicodeScalars.contains("\u{FFFD}") {
                #expect(!pieces.contains { $0.unicodeScalars.contains("\u{FFFD}") })
            }
        }
    }

    /// Ids of SmolLM2's single-byte tokens, so that any byte sequence can be fed one byte a token.
    static func byteTokens() throws -> [UInt8: Int] {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        var map: [UInt8: Int] = [:]
        for id in 17..<tokenizer.vocabularySize {
            let bytes = try tokenizer.tokenBytes(id)
            if bytes.count == 1, map[bytes[0]] == nil { map[bytes[0]] = id }
        }
        return map
    }

    @Test func aCharacterSplitOverTokensWaitsUntilComplete() throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        let byteIDs = try Self.byteTokens()
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        let ids = try [0xF0, 0x9F, 0x98, 0x80, 0x21].map { try #require(byteIDs[UInt8($0)]) }
        #expect(try ids[0..<3].map { try detokenizer.append($0) } == ["", "", ""])
        #expect(try detokenizer.append(ids[3]) == "😀")
        #expect(try detokenizer.append(ids[4]) == "!")
        #expect(detokenizer.finish() == "")
    }

    @Test func anUnfinishedCharacterIsFlushedAsReplacement() throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        let byteIDs = try Self.byteTokens()
        let ids = try [0x41, 0xE2, 0x82].map { try #require(byteIDs[UInt8($0)]) }
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        #expect(try detokenizer.append(ids[0]) == "A")
        #expect(try detokenizer.append(ids[1]) == "")
        #expect(try detokenizer.append(ids[2]) == "")
        #expect(detokenizer.finish() == "\u{FFFD}")
        #expect(try tokenizer.decode(ids) == "A\u{FFFD}")
    }

    @Test func outOfRangeIDThrowsAndLeavesStateAlone() throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        let byteIDs = try Self.byteTokens()
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        #expect(try detokenizer.append(try #require(byteIDs[0xC3])) == "")
        #expect(throws: TokenizerError.tokenIDOutOfRange(99_999)) { try detokenizer.append(99_999) }
        #expect(try detokenizer.append(try #require(byteIDs[0xA9])) == "é")
    }

    @Test func skipSpecialLeavesOutControlTokens() throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        let ids = tokenizer.encode("<|im_start|>user\nhi<|im_end|>")
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer, skipSpecial: true)
        let text = try ids.map { try detokenizer.append($0) }.joined() + detokenizer.finish()
        #expect(text == "user\nhi")
    }

    /// Drip-feed harness: random bytes, valid or not, cut at random places, decode the same as
    /// all at once.
    @Test func streamBufferMatchesWholeDecodingForAnyChunking() {
        var rng = SplitMix64(seed: 9)
        let lead: [UInt8] = [0x41, 0xC2, 0xC3, 0xDF, 0xE0, 0xE2, 0xED, 0xEF, 0xF0, 0xF1, 0xF4, 0xF5, 0xFF, 0xC0]
        for _ in 0..<2000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int(rng.next() % 24) {
                // Mostly continuation bytes after interesting lead bytes, some arbitrary bytes.
                switch rng.next() % 3 {
                case 0: bytes.append(lead[Int(rng.next() % UInt64(lead.count))])
                case 1: bytes.append(UInt8(0x80 + rng.next() % 0x40))
                default: bytes.append(UInt8(truncatingIfNeeded: rng.next()))
                }
            }
            var buffer = UTF8StreamBuffer()
            var out = ""
            var i = 0
            while i < bytes.count {
                let n = 1 + Int(rng.next() % 4)
                out += buffer.append(Array(bytes[i..<min(i + n, bytes.count)]))
                #expect(buffer.pending.count <= 3)
                i += n
            }
            out += buffer.finish()
            #expect(sameBytes(out, String(decoding: bytes, as: UTF8.self)), "\(bytes.hex)")
        }
    }

    @Test(arguments: [
        ([UInt8](), 0), ([0x41], 1), ([0xE2], 0), ([0xE2, 0x82], 0), ([0xE2, 0x82, 0xAC], 3),
        ([0x41, 0xF0, 0x9F, 0x98], 1), ([0xE0, 0x80], 2), ([0xED, 0xA0], 2), ([0xF4, 0x90], 2),
        ([0x80, 0x80, 0x80], 3), ([0xC0], 1), ([0x41, 0xC3], 1),
    ])
    func completePrefixLength(_ bytes: [UInt8], _ expected: Int) {
        #expect(UTF8Boundary.completePrefixLength(bytes) == expected)
    }
}
