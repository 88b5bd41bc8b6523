import CStrataKernels
import StrataFormats
import StrataKernels
import StrataModel

/// Tensor types an export can write. Norm weights are always F32.
public enum ExportTensorType: String, Sendable, CaseIterable {
    case f32
    /// 8-bit blocks of 32 (ggml's reference rounding, via the same C quantiser `strata convert` uses).
    case q8_0

    var ggmlType: GGMLType {
        switch self {
        case .f32: .f32
        case .q8_0: .q8_0
        }
    }

    /// llama.cpp's `general.file_type`.
    var fileType: UInt32 {
        switch self {
        case .f32: 0
        case .q8_0: 7
        }
    }
}

/// One tensor in inference form: GGUF name, ggml-order dimensions, f32 values in row order.
public struct ExportedTensor: Sendable, Equatable {
    /// The GGUF tensor name.
    public var name: String
    /// ggml order: the row length first.
    public var dimensions: [Int]
    /// Every value, row by row.
    public var values: [Float]
}

extension TrainableLlama where S == Float {
    /// The metadata key listing the exits a model was sorted-fine-tuned for (array of u32); the
    /// key `LlamaConfig.sortedExits` reads.
    public static var exitsKey: String { "strata.exits" }

    /// Every parameter tensor under its GGUF name, as f32.
    public func exportedTensors() -> [ExportedTensor] {
        layout.entries.map { e in
            ExportedTensor(name: e.name, dimensions: e.ggufDimensions, values: Array(values(of: e)))
        }
    }

    /// Writes the model as a GGUF file that the inference engine (and llama.cpp) loads: the base
    /// file's metadata and tensor order, each trained tensor in place of the base one, any other
    /// tensor of the base (such as `rope_freqs.weight`) copied unchanged, and `strata.sorted_exits`
    /// (plus `strata.exits`, which `LlamaConfig.sortedExits` reads) set to `sortedExits`.
    ///
    /// Weights trained from a GGUF file are already in its adjacent-pair RoPE row order, so they
    /// are written back unpermuted. The file is written to a temporary name and renamed at the end.
    /// - Parameters:
    ///   - base: the GGUF file training started from.
    ///   - sortedExits: 1-based exits to record.
    ///   - type: the type of the matrices.
    /// - Throws: ``TrainError/export(_:)`` when the base does not match the model, a row does not
    ///   split into Q8_0 blocks, or the file cannot be written.
    public func writeGGUF(to path: String, base: GGUFFile, sortedExits: [Int], type: ExportTensorType) throws(TrainError) {
        guard shape.ropeLayout == .adjacentPairs else {
            throw .export("the model uses Hugging Face RoPE rows (rotate-half); convert it to GGUF with `strata convert` and train from that")
        }
        guard sortedExits.allSatisfy({ $0 >= 1 && $0 <= shape.layerCount }) else {
            throw .export("exits \(sortedExits) are outside 1…\(shape.layerCount)")
        }
        var used = Set<String>()
        var plans: [GGUFStreamWriter.TensorPlan] = []
        for info in base.tensors {
            guard let entry = layout.entry(named: info.name) else {
                plans.append(GGUFStreamWriter.TensorPlan(name: info.name, dimensions: info.dimensions, type: info.type))
                continue
            }
            guard info.dimensions == entry.ggufDimensions else {
                throw .export("base tensor \(info.name) has dimensions \(info.dimensions), the model \(entry.ggufDimensions)")
            }
            let outType: GGMLType = entry.isVector ? .f32 : type.ggmlType
            guard entry.columns % outType.blockElements == 0 else {
                throw .export("\(info.name) has rows of \(entry.columns) values, not a multiple of \(outType)'s block of \(outType.blockElements)")
            }
            plans.append(GGUFStreamWriter.TensorPlan(name: info.name, dimensions: info.dimensions, type: outType))
            used.insert(info.name)
        }
        if let missing = layout.entries.first(where: { !used.contains($0.name) }) {
            throw .export("the base file has no tensor \(missing.name)")
        }
        var metadata = GGUFMetadata()
        for key in base.metadata.keys where key != "general.alignment" {
            if let value = base.metadata[key] { metadata.set(key, value) }
        }
        let exits = GGUFValue.array(.uint32, sortedExits.map { .uint32(UInt32($0)) })
        metadata.set("general.file_type", .uint32(type.fileType))
        metadata.set(Self.exitsKey, exits)
        do {
            let writer = try GGUFStreamWriter(path: path, metadata: metadata, tensors: plans)
            for plan in plans {
                if let entry = layout.entry(named: plan.name) {
                    try write(entry, as: plan.type, to: writer)
                } else if let info = base.tensor(named: plan.name) {
                    try writer.write(base.data(of: info))
                }
            }
            try writer.finish()
        } catch {
            throw .export("\(path): \(error)")
        }
    }

    /// Streams one tensor's rows, encoded as `type`, a chunk of rows at a time.
    private func write(_ entry: ParameterLayout.Entry, as type: GGMLType, to writer: GGUFStreamWriter) throws(GGUFWriteError) {
        let source = parameterBase + entry.offset
        guard type != .f32 else {
            return try writer.write(UnsafeRawBufferPointer(start: source, count: entry.count * 4))
        }
        guard let rowBytes = type.byteCount(elements: entry.columns) else { return }  // checked by the caller
        let chunkRows = max(1, min(entry.rows, (4 << 20) / max(rowBytes, 1)))
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkRows * rowBytes, alignment: 64)
        defer { chunk.deallocate() }
        guard let out = chunk.baseAddress else { return }
        for first in stride(from: 0, to: entry.rows, by: chunkRows) {
            let count = min(chunkRows, entry.rows - first)
            for r in 0..<count {
                // Row length is a whole number of blocks (checked above), so the quantiser cannot fail.
                _ = st_quantize_row(
                    Int32(type.rawValue), source + (first + r) * entry.columns, out + r * rowBytes, Int64(entry.columns))
            }
            try writer.write(UnsafeRawBufferPointer(start: out, count: count * rowBytes))
        }
    }
}
