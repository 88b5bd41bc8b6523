import StrataTokenizer
import Testing

@Suite("Tokenizer spec validation")
struct TokenizerSpecTests {
    static let bytes = TokenizerJSONTests.byteTokens

    @Test func emptyVocabularyIsRejected() {
        #expect(throws: TokenizerError.invalidVocabulary("no tokens")) {
            try Tokenizer(spec: TokenizerSpec(model: .bytePair, tokens: []))
        }
    }

    @Test func countsMustMatch() {
        #expect(throws: TokenizerError.invalidVocabulary("2 scores for 256 tokens")) {
            try Tokenizer(spec: TokenizerSpec(model: .sentencePiece, tokens: Self.bytes, scores: [0, 0]))
        }
        #expect(throws: TokenizerError.invalidVocabulary("1 token types for 256 tokens")) {
            try Tokenizer(spec: TokenizerSpec(model: .bytePair, tokens: Self.bytes, tokenTypes: [1]))
        }
    }

    @Test func specialIDsMustBeInRange() {
        #expect(throws: TokenizerError.invalidVocabulary("BOS id 256 outside 0..<256")) {
            try Tokenizer(spec: TokenizerSpec(model: .bytePair, tokens: Self.bytes, bosID: 256))
        }
        #expect(throws: TokenizerError.invalidVocabulary("padding id -1 outside 0..<256")) {
            try Tokenizer(spec: TokenizerSpec(model: .bytePair, tokens: Self.bytes, paddingID: -1))
        }
        #expect(throws: TokenizerError.invalidVocabulary("end-of-generation id 300 outside 0..<256")) {
            try Tokenizer(spec: TokenizerSpec(model: .bytePair, tokens: Self.bytes, endOfGenerationIDs: [300]))
        }
        #expect(throws: TokenizerError.invalidVocabulary("addBOS is set but there is no BOS id")) {
            try Tokenizer(spec: TokenizerSpec(model: .bytePair, tokens: Self.bytes, addBOS: true))
        }
    }

    @Test func unknownPreTokenizerIsRejected() {
        #expect(throws: TokenizerError.unsupportedPreTokenizer("chatglm-bpe")) {
            try Tokenizer(spec: TokenizerSpec(model: .bytePair, preTokenizer: "chatglm-bpe", tokens: Self.bytes))
        }
    }

    @Test func endOfGenerationIsInferredFromTokenTexts() {
        let tokens = ["<|endoftext|>", "a", "<|im_end|>", "<|eot_id|>", "b"]
        let spec = TokenizerSpec(model: .bytePair, tokens: tokens, eosID: 4)
        #expect(spec.endOfGenerationIDs == [0, 2, 3, 4])
        let explicit = TokenizerSpec(model: .bytePair, tokens: tokens, eosID: 4, endOfGenerationIDs: [1])
        #expect(explicit.endOfGenerationIDs == [1])
    }

    @Test func errorsDescribeThemselves() {
        #expect("\(TokenizerError.badMerge(index: 3, "x"))" == "bad merge #3: x")
        #expect("\(TokenizerError.tokenIDOutOfRange(-2))" == "token id -2 is out of range")
    }
}
