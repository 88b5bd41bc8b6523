import Foundation
import StrataTokenizer
import Testing

@Suite("Hugging Face tokenizer.json")
struct TokenizerJSONTests {
    /// The GPT-2 byte alphabet: token texts for bytes 0…255.
    static let byteTokens = (0..<256).map { SpecialTokenTests.byteText(UInt8($0)) }

    /// A byte-level tokenizer.json with the 256 byte tokens, some words and the given options.
    static func byteLevelJSON(
        preTokenizer: Any, merges: Any = ["Ġ h", "Ġh e"], extraVocab: [String] = ["Ġh", "Ġhe", "Ġhello"],
        normalizer: Any = NSNull(), added: [[String: Any]] = []
    ) throws -> Data {
        var vocab: [String: Int] = [:]
        for (id, text) in (byteTokens + extraVocab).enumerated() { vocab[text] = id }
        let object: [String: Any] = [
            "version": "1.0", "added_tokens": added, "normalizer": normalizer, "pre_tokenizer": preTokenizer,
            "model": ["type": "BPE", "vocab": vocab, "merges": merges],
        ]
        return try JSONSerialization.data(withJSONObject: object)
    }

    static func split(_ regex: String) -> [String: Any] {
        [
            "type": "Sequence",
            "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": regex], "behavior": "Isolated", "invert": false],
                ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false],
            ],
        ]
    }

    static let llama3Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    @Test func llama3SplitTakesWholeVocabularyPieces() throws {
        let tokenizer = try Tokenizer.fromTokenizerJSON(try Self.byteLevelJSON(preTokenizer: Self.split(Self.llama3Regex)), config: nil)
        #expect(tokenizer.spec.preTokenizer == "llama3")
        // "Ġhello" is in the vocabulary although no merge builds it.
        #expect(tokenizer.encode(" hello") == [258])
        #expect(tokenizer.encode(" hellos") == [257, 108, 108, 111, 115])  // Ġhe l l o s: ids are byte values
    }

    @Test func gpt2ByteLevelOnlyMerges() throws {
        let json = try Self.byteLevelJSON(preTokenizer: ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true])
        let tokenizer = try Tokenizer.fromTokenizerJSON(json, config: nil)
        #expect(tokenizer.spec.preTokenizer == "gpt2")
        #expect(tokenizer.encode(" hello") == [257, 108, 108, 111])  // Ġhe l l o
    }

    @Test func mergesMayBePairs() throws {
        let json = try Self.byteLevelJSON(
            preTokenizer: ["type": "ByteLevel", "use_regex": true], merges: [["Ġ", "h"], ["Ġh", "e"]])
        let tokenizer = try Tokenizer.fromTokenizerJSON(json, config: nil)
        #expect(tokenizer.spec.merges == ["Ġ h", "Ġh e"])
    }

    @Test(arguments: [(qwen2Regex, "qwen2"), (llama3Regex, "llama3")])
    func splitRegexesMapToNames(_ regex: String, _ name: String) throws {
        let tokenizer = try Tokenizer.fromTokenizerJSON(try Self.byteLevelJSON(preTokenizer: Self.split(regex)), config: nil)
        #expect(tokenizer.spec.preTokenizer == name)
    }

    @Test func digitsThenByteLevelIsSmolLM() throws {
        let pre: [String: Any] = [
            "type": "Sequence",
            "pretokenizers": [["type": "Digits", "individual_digits": true], ["type": "ByteLevel", "use_regex": true]],
        ]
        let tokenizer = try Tokenizer.fromTokenizerJSON(try Self.byteLevelJSON(preTokenizer: pre), config: nil)
        #expect(tokenizer.spec.preTokenizer == "smollm")
    }

    @Test func unsupportedPreTokenizersAreNamed() throws {
        let json = try Self.byteLevelJSON(preTokenizer: Self.split(#"\p{L}+|\s+"#))
        #expect(throws: TokenizerError.unsupportedPreTokenizer(#"Split \p{L}+|\s+, ByteLevel"#)) {
            try Tokenizer.fromTokenizerJSON(json, config: nil)
        }
        let whitespace = try Self.byteLevelJSON(preTokenizer: ["type": "Whitespace"])
        #expect(throws: TokenizerError.unsupportedPreTokenizer("Whitespace")) {
            try Tokenizer.fromTokenizerJSON(whitespace, config: nil)
        }
    }

    @Test func unsupportedModelAndNormalizerAreRejected() throws {
        let unigram = try JSONSerialization.data(withJSONObject: ["model": ["type": "Unigram", "vocab": [:] as [String: Int]]])
        #expect(throws: TokenizerError.unsupportedModel("tokenizer.json model type Unigram")) {
            try Tokenizer.fromTokenizerJSON(unigram, config: nil)
        }
        let lowercase = try Self.byteLevelJSON(preTokenizer: ["type": "ByteLevel"], normalizer: ["type": "Lowercase"])
        #expect(throws: TokenizerError.unsupportedModel("normalizer Lowercase with a byte-level vocabulary")) {
            try Tokenizer.fromTokenizerJSON(lowercase, config: nil)
        }
    }

    @Test(arguments: ["", "{", "[]", #"{"model": 3}"#, #"{"model": {"type": "BPE"}}"#])
    func malformedDocumentsAreInvalidJSON(_ text: String) {
        #expect {
            try Tokenizer.fromTokenizerJSON(Data(text.utf8), config: nil)
        } throws: { error in
            if case TokenizerError.invalidJSON = error { return true }
            return false
        }
    }

    @Test func configSuppliesSpecialTokensAndTemplate() throws {
        let added: [[String: Any]] = [
            ["id": 259, "content": "<s>", "special": true], ["id": 260, "content": "</s>", "special": true],
            ["id": 261, "content": "<tool>", "special": false],
        ]
        let json = try Self.byteLevelJSON(
            preTokenizer: ["type": "ByteLevel"], extraVocab: ["Ġh", "Ġhe", "Ġhello", "<s>", "</s>", "<tool>"], added: added)
        let config = try JSONSerialization.data(withJSONObject: [
            "add_bos_token": true, "bos_token": ["content": "<s>", "lstrip": false], "eos_token": "</s>",
            "chat_template": [["name": "tool_use", "template": "x"], ["name": "default", "template": "<|im_start|>"]],
        ] as [String: Any])
        let tokenizer = try Tokenizer.fromTokenizerJSON(json, config: config)
        #expect(tokenizer.spec.bosID == 259)
        #expect(tokenizer.spec.eosID == 260)
        #expect(tokenizer.spec.addBOS)
        #expect(tokenizer.spec.chatTemplate == "<|im_start|>")
        #expect(tokenizer.spec.tokenTypes?[259] == 3)
        #expect(tokenizer.spec.tokenTypes?[261] == 4)
        #expect(tokenizer.encode("<tool>", parseSpecial: false) == [259, 261])
        #expect(tokenizer.isEndOfGeneration(260))
    }

    @Test func conflictingIDsAreRejected() throws {
        let json = try Self.byteLevelJSON(
            preTokenizer: ["type": "ByteLevel"], added: [["id": 5, "content": "<x>", "special": true]])
        #expect(throws: TokenizerError.invalidVocabulary("added token 5 \"<x>\" replaces \"ą\"")) {
            try Tokenizer.fromTokenizerJSON(json, config: nil)
        }
    }

    /// A LLaMA 2 style file: SentencePiece BPE with byte fallback and the Prepend/Replace
    /// normalizers.
    @Test func sentencePieceStyleFile() throws {
        var vocab: [String: Int] = ["<unk>": 0, "<s>": 1, "</s>": 2]
        for b in 0..<256 { vocab[String(format: "<0x%02X>", b)] = 3 + b }
        for (i, piece) in ["▁", "h", "i", "▁h", "▁hi", "hi"].enumerated() { vocab[piece] = 259 + i }
        let object: [String: Any] = [
            "added_tokens": [["id": 0, "content": "<unk>", "special": true], ["id": 1, "content": "<s>", "special": true],
                             ["id": 2, "content": "</s>", "special": true]],
            "normalizer": ["type": "Sequence", "normalizers": [
                ["type": "Prepend", "prepend": "▁"], ["type": "Replace", "pattern": ["String": " "], "content": "▁"],
            ]],
            "pre_tokenizer": NSNull(),
            "model": ["type": "BPE", "vocab": vocab, "merges": ["▁ h", "▁h i", "h i"], "byte_fallback": true,
                      "unk_token": "<unk>"],
        ]
        let config = try JSONSerialization.data(withJSONObject: ["add_bos_token": true, "bos_token": "<s>", "eos_token": "</s>"])
        let tokenizer = try Tokenizer.fromTokenizerJSON(try JSONSerialization.data(withJSONObject: object), config: config)
        #expect(tokenizer.spec.model == .sentencePiece)
        #expect(tokenizer.spec.addSpacePrefix)
        #expect(tokenizer.spec.tokenTypes?[3 + 0x0A] == 6)
        #expect(tokenizer.encode("hi hi\n") == [1, 263, 263, 3 + 0x0A])
        #expect(try tokenizer.decode(tokenizer.encode("hi hi\n"), skipSpecial: true) == "hi hi\n")
        #expect(try tokenizer.decode(tokenizer.encode("hi hi\n")) == "<s>hi hi\n")
    }

    @Test func metaspaceMarksSentencePiece() throws {
        var vocab: [String: Int] = ["<unk>": 0]
        for (i, piece) in ["▁", "a", "▁a"].enumerated() { vocab[piece] = 1 + i }
        let object: [String: Any] = [
            "pre_tokenizer": ["type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false],
            "model": ["type": "BPE", "vocab": vocab, "merges": ["▁ a"], "byte_fallback": true, "unk_token": "<unk>"],
        ]
        let tokenizer = try Tokenizer.fromTokenizerJSON(try JSONSerialization.data(withJSONObject: object), config: nil)
        #expect(tokenizer.spec.model == .sentencePiece)
        #expect(tokenizer.encode("a a") == [3, 3])
        #expect(tokenizer.encode("b") == [1, 0])  // no <0x62> token: the unknown id
    }
}
