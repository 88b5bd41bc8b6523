import Foundation
import StrataTokenizer
import Testing

/// SmolLM2-135M-Instruct's byte-level BPE against token ids from llama.cpp.
@Suite("SmolLM2 goldens from llama.cpp")
struct SmolLM2GoldenTests {
    @Test func goldenFileHasHeaderAndEnoughCases() throws {
        let goldens = try Fixtures.smolLM2Goldens.get()
        #expect(goldens.format == "strata-golden")
        #expect(goldens.version == 1)
        #expect(goldens.generator.hasPrefix("llama-cpp-python"))
        #expect(goldens.modelSHA256 == "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")
        #expect(goldens.cases.count >= 50)
        #expect(goldens.cases.contains { !$0.parseSpecial })
    }

    @Test func vocabularyMatchesTheModelFile() throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        let spec = tokenizer.spec
        #expect(tokenizer.vocabularySize == 49152)
        #expect(spec.model == .bytePair)
        #expect(spec.preTokenizer == "smollm")
        #expect(spec.merges.count == 48900)
        #expect(spec.bosID == 1)
        #expect(spec.eosID == 2)
        #expect(spec.unknownID == 0)
        #expect(spec.paddingID == 2)
        #expect(!spec.addBOS)
        #expect(!spec.addEOS)
        #expect(spec.endOfGenerationIDs == [0, 2, 4])
        #expect(spec.tokens[1] == "<|im_start|>")
        #expect(spec.tokenTypes?.prefix(17).allSatisfy { $0 == 3 } == true)
        #expect(spec.chatTemplate?.contains("<|im_start|>") == true)
    }

    @Test(.tags(.golden), arguments: Fixtures.smolLM2Cases)
    func encodesLikeLlamaCpp(_ golden: EncodeCase) throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        let ids = tokenizer.encode(golden.text, addSpecial: golden.addSpecial, parseSpecial: golden.parseSpecial)
        #expect(ids == golden.ids)
    }

    @Test(.tags(.golden), arguments: Fixtures.smolLM2Cases)
    func decodesLikeLlamaCpp(_ golden: EncodeCase) throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        let decoded = try tokenizer.decode(golden.ids)
        #expect(sameBytes(decoded, golden.decoded), "\(Array(decoded.utf8).hex)")
        let skipped = try tokenizer.decode(golden.ids, skipSpecial: true)
        #expect(sameBytes(skipped, golden.decodedSkipSpecial), "\(Array(skipped.utf8).hex)")
    }

    @Test(arguments: Fixtures.smolLM2Cases)
    func decodingTheEncodingGivesTheTextBack(_ golden: EncodeCase) throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        let ids = tokenizer.encode(golden.text, addSpecial: false, parseSpecial: golden.parseSpecial)
        // Bytes without a token are dropped, so only text made of known bytes comes back whole.
        #expect(sameBytes(try tokenizer.decode(ids), try SpecialTokenTests.representable(golden.text)))
    }

    @Test func initFromTheSameSpecEncodesTheSame() throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        let rebuilt = try Tokenizer(spec: tokenizer.spec)
        for golden in Fixtures.smolLM2Cases.prefix(20) {
            #expect(rebuilt.encode(golden.text, addSpecial: false) == tokenizer.encode(golden.text, addSpecial: false))
        }
    }

    @Test func endOfGenerationIDs() throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        #expect(tokenizer.isEndOfGeneration(0))
        #expect(tokenizer.isEndOfGeneration(2))
        #expect(tokenizer.isEndOfGeneration(4))
        #expect(!tokenizer.isEndOfGeneration(1))
        #expect(!tokenizer.isEndOfGeneration(19556))
        #expect(!tokenizer.isEndOfGeneration(-1))
    }

    @Test func tokenBytesAreRawBytes() throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        #expect(try tokenizer.tokenBytes(216) == [0x20])  // "Ġ"
        #expect(try tokenizer.tokenBytes(198) == [0x0A])  // "Ċ"
        #expect(try tokenizer.tokenBytes(1) == Array("<|im_start|>".utf8))
        #expect(try tokenizer.tokenBytes(19556) == Array("Hello".utf8))
    }

    @Test(arguments: [-1, 49152, Int.max])
    func outOfRangeIDsThrow(_ id: Int) throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        #expect(throws: TokenizerError.tokenIDOutOfRange(id)) { try tokenizer.decode([17, id]) }
        #expect(throws: TokenizerError.tokenIDOutOfRange(id)) { try tokenizer.tokenBytes(id) }
    }
}

extension Tag {
    @Tag static var golden: Self
}
