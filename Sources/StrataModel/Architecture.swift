/// The LLaMA architecture as data (also the Hugging Face → GGUF name map of `strata convert`): each tensor role, its name in each file format, and its
/// expected shape as (rows, columns) given the configuration.
public enum TensorRole: CaseIterable, Sendable {
    case embedding, outputNorm, output
    case attentionNorm, query, key, value, attentionOutput
    case ffnNorm, gate, up, down

    public var isPerLayer: Bool {
        switch self {
        case .embedding, .outputNorm, .output: false
        default: true
        }
    }

    /// GGUF names; `%d` is the block index.
    public var ggufName: String {
        switch self {
        case .embedding: "token_embd.weight"
        case .outputNorm: "output_norm.weight"
        case .output: "output.weight"
        case .attentionNorm: "blk.%d.attn_norm.weight"
        case .query: "blk.%d.attn_q.weight"
        case .key: "blk.%d.attn_k.weight"
        case .value: "blk.%d.attn_v.weight"
        case .attentionOutput: "blk.%d.attn_output.weight"
        case .ffnNorm: "blk.%d.ffn_norm.weight"
        case .gate: "blk.%d.ffn_gate.weight"
        case .up: "blk.%d.ffn_up.weight"
        case .down: "blk.%d.ffn_down.weight"
        }
    }

    /// Hugging Face (transformers LlamaForCausalLM) names.
    public var huggingFaceName: String {
        switch self {
        case .embedding: "model.embed_tokens.weight"
        case .outputNorm: "model.norm.weight"
        case .output: "lm_head.weight"
        case .attentionNorm: "model.layers.%d.input_layernorm.weight"
        case .query: "model.layers.%d.self_attn.q_proj.weight"
        case .key: "model.layers.%d.self_attn.k_proj.weight"
        case .value: "model.layers.%d.self_attn.v_proj.weight"
        case .attentionOutput: "model.layers.%d.self_attn.o_proj.weight"
        case .ffnNorm: "model.layers.%d.post_attention_layernorm.weight"
        case .gate: "model.layers.%d.mlp.gate_proj.weight"
        case .up: "model.layers.%d.mlp.up_proj.weight"
        case .down: "model.layers.%d.mlp.down_proj.weight"
        }
    }

    /// Expected (rows, columns); norms are vectors, reported as (1, n).
    func shape(_ c: LlamaConfig) -> (rows: Int, columns: Int) {
        switch self {
        case .embedding, .output: (c.vocabularySize, c.hiddenSize)
        case .outputNorm, .attentionNorm, .ffnNorm: (1, c.hiddenSize)
        case .query: (c.queryDimension, c.hiddenSize)
        case .key, .value: (c.kvDimension, c.hiddenSize)
        case .attentionOutput: (c.hiddenSize, c.queryDimension)
        case .gate, .up: (c.intermediateSize, c.hiddenSize)
        case .down: (c.hiddenSize, c.intermediateSize)
        }
    }

    func name(format: ModelFormat, layer: Int?) -> String {
        let template = format == .gguf ? ggufName : huggingFaceName
        guard let layer else { return template }
        return template.replacingOccurrences(of: "%d", with: String(layer))
    }
}

/// Where a model came from.
public enum ModelFormat: String, Sendable {
    case gguf
    case huggingFace = "safetensors"
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
