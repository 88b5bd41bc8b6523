import Foundation
import StrataApp
import StrataFormats
import StrataKernels
import StrataModel
import StrataTestSupport
import StrataTokenizer
import Testing

/// `strata convert`: every target type loads back in Strata with the expected tensor types and
/// logits close to the source, a Hugging Face folder becomes a GGUF file computing the same
/// function, and bad requests fail with their own error and leave nothing behind.
@Suite struct ConvertTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("strata-convert-\(UUID().uuidString)").path
    let pool = ComputePool(threadCount: 2)

    init() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Logits at every position of `tokens` after each exit: exit → (tokens.count, vocab).
    func logits(_ loaded: LoadedModel, _ tokens: [Int], exits: [Int], exact: Bool = true) throws -> [Int: [Float]] {
        let model = LlamaModel(model: loaded, pool: pool, exact: exact)
        let c = loaded.config
        let cache = KVCache(layers: 0..<c.layerCount, kvDimension: c.kvDimension, limit: c.contextLength)
        return try model.forward(
            tokens: tokens, cache: cache, exits: exits, workspace: Workspace(config: c), allPositions: true)
    }

    /// Files left in the test directory, temporary ones included.
    func leftovers() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    // MARK: - Tiny GGUF to every type

    /// Bounds on the worst |Δlogit| / max|logit| over 3 exits and every position of a short text.
    /// Each is 4ε, where ε is the relative rounding of one weight in the format: 2⁻¹¹ for f16
    /// and 2⁻⁸ for bf16 (half an ulp); for the block formats the RMS rounding error of uniform
    /// weights relative to their RMS, step/√12 ÷ max/√3 = step/(2·max): 1/254 for Q8_0 (step
    /// max/127), 1/16 for Q4_0 (step max/8), 1/15 for Q4_1 (step range/15 = 2·max/15). Measured
    /// (seed 77): f16 4.3e-4, bf16 3.3e-3, Q8_0 7.0e-3, Q4_0 0.122, Q4_1 0.122, i.e. 0.9–2ε, so each
    /// bound leaves at least 2× headroom while a wrong layout or scale (errors of order 1) fails.
    static let logitBounds: [ConvertTarget: Double] = [
        .f32: 0, .f16: 4.0 / 2048, .bf16: 4.0 / 256, .q8_0: 4.0 / 254, .q4_0: 4.0 / 16, .q4_1: 4.0 / 15,
    ]

    @Test(arguments: ConvertTarget.allCases)
    func tinyGGUFConvertsToEveryType(target: ConvertTarget) throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tiny = TinyModel(seed: 77)
        let source = directory + "/tiny.gguf", output = directory + "/tiny-\(target.rawValue).gguf"
        try tiny.writeGGUF(to: source)
        var lines: [String] = []
        let report = try convertModel(ConvertConfig(modelPath: source, outputPath: output, target: target, threads: 2)) {
            lines.append($0)
        }
        #expect(report.sourceFormat == .gguf && report.tensors.count == tiny.tensors.count)
        let n = tiny.tensors.count
        #expect(lines.count == n + 1 && lines.last?.hasPrefix("[\(n)/\(n)] output_norm.weight F32 → F32") == true)
        #expect(try leftovers() == ["tiny-\(target.rawValue).gguf", "tiny.gguf"])

        // Norms stay F32; the tied embedding (the LM head) is at least Q8_0; the rest take the target.
        let file = try GGUFFile(path: output)
        #expect(report.bytesWritten == file.file.count)
        for info in file.tensors {
            let expected: GGMLType =
                info.dimensions.count == 1 ? .f32 : info.name == "token_embd.weight" ? target.headType : target.tensorType
            #expect(info.type == expected, "\(info.name)")
        }
        #expect(target.headType == ([.q4_0, .q4_1].contains(target) ? .q8_0 : target.tensorType))
        #expect(try file.metadata.int("general.file_type") == Int(target.llamaFileType))
        #expect(try file.metadata.int("general.quantization_version") == 2)
        #expect(try file.metadata.ints("strata.exits") == [2, 3])
        #expect(try file.metadata.strings("tokenizer.ggml.tokens") == tiny.tokens)

        let before = try LoadedModel.load(path: source), after = try LoadedModel.load(path: output)
        #expect(after.config == before.config)
        let ids = before.tokenizer.encode(" hello hell, he", addSpecial: false)
        #expect(after.tokenizer.encode(" hello hell, he", addSpecial: false) == ids)
        let reference = try logits(before, ids, exits: [1, 2, 3]), converted = try logits(after, ids, exits: [1, 2, 3])
        let bound = try #require(Self.logitBounds[target])
        for exit in [1, 2, 3] {
            let a = try #require(converted[exit]), b = try #require(reference[exit])
            let scale = b.reduce(0) { max($0, abs(Double($1))) }
            let error = maxAbsDifference(a, b).0 / scale
            #expect(error <= bound, "\(target) exit \(exit): relative error \(error)")
            if target == .f32 { #expect(a == b) }  // a copy: bit-identical weights, the same arithmetic
        }
    }

    // MARK: - Hugging Face folder

    @Test func huggingFaceFolderConvertsToTheSameFunction() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tiny = TinyModel(seed: 2024)
        try tiny.writeHuggingFace(to: directory + "/hf")
        try tiny.writeGGUF(to: directory + "/original.gguf")
        let output = directory + "/from-hf.gguf"
        let report = try convertModel(ConvertConfig(modelPath: directory + "/hf", outputPath: output, target: .f32))
        #expect(report.sourceFormat == .huggingFace)

        // The permuted Q/K rows (and every other tensor) are exactly the GGUF original's.
        let original = try GGUFFile(path: directory + "/original.gguf"), converted = try GGUFFile(path: output)
        #expect(Set(converted.tensors.map(\.name)) == Set(original.tensors.map(\.name)))
        for info in original.tensors {
            let other = try #require(converted.tensor(named: info.name))
            #expect(other.dimensions == info.dimensions && other.type == .f32, "\(info.name)")
            #expect(Array(converted.data(of: other)) == Array(original.data(of: info)), "\(info.name)")
        }
        let m = converted.metadata
        #expect(try m.string("general.architecture") == "llama" && m.int("llama.block_count") == 3)
        #expect(try m.int("llama.attention.head_count_kv") == 2 && m.int("llama.rope.dimension_count") == 16)
        #expect(try m.string("tokenizer.ggml.model") == "gpt2" && m.string("tokenizer.ggml.pre") == "gpt2")
        #expect(try m.strings("tokenizer.ggml.merges") == tiny.merges)
        #expect(try m.ints("strata.exits") == [2, 3])

        let hf = try LoadedModel.load(path: directory + "/hf"), gguf = try LoadedModel.load(path: output)
        #expect(gguf.config.rope.layout == .adjacentPairs && hf.config.rope.layout == .halves)
        #expect(gguf.config.tiedEmbeddings && gguf.config.sortedExits == [2, 3])
        for text in [" hello there, hello!", "hell he h", "<|im_start|> hello<|im_end|>", ""] {
            #expect(gguf.tokenizer.encode(text) == hf.tokenizer.encode(text), "\(text)")
        }
        let ids = hf.tokenizer.encode(" hello there, hello!", addSpecial: false)
        let a = try logits(hf, ids, exits: [1, 3]), b = try logits(gguf, ids, exits: [1, 3])
        for exit in [1, 3] {
            let x = try #require(a[exit]), y = try #require(b[exit])
            #expect(approxEqual(y, x, rtol: 1e-5), "exit \(exit): \(maxAbsDifference(y, x))")
        }
    }

    @Test func huggingFaceFolderToQ4KeepsTheHeadAtQ8() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try TinyModel(seed: 5).writeHuggingFace(to: directory + "/hf")
        let output = directory + "/q4.gguf"
        _ = try convertModel(ConvertConfig(modelPath: directory + "/hf", outputPath: output, target: .q4_0))
        let file = try GGUFFile(path: output)
        #expect(file.tensor(named: "token_embd.weight")?.type == .q8_0)
        #expect(file.tensor(named: "blk.2.attn_k.weight")?.type == .q4_0)
        #expect(file.tensor(named: "blk.2.ffn_norm.weight")?.type == .f32)
        #expect(try LoadedModel.load(path: output).config.layerCount == 3)
    }

    // MARK: - The default model

    /// SmolLM2's Q4_1 file rewritten as Q8_0: requantising 4-bit weights to 8 bits adds only
    /// Q8_0's small rounding, so greedy choices should stay the source's wherever the source's
    /// margin is not a near-tie.
    @Test(.timeLimit(.minutes(1))) func defaultModelToQ8AgreesWithTheSource() throws {
        guard let path = ModelFixture.path() else { return }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = directory + "/smollm2-q8_0.gguf"
        let report = try convertModel(ConvertConfig(modelPath: path, outputPath: output, target: .q8_0))
        #expect(report.tensors.count == 272 && report.tensors.filter { $0.type == .q8_0 }.count == 211)
        let info = try modelInfo(path: output)
        #expect(info.contains("Q8_0    211 tensors") && info.contains("30 layers"), "\(info)")

        let source = try LoadedModel.load(path: path), converted = try LoadedModel.load(path: output)
        let text = "The quick brown fox jumps over the lazy dog. Paris is the capital of"
        let ids = source.tokenizer.encode(text, addSpecial: false)
        #expect(converted.tokenizer.encode(text, addSpecial: false) == ids)
        let layers = source.config.layerCount, vocab = source.config.vocabularySize
        let a = try #require(try logits(source, ids, exits: [layers], exact: false)[layers])
        let b = try #require(try logits(converted, ids, exits: [layers], exact: false)[layers])
        var agree = 0, clear = 0, clearAgree = 0
        for t in ids.indices {
            let rowA = Array(a[(t * vocab)..<((t + 1) * vocab)])
            let rowB = Array(b[(t * vocab)..<((t + 1) * vocab)])
            let top = rowA.indices.max { rowA[$0] < rowA[$1] } ?? 0
            let topB = rowB.indices.max { rowB[$0] < rowB[$1] } ?? 0
            let second = rowA.indices.filter { $0 != top }.map { rowA[$0] }.max() ?? 0
            if top == topB { agree += 1 }
            if rowA[top] - second >= 0.5 {
                clear += 1
                if top == topB { clearAgree += 1 }
            }
        }
        #expect(clearAgree == clear, "top-1 differs at a position with a clear margin (\(clearAgree)/\(clear))")
        #expect(agree * 10 >= ids.count * 8, "top-1 agrees at \(agree) of \(ids.count) positions")
    }

    /// Converting the Q4_1 file to q4_1 copies every tensor and key unchanged, in order: the
    /// output is the source file, byte for byte (the source was written by llama.cpp's tools).
    @Test func defaultModelToItsOwnTypeIsByteIdentical() throws {
        guard let path = ModelFixture.path() else { return }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = directory + "/smollm2-q4_1.gguf"
        _ = try convertModel(ConvertConfig(modelPath: path, outputPath: output, target: .q4_1))
        let a = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        let b = try Data(contentsOf: URL(fileURLWithPath: output), options: .alwaysMapped)
        #expect(a.count == b.count && a == b)
    }

    // MARK: - Errors

    /// The tiny GGUF plus one extra tensor.
    func tinyWithExtra(name: String, dimensions: [Int], type: GGMLType, path: String) throws {
        try TinyModel(seed: 9).writeGGUF(to: path + ".base")
        let base = try GGUFFile(path: path + ".base")
        var w = GGUFWriter()
        for key in base.metadata.keys { if let v = base.metadata[key] { w.set(key, v) } }
        for info in base.tensors {
            try w.add(name: info.name, dimensions: info.dimensions, type: info.type, data: Data(base.data(of: info)))
        }
        let bytes = try #require(type.byteCount(elements: dimensions.reduce(1, *)))
        try w.add(name: name, dimensions: dimensions, type: type, data: Data(repeating: 0, count: bytes))
        try w.write(to: path)
        try FileManager.default.removeItem(atPath: path + ".base")
    }

    @Test func unknownTypeIsRefused() {
        let message = "--type: unknown type \"q5_0\" (choose one of f32, f16, bf16, q8_0, q4_0, q4_1)"
        #expect(throws: AppError.invalidArgument(message)) {
            try ConvertTarget(parsing: "q5_0")
        }
        #expect((try? ConvertTarget(parsing: "Q8_0")) == .q8_0)
    }

    @Test func missingInputIsNamed() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = ConvertConfig(modelPath: directory + "/absent.gguf", outputPath: directory + "/out.gguf", target: .f16)
        #expect(throws: ModelError.notAModel(path: directory + "/absent.gguf", reason: "no such file or directory")) {
            try convertModel(config)
        }
        #expect(try leftovers().isEmpty)
    }

    @Test func unsupportedSourceTypeIsNamed() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = directory + "/extra.gguf"
        try tinyWithExtra(name: "extra.weight", dimensions: [64, 2], type: .q5_0, path: source)
        #expect(throws: ConvertError.unsupportedSourceType(tensor: "extra.weight", type: .q5_0)) {
            try convertModel(ConvertConfig(modelPath: source, outputPath: directory + "/out.gguf", target: .q8_0))
        }
        #expect(try leftovers() == ["extra.gguf"])
    }

    @Test func rowsThatAreNotWholeBlocksAreRefused() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = directory + "/odd.gguf"
        try tinyWithExtra(name: "odd.weight", dimensions: [48, 3], type: .f32, path: source)
        for target in [ConvertTarget.q8_0, .q4_0, .q4_1] {
            #expect(throws: ConvertError.rowNotBlockMultiple(tensor: "odd.weight", rowLength: 48, type: target.tensorType)) {
                try convertModel(ConvertConfig(modelPath: source, outputPath: directory + "/out.gguf", target: target))
            }
        }
        #expect(try leftovers() == ["odd.gguf"])
        _ = try convertModel(ConvertConfig(modelPath: source, outputPath: directory + "/out.gguf", target: .f16))
        #expect(try GGUFFile(path: directory + "/out.gguf").tensor(named: "odd.weight")?.type == .f16)
    }

    @Test func unwritableOutputFailsAndLeavesNothing() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = directory + "/tiny.gguf"
        try TinyModel(seed: 3).writeGGUF(to: source)
        let output = directory + "/no/such/dir/out.gguf"
        #expect(throws: GGUFWriteError.cannotCreate(path: output, errno: ENOENT)) {
            try convertModel(ConvertConfig(modelPath: source, outputPath: output, target: .q8_0))
        }
        #expect(throws: ConvertError.sameInputAndOutput(source)) {
            try convertModel(ConvertConfig(modelPath: source, outputPath: source, target: .q8_0))
        }
        #expect(try leftovers() == ["tiny.gguf"])
    }

    // MARK: - Streaming writer

    /// Tensors of odd sizes written through a buffer far smaller than they are, in chunks that
    /// straddle tensor boundaries, read back byte for byte.
    @Test(arguments: [1, 7, 100, 1 << 20])
    func streamingWriterRoundTrips(bufferBytes: Int) throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var rng = SplitMix64(seed: UInt64(bufferBytes))
        let plans = [
            GGUFStreamWriter.TensorPlan(name: "a", dimensions: [3], type: .f32),
            GGUFStreamWriter.TensorPlan(name: "b", dimensions: [32, 3], type: .q8_0),
            GGUFStreamWriter.TensorPlan(name: "empty", dimensions: [0], type: .f32),
            GGUFStreamWriter.TensorPlan(name: "c", dimensions: [5, 7], type: .f16),
            GGUFStreamWriter.TensorPlan(name: "d", dimensions: [64], type: .q4_1),
        ]
        var metadata = GGUFMetadata()
        metadata.set("general.architecture", .string("test"))
        let path = directory + "/stream.gguf"
        let writer = try GGUFStreamWriter(path: path, metadata: metadata, tensors: plans, bufferBytes: bufferBytes)
        let payload = (0..<writer.tensorBytes.reduce(0, +)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var offset = 0
        while offset < payload.count {
            let n = min(payload.count - offset, Int.random(in: 1...40, using: &rng))
            try payload[offset..<(offset + n)].withUnsafeBytes { try writer.write($0) }
            offset += n
        }
        #expect(throws: GGUFWriteError.tooMuchData(expected: payload.count)) {
            try [UInt8(0)].withUnsafeBytes { try writer.write($0) }
        }
        try writer.finish()
        let file = try GGUFFile(path: path)
        #expect(file.tensors.map(\.name) == plans.map(\.name) && file.file.count == writer.bytesWritten)
        var start = 0
        for (plan, size) in zip(plans, writer.tensorBytes) {
            let info = try #require(file.tensor(named: plan.name))
            #expect(info.type == plan.type && info.dimensions == plan.dimensions)
            #expect(Array(file.data(of: info)) == Array(payload[start..<(start + size)]), "\(plan.name)")
            start += size
        }
    }

    @Test func unfinishedWriterLeavesTheDestinationUntouched() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/keep.gguf"
        try Data("previous".utf8).write(to: URL(fileURLWithPath: path))
        let plans = [GGUFStreamWriter.TensorPlan(name: "w", dimensions: [32, 2], type: .q8_0)]
        do {
            let writer = try GGUFStreamWriter(path: path, metadata: GGUFMetadata(), tensors: plans)
            try [UInt8](repeating: 1, count: 40).withUnsafeBytes { try writer.write($0) }
            #expect(throws: GGUFWriteError.incomplete(tensor: "w", written: 40, expected: 68)) { try writer.finish() }
            #expect(FileManager.default.fileExists(atPath: writer.temporaryPath))
        }
        #expect(try leftovers() == ["keep.gguf"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("previous".utf8))
    }
}
