import StrataFormats
import StrataKernels

/// Hyperparameters of a LLaMA-architecture model, whatever file it came from.
public struct LlamaConfig: Sendable, Equatable {
    public var layerCount: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDimension: Int
    public var vocabularySize: Int
    public var contextLength: Int
    public var rmsNormEpsilon: Float
    public var rope: Rope
    /// Whether the LM head is the embedding matrix (no separate output weight).
    public var tiedEmbeddings: Bool
    /// Exit layers the model was sorted-fine-tuned for (1-based block counts), from the file's
    /// `strata.exits` metadata; empty for an ordinary model, whose every layer may be used.
    public var sortedExits: [Int]

    public var queryDimension: Int { headCount * headDimension }
    public var kvDimension: Int { kvHeadCount * headDimension }
    public var attentionShape: AttentionShape {
        AttentionShape(heads: headCount, kvHeads: kvHeadCount, headDim: headDimension)
    }

    /// Checks the relations the forward pass relies on.
    public func validate() throws(ModelError) {
        func check(_ ok: Bool, _ key: String, _ reason: String) throws(ModelError) {
            if !ok { throw .invalidMetadata(key: key, reason: reason) }
        }
        try check(layerCount > 0 && layerCount <= 1024, "block_count", "\(layerCount) is not in 1…1024")
        try check(hiddenSize > 0 && hiddenSize <= 1 << 16, "embedding_length", "\(hiddenSize) is out of range")
        try check(intermediateSize > 0 && intermediateSize <= 1 << 18, "feed_forward_length", "\(intermediateSize) is out of range")
        try check(headCount > 0 && headDimension > 0 && headDimension <= 1024, "attention.head_count", "\(headCount) heads of \(headDimension)")
        try check(kvHeadCount > 0 && headCount % kvHeadCount == 0, "attention.head_count_kv", "\(kvHeadCount) does not divide \(headCount) heads")
        try check(rope.dimensions > 0 && rope.dimensions <= headDimension && rope.dimensions % 2 == 0, "rope.dimension_count", "\(rope.dimensions) for head dimension \(headDimension)")
        try check(vocabularySize > 0, "vocab_size", "\(vocabularySize)")
        try check(contextLength > 0, "context_length", "\(contextLength)")
        try check(rmsNormEpsilon > 0 && rmsNormEpsilon < 1, "attention.layer_norm_rms_epsilon", "\(rmsNormEpsilon)")
        for exit in sortedExits {
            try check(exit >= 1 && exit <= layerCount, "strata.exits", "exit \(exit) is outside 1…\(layerCount)")
        }
    }

    /// An exit layer in 1…layerCount, or the error to report.
    public func checkExit(_ k: Int) throws(ModelError) {
        guard k >= 1 && k <= layerCount else { throw .invalidExit(k, layerCount: layerCount) }
    }
}

extension LlamaConfig {
    /// Reads `llama.*` metadata from a GGUF file.
    static func fromGGUF(_ file: GGUFFile) throws(ModelError) -> LlamaConfig {
        let m = file.metadata
        do {
            let arch = try m.string("general.architecture") ?? ""
            guard arch == "llama" else { throw ModelError.unsupportedArchitecture(arch) }
            func required(_ key: String) throws -> Int {
                guard let v = try m.int("llama." + key) else { throw ModelError.missingMetadata("llama." + key) }
                return v
            }
            let layers = try required("block_count")
            let hidden = try required("embedding_length")
            let heads = try required("attention.head_count")
            let kvHeads = try m.int("llama.attention.head_count_kv") ?? heads
            let headDim = try m.int("llama.attention.key_length") ?? (heads > 0 ? hidden / heads : 0)
            let ropeDims = try m.int("llama.rope.dimension_count") ?? headDim
            let base = try m.double("llama.rope.freq_base") ?? 10_000
            var linearScale = try m.double("llama.rope.scale_linear") ?? 1
            let scalingType = try m.string("llama.rope.scaling.type") ?? "none"
            switch scalingType {
            case "none": break
            case "linear": linearScale = try m.double("llama.rope.scaling.factor") ?? linearScale
            default: throw ModelError.unsupportedRopeScaling(scalingType)
            }
            var factors: [Float]?
            if let freqs = file.tensor(named: "rope_freqs.weight") {
                guard freqs.type == .f32, freqs.elementCount == ropeDims / 2 else {
                    throw ModelError.shapeMismatch(tensor: freqs.name, expected: [ropeDims / 2], actual: freqs.dimensions)
                }
                factors = Array(file.data(of: freqs).bindMemory(to: Float.self))
            }
            let vocab = try m.int("llama.vocab_size") ?? file.tensor(named: "token_embd.weight")?.rowCount ?? 0
            let config = LlamaConfig(
                layerCount: layers,
                hiddenSize: hidden,
                intermediateSize: try required("feed_forward_length"),
                headCount: heads,
                kvHeadCount: kvHeads,
                headDimension: headDim,
                vocabularySize: vocab,
                contextLength: try m.int("llama.context_length") ?? 2048,
                rmsNormEpsilon: Float(try m.double("llama.attention.layer_norm_rms_epsilon") ?? 1e-5),
                rope: Rope(dimensions: ropeDims, base: base, layout: .adjacentPairs, linearScale: linearScale, frequencyFactors: factors),
                tiedEmbeddings: file.tensor(named: "output.weight") == nil,
                sortedExits: try m.ints("strata.exits") ?? [])
            try config.validate()
            return config
        } catch let e as ModelError {
            throw e
        } catch let e as GGUFError {
            throw .gguf(e)
        } catch {
            throw .notAModel(path: file.file.path, reason: "\(error)")
        }
    }

    /// Reads a Hugging Face `config.json` (LlamaForCausalLM).
    static func fromHuggingFace(_ json: [String: Any], path: String) throws(ModelError) -> LlamaConfig {
        let modelType = json["model_type"] as? String ?? ""
        guard modelType == "llama" else { throw .unsupportedArchitecture(modelType.isEmpty ? "(no model_type)" : modelType) }
        func int(_ key: String) throws(ModelError) -> Int {
            guard let v = json[key] as? Int else { throw .missingMetadata(key) }
            return v
        }
        func double(_ key: String, _ fallback: Double) -> Double {
            (json[key] as? Double) ?? (json[key] as? Int).map(Double.init) ?? fallback
        }
        let hidden = try int("hidden_size")
        let heads = try int("num_attention_heads")
        let headDim = (json["head_dim"] as? Int) ?? (heads > 0 ? hidden / heads : 0)
        var linearScale = 1.0
        var factors: [Float]?
        let base = double("rope_theta", 10_000)
        if let scaling = json["rope_scaling"] as? [String: Any] {
            let type = (scaling["rope_type"] as? String) ?? (scaling["type"] as? String) ?? "none"
            func number(_ key: String, _ fallback: Double) -> Double {
                (scaling[key] as? Double) ?? (scaling[key] as? Int).map(Double.init) ?? fallback
            }
            switch type {
            case "linear": linearScale = number("factor", 1)
            case "llama3":
                factors = Rope.llama3Factors(
                    dimensions: headDim, base: base, factor: number("factor", 8),
                    lowFrequencyFactor: number("low_freq_factor", 1), highFrequencyFactor: number("high_freq_factor", 4),
                    originalContext: number("original_max_position_embeddings", 8192))
            case "default", "none": break
            default: throw .unsupportedRopeScaling(type)
            }
        }
        let config = LlamaConfig(
            layerCount: try int("num_hidden_layers"),
            hiddenSize: hidden,
            intermediateSize: try int("intermediate_size"),
            headCount: heads,
            kvHeadCount: (json["num_key_value_heads"] as? Int) ?? heads,
            headDimension: headDim,
            vocabularySize: try int("vocab_size"),
            contextLength: (json["max_position_embeddings"] as? Int) ?? 2048,
            rmsNormEpsilon: Float(double("rms_norm_eps", 1e-6)),
            rope: Rope(dimensions: headDim, base: base, layout: .halves, linearScale: linearScale, frequencyFactors: factors),
            tiedEmbeddings: (json["tie_word_embeddings"] as? Bool) ?? false,
            sortedExits: (json["strata_exits"] as? [Int]) ?? [])
        try config.validate()
        return config
    }
}
