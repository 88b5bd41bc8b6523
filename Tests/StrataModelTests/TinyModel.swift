import Foundation
import StrataFormats
import StrataTestSupport

/// A tiny random LLaMA (3 blocks, width 64) written both as GGUF and as a Hugging Face folder,
/// so the two loaders, the two RoPE layouts and both tokenizer sources can be checked against
/// each other. Weights are seeded and reproducible.
struct TinyModel {
    let layers = 3, hidden = 64, heads = 4, kvHeads = 2, headDim = 16, ffn = 96
    let extraTokens = ["Ġh", "Ġhe", "ll", "Ġhell", "Ġhello", "<|im_start|>", "<|im_end|>"]
    var vocab: Int { 256 + extraTokens.count }
    let merges = ["Ġ h", "Ġh e", "l l", "Ġhe ll", "Ġhell o"]

    /// name → (rows, columns, values) in HF orientation; Q/K rows in GGUF's adjacent-pair order.
    let tensors: [(String, Int, Int, [Float])]

    init(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var t: [(String, Int, Int, [Float])] = []
        func add(_ name: String, _ rows: Int, _ cols: Int, scale: Float) {
            t.append((name, rows, cols, rng.floats(rows * cols, scale: scale)))
        }
        add("token_embd", 256 + 7, 64, scale: 1)
        for l in 0..<3 {
            t.append(("blk.\(l).attn_norm", 1, 64, (0..<64).map { _ in 1 + rng.float(scale: 0.2) }))
            add("blk.\(l).attn_q", 64, 64, scale: 0.25)
            add("blk.\(l).attn_k", 32, 64, scale: 0.25)
            add("blk.\(l).attn_v", 32, 64, scale: 0.25)
            add("blk.\(l).attn_output", 64, 64, scale: 0.15)
            t.append(("blk.\(l).ffn_norm", 1, 64, (0..<64).map { _ in 1 + rng.float(scale: 0.2) }))
            add("blk.\(l).ffn_gate", 96, 64, scale: 0.2)
            add("blk.\(l).ffn_up", 96, 64, scale: 0.2)
            add("blk.\(l).ffn_down", 64, 96, scale: 0.15)
        }
        t.append(("output_norm", 1, 64, (0..<64).map { _ in 1 + rng.float(scale: 0.2) }))
        tensors = t
    }

    /// GPT-2's printable stand-ins for the 256 bytes.
    static let byteAlphabet: [String] = {
        var direct = Array(33...126) + Array(161...172) + Array(174...255)
        var mapped = [Int](repeating: 0, count: 256)
        for b in direct { mapped[b] = b }
        var next = 256
        for b in 0..<256 where !direct.contains(b) {
            mapped[b] = next
            next += 1
        }
        direct.removeAll()
        return mapped.map { String(UnicodeScalar(UInt32($0)).map(Character.init) ?? "?") }
    }()

    var tokens: [String] { Self.byteAlphabet + extraTokens }

    func writeGGUF(to path: String) throws {
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.set("llama.block_count", .uint32(UInt32(layers)))
        w.set("llama.embedding_length", .uint32(UInt32(hidden)))
        w.set("llama.feed_forward_length", .uint32(UInt32(ffn)))
        w.set("llama.attention.head_count", .uint32(UInt32(heads)))
        w.set("llama.attention.head_count_kv", .uint32(UInt32(kvHeads)))
        w.set("llama.rope.freq_base", .float32(10_000))
        w.set("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
        w.set("llama.context_length", .uint32(256))
        w.set("tokenizer.ggml.model", .string("gpt2"))
        w.set("tokenizer.ggml.pre", .string("gpt2"))
        w.set("tokenizer.ggml.tokens", .array(.string, tokens.map { .string($0) }))
        let types = tokens.indices.map { $0 >= 261 ? Int32(3) : Int32(1) }
        w.set("tokenizer.ggml.token_type", .array(.int32, types.map { .int32($0) }))
        w.set("tokenizer.ggml.merges", .array(.string, merges.map { .string($0) }))
        w.set("tokenizer.ggml.bos_token_id", .uint32(261))
        w.set("tokenizer.ggml.eos_token_id", .uint32(262))
        w.set("tokenizer.ggml.add_bos_token", .bool(false))
        w.set("strata.exits", .array(.uint32, [.uint32(2), .uint32(3)]))
        for (name, rows, cols, values) in tensors {
            try w.add(name: name + ".weight", dimensions: rows == 1 ? [cols] : [cols, rows], floats: values)
        }
        try w.write(to: path)
    }

    /// A Hugging Face folder: config.json, model.safetensors (F32), tokenizer.json.
    func writeHuggingFace(to directory: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config: [String: Any] = [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": hidden,
            "intermediate_size": ffn, "num_hidden_layers": layers, "num_attention_heads": heads,
            "num_key_value_heads": kvHeads, "rms_norm_eps": 1e-5, "rope_theta": 10_000.0, "vocab_size": vocab,
            "max_position_embeddings": 256, "tie_word_embeddings": true, "strata_exits": [2, 3],
        ]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: directory + "/config.json"))

        var header: [String: Any] = [:]
        var data = Data()
        for (name, rows, cols, values) in tensors {
            var v = values
            if name.hasSuffix("attn_q") || name.hasSuffix("attn_k") { v = toRotateHalf(v, rows: rows, cols: cols) }
            let start = data.count
            v.withUnsafeBufferPointer { data.append(Data(buffer: $0)) }
            header[Self.huggingFaceName(name)] = [
                "dtype": "F32", "shape": rows == 1 ? [cols] : [rows, cols], "data_offsets": [start, data.count],
            ]
        }
        let headerData = try JSONSerialization.data(withJSONObject: header)
        var file = Data()
        withUnsafeBytes(of: UInt64(headerData.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(headerData)
        file.append(data)
        try file.write(to: URL(fileURLWithPath: directory + "/model.safetensors"))

        var vocabulary: [String: Int] = [:]
        for (id, text) in tokens.enumerated() { vocabulary[text] = id }
        let tokenizer: [String: Any] = [
            "version": "1.0",
            "added_tokens": [261, 262].map { ["id": $0, "content": tokens[$0], "special": true] },
            "normalizer": NSNull(),
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
            "decoder": ["type": "ByteLevel"],
            "model": ["type": "BPE", "vocab": vocabulary, "merges": merges],
        ]
        try JSONSerialization.data(withJSONObject: tokenizer).write(to: URL(fileURLWithPath: directory + "/tokenizer.json"))
    }

    /// GGUF's Q/K rows pair dimensions (2i, 2i+1) within each head; Hugging Face pairs (i, i+hd/2).
    /// HF row i of a head is GGUF row 2i, HF row i + hd/2 is GGUF row 2i + 1.
    private func toRotateHalf(_ v: [Float], rows: Int, cols: Int) -> [Float] {
        var out = v
        let half = headDim / 2
        for head in 0..<(rows / headDim) {
            for i in 0..<half {
                for (hfRow, ggufRow) in [(i, 2 * i), (i + half, 2 * i + 1)] {
                    let dst = (head * headDim + hfRow) * cols
                    let src = (head * headDim + ggufRow) * cols
                    for c in 0..<cols { out[dst + c] = v[src + c] }
                }
            }
        }
        return out
    }

    static func huggingFaceName(_ gguf: String) -> String {
        if gguf == "token_embd" { return "model.embed_tokens.weight" }
        if gguf == "output_norm" { return "model.norm.weight" }
        let parts = gguf.split(separator: ".")
        let layer = parts[1]
        let role: String
        switch parts[2] {
        case "attn_norm": role = "input_layernorm"
        case "attn_q": role = "self_attn.q_proj"
        case "attn_k": role = "self_attn.k_proj"
        case "attn_v": role = "self_attn.v_proj"
        case "attn_output": role = "self_attn.o_proj"
        case "ffn_norm": role = "post_attention_layernorm"
        case "ffn_gate": role = "mlp.gate_proj"
        case "ffn_up": role = "mlp.up_proj"
        default: role = "mlp.down_proj"
        }
        return "model.layers.\(layer).\(role).weight"
    }
}
