import Foundation
import StrataTestSupport
import StrataTokenizer
import Testing

/// Round trips on random text, and special tokens that are never split or invented.
@Suite("Round trips and special tokens")
struct SpecialTokenTests {
    @Test(arguments: [false, true])
    func randomTextRoundTrips(parseSpecial: Bool) throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        var rng = SplitMix64(seed: parseSpecial ? 1 : 2)
        for _ in 0..<500 {
            let text = RandomText.string(&rng, scalars: Int(rng.next() % 40))
            let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: parseSpecial)
            #expect(sameBytes(try tokenizer.decode(ids), try Self.representable(text)), "\(Array(text.utf8).hex)")
        }
    }

    @Test func everySpecialTokenTextIsOneID() throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        for id in 0..<17 {
            #expect(tokenizer.encode(tokenizer.spec.tokens[id]) == [id])
        }
    }

    /// Text around a special token is encoded as if the token were a wall.
    @Test func specialTokensAreNeverSplit() throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        var rng = SplitMix64(seed: 3)
        for _ in 0..<300 {
            let id = Int(rng.next() % 17)
            let before = RandomText.string(&rng, scalars: Int(rng.next() % 12))
            let after = RandomText.string(&rng, scalars: Int(rng.next() % 12))
            let text = before + tokenizer.spec.tokens[id] + after
            let expected = tokenizer.encode(before, addSpecial: false) + [id] + tokenizer.encode(after, addSpecial: false)
            #expect(tokenizer.encode(text, addSpecial: false) == expected, "\(Array(text.utf8).hex)")
        }
    }

    @Test func controlTokensAreNotProducedWithoutParsing() throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        var rng = SplitMix64(seed: 4)
        for _ in 0..<200 {
            let id = Int(rng.next() % 17)
            let text = RandomText.string(&rng, scalars: 5) + tokenizer.spec.tokens[id] + RandomText.string(&rng, scalars: 5)
            let ids = tokenizer.encode(text, parseSpecial: false)
            #expect(ids.allSatisfy { $0 >= 17 })
            #expect(sameBytes(try tokenizer.decode(ids), try Self.representable(text)))
        }
    }

    @Test func longestSpecialTokenWins() throws {
        // "<a>" and "<a>b" overlap; the longer one is claimed first wherever it occurs.
        let spec = TokenizerSpec(
            model: .bytePair, preTokenizer: "gpt2",
            tokens: ["<a>", "<a>b"] + (0..<256).map { Self.byteText(UInt8($0)) },
            tokenTypes: [3, 3] + [Int32](repeating: 1, count: 256))
        let tokenizer = try Tokenizer(spec: spec)
        let ids = tokenizer.encode("<a>b<a>", addSpecial: false)
        #expect(ids == [1, 0])
        #expect(try tokenizer.decode(ids) == "<a>b<a>")
    }

    @Test func userDefinedTokensMatchEvenWithoutParsing() throws {
        let spec = TokenizerSpec(
            model: .bytePair, preTokenizer: "gpt2",
            tokens: ["<ctl>", "<usr>"] + (0..<256).map { Self.byteText(UInt8($0)) },
            tokenTypes: [3, 4] + [Int32](repeating: 1, count: 256))
        let tokenizer = try Tokenizer(spec: spec)
        #expect(tokenizer.encode("<usr>", parseSpecial: false) == [1])
        #expect(tokenizer.encode("<ctl>", parseSpecial: false).count == 5)
        #expect(try tokenizer.decode([0, 1], skipSpecial: true) == "<usr>")
    }

    @Test func addSpecialAddsBOSAndEOSOnlyWhenAsked() throws {
        let bytes = (0..<256).map { Self.byteText(UInt8($0)) }
        let spec = TokenizerSpec(
            model: .bytePair, preTokenizer: "gpt2", tokens: ["<s>", "</s>"] + bytes,
            tokenTypes: [3, 3] + [Int32](repeating: 1, count: 256), bosID: 0, eosID: 1, addBOS: true, addEOS: true)
        let tokenizer = try Tokenizer(spec: spec)
        #expect(tokenizer.encode("") == [0, 1])
        #expect(tokenizer.encode("", addSpecial: false) == [])
        #expect(tokenizer.encode("A").count == 3)
    }

    /// Bytes SmolLM2 has a token for; (256,)
    static let smolLM2Bytes = Result { () throws -> [Bool] in
        let tokens = Set(try Fixtures.smolLM2Tokenizer().spec.tokens)
        return (0..<256).map { tokens.contains(byteText(UInt8($0))) }
    }

    /// What SmolLM2 can represent of `text`: its bytes less those without a token (encoding
    /// drops them), decoded with U+FFFD where that leaves broken characters.
    static func representable(_ text: String) throws -> String {
        let known = try smolLM2Bytes.get()
        return String(decoding: text.utf8.filter { known[Int($0)] }, as: UTF8.self)
    }

    @Test func smolLM2LacksTwentyOneByteValues() throws {
        let known = try Self.smolLM2Bytes.get()
        #expect(known.filter { !$0 }.count == 21)
        #expect(!known[0xF1] && !known[0xF2] && !known[0x04])
        #expect(try Self.representable("a\u{4}b") == "ab")
    }

    /// The GPT-2 byte alphabet text of one byte.
    static func byteText(_ byte: UInt8) -> String {
        let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || byte >= 0xAE
        if printable { return String(Character(Unicode.Scalar(byte))) }
        // Non-printable bytes are numbered from U+0100 in byte order.
        let rank = (0..<Int(byte)).filter { b in
            !((0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || b >= 0xAE)
        }.count
        return String(Character(Unicode.Scalar(UInt16(256 + rank))!))
    }

    @Test func byteTextHelperMatchesGPT2() {
        #expect(Self.byteText(0x20) == "Ġ")
        #expect(Self.byteText(0x0A) == "Ċ")
        #expect(Self.byteText(0x41) == "A")
        #expect(Self.byteText(0xAD) == "\u{0143}")
        #expect(Set((0..<256).map { Self.byteText(UInt8($0)) }).count == 256)
    }
}

@Suite("Concurrent use")
struct ConcurrencyTests {
    /// One tokenizer shared by many tasks gives every task the single-threaded answer.
    @Test func sharedTokenizerEncodesConsistently() async throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        let texts = Fixtures.smolLM2Cases.map(\.text)
        let expected = texts.map { tokenizer.encode($0) }
        let results = await withTaskGroup(of: (Int, [[Int]]).self) { group in
            for worker in 0..<8 {
                group.addTask {
                    (worker, texts.map { tokenizer.encode($0) })
                }
            }
            var all: [[[Int]]] = []
            for await (_, result) in group { all.append(result) }
            return all
        }
        #expect(results.count == 8)
        for result in results { #expect(result == expected) }
    }
}
