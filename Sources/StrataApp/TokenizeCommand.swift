import Foundation
import StrataModel
import StrataTokenizer

/// `strata tokenize`: `{"ids":[…]}` for a text; BOS only where the model's metadata asks for it.
public func tokenizeText(modelPath: String, text: String, addSpecial: Bool) throws -> String {
    let model = try LoadedModel.load(path: modelPath)
    let ids = model.tokenizer.encode(text, addSpecial: addSpecial, parseSpecial: true)
    return try jsonLine(TokenizeOutput(ids: ids))
}

struct TokenizeOutput: Codable { var ids: [Int] }

/// One-line JSON with keys in declaration order as far as the encoder allows.
func jsonLine<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
