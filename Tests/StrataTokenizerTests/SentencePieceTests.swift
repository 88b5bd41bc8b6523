import Foundation
import StrataTestSupport
import StrataTokenizer
import Testing

/// SentencePiece-style BPE on a small vocabulary, against llama.cpp's ids for it.
@Suite("SentencePiece goldens from llama.cpp")
struct SentencePieceTests {
    struct Vocabulary: Decodable {
        let tokens: [String]
        let scores: [Float]
        let tokenTypes: [Int32]
        let bos: Int
        let eos: Int
        let unk: Int
        let addBOS: Bool
        let addSpacePrefix: Bool

        enum CodingKeys: String, CodingKey {
            case tokens, scores, bos, eos, unk
            case tokenTypes = "token_types"
            case addBOS = "add_bos"
            case addSpacePrefix = "add_space_prefix"
        }
    }

    struct File: Decodable {
        let format: String
        let version: Int
        let vocabulary: Vocabulary
        let cases: [EncodeCase]
    }

    static let file = Result { try Fixtures.decode(File.self, "spm_tiny.json") }
    static var cases: [EncodeCase] { (try? file.get().cases) ?? [] }

    static let tokenizer = Result { () throws -> Tokenizer in
        let vocabulary = try file.get().vocabulary
        let spec = TokenizerSpec(
            model: .sentencePiece, tokens: vocabulary.tokens, scores: vocabulary.scores,
            tokenTypes: vocabulary.tokenTypes, bosID: vocabulary.bos, eosID: vocabulary.eos,
            unknownID: vocabulary.unk, addBOS: vocabulary.addBOS, addSpacePrefix: vocabulary.addSpacePrefix)
        return try Tokenizer(spec: spec)
    }

    @Test func fixtureIsReadable() throws {
        let file = try Self.file.get()
        #expect(file.format == "strata-golden")
        #expect(file.vocabulary.tokens.count > 300)
        #expect(file.cases.count >= 20)
    }

    @Test(.tags(.golden), arguments: cases)
    func encodesLikeLlamaCpp(_ golden: EncodeCase) throws {
        let tokenizer = try Self.tokenizer.get()
        let ids = tokenizer.encode(golden.text, addSpecial: golden.addSpecial, parseSpecial: golden.parseSpecial)
        #expect(ids == golden.ids)
    }

    /// llama.cpp drops the prefix space only at the very start; this module also drops it after
    /// special tokens. Where no special token occurs the two must agree.
    @Test(.tags(.golden), arguments: cases)
    func decodesLikeLlamaCppWithoutSpecialTokens(_ golden: EncodeCase) throws {
        let tokenizer = try Self.tokenizer.get()
        let types = tokenizer.spec.tokenTypes ?? []
        guard golden.ids.allSatisfy({ types[$0] == 1 || types[$0] == 6 }) else { return }
        #expect(sameBytes(try tokenizer.decode(golden.ids), golden.decoded))
    }

    @Test(arguments: cases)
    func decodingTheEncodingGivesTheTextBack(_ golden: EncodeCase) throws {
        let tokenizer = try Self.tokenizer.get()
        let ids = tokenizer.encode(golden.text, addSpecial: false, parseSpecial: golden.parseSpecial)
        #expect(sameBytes(try tokenizer.decode(ids), golden.text))
        let withBOS = tokenizer.encode(golden.text, addSpecial: true, parseSpecial: golden.parseSpecial)
        #expect(withBOS.first == 1)
        #expect(sameBytes(try tokenizer.decode(withBOS, skipSpecial: true), try tokenizer.decode(ids, skipSpecial: true)))
    }

    @Test func randomTextRoundTrips() throws {
        let tokenizer = try Self.tokenizer.get()
        var rng = SplitMix64(seed: 11)
        for _ in 0..<300 {
            let text = RandomText.string(&rng, scalars: Int(rng.next() % 30))
            let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
            #expect(sameBytes(try tokenizer.decode(ids), text), "\(Array(text.utf8).hex)")
        }
    }

    @Test func tokenBytesUnescapeSpacesAndBytes() throws {
        let tokenizer = try Self.tokenizer.get()
        let tokens = tokenizer.spec.tokens
        let hello = try #require(tokens.firstIndex(of: "\u{2581}hello"))
        #expect(try tokenizer.tokenBytes(hello) == Array(" hello".utf8))
        let newline = try #require(tokens.firstIndex(of: "<0x0A>"))
        #expect(try tokenizer.tokenBytes(newline) == [0x0A])
        #expect(try tokenizer.tokenBytes(1) == Array("<s>".utf8))
    }

    @Test func streamingKeepsTheSpaceOfAContinuation() throws {
        let tokenizer = try Self.tokenizer.get()
        let hello = try #require(tokenizer.spec.tokens.firstIndex(of: "\u{2581}hello"))
        var fresh = StreamingDetokenizer(tokenizer: tokenizer)
        var continuing = StreamingDetokenizer(tokenizer: tokenizer, continuingText: true)
        #expect(try fresh.append(hello) == "hello")
        #expect(try continuing.append(hello) == " hello")
        #expect(try fresh.append(hello) == " hello")
    }
}
