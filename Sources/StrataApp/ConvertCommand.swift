import CStrataKernels
import Foundation
import StrataFormats
import StrataKernels
import StrataModel
import StrataTokenizer

/// The tensor types `strata convert` writes.
public enum ConvertTarget: String, Sendable, CaseIterable {
    case f32, f16, bf16, q8_0, q4_0, q4_1

    /// Parses `--type`.
    /// - Throws: ``AppError/invalidArgument(_:)`` naming the accepted types.
    public init(parsing text: String) throws(AppError) {
        guard let target = ConvertTarget(rawValue: text.lowercased()) else {
            let names = ConvertTarget.allCases.map(\.rawValue).joined(separator: ", ")
            throw .invalidArgument("--type: unknown type \"\(text)\" (choose one of \(names))")
        }
        self = target
    }

    /// The type of the block matrices.
    public var tensorType: GGMLType {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        case .q8_0: .q8_0
        case .q4_0: .q4_0
        case .q4_1: .q4_1
        }
    }

    /// The type of the LM head (`output.weight`, or `token_embd.weight` when the head is tied to
    /// it). llama.cpp's quantizer never stores the head in fewer than 6 bits: for 4-bit targets
    /// it picks Q6_K, or Q8_0 where the row length is not a multiple of 256 (SmolLM2's 576).
    /// Strata writes no K-quants, so it takes Q8_0, the nearest type at least as precise.
    public var headType: GGMLType {
        switch self {
        case .q4_0, .q4_1: .q8_0
        default: tensorType
        }
    }

    /// llama.cpp's `llama_ftype` for the file (`general.file_type`).
    public var llamaFileType: UInt32 {
        switch self {
        case .f32: 0
        case .f16: 1
        case .q4_0: 2
        case .q4_1: 3
        case .q8_0: 7
        case .bf16: 32
        }
    }
}

/// Everything `strata convert` needs.
public struct ConvertConfig: Sendable {
    /// A GGUF file or a Hugging Face folder.
    public var modelPath: String
    /// The GGUF file to write; replaced only when the conversion succeeds.
    public var outputPath: String
    public var target: ConvertTarget
    /// Threads that (re)quantise rows; nil uses every online core.
    public var threads: Int?

    public init(modelPath: String, outputPath: String, target: ConvertTarget, threads: Int? = nil) {
        self.modelPath = modelPath
        self.outputPath = outputPath
        self.target = target
        self.threads = threads
    }
}

/// What a conversion wrote.
public struct ConvertReport: Sendable {
    public var sourceFormat: ModelFormat
    public var outputPath: String
    public var target: ConvertTarget
    /// Output tensors in file order: name, ggml-order dimensions, type.
    public var tensors: [GGUFStreamWriter.TensorPlan]
    public var bytesWritten: Int
    public var seconds: Double

    /// One line for people, e.g. "wrote out.gguf: 272 tensors (211 Q8_0, 61 F32), 138.1 MiB in 2.3 s".
    public var summary: String {
        var counts: [GGMLType: Int] = [:]
        for t in tensors { counts[t.type, default: 0] += 1 }
        let types = counts.sorted { $0.value > $1.value }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        return "wrote \(outputPath): \(tensors.count) tensors (\(types)), \(formatBytes(bytesWritten)) in "
            + String(format: "%.1f", seconds) + " s"
    }
}

/// Conversion errors, each naming the tensor or path at fault.
public enum ConvertError: Error, Equatable, Sendable, CustomStringConvertible {
    case sameInputAndOutput(String)
    case unsupportedSourceType(tensor: String, type: GGMLType)
    case rowNotBlockMultiple(tensor: String, rowLength: Int, type: GGMLType)
    case unmappedTensor(String)
    case headsDoNotDivide(tensor: String, rows: Int, heads: Int)
    case invalidConfig(path: String, reason: String)

    public var description: String {
        switch self {
        case .sameInputAndOutput(let p): "--out \(p) is the input model itself; choose another path"
        case .unsupportedSourceType(let t, let type): "tensor \"\(t)\" has type \(type), which convert cannot read"
        case .rowNotBlockMultiple(let t, let n, let type):
            "tensor \"\(t)\" has rows of \(n) values, not a multiple of \(type)'s block of \(type.blockElements): "
                + "choose --type f32, f16 or bf16"
        case .unmappedTensor(let t): "tensor \"\(t)\" has no GGUF name in the LLaMA architecture table"
        case .headsDoNotDivide(let t, let rows, let heads):
            "tensor \"\(t)\": \(rows) rows do not split into \(heads) heads of even size"
        case .invalidConfig(let p, let r): "\(p): \(r)"
        }
    }
}

/// `strata convert`: rewrites a model as a GGUF file of `config.target` that Strata and llama.cpp
/// both read.
///
/// Matrices are decoded row by row to f32 and re-encoded in the target type (rows whose type
/// already matches are copied unchanged); vectors (norms) are stored as F32. From a Hugging Face
/// folder, names follow GGUF, config and tokenizer become `llama.*` and `tokenizer.ggml.*` keys,
/// and the Q/K rows are permuted from rotate-half to GGUF's adjacent pairs. Data streams to a
/// temporary file renamed over `outputPath` at the end.
/// - Parameter progress: one line per written tensor (count, name, types, bytes so far).
/// - Returns: what was written.
/// - Throws: ``ConvertError``, ``ModelError`` for an unreadable model, ``GGUFWriteError`` for I/O.
public func convertModel(_ config: ConvertConfig, progress: (String) -> Void = { _ in }) throws -> ConvertReport {
    let started = ContinuousClock.now
    let input = URL(fileURLWithPath: config.modelPath).resolvingSymlinksInPath().standardizedFileURL.path
    let output = URL(fileURLWithPath: config.outputPath).resolvingSymlinksInPath().standardizedFileURL.path
    guard input != output else { throw ConvertError.sameInputAndOutput(config.outputPath) }

    let loaded = try LoadedModel.load(path: config.modelPath)
    let source: ConversionSource
    switch loaded.format {
    case .gguf:
        guard let file = loaded.gguf else {
            throw ConvertError.invalidConfig(path: config.modelPath, reason: "no GGUF data")
        }
        source = try ConversionSource(gguf: file, target: config.target)
    case .huggingFace:
        source = try ConversionSource(huggingFace: loaded, directory: config.modelPath, target: config.target)
    }
    var metadata = source.metadata
    metadata.set("general.file_type", .uint32(config.target.llamaFileType))
    metadata.set("general.quantization_version", .uint32(2))

    let pool = try EngineOptions(threads: config.threads).makePool()
    let plans = source.jobs.map {
        GGUFStreamWriter.TensorPlan(name: $0.name, dimensions: $0.dimensions, type: $0.outputType)
    }
    let writer = try GGUFStreamWriter(path: config.outputPath, metadata: metadata, tensors: plans)
    let total = writer.tensorBytes.reduce(0, +)
    progress(
        "convert: \(config.modelPath) (\(loaded.format.rawValue)) → \(config.outputPath) as "
            + "\(config.target.tensorType), \(plans.count) tensors, \(formatBytes(total)) of data")
    try withExtendedLifetime(source.owners) {
        for (index, job) in source.jobs.enumerated() {
            try job.write(to: writer, pool: pool)
            progress(
                "[\(index + 1)/\(source.jobs.count)] \(job.name) \(job.sourceType) → \(job.outputType), "
                    + "\(formatBytes(writer.bytesWritten)) written")
        }
    }
    try writer.finish()
    let elapsed = ContinuousClock.now - started
    return ConvertReport(
        sourceFormat: loaded.format, outputPath: config.outputPath, target: config.target, tensors: plans,
        bytesWritten: writer.bytesWritten,
        seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
}

// MARK: - Planning

/// One output tensor and where its rows come from.
struct TensorJob {
    var name: String
    /// ggml order: dimensions[0] is the row length.
    var dimensions: [Int]
    var sourceType: GGMLType
    var outputType: GGMLType
    /// The source rows, in place in the source file's mapping.
    var bytes: UnsafeRawBufferPointer
    /// Hugging Face Q/K only: the head count whose rows move from rotate-half to adjacent pairs.
    var permuteHeads: Int?

    var rowLength: Int { dimensions.first ?? 0 }
    var rowCount: Int { dimensions.dropFirst().reduce(1, *) }

    /// Checks that every row can be read and written as planned.
    func validate() throws(ConvertError) {
        if sourceType != outputType || permuteHeads != nil {
            guard st_type_supported(Int32(sourceType.rawValue)) != 0 else {
                throw .unsupportedSourceType(tensor: name, type: sourceType)
            }
        }
        guard rowLength % outputType.blockElements == 0 else {
            throw .rowNotBlockMultiple(tensor: name, rowLength: rowLength, type: outputType)
        }
        guard sourceType.byteCount(elements: rowLength).map({ $0 * rowCount }) == bytes.count else {
            throw .unsupportedSourceType(tensor: name, type: sourceType)
        }
        if let heads = permuteHeads, heads <= 0 || rowCount % (2 * heads) != 0 {
            throw .headsDoNotDivide(tensor: name, rows: rowCount, heads: heads)
        }
    }

    /// The source row that lands at output row `row`. Within a head of `hd` rows, GGUF row 2i is
    /// Hugging Face row i and GGUF row 2i + 1 is row i + hd/2 (llama.cpp's convert_hf_to_gguf.py
    /// `permute`, which reshapes to (heads, 2, hd/2) and swaps the last two axes).
    func sourceRow(_ row: Int) -> Int {
        guard let heads = permuteHeads else { return row }
        let headDim = rowCount / heads
        let (head, j) = row.quotientAndRemainder(dividingBy: headDim)
        return head * headDim + j / 2 + (j % 2) * (headDim / 2)
    }

    /// Encodes every row and streams it to `writer`, a chunk of rows at a time.
    func write(to writer: GGUFStreamWriter, pool: ComputePool) throws(GGUFWriteError) {
        let n = rowLength, rows = rowCount
        guard n > 0, rows > 0, let sourceBase = bytes.baseAddress,
            let sourceRowBytes = sourceType.byteCount(elements: n), let rowBytes = outputType.byteCount(elements: n)
        else { return }  // an empty tensor has no data; the sizes were checked by validate()
        let chunkRows = max(1, min(rows, (16 << 20) / rowBytes))
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkRows * rowBytes, alignment: 64)
        defer { chunk.deallocate() }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: n * pool.threadCount)  // (threads, n)
        defer { scratch.deallocate() }
        let copy = sourceType == outputType
        let sourceCode = Int32(sourceType.rawValue), outputCode = Int32(outputType.rawValue)
        guard let out = chunk.baseAddress else { return }  // allocated above with a positive size
        for first in stride(from: 0, to: rows, by: chunkRows) {
            let count = min(chunkRows, rows - first)
            pool.parallelFor(count) { range, thread in
                let floats = scratch + thread * n
                for r in range {
                    let from = sourceBase + sourceRow(first + r) * sourceRowBytes
                    let to = out + r * rowBytes
                    if copy {
                        to.copyMemory(from: from, byteCount: rowBytes)
                    } else {
                        // Types and row lengths were checked by validate(), so neither call fails.
                        _ = st_dequantize_row(sourceCode, from, floats, Int64(n))
                        _ = st_quantize_row(outputCode, floats, to, Int64(n))
                    }
                }
            }
            try writer.write(UnsafeRawBufferPointer(start: out, count: count * rowBytes))
        }
    }
}

/// The tensors and metadata of the output, read from a GGUF file or a Hugging Face folder.
struct ConversionSource {
    var metadata: GGUFMetadata
    var jobs: [TensorJob]
    /// Keep the source mappings alive while `jobs` point into them.
    var owners: [AnyObject]

    /// The output type of a tensor: F32 for vectors and norms, the head type for the LM head,
    /// the target type for every other matrix (as llama.cpp's quantizer chooses).
    static func outputType(name: String, dimensions: [Int], tied: Bool, target: ConvertTarget) -> GGMLType {
        let isMatrix = dimensions.dropFirst().contains { $0 > 1 } && !name.hasSuffix("_norm.weight")
        guard isMatrix else { return .f32 }
        let isHead = name == "output.weight" || (tied && name == "token_embd.weight")
        return isHead ? target.headType : target.tensorType
    }

    /// Every tensor of a GGUF file, in file order, and all its metadata.
    init(gguf file: GGUFFile, target: ConvertTarget) throws(ConvertError) {
        var metadata = GGUFMetadata()
        for key in file.metadata.keys where key != "general.alignment" {
            if let value = file.metadata[key] { metadata.set(key, value) }
        }
        let tied = file.tensor(named: "output.weight") == nil
        jobs = []
        for info in file.tensors {
            let job = TensorJob(
                name: info.name, dimensions: info.dimensions, sourceType: info.type,
                outputType: Self.outputType(name: info.name, dimensions: info.dimensions, tied: tied, target: target),
                bytes: file.data(of: info), permuteHeads: nil)
            try job.validate()
            jobs.append(job)
        }
        self.metadata = metadata
        owners = [file.file]
    }

    /// A Hugging Face folder's tensors renamed to GGUF (Q/K rows permuted), and `llama.*` and
    /// `tokenizer.*` metadata from its config and tokenizer. `loaded` has validated the folder.
    init(huggingFace loaded: LoadedModel, directory: String, target: ConvertTarget) throws {
        let checkpoint = try SafetensorsCheckpoint(directory: directory)
        let c = loaded.config
        var used = Set<String>()
        jobs = []
        for role in TensorRole.allCases {
            for layer in role.isPerLayer ? Array(0..<c.layerCount) : [-1] {
                let hfName = role.huggingFaceName.replacingOccurrences(of: "%d", with: String(layer))
                let name = role.ggufName.replacingOccurrences(of: "%d", with: String(layer))
                if name == "output.weight" && c.tiedEmbeddings { continue }
                guard let tensor = checkpoint.tensors[hfName] else { throw ModelError.missingTensor(hfName) }
                used.insert(hfName)
                let dimensions = Array(tensor.shape.reversed())
                let heads =
                    name.hasSuffix("attn_q.weight") ? c.headCount : name.hasSuffix("attn_k.weight") ? c.kvHeadCount : nil
                let type = Self.outputType(name: name, dimensions: dimensions, tied: c.tiedEmbeddings, target: target)
                let job = TensorJob(
                    name: name, dimensions: dimensions, sourceType: tensor.type, outputType: type, bytes: tensor.data,
                    permuteHeads: heads)
                try job.validate()
                jobs.append(job)
            }
        }
        // Rotary frequency buffers are recomputed from the config; a tied head needs no copy.
        for name in checkpoint.tensors.keys.sorted() where !used.contains(name) {
            if name.hasSuffix("rotary_emb.inv_freq") || (name == "lm_head.weight" && c.tiedEmbeddings) { continue }
            throw ConvertError.unmappedTensor(name)
        }
        metadata = try huggingFaceMetadata(loaded, directory: directory)
        owners = checkpoint.tensors.values.map { $0.file }
    }
}

// MARK: - Hugging Face metadata

/// `general.*`, `llama.*`, `strata.*` and `tokenizer.*` keys for a Hugging Face folder, as
/// llama.cpp's convert_hf_to_gguf.py writes them for LlamaForCausalLM.
func huggingFaceMetadata(_ loaded: LoadedModel, directory: String) throws -> GGUFMetadata {
    let configPath = directory + "/config.json"
    guard let data = FileManager.default.contents(atPath: configPath),
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { throw ConvertError.invalidConfig(path: configPath, reason: "not a JSON object") }
    let c = loaded.config
    var m = GGUFMetadata()
    m.set("general.architecture", .string("llama"))
    m.set("general.type", .string("model"))
    m.set("general.name", .string(URL(fileURLWithPath: directory).standardizedFileURL.lastPathComponent))
    func u32(_ key: String, _ value: Int) { m.set("llama." + key, .uint32(UInt32(clamping: value))) }
    u32("vocab_size", c.vocabularySize)
    u32("context_length", c.contextLength)
    u32("embedding_length", c.hiddenSize)
    u32("block_count", c.layerCount)
    u32("feed_forward_length", c.intermediateSize)
    u32("rope.dimension_count", c.rope.dimensions)
    u32("attention.head_count", c.headCount)
    u32("attention.head_count_kv", c.kvHeadCount)
    if c.headDimension * c.headCount != c.hiddenSize {
        u32("attention.key_length", c.headDimension)
        u32("attention.value_length", c.headDimension)
    }
    let theta = (json["rope_theta"] as? Double) ?? (json["rope_theta"] as? Int).map(Double.init) ?? 10_000
    m.set("llama.rope.freq_base", .float32(Float(theta)))
    m.set("llama.attention.layer_norm_rms_epsilon", .float32(c.rmsNormEpsilon))
    if let scaling = json["rope_scaling"] as? [String: Any],
        (scaling["rope_type"] as? String ?? scaling["type"] as? String) == "linear",
        let factor = (scaling["factor"] as? Double) ?? (scaling["factor"] as? Int).map(Double.init)
    {
        m.set("llama.rope.scaling.type", .string("linear"))
        m.set("llama.rope.scaling.factor", .float32(Float(factor)))
    }
    if !c.sortedExits.isEmpty {
        m.set("strata.exits", .array(.uint32, c.sortedExits.map { .uint32(UInt32(clamping: $0)) }))
    }
    for (key, value) in tokenizerMetadata(loaded.tokenizer.spec) { m.set(key, value) }
    return m
}

/// The `tokenizer.ggml.*` keys that StrataModel's `TokenizerSpec.fromGGUF` and llama.cpp read.
func tokenizerMetadata(_ spec: TokenizerSpec) -> [(String, GGUFValue)] {
    var out: [(String, GGUFValue)] = [("tokenizer.ggml.model", .string(spec.model.rawValue))]
    if spec.model == .bytePair { out.append(("tokenizer.ggml.pre", .string(spec.preTokenizer))) }
    out.append(("tokenizer.ggml.tokens", .array(.string, spec.tokens.map { .string($0) })))
    if let scores = spec.scores { out.append(("tokenizer.ggml.scores", .array(.float32, scores.map { .float32($0) }))) }
    let types = spec.tokenTypes ?? Array(repeating: TokenizerSpec.TokenType.normal.rawValue, count: spec.tokens.count)
    out.append(("tokenizer.ggml.token_type", .array(.int32, types.map { .int32($0) })))
    if spec.model == .bytePair {
        out.append(("tokenizer.ggml.merges", .array(.string, spec.merges.map { .string($0) })))
    }
    let ids: [(String, Int?)] = [
        ("bos_token_id", spec.bosID), ("eos_token_id", spec.eosID), ("unknown_token_id", spec.unknownID),
        ("padding_token_id", spec.paddingID),
    ]
    for (key, id) in ids {
        if let id { out.append(("tokenizer.ggml." + key, .uint32(UInt32(clamping: id)))) }
    }
    out.append(("tokenizer.ggml.add_bos_token", .bool(spec.addBOS)))
    out.append(("tokenizer.ggml.add_eos_token", .bool(spec.addEOS)))
    out.append(("tokenizer.ggml.add_space_prefix", .bool(spec.addSpacePrefix)))
    if let template = spec.chatTemplate { out.append(("tokenizer.chat_template", .string(template))) }
    return out
}
