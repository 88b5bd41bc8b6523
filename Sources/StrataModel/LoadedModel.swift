import Foundation
import StrataFormats
import StrataKernels
import StrataTokenizer

/// A model ready to run: configuration, weights (in place in the mapped file) and tokenizer.
public final class LoadedModel: Sendable {
    public let path: String
    public let format: ModelFormat
    public let config: LlamaConfig
    public let weights: LlamaWeights
    public let tokenizer: Tokenizer
    /// The parsed GGUF file, when the model came from one (for `info` and conversion).
    public let gguf: GGUFFile?
    /// Every tensor as the file lists it: name, shape in file order, type, bytes.
    public let tensorSummary: [(name: String, shape: [Int], type: GGMLType, bytes: Int)]

    private init(
        path: String, format: ModelFormat, config: LlamaConfig, weights: LlamaWeights, tokenizer: Tokenizer,
        gguf: GGUFFile?, tensorSummary: [(name: String, shape: [Int], type: GGMLType, bytes: Int)]
    ) {
        self.path = path
        self.format = format
        self.config = config
        self.weights = weights
        self.tokenizer = tokenizer
        self.gguf = gguf
        self.tensorSummary = tensorSummary
    }

    /// Loads a GGUF file, or a Hugging Face folder (`config.json`, `model.safetensors` or its
    /// sharded index, `tokenizer.json`).
    /// - Parameter layers: bind only these blocks (a pipeline stage); all by default.
    public static func load(path: String, layers: Range<Int>? = nil) throws(ModelError) -> LoadedModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .notAModel(path: path, reason: "no such file or directory")
        }
        return isDirectory.boolValue
            ? try loadHuggingFace(directory: path, layers: layers) : try loadGGUF(path: path, layers: layers)
    }

    static func loadGGUF(path: String, layers: Range<Int>?) throws(ModelError) -> LoadedModel {
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch { throw .gguf(error) }
        let config = try LlamaConfig.fromGGUF(file)
        if let layers, layers.lowerBound < 0 || layers.upperBound > config.layerCount {
            throw .invalidExit(layers.upperBound, layerCount: config.layerCount)
        }
        let weights = try LlamaWeights.bind(config: config, format: .gguf, layers: layers) { name in
            guard let info = file.tensor(named: name) else { return nil }
            return TensorSource(name: name, shape: info.dimensions, type: info.type, bytes: file.data(of: info), owner: file.file)
        }
        let spec = try TokenizerSpec.fromGGUF(file.metadata)
        let tokenizer: Tokenizer
        do { tokenizer = try Tokenizer(spec: spec) } catch { throw .tokenizer(error) }
        let summary = file.tensors.map { (name: $0.name, shape: $0.dimensions, type: $0.type, bytes: $0.byteCount) }
        return LoadedModel(
            path: path, format: .gguf, config: config, weights: weights, tokenizer: tokenizer, gguf: file,
            tensorSummary: summary)
    }

    static func loadHuggingFace(directory: String, layers: Range<Int>?) throws(ModelError) -> LoadedModel {
        let configPath = directory + "/config.json"
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw .notAModel(path: directory, reason: "no config.json")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data), let json = object as? [String: Any] else {
            throw .notAModel(path: configPath, reason: "config.json is not a JSON object")
        }
        let config = try LlamaConfig.fromHuggingFace(json, path: configPath)
        let checkpoint: SafetensorsCheckpoint
        do { checkpoint = try SafetensorsCheckpoint(directory: directory) } catch { throw .safetensors(error) }
        let weights = try LlamaWeights.bind(config: config, format: .huggingFace, layers: layers) { name in
            guard let t = checkpoint.tensors[name] else { return nil }
            return TensorSource(name: name, shape: t.shape, type: t.type, bytes: t.data, owner: t.file)
        }
        guard let tokenizerJSON = FileManager.default.contents(atPath: directory + "/tokenizer.json") else {
            throw .notAModel(path: directory, reason: "no tokenizer.json")
        }
        let tokenizerConfig = FileManager.default.contents(atPath: directory + "/tokenizer_config.json")
        let tokenizer: Tokenizer
        do {
            tokenizer = try Tokenizer.fromTokenizerJSON(tokenizerJSON, config: tokenizerConfig)
        } catch { throw .tokenizer(error) }
        let summary = checkpoint.tensors.values.sorted { $0.name < $1.name }.map {
            (name: $0.name, shape: $0.shape, type: $0.type, bytes: $0.data.count)
        }
        return LoadedModel(
            path: directory, format: .huggingFace, config: config, weights: weights, tokenizer: tokenizer, gguf: nil,
            tensorSummary: summary)
    }
}

extension LoadedModel {
    /// The exits this model was trained to answer from (its `strata.exits` metadata), or nil
    /// for an ordinary model.
    public var sortedExits: [Int]? { config.sortedExits.isEmpty ? nil : config.sortedExits.sorted() }
}

/// The sorted exits of an `L`-block model when its file names none: the Sorted LLaMA
/// fractions 0.3, 0.4, …, 1.0 of the depth (9, 12, …, 30 for 30 blocks).
public func defaultSortedExits(layerCount: Int) -> [Int] {
    let exits = (3...10).map { Int((Double(layerCount) * Double($0) / 10).rounded()) }
    return Array(Set(exits.map { min(max($0, 1), layerCount) })).sorted()
}
