import Foundation
@testable import StrataTokenizer
import StrataTestSupport
import Testing

@Suite("Byte-level BPE merging")
struct BytePairModelTests {
    static func model(_ tokenizer: Tokenizer) throws -> BytePairModel {
        guard case .bytePair(let model, _) = tokenizer.engine else {
            throw TokenizerError.unsupportedModel("expected byte-level BPE")
        }
        return model
    }

    /// The heap path must agree with the scanning path on pieces of every length.
    @Test func heapAndScanAgree() throws {
        let model = try Self.model(Fixtures.smolLM2Tokenizer())
        var rng = SplitMix64(seed: 7)
        var scratch = BytePairScratch()
        for trial in 0..<300 {
            let length = 2 + Int(rng.next() % 120)
            let text = RandomText.string(&rng, scalars: length, alphabet: trial % 3 == 0 ? .ascii : .mixed)
            let bytes = Array(text.utf8)
            var scanned: [Int] = []
            var heaped: [Int] = []
            bytes.withUnsafeBufferPointer { piece in
                model.encodeByScanning(piece, scratch: &scratch, into: &scanned)
                model.encodeWithHeap(piece, scratch: &scratch, into: &heaped)
            }
            #expect(scanned == heaped, "\(bytes.hex)")
        }
    }

    @Test func longRunsStayFastAndRoundTrip() throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        for text in [String(repeating: " ", count: 20_000), String(repeating: "ab", count: 10_000), String(repeating: "😀", count: 3000)] {
            let ids = tokenizer.encode(text, addSpecial: false)
            #expect(sameBytes(try tokenizer.decode(ids), text))
        }
    }

    @Test func mergeTableFindsInsertedPairsOnly() {
        var table = MergeTable(minimumCapacity: 3)
        let first = table.insert(left: 1, right: 2, rank: 0, merged: 10)
        let second = table.insert(left: 2, right: 1, rank: 1, merged: 11)
        let repeated = table.insert(left: 1, right: 2, rank: 5, merged: 12)
        #expect(first && second)
        #expect(!repeated)  // the first merge of a pair wins
        #expect(table.count == 2)
        #expect(table.lookup(1, 2) == (0, 10))
        #expect(table.lookup(2, 1) == (1, 11))
        #expect(table.lookup(1, 1).rank == UInt32.max)
        #expect(table.lookup(-1, -1).rank == UInt32.max)  // packs to the empty-slot key
    }

    @Test(arguments: [
        ("a", 0, "expected two tokens"), ("a  b", 0, "expected two tokens"), ("a c", 0, "not in the vocabulary"),
        ("b a", 0, "join"),
    ])
    func malformedMergesAreRejected(_ merge: String, _ index: Int, _ message: String) {
        let spec = TokenizerSpec(model: .bytePair, preTokenizer: "gpt2", tokens: ["a", "b", "ab"], merges: [merge])
        do {
            _ = try Tokenizer(spec: spec)
            Issue.record("merge \"\(merge)\" was accepted")
        } catch {
            guard case .badMerge(let at, let text) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(at == index)
            #expect(text.contains(message), "\(text)")
        }
    }

    @Test func bytesWithoutTokensAreDropped() throws {
        // Only "a", "b" and "ab" exist: every other byte is left out, as llama.cpp does.
        let spec = TokenizerSpec(
            model: .bytePair, preTokenizer: "gpt2", tokens: ["<unk>", "a", "b", "ab"], tokenTypes: [2, 1, 1, 1],
            merges: ["a b"], unknownID: 0)
        let tokenizer = try Tokenizer(spec: spec)
        #expect(tokenizer.encode("abxab", parseSpecial: false) == [3, 3])
        #expect(tokenizer.encode("é", parseSpecial: false) == [])
    }
}

/// Random Unicode text for property tests.
enum RandomText {
    enum Alphabet { case ascii, mixed }

    /// Scalars that stress the tokenizer: white space of all kinds, letters and digits of many
    /// scripts, marks, emoji with joiners and modifiers, and pieces of special-token text.
    static let interesting: [Unicode.Scalar] = Array(
        (" \t\n\r\u{0B}\u{0C}\u{85}\u{A0}\u{1680}\u{2000}\u{2028}\u{3000}'aAzZ09éßıİ中文日本한글ابجשלוםДжΩ१२٣𝟙Ⅻ½"
            + "\u{0301}\u{0308}\u{200D}\u{200B}\u{FE0F}😀👍🏽👨🏳🌈🎉<|>_!?.,;:-+=*/\\\"(){}[]$€£¥…—“”‘’«»\u{0}\u{7F}\u{FFFD}")
            .unicodeScalars)

    static func scalar(_ rng: inout SplitMix64, _ alphabet: Alphabet) -> Unicode.Scalar {
        switch alphabet {
        case .ascii:
            return Unicode.Scalar(UInt8(32 + rng.next() % 95))
        case .mixed:
            if rng.next() % 4 == 0 {
                // Anywhere in the code space, skipping surrogates.
                while true {
                    if let scalar = Unicode.Scalar(UInt32(rng.next() % 0x110000)) { return scalar }
                }
            }
            return interesting[Int(rng.next() % UInt64(interesting.count))]
        }
    }

    static func string(_ rng: inout SplitMix64, scalars: Int, alphabet: Alphabet = .mixed) -> String {
        var view = String.UnicodeScalarView()
        for _ in 0..<scalars { view.append(scalar(&rng, alphabet)) }
        return String(view)
    }
}

@Suite("Random text helper")
struct RandomTextTests {
    /// The property tests are only as good as their inputs: the generator must reach white
    /// space, astral scalars and many distinct scalars, and differ between seeds.
    @Test func generatorIsNotDegenerate() {
        var rng = SplitMix64(seed: 1)
        var seen = Set<UInt32>()
        var astral = 0
        var whitespace = 0
        for _ in 0..<200 {
            for scalar in RandomText.string(&rng, scalars: 20).unicodeScalars {
                seen.insert(scalar.value)
                if scalar.value > 0xFFFF { astral += 1 }
                if scalar.properties.isWhitespace { whitespace += 1 }
            }
        }
        #expect(seen.count > 1000)
        #expect(astral > 200)
        #expect(whitespace > 100)
        var a = SplitMix64(seed: 1)
        var b = SplitMix64(seed: 2)
        #expect(RandomText.string(&a, scalars: 10) != RandomText.string(&b, scalars: 10))
        let ascii = RandomText.string(&a, scalars: 50, alphabet: .ascii)
        #expect(ascii.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 32 })
    }
}
