import Foundation
@testable import StrataTokenizer
import Testing

/// The hand-written split matchers against the `regex` package running the real patterns.
@Suite("Pre-tokenizer splits")
struct PreTokenizerTests {
    struct SplitCase: Decodable, Sendable, CustomTestStringConvertible {
        let text: String
        let gpt2: [String]
        let smollm: [String]
        let llama3: [String]
        let qwen2: [String]

        var testDescription: String {
            "\"" + text.unicodeScalars.prefix(24).map { $0.escaped(asASCII: false) }.joined() + "\""
        }
    }

    struct SplitFile: Decodable {
        let format: String
        let version: Int
        let cases: [SplitCase]
    }

    static let file = Result { try Fixtures.decode(SplitFile.self, "pretokenizer_splits.json") }
    static var cases: [SplitCase] { (try? file.get().cases) ?? [] }

    /// The pieces `preTokenizer` cuts `text` into, as byte arrays.
    static func pieces(_ preTokenizer: PreTokenizer, _ text: String) -> [[UInt8]] {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            var scalars = ScalarBuffer()
            scalars.load(buffer, 0..<buffer.count)
            var ends: [Int] = []
            preTokenizer.split(scalars, 0..<scalars.count, into: &ends)
            var out: [[UInt8]] = []
            var first = 0
            for end in ends {
                out.append(Array(bytes[scalars.offsets[first]..<scalars.offsets[end]]))
                first = end
            }
            return out
        }
    }

    @Test func fixtureIsReadable() throws {
        let file = try Self.file.get()
        #expect(file.format == "strata-golden")
        #expect(file.cases.count > 100)
    }

    @Test(.tags(.golden), arguments: cases)
    func matchesRegexSplits(_ golden: SplitCase) {
        let expected: [(PreTokenizer, [String])] = [
            (.gpt2, golden.gpt2), (.digitsThenGPT2, golden.smollm), (.llama3, golden.llama3), (.qwen2, golden.qwen2),
        ]
        for (preTokenizer, pieces) in expected {
            #expect(Self.pieces(preTokenizer, golden.text) == pieces.map { Array($0.utf8) }, "\(preTokenizer)")
        }
    }

    @Test func whitespaceBeforeTextLeavesItsLastCharacterToTheWord() {
        let pieces = Self.pieces(.gpt2, "a   b").map { String(decoding: $0, as: UTF8.self) }
        #expect(pieces == ["a", "  ", " b"])
        let trailing = Self.pieces(.gpt2, "a   ").map { String(decoding: $0, as: UTF8.self) }
        #expect(trailing == ["a", "   "])
    }

    @Test(arguments: [
        ("default", PreTokenizer.gpt2), ("gpt2", .gpt2), ("smollm", .digitsThenGPT2),
        ("llama3", .llama3), ("llama-bpe", .llama3), ("qwen2", .qwen2),
    ])
    func namesMapToPatterns(_ name: String, _ expected: PreTokenizer) throws {
        #expect(try PreTokenizer(name: name) == expected)
    }

    @Test func unknownNameIsRejected() {
        #expect(throws: TokenizerError.unsupportedPreTokenizer("deepseek-coder")) {
            try PreTokenizer(name: "deepseek-coder")
        }
    }

    @Test func scalarClassesFollowUnicodeCategories() {
        #expect(ScalarClass.of(0x41) == ScalarClass.letter)  // A
        #expect(ScalarClass.of(0x4E2D) == ScalarClass.letter)  // 中
        #expect(ScalarClass.of(0x0661) == ScalarClass.number)  // Arabic-Indic 1
        #expect(ScalarClass.of(0x216B) == ScalarClass.number)  // Ⅻ (Nl)
        #expect(ScalarClass.of(0x00A0) == ScalarClass.space)  // NBSP is White_Space
        #expect(ScalarClass.of(0x200B) == ScalarClass.other)  // ZWSP is not
        #expect(ScalarClass.of(0x0301) == ScalarClass.other)  // combining acute
        #expect(ScalarClass.of(0x1F600) == ScalarClass.other)  // 😀
        #expect(ScalarClass.of(0x1D7D9) == ScalarClass.number)  // 𝟙
    }
}
