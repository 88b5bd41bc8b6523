import Foundation
import StrataKernels
import StrataModel

/// Which exits `strata logits` reports.
public enum ExitSelection: Sendable, Equatable {
    case all
    case layers([Int])

    /// Parses "all" or a comma-separated list such as "9,12,30".
    public init(parsing text: String) throws(AppError) {
        if text == "all" {
            self = .all
            return
        }
        var layers: [Int] = []
        for part in text.split(separator: ",") {
            guard let k = Int(part.trimmingCharacters(in: .whitespaces)) else {
                throw .invalidArgument("--exits: \"\(part)\" is not a layer number (use \"all\" or e.g. 9,12,30)")
            }
            layers.append(k)
        }
        guard !layers.isEmpty else { throw .invalidArgument("--exits is empty") }
        self = .layers(layers)
    }

    func resolve(layerCount: Int) -> [Int] {
        switch self {
        case .all: Array(1...layerCount)
        case .layers(let l): l
        }
    }
}

struct LogitsOutput: Codable {
    struct Entry: Codable {
        var id: Int
        var logit: Float
    }
    struct Exit: Codable {
        var layer: Int
        var top: [Entry]
    }
    var token_ids: [Int]
    var exits: [Exit]
}

/// Parses "1,2,3" into token ids.
public func parseTokenIDs(_ text: String) throws(AppError) -> [Int] {
    var ids: [Int] = []
    for part in text.split(separator: ",") {
        guard let id = Int(part.trimmingCharacters(in: .whitespaces)), id >= 0 else {
            throw .invalidArgument("--token-ids: \"\(part)\" is not a token id")
        }
        ids.append(id)
    }
    guard !ids.isEmpty else { throw .invalidArgument("--token-ids is empty") }
    return ids
}

/// `strata logits`: the top logits at the last position after each requested exit.
public func exitLogits(
    modelPath: String, tokenIDs: [Int], exits: ExitSelection, top: Int, engine: EngineOptions, exact: Bool = false
) throws -> String {
    guard top >= 1 else { throw AppError.invalidArgument("--top must be ≥ 1") }
    let loaded = try LoadedModel.load(path: modelPath)
    let model = try engine.makeModel(loaded, exact: exact)
    let layers = exits.resolve(layerCount: loaded.config.layerCount)
    let cache = KVCache(layers: 0..<loaded.config.layerCount, kvDimension: loaded.config.kvDimension, limit: loaded.config.contextLength)
    let results = try model.forward(tokens: tokenIDs, cache: cache, exits: layers, workspace: Workspace(config: loaded.config))
    var output = LogitsOutput(token_ids: tokenIDs, exits: [])
    for layer in layers {
        let logits = results[layer] ?? []
        let best = topEntries(logits, count: top)
        output.exits.append(.init(layer: layer, top: best.map { .init(id: $0.0, logit: $0.1) }))
    }
    return try jsonLine(output)
}

/// The `count` largest entries, descending (index order on ties).
func topEntries(_ values: [Float], count: Int) -> [(Int, Float)] {
    var best: [(Int, Float)] = []
    for (i, v) in values.enumerated() {
        if best.count < count || v > best[best.count - 1].1 {
            let at = best.firstIndex { v > $0.1 } ?? best.count
            best.insert((i, v), at: at)
            if best.count > count { best.removeLast() }
        }
    }
    return best
}
