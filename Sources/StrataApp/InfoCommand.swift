import Foundation
import StrataFormats
import StrataKernels
import StrataModel
import StrataTokenizer

/// `strata info --machine`: what this machine computes with, one `key: value` a line.
public func machineInfo() -> String {
    [
        "kernels: \(simdPathName())",
        "openblas: \(BLASCore.current)",
        "cores: \(ProcessInfo.processInfo.activeProcessorCount)",
    ].joined(separator: "\n")
}

/// `strata info`: what a model file holds.
public func modelInfo(path: String) throws -> String {
    let model = try LoadedModel.load(path: path)
    let c = model.config
    var lines: [String] = []
    lines.append("model:        \(path) (\(model.format.rawValue))")
    if let name = try model.gguf?.metadata.string("general.name") { lines.append("name:         \(name)") }
    lines.append("architecture: llama, \(c.layerCount) layers, width \(c.hiddenSize), FFN \(c.intermediateSize)")
    lines.append("attention:    \(c.headCount) query heads × \(c.headDimension), \(c.kvHeadCount) KV heads")
    lines.append(
        "rope:         \(c.rope.dimensions) dims, \(c.rope.layout == .adjacentPairs ? "adjacent pairs" : "rotate half"), θ₀ \(c.rope.inverseFrequencies.first ?? 0)"
    )
    lines.append("norm:         RMSNorm ε \(c.rmsNormEpsilon)")
    lines.append("vocabulary:   \(c.vocabularySize) (tokenizer \(model.tokenizer.spec.model.rawValue), pre \(model.tokenizer.spec.preTokenizer))")
    lines.append("context:      \(c.contextLength)")
    lines.append("head:         \(c.tiedEmbeddings ? "tied to the embedding" : "separate output matrix")")
    lines.append(
        "exits:        "
            + (c.sortedExits.isEmpty
                ? "none recorded (an ordinary model: any layer 1…\(c.layerCount) may be used)"
                : c.sortedExits.map(String.init).joined(separator: ", ")))
    var byType: [GGMLType: (count: Int, bytes: Int, elements: Int)] = [:]
    for t in model.tensorSummary {
        let elements = t.shape.reduce(1, *)
        let old = byType[t.type] ?? (0, 0, 0)
        byType[t.type] = (old.count + 1, old.bytes + t.bytes, old.elements + elements)
    }
    let totalBytes = byType.values.reduce(0) { $0 + $1.bytes }
    let totalElements = byType.values.reduce(0) { $0 + $1.elements }
    lines.append("tensors:      \(model.tensorSummary.count), \(formatCount(totalElements)) parameters, \(formatBytes(totalBytes))")
    for (type, stats) in byType.sorted(by: { $0.value.bytes > $1.value.bytes }) {
        lines.append("  \(type.description.padding(toLength: 6)) \(String(stats.count).leftPadded(4)) tensors  \(formatBytes(stats.bytes).leftPadded(10))")
    }
    lines.append("this machine: \(simdPathName()) kernels, OpenBLAS \(BLASCore.current)")
    return lines.joined(separator: "\n")
}

func formatBytes(_ n: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB"]
    var value = Double(n)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(n) B" : String(format: "%.1f", value) + " " + units[unit]
}

func formatCount(_ n: Int) -> String {
    n >= 1_000_000 ? String(format: "%.1f M", Double(n) / 1e6) : "\(n)"
}

extension String {
    func padding(toLength n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
