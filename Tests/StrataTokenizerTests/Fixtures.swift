import Foundation
import StrataTokenizer
import Testing

/// Loads the committed golden files made by `scripts/golden/make_tokenizer_goldens.py`.
enum Fixtures {
    struct Missing: Error, CustomStringConvertible {
        let name: String
        var description: String { "fixture \(name) is not in the test bundle" }
    }

    static func data(_ name: String) throws -> Data {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            throw Missing(name: name)
        }
        return try Data(contentsOf: url)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        try JSONDecoder().decode(type, from: data(name))
    }

    /// The SmolLM2-135M-Instruct tokenizer, built once from the tokenizer.json fixture.
    static let smolLM2: Result<Tokenizer, any Error> = Result {
        try Tokenizer.fromTokenizerJSON(
            data("smollm2_tokenizer.json"), config: data("smollm2_tokenizer_config.json"))
    }

    static func smolLM2Tokenizer() throws -> Tokenizer { try smolLM2.get() }

    static let smolLM2Goldens: Result<SmolLM2Goldens, any Error> = Result {
        try decode(SmolLM2Goldens.self, "smollm2_tokens.json")
    }

    /// The golden cases, or none when the file cannot be read (a separate test reports that).
    static var smolLM2Cases: [EncodeCase] { (try? smolLM2Goldens.get().cases) ?? [] }
}

/// The header every golden file starts with.
struct GoldenHeader: Decodable {
    let format: String
    let version: Int
    let generator: String
}

/// One llama.cpp tokenization: ids for `text`, and llama.cpp's detokenization of those ids.
struct EncodeCase: Decodable, Sendable, CustomTestStringConvertible {
    let text: String
    let parseSpecial: Bool
    let addSpecial: Bool
    let ids: [Int]
    let decoded: String
    let decodedSkipSpecial: String

    enum CodingKeys: String, CodingKey {
        case text, ids, decoded
        case parseSpecial = "parse_special"
        case addSpecial = "add_special"
        case decodedSkipSpecial = "decoded_skip_special"
    }

    var testDescription: String {
        let shown = text.unicodeScalars.prefix(24).map { $0.escaped(asASCII: false) }.joined()
        return "\"\(shown)\"\(parseSpecial ? "" : " (plain)")\(addSpecial ? " (+special)" : "")"
    }
}

struct ChatCase: Decodable, Sendable {
    let messages: [ChatMessage]
    let addGenerationPrompt: Bool
    let rendered: String

    enum CodingKeys: String, CodingKey {
        case messages, rendered
        case addGenerationPrompt = "add_generation_prompt"
    }
}

struct SmolLM2Goldens: Decodable, Sendable {
    let format: String
    let version: Int
    let generator: String
    let model: String
    let modelSHA256: String
    let cases: [EncodeCase]
    let chat: [ChatCase]

    enum CodingKeys: String, CodingKey {
        case format, version, generator, model, cases, chat
        case modelSHA256 = "model_sha256"
    }
}

extension Array where Element == UInt8 {
    /// Hex for failure messages.
    var hex: String { map { String($0, radix: 16) }.joined(separator: " ") }
}

/// Byte-exact string comparison: Swift's `==` treats canonically equivalent strings (precomposed
/// and decomposed "é") as equal, which would hide tokenizer bugs.
func sameBytes(_ a: String, _ b: String) -> Bool {
    Array(a.utf8) == Array(b.utf8)
}
